"""``atlas-fn diff``: the same requests through a legacy webhook and the endpoint converted from it.

Owns: pairing each webhook with the endpoint on route ``/<svc>/<webhook>``, the requests
(``--request FILE`` or one generated per webhook) signed the way each side's contract requires,
running the app in-process on 127.0.0.1 (``runtime.app.snapshot.prepare`` + ``runtime.http.server.build_app``,
the real worker pool), and comparing the answers with ``runtime.tools.comparison`` (pure: status,
header pairs and body bytes in, differences out, the documented ones named). Must not:
change the app folder, show a secret (a ``secret`` query value is shown as ``<secret>``), or
decide how a request is answered (that is the server's job; this module only observes).

Decisions (the contract is silent; a migrating user's expectations):

* Exit 0 when no answer differs; 1 when any does — a *known* difference too, because callers
  see it — or when an http webhook that ``migrate`` converts has no enabled endpoint; 2 on bad
  input (not an app, a config or compile problem, a bad request file, an unknown ``--webhook``).
  Webhooks ``migrate`` leaves to a manual port (GitHub, Twilio, HEAD) are listed, labelled
  known, and do not count unless an endpoint exists on their route, which is then compared.
* Not compared, and listed in the report: the response headers ``Date`` (the time of the
  answer), ``Server`` (the server software, never the function's), ``Content-Length`` (follows
  the body, compared itself) and ``Transfer-Encoding``, ``Connection``, ``Keep-Alive`` (the
  connection's framing, which functions cannot set); an error envelope's ``link`` (it points at
  each request's own log entry) and the URL path its ``error`` message names. Header names
  compare case-insensitively; each name's values compare in order.
* Bodies compare as bytes, then as (E)JSON values: equal values in different text are "same
  value, different format (EJSON vs JSON)"; values equal once the EJSON side is mapped to JSON
  (contract §4.3: dates as ISO strings, …) count as the same value too. Otherwise the differing
  JSON paths are listed; paths ending in a signature header name or ``webhookUrl`` are known.
* The default request: the webhook's method (``ANY`` → POST; GitHub and Twilio: POST), the
  query ``source=atlas-fn-diff``, and for POST, PUT and PATCH a small JSON body (a form body for
  Twilio). Each request runs the function twice, once per URL: side effects happen twice.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, TextIO
from urllib.parse import urlencode

from runtime.contract import validation
from runtime.values import crypto
from runtime.app.config import Endpoint, Webhook
from runtime.app.snapshot import Snapshot, prepare
from runtime.tools.comparison import IGNORED_HEADERS, KNOWN, Difference, Observed, compare, show_json
from runtime.errors import ConfigError, DiffInputError
from runtime.contract.request import strip_secret
from runtime.contract.routing import endpoint_path, webhook_path
from runtime.settings import Settings
from runtime.values.shown import json_path

_BODY_METHODS = ("POST", "PUT", "PATCH")


# --- requests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffRequest:
    method: str | None  # None: the webhook's own method (ANY → POST)
    raw_query: str = ""  # without "?"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    webhook: str | None = None  # "<svc>/<name>": only this webhook; None: every one


_REQUEST_KEYS = ("method", "query", "headers", "body", "webhook")


def load_requests(path: Path) -> list[DiffRequest]:
    """The ``--request`` file: a JSON array of ``{method?, query?, headers?, body?, webhook?}``.
    ``query`` is an object (string or array-of-strings values) or a raw query string;
    ``headers`` an object (string or array values) or ``[name, value]`` pairs; ``body`` text
    (sent as UTF-8), ``{"base64": "..."}`` or null (no body)."""
    try:
        data = json.loads(path.read_bytes())
    except OSError as error:
        raise DiffInputError(f"{path}: cannot be read: {error.strerror or error}") from None
    except ValueError as error:
        raise DiffInputError(f"{path}: invalid JSON: {error}") from None
    if not isinstance(data, list) or not data:
        raise DiffInputError(f"{path}: $: expected a non-empty JSON array of requests")
    return [_request(path, json_path("$", index), item) for index, item in enumerate(data)]


def _request(path: Path, where: str, item: Any) -> DiffRequest:
    def bad(key: str, allowed: str) -> DiffInputError:
        return DiffInputError(f"{path}: {json_path(where, key)}: {show_json(item.get(key), 60)} is not allowed; allowed: {allowed}")

    if not isinstance(item, dict):
        raise DiffInputError(f"{path}: {where}: expected an object {{method, query, headers, body}}")
    unknown = sorted(set(item) - set(_REQUEST_KEYS))
    if unknown:
        raise DiffInputError(f"{path}: {where}: unknown key {unknown[0]!r}; allowed: {', '.join(_REQUEST_KEYS)}")
    method = item.get("method")
    if method is not None and (not isinstance(method, str) or not re.fullmatch(r"[A-Z]+", method)):
        raise bad("method", "an upper-case HTTP method such as GET or POST")
    query = item.get("query")
    if query is None:
        raw_query = ""
    elif isinstance(query, str):
        raw_query = query.removeprefix("?")
    elif isinstance(query, dict) and all(_strings(value) for value in query.values()):
        raw_query = urlencode([(key, value) for key, values in query.items()
                               for value in ([values] if isinstance(values, str) else values)])
    else:
        raise bad("query", "a query string, or an object of strings or arrays of strings")
    headers = _headers(item.get("headers"))
    if headers is None:
        raise bad("headers", "an object of strings or arrays of strings, or an array of [name, value] pairs")
    body = _body(item.get("body"))
    if body is False:
        raise bad("body", 'text, {"base64": "<standard base64>"} or null')
    webhook = item.get("webhook")
    if webhook is not None and (not isinstance(webhook, str) or webhook.count("/") != 1):
        raise bad("webhook", '"<service>/<webhook>"')
    return DiffRequest(method, raw_query, headers, body, webhook)  # type: ignore[arg-type]


def _strings(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))


def _headers(value: Any) -> tuple[tuple[str, str], ...] | None:
    if value is None:
        return ()
    if isinstance(value, dict) and all(_strings(v) for v in value.values()):
        return tuple((k, v) for k, values in value.items() for v in ([values] if isinstance(values, str) else values))
    if isinstance(value, list) and all(isinstance(p, list) and len(p) == 2 and _strings(p) for p in value):
        return tuple((name, v) for name, v in value)
    return None


def _body(value: Any) -> bytes | None | bool:
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict) and set(value) == {"base64"} and isinstance(value["base64"], str):
        try:
            return base64.b64decode(value["base64"], validate=True)
        except (binascii.Error, ValueError):
            return False
    return False


DEFAULT_BODY = b'{"message":"Hello from atlas-fn diff"}'
TWILIO_BODY = b"From=%2B15005550006&To=%2B15005550001&Body=Hello+from+atlas-fn+diff"


def default_request(webhook: Webhook) -> DiffRequest:
    method = "POST" if webhook.http_method == "ANY" or webhook.service_type != "http" else webhook.http_method
    if method not in _BODY_METHODS:
        return DiffRequest(method, "source=atlas-fn-diff")
    if webhook.service_type == "twilio":
        return DiffRequest(method, "source=atlas-fn-diff", (("Content-Type", "application/x-www-form-urlencoded"),), TWILIO_BODY)
    return DiffRequest(method, "source=atlas-fn-diff", (("Content-Type", "application/json"),), DEFAULT_BODY)


def method_of(request: DiffRequest, webhook: Webhook) -> str:
    return request.method or default_request(webhook).method or "POST"


def signed(request: DiffRequest, kind: str, service_type: str, validation_method: str, secret: str,
           body: bytes) -> tuple[str, list[tuple[str, str]]]:  # fmt: skip
    """``(raw query, headers)`` to send to one side, signed as that side's contract requires:
    ``?secret=`` appended (any given one replaced), or the signature header of the raw body."""
    method = validation.effective_method(service_type, validation_method, secret)
    raw_query, headers = request.raw_query, list(request.headers)
    if method == validation.SECRET_AS_QUERY_PARAM:
        kept = strip_secret(raw_query)[0] or ""
        raw_query = (kept + "&" if kept else "") + urlencode([("secret", secret)])
        return raw_query, headers
    header = {validation.VERIFY_PAYLOAD: validation.ENDPOINT_SIGNATURE_HEADER if kind == "endpoint"
              else validation.WEBHOOK_SIGNATURE_HEADER,
              validation.GITHUB_SIGNATURE: validation.GITHUB_SHA256_HEADER}.get(method)
    if header is not None:
        headers = [(name, value) for name, value in headers if name.lower() != header.lower()]
        headers.append((header, crypto.signature(secret, body)))
    return raw_query, headers


def shown_query(raw_query: str) -> str:
    """A query for the report: a ``secret`` pair's value replaced by ``<secret>``."""
    kept, secret = strip_secret(raw_query)
    if secret is None:
        return raw_query
    return ((kept or "") + "&" if kept else "") + "secret=<secret>"


# --- pairing and the run -----------------------------------------------------------------------


@dataclass
class Exchange:
    index: int  # the request's position (1-based) among this webhook's requests
    method: str
    query: str  # as shown: no secret value
    body_length: int | None
    webhook: Observed
    endpoint: Observed
    differences: list[Difference]


@dataclass
class PairResult:
    webhook: Webhook
    state: str  # "compared", "not_converted", "disabled", "manual_port"
    note: str = ""
    endpoints: tuple[Endpoint, ...] = ()
    webhook_path: str = ""
    endpoint_path: str = ""
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.webhook.service}/{self.webhook.name}"

    @property
    def counts(self) -> bool:
        """Whether this webhook makes the exit code 1."""
        return self.state in ("not_converted", "disabled") or any(e.differences for e in self.exchanges)


@dataclass
class Report:
    app_id: str
    results: list[PairResult]

    def differences(self) -> list[Difference]:
        return [d for result in self.results for exchange in result.exchanges for d in exchange.differences]

    @property
    def exit_code(self) -> int:
        return 1 if any(result.counts for result in self.results) else 0


def pair(prepared: Snapshot, only: Iterable[str] = ()) -> list[PairResult]:
    """Each webhook of the app (drop-ins excepted) with the endpoints on ``/<svc>/<webhook>``."""
    app = prepared.app
    webhooks = [hook for hook in app.webhooks if hook.config_file is not None]
    wanted = list(only)
    names = {f"{hook.service}/{hook.name}" for hook in webhooks}
    for name in wanted:
        if name not in names:
            raise DiffInputError(f"--webhook {name}: no such webhook; webhooks: {', '.join(sorted(names)) or '(none)'}")
    results = []
    for hook in webhooks:
        label = f"{hook.service}/{hook.name}"
        if wanted and label not in wanted:
            continue
        route = f"/{hook.service}/{hook.name}"
        on_route = [endpoint for endpoint in app.endpoints if endpoint.route == route]
        enabled = tuple(endpoint for endpoint in on_route if not endpoint.disabled)
        result = PairResult(hook, "compared", endpoints=enabled, webhook_path=webhook_path(app.app_id, hook.service, hook.name))
        if enabled:
            result.endpoint_path = endpoint_path(app.app_id, enabled[0].route)
        elif hook.service_type != "http":
            result.state, result.note = "manual_port", KNOWN["manual_port"]
        elif hook.http_method == "HEAD":
            result.state, result.note = "manual_port", KNOWN["head"]
        elif on_route:
            result.state, result.note = "disabled", f"not compared: its endpoint {route} is disabled"
        else:
            result.state, result.note = "not_converted", "not converted: run atlas-fn migrate"
        results.append(result)
    return results


def _endpoint_for(endpoints: tuple[Endpoint, ...], method: str) -> Endpoint:
    for endpoint in endpoints:
        if endpoint.http_method == method or (method == "HEAD" and endpoint.http_method == "GET"):
            return endpoint
    return next((e for e in endpoints if e.http_method == "*"), endpoints[0])


async def run(prepared: Snapshot, results: list[PairResult], requests: list[DiffRequest] | None,
              settings: Settings) -> None:  # fmt: skip
    """Start the app on 127.0.0.1 (a free port, the real worker pool), send every request to
    both URLs of every compared webhook, and fill in each result's exchanges."""
    from aiohttp import ClientSession, ClientTimeout, DummyCookieJar, web

    from runtime.http.server import SERVER_OPTIONS, build_app

    to_compare = [result for result in results if result.state == "compared"]
    if not to_compare:
        return
    runner = web.AppRunner(build_app(prepared, settings), access_log=None,
                           handle_signals=False, shutdown_timeout=1.0, **SERVER_OPTIONS)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.host, settings.port)
        await site.start()
        host, port = runner.addresses[0][:2]
        base = f"http://{host}:{port}"
        timeout = ClientTimeout(total=settings.timeout + 30)
        async with ClientSession(cookie_jar=DummyCookieJar(), auto_decompress=False, timeout=timeout) as session:
            for result in to_compare:
                mine = [r for r in requests if r.webhook in (None, result.label)] if requests else [default_request(result.webhook)]
                for index, request in enumerate(mine, 1):
                    result.exchanges.append(await _exchange(session, base, result, request, index))
    finally:
        await runner.cleanup()


async def _exchange(session: Any, base: str, result: PairResult, request: DiffRequest, index: int) -> Exchange:
    hook = result.webhook
    method = method_of(request, hook)
    endpoint = _endpoint_for(result.endpoints, method)
    body = request.body or b""
    webhook_query, webhook_headers = signed(request, "webhook", hook.service_type, hook.validation_method, hook.secret, body)
    endpoint_query, endpoint_headers = signed(request, "endpoint", "http", endpoint.validation_method, endpoint.secret, body)
    webhook_answer = await _send(session, method, base + result.webhook_path, webhook_query, webhook_headers, request.body)
    endpoint_answer = await _send(session, method, base + result.endpoint_path, endpoint_query, endpoint_headers, request.body)
    differences = compare(webhook_answer, endpoint_answer, respond_result=endpoint.respond_result,
                          webhook_url_path=result.webhook_path, endpoint_url_path=result.endpoint_path)
    length = len(request.body) if request.body is not None else None
    return Exchange(index, method, shown_query(request.raw_query), length, webhook_answer, endpoint_answer, differences)


async def _send(session: Any, method: str, url: str, raw_query: str, headers: list[tuple[str, str]],
                body: bytes | None) -> Observed:  # fmt: skip
    from multidict import CIMultiDict
    from yarl import URL

    target = URL(url + ("?" + raw_query if raw_query else ""), encoded=True)
    async with session.request(method, target, headers=CIMultiDict(headers), data=body, allow_redirects=False) as response:
        data = await response.read()
        pairs = tuple((name.decode("utf-8", "replace"), value.decode("utf-8", "replace"))
                      for name, value in response.raw_headers)
        return Observed(response.status, pairs, data)


# --- reports -----------------------------------------------------------------------------------


def render_text(report: Report) -> str:
    compared = [result for result in report.results if result.state == "compared"]
    lines = [f"atlas-fn diff: app {report.app_id!r}: {len(compared)} of {len(report.results)} webhooks compared"]
    for result in report.results:
        if result.state != "compared":
            lines.append(f"{result.label}: {result.note}")
            continue
        methods = "/".join(endpoint.http_method for endpoint in result.endpoints)
        lines.append(f"{result.label}: {result.webhook_path}  vs  {result.endpoint_path} ({methods})")
        for exchange in result.exchanges:
            sent = f"{exchange.method}" + (f" ?{exchange.query}" if exchange.query else "")
            sent += f", {exchange.body_length}-byte body" if exchange.body_length is not None else ", no body"
            if not exchange.differences:
                lines.append(f"  request {exchange.index} ({sent}): no difference (status {exchange.webhook.status})")
                continue
            known = sum(1 for d in exchange.differences if d.known)
            lines.append(f"  request {exchange.index} ({sent}): {_plural(len(exchange.differences), 'difference')}"
                         f" ({known} known)")
            for difference in exchange.differences:
                what = f"header {difference.name}" if difference.part == "header" else difference.part
                lines.append(f"    {what}: webhook {difference.webhook} | endpoint {difference.endpoint}")
                if difference.note:
                    lines.append(f"      {difference.note}")
                if difference.known_text:
                    lines.append(f"      {difference.known_text}")
    all_differences = report.differences()
    known = sum(1 for d in all_differences if d.known)
    missing = sum(1 for result in report.results if result.state in ("not_converted", "disabled"))
    lines.append(f"not compared: the headers {', '.join(IGNORED_HEADERS)} (they change with every answer or belong "
                 "to the connection), an error envelope's link and the URL path its message names")
    lines.append(f"result: {_plural(len(all_differences), 'difference')} ({known} known, "
                 f"{len(all_differences) - known} unexpected), {missing} not converted; exit {report.exit_code}")
    return "\n".join(lines)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _body_json(data: bytes | None) -> Any:
    if data is None:
        return None
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def _observed_json(answer: Observed) -> dict[str, Any]:
    return {"status": answer.status, "headers": [list(pair) for pair in answer.headers], "body": _body_json(answer.body)}


def render_json(report: Report) -> dict[str, Any]:
    """The machine-readable report (``--json OUT``)."""
    differences = report.differences()
    webhooks = []
    for result in report.results:
        webhooks.append({
            "webhook": result.label, "service_type": result.webhook.service_type, "state": result.state,
            "note": result.note, "webhook_path": result.webhook_path, "endpoint_path": result.endpoint_path,
            "requests": [{
                "index": exchange.index, "method": exchange.method, "query": exchange.query,
                "body_length": exchange.body_length,
                "webhook": _observed_json(exchange.webhook), "endpoint": _observed_json(exchange.endpoint),
                "differences": [{"part": d.part, "name": d.name, "webhook": d.webhook, "endpoint": d.endpoint,
                                 "note": d.note, "known": d.known, "known_text": d.known_text}
                                for d in exchange.differences],
            } for exchange in result.exchanges],
        })  # fmt: skip
    return {
        "app_id": report.app_id,
        "exit_code": report.exit_code,
        "summary": {
            "webhooks": len(report.results),
            "compared": sum(1 for r in report.results if r.state == "compared"),
            "not_converted": sum(1 for r in report.results if r.state in ("not_converted", "disabled")),
            "manual_port": sum(1 for r in report.results if r.state == "manual_port"),
            "differences": len(differences),
            "known": sum(1 for d in differences if d.known),
            "unexpected": sum(1 for d in differences if not d.known),
        },
        "ignored_headers": list(IGNORED_HEADERS),
        "webhooks": webhooks,
    }


# --- the command -------------------------------------------------------------------------------


def command(app_dir: Path, functions_dir: Path | None, *, request_file: Path | None = None,
            only: Iterable[str] = (), json_out: Path | None = None, out: TextIO | None = None,
            err: TextIO | None = None, environ: Mapping[str, str] | None = None) -> int:  # fmt: skip
    """``atlas-fn diff``: 0 no difference, 1 a difference or an unconverted webhook, 2 bad input."""
    out, err, environ = out or sys.stdout, err or sys.stderr, os.environ if environ is None else environ
    settings = Settings(host="127.0.0.1", port=0, workers=2)
    try:
        if not app_dir.is_dir():
            raise DiffInputError(f"{app_dir}: not a folder; expected an exported App Services app folder")
        requests = load_requests(request_file) if request_file is not None else None
        prepared = prepare(app_dir, functions_dir, settings, environ=environ)
        results = pair(prepared, only)
    except ConfigError as error:
        print(f"atlas-fn diff: {error.message}", file=err)
        return 2
    except DiffInputError as error:
        print(f"atlas-fn diff: {error}", file=err)
        return 2
    if requests is not None:
        for request in requests:
            if request.webhook is not None and request.webhook not in {result.label for result in results}:
                print(f"atlas-fn diff: {request_file}: a request names webhook {request.webhook!r}, "
                      "which is not among the webhooks compared", file=err)
                return 2
    from aiohttp import ClientError

    try:
        asyncio.run(run(prepared, results, requests, settings))
    except (ClientError, asyncio.TimeoutError) as error:
        print(f"atlas-fn diff: a request to the in-process server failed: {error or type(error).__name__}", file=err)
        return 2
    report = Report(prepared.app.app_id, results)
    print(render_text(report), file=out)
    if json_out is not None:
        try:
            json_out.write_text(json.dumps(render_json(report), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        except OSError as error:
            print(f"atlas-fn diff: --json {json_out}: cannot be written: {error.strerror or error}", file=err)
            return 2
    return report.exit_code
