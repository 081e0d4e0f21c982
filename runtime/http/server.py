"""The HTTP front: the only module that speaks aiohttp.

Owns: the aiohttp application, the order of the checks before a call (contract §1: route,
method, size, concurrency, validation), handing the call to the worker pool, turning its
reply or any ``AtlasFnError`` into the HTTP answer, and the request log. Decisions live
below it (routing, validation, rules); processes live in ``runtime.host.pool``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import re
import time
from typing import Any, Callable

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from runtime.contract import validation
from runtime.app.config import Endpoint, Webhook
from runtime.app.snapshot import Prepared
from runtime.errors import (AtlasFnError, CallerError, FunctionError, InternalError, MethodNotAllowed, NoMatchingRule,
                            RequestTimeout, RequestTooLarge, TooManyRequests)
from runtime.app.functions import function_key
from runtime.host.pool import FunctionRunner, WorkerPool
from runtime.contract.request import build_payload, strip_secret
from runtime.contract.response import check_header
from runtime.contract.routing import RouteTable
from runtime.contract.response_rules import response_format
from runtime.settings import Settings

access_log = logging.getLogger("atlas_fn.access")

RUNNER = web.AppKey("runner", FunctionRunner)
_ids = itertools.count(1)
_ID_PREFIX = f"{int(time.time()) & 0xFFFFFF:06x}{os.getpid() & 0xFFFF:04x}"


class Front:
    """The request handler and the state it needs, built once per server."""

    def __init__(self, prepared: Prepared, settings: Settings) -> None:
        self.app = prepared.app
        self.settings = settings
        self.routes = RouteTable.from_app(prepared.app)
        self.rules = prepared.rules
        self.in_flight = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        co_id = f"{_ID_PREFIX}{next(_ids):08x}"
        entry = _LogEntry(request, co_id)
        try:
            response = await self._answer(request, entry)
        except AtlasFnError as error:
            response = self._error(request, error, co_id)
            entry.error = error.message
        except Exception:  # noqa: BLE001 - a bug of ours: answer with the envelope, log the traceback
            access_log.exception("internal error answering %s %s (co_id=%s)", request.method, request.path, co_id)
            error = InternalError("atlas-fn failed to answer this request; see the server log")
            response = self._error(request, error, co_id)
            entry.error = error.message
        entry.finish(response.status, started)
        return response

    async def _answer(self, request: web.Request, entry: "_LogEntry") -> web.StreamResponse:
        target = self.routes.resolve(request.method, request.path)
        entry.function = target.function_name if isinstance(target, Endpoint) else target.name
        entry.legacy = isinstance(target, Webhook)
        if request.content_length and request.content_length > self.settings.max_request_bytes:
            raise RequestTooLarge(f"the request body of {request.content_length} bytes exceeds the limit of {self.settings.max_request_bytes} bytes")
        if self.in_flight >= self.settings.max_concurrency:
            raise TooManyRequests(f"more than {self.settings.max_concurrency} requests are in flight")
        self.in_flight += 1
        try:
            return await self._call(request, target, entry)
        finally:
            self.in_flight -= 1

    async def _call(self, request: web.Request, target: Webhook | Endpoint, entry: "_LogEntry") -> web.StreamResponse:
        try:
            if request.content.is_eof():  # all of it arrived with the headers: no timer needed
                body = await request.read()
            else:
                async with asyncio.timeout(self.settings.body_timeout):
                    body = await request.read()
        except TimeoutError:  # a slow sender holds a concurrency slot: not for ever
            raise RequestTimeout(f"the request body did not arrive within {self.settings.body_timeout:g} s") from None
        except web.HTTPRequestEntityTooLarge:
            raise RequestTooLarge(f"the request body exceeds the limit of {self.settings.max_request_bytes} bytes") from None
        except ConnectionError:  # the caller went away before sending the whole body: nobody to answer
            raise CallerError("the connection closed before the whole request body arrived") from None
        except RequestPayloadError:  # e.g. a chunk size that is not hex, after the handler started reading
            raise CallerError("the request body is malformed: its chunked framing or length is broken") from None
        raw_query = request.raw_path.partition("?")[2]
        kind = "endpoint" if isinstance(target, Endpoint) else "webhook"
        service_type = "http" if kind == "endpoint" else target.service_type
        # The secret goes no further than validation: not to the function, not to its worker.
        raw_query, query_secret = strip_secret(raw_query) if raw_query else (None, None)
        raw_query = raw_query or ""
        verdict = validation.check(kind, service_type, target.validation_method, target.secret,
                                   body=body, query_secret=query_secret, headers=request.headers)
        entry.verdict = f"{verdict.method}:{'ok' if verdict.ok else 'failed'} ({verdict.detail})"
        validation.raise_for(verdict)
        url = f"{request.scheme}://{request.host}{request.path}"
        route = target.route if isinstance(target, Endpoint) else None
        remote = request.remote or ""
        rule = self.rules.get(id(target))
        if rule is not None:
            _, context_request = build_payload(
                method=request.method, url=url, raw_query=raw_query, headers=list(request.headers.items()), body=b"",
                remote=remote, kind=kind, service_type=service_type, route_or_url=route or "")
            if not rule.allows(context_request):
                raise NoMatchingRule(f"the request does not satisfy the can_evaluate rule of {entry.function}")
        meta = {
            "function": function_key(target.function),
            "kind": kind,
            "service_type": service_type,
            "method": request.method,
            "url": url,
            "raw_query": raw_query,
            "headers": request.raw_headers,
            "remote": remote,
            "respond_result": target.respond_result,
            "route": route,
            "format": response_format(request.headers.get("Accept"), target.return_type) if isinstance(target, Endpoint) else "EJSON",
        }
        reply = await request.app[RUNNER].call(meta, body)
        logs = reply.meta.get("logs")  # from a worker, which is not trusted: strings only
        entry.logs = [line for line in logs if type(line) is str] if type(logs) is list else []
        error = reply.meta.get("error")
        if error:
            message = error.get("message") if type(error) is dict else None
            raise FunctionError(message if type(message) is str else "the function failed")
        return _to_response(reply.meta, reply.body)

    def _error(self, request: web.Request, error: AtlasFnError, co_id: str) -> web.Response:
        link = f"{request.scheme}://{request.host}/_atlas-fn/logs?co_id={co_id}"
        headers = {"Allow": ", ".join(error.allow)} if isinstance(error, MethodNotAllowed) else None
        return web.Response(status=error.status, body=json.dumps(error.envelope(link), separators=(",", ":")).encode(),
                            content_type="application/json", headers=headers)


def _to_response(meta: dict[str, Any], body: bytes) -> web.Response:
    """A worker's reply, checked: a worker is not trusted to send well-formed HTTP."""
    status = meta.get("status")
    headers = meta.get("headers")
    if type(status) is not int or not 200 <= status <= 599 or type(headers) is not list:  # as setStatusCode
        raise FunctionError("the function's worker returned a malformed reply")
    out: list[tuple[str, str]] = []
    for pair in headers:
        try:
            if type(pair) is not list or len(pair) != 2:
                raise ValueError(pair)
            out.append(check_header("reply", pair[0], pair[1]))  # the rules the guest's setters keep
        except (TypeError, ValueError):
            raise FunctionError("the function's worker returned a malformed header") from None
    return web.Response(status=status, body=body or None, headers=out)  # pairs: repeated names kept


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # C0, DEL, C1, and the Unicode line separators


def _printable(path: str) -> str:
    """The decoded path for the one-line log entry: a control character a caller sent as
    ``%0A``/``%0D`` is shown percent-encoded again, so it cannot forge or hide a log line."""
    return _CONTROL.sub(lambda m: "".join(f"%{byte:02X}" for byte in m.group().encode()), path)


class _LogEntry:
    """One access-log line per request, then the function's console lines."""

    __slots__ = ("request", "co_id", "function", "verdict", "error", "logs", "legacy")

    def __init__(self, request: web.Request, co_id: str) -> None:
        self.request = request
        self.co_id = co_id
        self.function = "-"
        self.verdict = "-"
        self.error = ""
        self.logs: list[str] = []
        self.legacy = False  # a hit on a legacy webhook URL: name the caller (issue 3 §4)

    def finish(self, status: int, started: float) -> None:
        if not access_log.isEnabledFor(logging.INFO):
            return
        ms = (time.perf_counter() - started) * 1000
        r = self.request
        line = (f"{_timestamp()} {r.method} {_printable(r.path)} fn={self.function} "
                f"validation={self.verdict} status={status} {ms:.1f}ms co_id={self.co_id}")
        if self.legacy:
            line += f" legacy-webhook caller={r.remote} user-agent={r.headers.get('User-Agent', '')!r}"
        if self.error:
            line += f" error={self.error!r}"
        _BATCH.add("\n".join([line, *(f"  | {_escaped(text)}" for text in self.logs)]))


class _Batch:
    """Entries written together once per event-loop turn: one log record and one write for
    all requests answered in that turn, instead of one each (a record costs more than the
    rest of a request's own work in the server)."""

    def __init__(self) -> None:
        self.entries: list[str] = []

    def add(self, entry: str) -> None:
        if not self.entries:
            asyncio.get_running_loop().call_soon(self.flush)
        self.entries.append(entry)

    def flush(self) -> None:
        entries, self.entries = self.entries, []
        if entries:
            # makeRecord + handle is logging's own path without findCaller's walk up the stack
            # (paired wrk runs: x1.06 throughput); handlers, filters and caplog see the same record.
            access_log.handle(access_log.makeRecord(access_log.name, logging.INFO, __file__, 0, "\n".join(entries), None, None))


_BATCH = _Batch()
_clock = [-1, ""]


def _timestamp() -> str:
    """UTC time to the second, formatted once per second."""
    now = int(time.time())
    if now != _clock[0]:
        _clock[0], _clock[1] = now, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    return _clock[1]  # type: ignore[return-value]


def _escaped(text: str) -> str:
    """A console line as one log line: a function cannot forge log lines with a line break."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text) if _CONTROL.search(text) else text


def build_app(prepared: Prepared, settings: Settings, runner_factory: Callable[[], Any] | None = None) -> web.Application:
    """The aiohttp application for a prepared app (runtime.app.snapshot). The worker pool starts and
    stops with it (cleanup_ctx); tests may pass ``runner_factory`` for an in-process runner."""
    front = Front(prepared, settings)

    @web.middleware
    async def unrouted(request: web.Request, handler: Any) -> web.StreamResponse:
        """Request targets the catch-all route cannot match (``OPTIONS *``, ``CONNECT host:port``,
        a path holding a decoded newline) go to the front too: its 404 envelope, not aiohttp's text."""
        if request.match_info.http_exception is not None:
            return await front.handle(request)
        return await handler(request)

    web_app = web.Application(client_max_size=settings.max_request_bytes, middlewares=[unrouted], handler_args={
        "max_headers": settings.max_headers,
        "max_field_size": settings.max_header_line_bytes,
        "max_line_size": settings.max_header_line_bytes,
        # Bodies reach validation and the function as sent, as App Services' Go server hands them
        # over: a Content-Encoding is not undone, so VERIFY_PAYLOAD signs the bytes on the wire,
        # a broken gzip body is not a 500, and a small compressed body cannot expand in memory.
        "auto_decompress": False,
    })

    async def pool(web_app: web.Application) -> Any:
        if runner_factory is not None:
            web_app[RUNNER] = runner_factory()
            yield
            return
        workers = WorkerPool(prepared.boot, size=settings.pool_size, timeout=settings.timeout,
                             memory_mb=settings.memory_mb, max_queue=settings.max_concurrency,
                             max_reply_bytes=settings.max_response_bytes + 1024 * 1024, depth=settings.queue_depth)
        await workers.start()
        web_app[RUNNER] = workers
        try:
            yield
        finally:
            await workers.close()

    web_app.cleanup_ctx.append(pool)
    web_app.router.add_route("*", "/{tail:.*}", front.handle)
    return web_app
