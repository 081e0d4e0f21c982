"""``atlas-fn invoke``: one webhook or endpoint call without a server (issue 12 §3).

Owns: the ``invoke`` subcommand: naming a target (``svc/webhook``, an endpoint route such as
``/hello`` or ``GET /hello``, a webhook's or drop-in's name, or a full URL path), building the
request as plain values, and printing the answer (status, headers, body, the function's console
lines, and on error the traceback with file and line). The call goes through what HTTP goes
through: the route table's ``resolve``, ``runtime.contract.pipeline.prepare_call``, a real
``WorkerPool`` of one worker (the sandbox applies) and the app's services (``ServiceHost``,
opened on first use and closed after). Exit code 0 for a 2xx answer, 1 otherwise. Must not
decide anything the pipeline, the route table or the worker decides, or print a secret.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import textwrap
import sys
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

from multidict import CIMultiDict

from runtime import settings as settings_module
from runtime.app.snapshot import Snapshot
from runtime.contract import log_text, proofs, validation
from runtime.contract.call_spec import CallSpec
from runtime.contract.pipeline import IncomingRequest, prepare_call
from runtime.contract.routing import endpoint_path, webhook_path
from runtime.errors import AtlasFnError, ConfigError, ConfigProblem, FunctionError
from runtime.protocol.messages import Reply

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

EPILOG = """examples:
  atlas-fn invoke webhooks/hello --query name=Ada
  atlas-fn invoke webhooks/signed --method POST --body '{"message":"MESSAGE"}' --sign
  atlas-fn invoke ping                      # a drop-in: functions/ping.py
  atlas-fn invoke 'POST /orders' --body-file order.json --header 'Content-Type: application/json'
exit code: 0 for a 2xx answer, 1 otherwise."""


def add_parser(commands: Any, app_flags: Callable[[argparse.ArgumentParser], None]) -> None:
    parser = commands.add_parser(
        "invoke", help="run one webhook or endpoint without a server and print its answer",
        description=textwrap.fill("Run one webhook or endpoint through the same pipeline as HTTP (validation, can_evaluate, "
                    "the sandboxed worker, the response rules) without starting a server, and print the status, "
                    "headers, body, console lines and, on error, the traceback with file and line.", 90),
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    app_flags(parser)
    parser.add_argument("target", metavar="TARGET",
                        help="SVC/WEBHOOK, an endpoint route ('/hello' or 'GET /hello'), a webhook or drop-in name, or a URL path")
    parser.add_argument("--method", "-X", default=None, help="HTTP method (default: the route's, else GET, or POST with a body)")
    parser.add_argument("--query", "-q", action="append", default=[], metavar="K=V", help="a query parameter (repeatable)")
    parser.add_argument("--header", "-H", action="append", default=[], metavar="'K: V'", help="a request header (repeatable)")
    body = parser.add_mutually_exclusive_group()
    body.add_argument("--body", "-d", default=None, help="the request body, exactly as it will be sent")
    body.add_argument("--body-file", dest="body_file", type=Path, default=None, help="a file holding the request body")
    parser.add_argument("--sign", action="store_true",
                        help="add the proof the route's validation asks for, made with its own secret "
                             "(X-Hook-Signature / Endpoint-Signature, or the secret query parameter)")
    parser.set_defaults(run=command)


def command(args: argparse.Namespace) -> int:
    from runtime.cli import _prepare

    settings = settings_module.load({"workers": 1})
    snapshot = _prepare(args, settings)
    try:
        body = args.body_file.read_bytes() if args.body_file is not None else (args.body or "").encode("utf-8")
    except OSError as exc:
        raise ConfigError([ConfigProblem(str(args.body_file), "", f"--body-file cannot be read: {exc.strerror}")]) from None
    method, path = target_path(snapshot, args.target, args.method, bool(body))
    headers = [_header(text) for text in args.header]
    raw_query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, _, v in (q.partition("=") for q in args.query))
    status, reply_headers, answer, reply = asyncio.run(_invoke(snapshot, settings, method, path, raw_query, headers, body, args.sign))
    out = sys.stdout
    out.write(f"{method} {path} -> {status}\n")
    for name, value in reply_headers:
        out.write(f"{log_text.console_line(name)}: {log_text.console_line(value)}\n")
    out.write("\n")
    out.flush()
    sys.stdout.buffer.write(answer)
    out.write("\n" if answer and not answer.endswith(b"\n") else "")
    if reply is not None and reply.logs:
        out.write("\nconsole:\n" + "".join(f"  {log_text.console_line(line)}\n" for line in reply.logs))
    if reply is not None and reply.traceback:
        roots = [folder.parent for folder in (snapshot.app.root, snapshot.app.functions_dir) if folder is not None]
        out.write("\n" + "".join(f"{log_text.console_line(line)}\n" for line in with_source(reply.traceback, roots)))
    out.flush()
    return 0 if 200 <= status <= 299 else 1


_PYTHON_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in ')
_JAVASCRIPT_FRAME = re.compile(r"^\s*at (?:.* \()?(?P<file>[^()\s]+):(?P<line>\d+):\d+\)?$")


def with_source(traceback: str, roots: list[Path]) -> list[str]:
    """The traceback's lines, each frame followed by its line of source when the file is one of
    the app's (its shown name is relative to the parent of the app or functions folder); the
    worker sends none, as it reads no files."""
    out = []
    for line in traceback.splitlines():
        out.append(line)
        frame = _PYTHON_FRAME.match(line) or _JAVASCRIPT_FRAME.match(line)
        if frame is None:
            continue
        for root in roots:
            try:
                source = (root / frame["file"]).read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError, ValueError):
                continue
            number = int(frame["line"])
            if 1 <= number <= len(source):
                out.append(" " * (len(line) - len(line.lstrip()) + 2) + source[number - 1].strip())
            break
    return out


def target_path(snapshot: Snapshot, target: str, method: str | None, has_body: bool) -> tuple[str, str]:
    """(method, URL path) of ``target``; a ConfigError listing what can be invoked when it names nothing."""
    app = snapshot.app
    text = target.strip()
    head, _, rest = text.partition(" ")
    if head.upper() in METHODS and rest.strip():
        method, text = method or head.upper(), rest.strip()
    hooks = [hook for hook in app.webhooks if hook.name == text]
    functions = [endpoint for endpoint in app.endpoints if endpoint.function_name == text and not endpoint.disabled]
    if text.startswith(("/api/client/", "/app/")):
        path = text
    elif text.startswith("/"):
        path = endpoint_path(app.app_id, text)
    elif len(hooks) + len(functions) == 1:  # a webhook's (a drop-in's) or an endpoint function's name
        if hooks:
            path = webhook_path(app.app_id, hooks[0].service, text)
        else:
            path = endpoint_path(app.app_id, functions[0].route)
            if method is None and functions[0].http_method in METHODS:
                method = functions[0].http_method
    elif "/" in text:
        service, _, name = text.partition("/")
        path = webhook_path(app.app_id, service, name)
    else:
        path = ""
    methods: dict[str, set[str]] = {}
    for row in snapshot.routes.rows():
        methods.setdefault(row[1], set()).add(row[0])
    if path not in methods:
        rows = "\n".join(f"  {row[0]:<7} {_short(row[1], app.app_id)}" for row in snapshot.routes.rows())
        raise ConfigError([ConfigProblem("TARGET", "", f"{target!r} names no webhook or endpoint of app "
                                                        f"{app.app_id!r}; allowed (SVC/NAME, a route, or a name):\n{rows}")])
    if method is None:
        allowed = methods[path]
        wanted = "POST" if has_body else "GET"
        method = wanted if wanted in allowed or allowed & {"ANY", "*"} else min(allowed)
    return method.upper(), path


def _short(path: str, app_id: str) -> str:
    for prefix, cut in ((webhook_path(app_id, "", "").split("/service/")[0] + "/service/", "incoming_webhook/"),
                        (endpoint_path(app_id, ""), "")):
        if path.startswith(prefix):
            rest = path[len(prefix):]
            return rest.replace("/" + cut, "/", 1) if cut else rest
    return path


def _header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise ConfigError([ConfigProblem("--header", "", f"{text!r} is not 'Name: value'")])
    return name.strip(), value.strip()


async def _invoke(snapshot: Snapshot, settings: settings_module.Settings, method: str, path: str, raw_query: str,
                  headers: list[tuple[str, str]], body: bytes, sign: bool) -> tuple[int, list[tuple[str, str]], bytes, Reply | None]:
    from runtime.contract.pipeline import no_users
    from runtime.host.pool import WorkerPool
    from runtime.http import auth_routes
    from runtime.http.server import service_host

    try:
        spec = snapshot.routes.resolve(method, path)
    except AtlasFnError as error:
        return _envelope(error)
    if sign:
        raw_query, headers = _signed(spec, body, raw_query, headers)
    host = f"{settings.host}:{settings.port}"
    sent = [("Host", host), ("User-Agent", "atlas-fn-invoke"), *headers]
    if body and not any(name.lower() == "content-length" for name, _ in sent):
        sent.append(("Content-Length", str(len(body))))
    lookup = CIMultiDict(sent)
    raw = tuple((name.encode("utf-8"), value.encode("utf-8")) for name, value in sent)
    incoming = IncomingRequest(method, f"http://{host}{path}", raw_query, lookup, raw, "127.0.0.1", body)
    users = auth_routes.authenticator(snapshot)  # a route that runs as its caller checks the credentials given
    identify = users.identify if users is not None else no_users
    decision = await asyncio.to_thread(prepare_call, spec, incoming, 0, identify)
    if decision.error is not None:
        return _envelope(decision.error)
    assert decision.call is not None
    services = service_host(snapshot, settings)
    pool = WorkerPool(snapshot.boot, size=1, timeout=settings.timeout, memory_mb=settings.memory_mb, max_queue=1,
                      max_reply_bytes=settings.max_response_bytes + 1024 * 1024, depth=1,
                      queue_timeout=settings.queue_timeout, services=services)
    try:
        await pool.start()
        call = decision.call
        if decision.script:  # run_as_user_id_script_source: a worker runs it first, as the server does
            call = await auth_routes.run_as_script(pool, call, decision.script, identify)
        if spec.run_as.custom_data:
            call = await auth_routes.with_custom_data(call, snapshot.app.auth.custom_user_data, services)
        reply = await pool.call(call)
    except AtlasFnError as error:
        return _envelope(error)
    finally:
        await pool.close()
        await services.close()
    if reply.error is not None:
        return (*_envelope(FunctionError(reply.error[1] or "the function failed"))[:3], reply)
    return reply.status, list(reply.headers), reply.body, reply


def _signed(spec: CallSpec, body: bytes, raw_query: str, headers: list[tuple[str, str]]) -> tuple[str, list[tuple[str, str]]]:
    if spec.validation == validation.NO_VALIDATION or not spec.secret:
        raise ConfigError([ConfigProblem("--sign", "", f"{spec.name} has no secret to sign with (validation "
                                                       f"{spec.validation}); leave --sign out")])
    return proofs.signed(spec, body, raw_query, headers)


def _envelope(error: AtlasFnError) -> tuple[int, list[tuple[str, str]], bytes, None]:
    """The §5 error envelope the server answers ``error`` with (no inspector link)."""
    body = json.dumps(error.envelope(""), separators=(",", ":")).encode()
    return error.status, [("Content-Type", "application/json")], body, None
