"""What each built-in subcommand of ``atlas-fn`` says in ``--help``: a one-line summary for the
command list, a description of what it does, and examples (issue 12 §6: the subcommands'
``--help`` said little). Commands in their own module (``invoke``, ``replay``) carry their own.
Must not hold flags or behaviour: ``runtime.cli`` builds the parser.
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

PROGRAM = "Run MongoDB Atlas App Services incoming webhooks and HTTPS endpoints locally, sandboxed."
PROGRAM_EPILOG = """examples:
  atlas-fn serve                      # the app in app_config/ on http://127.0.0.1:8080
  atlas-fn invoke webhooks/hello -q name=Ada
  atlas-fn check --app path/to/export
run 'atlas-fn COMMAND --help' for a command's flags and examples."""

# command -> (summary, description, examples)
TEXT: dict[str, tuple[str, str, str]] = {
    "serve": (
        "serve the app over HTTP",
        "Serve the app's webhooks and HTTPS endpoints over HTTP, each function in a sandboxed worker process, "
        "answering as App Services did. Prints the address and the route table. Edits are served without a restart "
        "(--no-reload for production); recent requests and their traces are at /_atlas-fn/ (--inspector). "
        "Ctrl-C (or SIGTERM) stops accepting "
        "and finishes the calls in flight for up to --shutdown-grace; a second Ctrl-C stops at once. Every setting "
        "is also an ATLAS_FN_<SETTING> environment variable.",
        "  atlas-fn serve\n"
        "  atlas-fn serve --app path/to/export --port 9000 --workers 4\n"
        "  atlas-fn serve --record recordings/    # keep every request and answer for 'atlas-fn replay'"),
    "check": (
        "load and compile everything, print every problem",
        "Load the app folder, compile every function file and can_evaluate rule, and print every problem with "
        "its file and line (exit code 1), or one summary line (exit code 0). Starts no worker.",
        "  atlas-fn check\n  atlas-fn check --app path/to/export --functions path/to/functions"),
    "sign": (
        "print the signature of a request body",
        "Print the X-Hook-Signature / Endpoint-Signature value (sha256=<hex HMAC-SHA256>) of a request body "
        "signed with a secret, exactly as VERIFY_PAYLOAD checks it, or a ready curl command.",
        "  atlas-fn sign --secret 12345 --body '{\"message\":\"MESSAGE\"}'\n"
        "  atlas-fn sign --secret 12345 --body-file event.json --curl http://127.0.0.1:8080/api/client/v2.0/app/"
        "example-abcde/service/webhooks/incoming_webhook/signed"),
    "migrate": (
        "convert the app's HTTP-service webhooks into HTTPS endpoints",
        "Convert every HTTP-service webhook of an exported app into an HTTPS endpoint as App Services' converter "
        "did (route /<service>/<webhook>, function <service>_<webhook>, the secret moved to secrets.json). "
        "Running it twice changes nothing.",
        "  atlas-fn migrate path/to/app --dry-run   # what would change\n  atlas-fn migrate path/to/app"),
    "diff": (
        "send the same requests to each webhook and its converted endpoint; report every difference",
        "Serve the app, send the same signed requests to each webhook and to the endpoint migrate made of it, "
        "and report every difference of status, headers and body, naming the documented ones.",
        "  atlas-fn diff path/to/app\n  atlas-fn diff path/to/app --webhook orders/create --json report.json"),
}


def add(commands: Any, name: str) -> argparse.ArgumentParser:
    summary, description, examples = TEXT[name]
    return commands.add_parser(name, help=summary, description=textwrap.fill(description, 90), epilog="examples:\n" + examples,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
