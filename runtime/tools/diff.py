"""``atlas-fn diff``: the same requests through a legacy webhook and the endpoint converted from it.

Owns: pairing each webhook with the endpoint on route ``/<svc>/<webhook>``, sending the
requests (``runtime.tools.diff_requests``: ``--request FILE`` or one generated per webhook,
signed the way each side's contract requires) to the app run in-process on 127.0.0.1
(``runtime.app.snapshot.prepare`` + ``runtime.http.server.build_app``, the real worker pool),
comparing the answers with ``runtime.tools.comparison`` (pure: status, header pairs and body
bytes in, differences out, the documented ones named), and the command; the report and its
renderings are ``runtime.tools.diff_report``. Must not:
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
import json
import os
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping, TextIO

from runtime.app.model import Endpoint
from runtime.app.snapshot import Snapshot, prepare
from runtime.contract.routing import endpoint_path, webhook_path
from runtime.errors import ConfigError, DiffInputError
from runtime.settings import Settings
from runtime.tools.comparison import KNOWN, Observed, compare
from runtime.tools.diff_report import Exchange, PairResult, Report, render_json, render_text
from runtime.tools.diff_requests import DiffRequest, default_request, load_requests, method_of, shown_query, signed

__all__ = ["DiffInputError", "DiffRequest", "load_requests", "shown_query", "signed", "pair", "run", "command"]


# --- pairing and the run -----------------------------------------------------------------------


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

    from runtime.http.server import build_app
    from runtime.http.serving import AtlasRunner

    to_compare = [result for result in results if result.state == "compared"]
    if not to_compare:
        return
    runner = AtlasRunner(build_app(prepared, settings), settings, access_log=None,
                         handle_signals=False, shutdown_timeout=1.0)
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
