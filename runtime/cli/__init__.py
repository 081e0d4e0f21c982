"""The ``atlas-fn`` command: serve, check, sign, migrate, diff, users (``runtime.cli.users``).

Owns: parsing the command line, printing reports, exit codes, and running the server until
SIGTERM or SIGINT. Start-up problems are printed all at once, one per line, never as a
traceback; the exit code is then 1. Must not decide anything the rest of ``runtime`` decides:
settings are ``runtime.settings``'s, the app ``runtime.app``'s, the tools ``runtime.tools``'s.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shlex
import sys
from pathlib import Path
from typing import Sequence

from runtime import settings as settings_module
from runtime.contract import validation
from runtime.values import crypto
from runtime.app.snapshot import Snapshot, prepare
from runtime.errors import ConfigError, InternalError
from runtime.contract.routing import RouteTable


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except (ConfigError, InternalError) as error:  # a bad app, or workers that cannot start
        print(f"atlas-fn {args.command}: {error.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # standard output is a closed pipe (`atlas-fn check | head -1`)
        from runtime.cli.lifecycle import stdout_gone

        stdout_gone()
        return 1


def _parser() -> argparse.ArgumentParser:
    from importlib.metadata import version

    from runtime.cli import help_text
    parser = argparse.ArgumentParser(prog="atlas-fn", description=help_text.PROGRAM, epilog=help_text.PROGRAM_EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"atlas-fn {version('atlas-fn')}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = help_text.add(commands, "serve")
    _app_flags(serve)
    for setting in settings_module.DECLARED:
        if setting.kind is bool:  # a switch: given, it turns the default around
            serve.add_argument(setting.flag, dest=setting.name, action="store_const", const=not setting.default,
                               help=_help(setting))
        else:
            serve.add_argument(setting.flag, dest=setting.name, metavar=setting.kind.__name__.upper(), help=_help(setting))
    serve.set_defaults(run=_serve)

    check = help_text.add(commands, "check")
    _app_flags(check)
    check.set_defaults(run=_check)

    sign = help_text.add(commands, "sign")
    sign.add_argument("--secret", required=True)
    body = sign.add_mutually_exclusive_group(required=True)
    body.add_argument("--body", help="the body, exactly as it will be sent")
    body.add_argument("--body-file", dest="body_file", type=Path, help="a file holding the body")
    sign.add_argument("--curl", metavar="URL", help="print a ready curl command for this URL instead")
    sign.set_defaults(run=_sign)

    migrate = help_text.add(commands, "migrate")
    _tool_flags(migrate)
    migrate.add_argument("--dry-run", dest="dry_run", action="store_true", help="print what would change; write nothing")
    migrate.set_defaults(run=_migrate)

    diff = help_text.add(commands, "diff")
    _tool_flags(diff)
    diff.add_argument("--request", dest="request_file", type=Path, metavar="FILE",
                      help="a JSON array of requests {method, query, headers, body} (default: one per webhook)")
    diff.add_argument("--webhook", dest="webhooks", action="append", default=[], metavar="SVC/NAME",
                      help="compare only this webhook (repeatable)")
    diff.add_argument("--json", dest="json_out", type=Path, metavar="OUT", help="also write a machine-readable report")
    diff.set_defaults(run=_diff)

    from runtime.cli import invoke, replay
    invoke.add_parser(commands, _app_flags)
    replay.add_parser(commands, _app_flags)
    serve.add_argument("--record", type=Path, metavar="DIR", default=None,
                       help="write every request and its answer to DIR, secrets redacted (for 'atlas-fn replay')")
    from runtime.cli import users
    users.add_parser(commands)
    return parser


def _help(setting: settings_module.Declared) -> str:
    """A setting's line in ``atlas-fn serve --help``: what it is, its default, limits and variable."""
    limits = f"; {setting.shown_limits()}" if setting.limits is not None else ""
    return f"{setting.help} (default {setting.shown_default()}{limits}; env {setting.env})"


def _app_flags(parser: argparse.ArgumentParser) -> None:
    """``serve`` and ``check``: the app folder is a flag with a default."""
    parser.add_argument("--app", type=Path, default=None, help="App Services app folder (default: app_config/)")
    _functions_flag(parser)


def _tool_flags(parser: argparse.ArgumentParser) -> None:
    """``migrate`` and ``diff``: the app folder is required."""
    parser.add_argument("app_dir", type=Path, metavar="APP_DIR", help="an exported App Services app folder")
    _functions_flag(parser)


def _functions_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--functions", type=Path, default=None,
                        help="function files (default: the app's functions/ if it has one, else ./functions)")


def _app_dir(args: argparse.Namespace) -> Path | None:
    return args.app if args.app is not None else (Path("app_config") if Path("app_config").is_dir() else None)


def _prepare(args: argparse.Namespace, settings: settings_module.Settings) -> Snapshot:
    return prepare(_app_dir(args), args.functions, settings)


def settings_from(args: argparse.Namespace) -> settings_module.Settings:
    """``serve``'s settings: its flags (one per declared setting) over the environment."""
    return settings_module.load({setting.name: getattr(args, setting.name) for setting in settings_module.DECLARED})


def _check(args: argparse.Namespace) -> int:
    prepared = _prepare(args, settings_module.load({}))
    app = prepared.app
    print(f"ok: app {app.app_id!r}: {len(app.webhooks)} webhooks, {len(app.endpoints)} endpoints, "
          f"{len(prepared.boot.functions)} function files compiled")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from runtime.cli.serve_problems import start_up

    settings = settings_from(args)
    prepared, source = start_up(_app_dir(args), args.functions, settings)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.server").addFilter(_one_line)
    _raise_descriptor_limit()
    from runtime.cli import lifecycle

    return asyncio.run(lifecycle.run(prepared, settings, _route_table, _recording(args.record), source))


def _recording(folder: Path | None) -> tuple[object, ...]:
    """``serve``'s request-event sinks: the access log, and with ``--record`` the recorder."""
    if folder is None:
        return ()
    from runtime.http.access_log import AccessLog
    from runtime.http.recorder import Recorder

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InternalError(f"--record {folder}: cannot create the folder: {exc.strerror}") from None
    return (AccessLog(), Recorder(folder))


def _raise_descriptor_limit() -> None:
    """Connections and workers share the process's descriptors: take what the hard limit allows
    (distributions start processes at a soft limit of 1024)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass


def _one_line(record: logging.LogRecord) -> bool:
    """aiohttp logs every malformed request with its traceback: keep the one line, so a caller
    cannot flood the log (our handler answers every error itself; these are the parser's)."""
    if record.exc_info and record.exc_info[1] is not None:
        record.msg = f"{record.getMessage()}: {type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        record.args = None
        record.exc_info = None
        record.exc_text = None
    return True


def _route_table(routes: RouteTable) -> str:
    rows = [("METHODS", "PATH", "FUNCTION", "VALIDATION"), *routes.rows()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join("  " + "  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row)) for row in rows)


def _sign(args: argparse.Namespace) -> int:
    if args.body_file is not None:
        try:
            body = args.body_file.read_bytes()
        except OSError as exc:
            print(f"atlas-fn sign: --body-file {args.body_file}: {exc.strerror}", file=sys.stderr)
            return 1
    else:
        body = args.body.encode("utf-8")
    signature = crypto.signature(args.secret, body)
    if not args.curl:
        print(signature)
        return 0
    header = validation.ENDPOINT_SIGNATURE_HEADER if "/endpoint/" in args.curl else validation.WEBHOOK_SIGNATURE_HEADER
    data = f"--data-binary {shlex.quote('@' + str(args.body_file))}" if args.body_file is not None else f"--data-raw {shlex.quote(args.body)}"
    print(f"curl -X POST {shlex.quote(args.curl)} -H 'Content-Type: application/json' "
          f"-H {shlex.quote(f'{header}: {signature}')} {data}")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from runtime.tools import migrate

    return migrate.command(args.app_dir, args.functions, dry_run=args.dry_run)


def _diff(args: argparse.Namespace) -> int:
    from runtime.tools import diff

    return diff.command(args.app_dir, args.functions, request_file=args.request_file, only=args.webhooks,
                        json_out=args.json_out)


if __name__ == "__main__":
    sys.exit(main())
