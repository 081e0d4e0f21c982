"""The HTTP front: aiohttp in, the call pipeline, the worker pool, aiohttp out.

Owns: the aiohttp application, the checks that need no body (route, method, size,
concurrency), reading the body, handing the request to the pure call pipeline
(``runtime.contract.pipeline``), the call to the worker pool, turning its reply or any
``AtlasFnError`` into the HTTP answer, and one ``RequestEvent`` per request for the sinks
(the access log first). Each request is served by the generation (snapshot and pool) current
when it starts (``runtime.http.generation``; ``runtime.http.reload`` swaps it). Must not hold decisions that belong in ``runtime.contract``, or own
processes (``runtime.host`` does).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import time
from typing import Any, Callable, Iterable

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from runtime.app.snapshot import Snapshot
from runtime.contract.pipeline import IncomingRequest, no_users, prepare_call
from runtime.contract.response import MAX_HEADERS, check_header
from runtime.errors import (AtlasFnError, CallerError, FunctionError, InternalError, MethodNotAllowed, RequestTimeout,
                            RequestTooLarge, TooManyRequests)
from runtime.host.pool import FunctionRunner, WorkerPool
from runtime.host.pool import running_call
from runtime.host.worker_process import Spawned
from runtime.http import auth_routes
from runtime.http.access_log import AccessLog
from runtime.http import inspector
from runtime.http.events import EventSink, RequestEvent
from runtime.http.generation import Generation
from runtime.http.reload import Reloader, Source
from runtime.protocol.messages import Boot, Reply
from runtime.services.host import ServiceHost
from runtime.settings import Settings

log = logging.getLogger("atlas_fn.server")

RUNNER = web.AppKey("runner", FunctionRunner)
RELOADER = web.AppKey("reloader", Reloader)  # generations, problems, last reload (runtime.http.reload)



STREAM_ABOVE_BYTES = 256 * 1024  # larger answers are written a chunk at a time (Front._stream)
STREAM_CHUNK_BYTES = 64 * 1024
CLIENT_CLOSED = 499  # logged, never sent: the caller closed the connection before its answer (as nginx logs it)


class Front:
    """The request handler and the state it needs, built once per served snapshot."""

    def __init__(self, snapshot: Snapshot, settings: Settings, sinks: Iterable[EventSink] = ()) -> None:
        self.first = snapshot
        self.generation: Generation | None = None  # set when its runner is up; a reload swaps it (generation.py)
        self.settings = settings
        self.sinks = tuple(sinks) or (AccessLog(),)
        self.in_flight = 0
        self.unsent = 0  # bytes of large answers not yet read by their callers
        self.log_page: str | None = None  # the path of a served page showing a request by co_id, if any
        self.services: ServiceHost | None = None  # set when the pool starts (custom user data reads)
        self._users = (snapshot.app.auth, auth_routes.authenticator(snapshot))
        self._ids = itertools.count(1)
        self._id_prefix = f"{int(time.time()) & 0xFFFFFF:06x}{os.getpid() & 0xFFFF:04x}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        co_id = f"{self._id_prefix}{next(self._ids):08x}"
        trace = _Trace()
        try:
            response = await self._answer(request, trace)
        except asyncio.CancelledError:  # the caller closed the connection (SERVER_OPTIONS): log it, then stop
            if trace.reading_body:
                trace.error, status = "the connection closed before the whole request body arrived", CallerError.status
            else:
                trace.error, status = "the caller closed the connection before the answer", CLIENT_CLOSED
            self._emit(self._event(request, co_id, trace, status, started))
            raise
        except AtlasFnError as error:
            response = self._error(request, error, co_id)
            trace.error = error.message
        except Exception:  # noqa: BLE001 - a bug of ours: answer with the envelope, log the traceback
            log.exception("internal error answering %s %s (co_id=%s)", request.method, request.path, co_id)
            error = InternalError("atlas-fn failed to answer this request; see the server log")
            response = self._error(request, error, co_id)
            trace.error = error.message
        self._emit(self._event(request, co_id, trace, response.status, started, response))
        return response

    @staticmethod
    def _event(request: web.Request, co_id: str, trace: "_Trace", status: int, started: float,
               response: web.StreamResponse | None = None) -> RequestEvent:
        now, reply = time.perf_counter(), trace.reply
        sent = getattr(response, "body", None)  # a streamed answer has none: the reply's body was sent
        return RequestEvent(co_id, request.method, request.path, trace.function, trace.verdict, status,
                            (now - started) * 1000, trace.error, trace.logs, trace.legacy,
                            request.remote or "", request.headers.get("User-Agent", ""),
                            getattr(reply, "traceback", ""), trace.spec, request.raw_path,
                            request.raw_headers, trace.body, reply.calls if reply else (),
                            tuple(response.headers.items()) if response is not None else (),
                            sent if type(sent) is bytes else reply.body if reply else b"", trace.timings(started, now))

    def _emit(self, event: RequestEvent) -> None:
        for sink in self.sinks:
            try:
                sink(event)
            except Exception:  # noqa: BLE001 - a sink's failure must not fail the request
                log.exception("a request-event sink failed (co_id=%s)", event.co_id)

    @property
    def users(self) -> Any:
        """The served snapshot's ``Authenticator`` (None: its export declares no auth providers),
        made again when a reload changed what the export says about users."""
        snapshot = self.snapshot
        if self._users[0] is not snapshot.app.auth:
            self._users = (snapshot.app.auth, auth_routes.authenticator(snapshot))
        return self._users[1]

    @property
    def identify(self) -> Any:
        users = self.users
        return users.identify if users is not None else no_users

    @property
    def snapshot(self) -> Snapshot:
        """The snapshot new requests are served from."""
        return self.generation.snapshot if self.generation is not None else self.first

    async def _answer(self, request: web.Request, trace: "_Trace") -> web.StreamResponse:
        generation = self.generation  # taken once: this request sees one snapshot and one pool
        assert generation is not None, "a request before the worker pool started"
        generation.enter()
        try:
            return await self._answer_on(generation, request, trace)
        finally:
            generation.leave()

    async def _answer_on(self, generation: Generation, request: web.Request, trace: "_Trace") -> web.StreamResponse:
        spec = generation.snapshot.routes.resolve(request.method, request.path, request.raw_path)
        trace.function, trace.legacy, trace.spec = spec.name, spec.legacy, spec
        if request.content_length and request.content_length > self.settings.max_request_bytes:
            raise RequestTooLarge(f"the request body of {request.content_length} bytes exceeds the limit of {self.settings.max_request_bytes} bytes")
        if self.in_flight >= self.settings.max_concurrency:
            raise TooManyRequests(f"more than {self.settings.max_concurrency} requests are in flight")
        self.in_flight += 1
        try:
            trace.body = body = await self._body(request, trace)
            trace.reading_body = False
            incoming = IncomingRequest(request.method, f"{request.scheme}://{request.host}{request.path}",
                                       request.raw_path.partition("?")[2], request.headers, request.raw_headers,
                                       request.remote or "", body)
            if spec.run_as.mode == "system":
                decision = prepare_call(spec, incoming)
            else:  # a first API key or password check runs the KDF (~85 ms): off the event loop
                decision = await asyncio.to_thread(prepare_call, spec, incoming, 0, self.identify)
            verdict = decision.verdict
            trace.verdict = f"{verdict.method}:{'ok' if verdict.ok else 'failed'} ({verdict.detail})"
            trace.routed = time.perf_counter()
            if decision.error is not None:
                raise decision.error
            call = decision.call
            assert call is not None
            if decision.script:  # run_as_user_id_script_source: a worker runs it first (contract §2.7)
                call = await auth_routes.run_as_script(generation.runner, call, decision.script, self.identify)
            if spec.run_as.custom_data:
                call = await auth_routes.with_custom_data(call, generation.snapshot.app.auth.custom_user_data, self.services)
            trace.reply = reply = await generation.runner.call(call)
            trace.called = time.perf_counter()
        finally:
            self.in_flight -= 1
        trace.logs = reply.logs
        if reply.error is not None:
            raise FunctionError(reply.error[1] or "the function failed")
        response = _to_response(reply)
        if len(reply.body) <= STREAM_ABOVE_BYTES:
            return response  # aiohttp writes it when the handler returns
        return await self._stream(request, response, reply.body)

    async def _stream(self, request: web.Request, response: web.Response, body: bytes) -> web.StreamResponse:
        """A large answer, written a chunk at a time as the caller reads it (so the transport
        buffers at most a chunk or two), within ``write_timeout``, and counted against
        ``max_unsent_bytes`` while it waits (red-team finding F4). A caller that does not read
        in time has its connection closed; the body is let go when the handler returns."""
        if self.unsent + len(body) > self.settings.max_unsent_bytes:
            raise TooManyRequests(f"answers of more than {self.settings.max_unsent_bytes} bytes in all are waiting for "
                                  "callers that have not read them")
        self.unsent += len(body)
        streamed = web.StreamResponse(status=response.status, headers=response.headers)
        streamed.content_length = len(body)
        try:
            async with asyncio.timeout(self.settings.write_timeout):
                await streamed.prepare(request)
                view = memoryview(body)
                for start in range(0, len(body), STREAM_CHUNK_BYTES):
                    await streamed.write(view[start:start + STREAM_CHUNK_BYTES])
                await streamed.write_eof()
        except TimeoutError:
            log.warning("closed the connection of %s: its answer of %d bytes was not read within %g s",
                        request.remote, len(body), self.settings.write_timeout)
            if request.transport is not None:
                request.transport.abort()
        finally:
            self.unsent -= len(body)
        return streamed

    async def _body(self, request: web.Request, trace: "_Trace") -> bytes:
        trace.reading_body = True
        try:
            if request.content.is_eof():  # all of it arrived with the headers: no timer needed
                return await request.read()
            async with asyncio.timeout(self.settings.body_timeout):
                return await request.read()
        except TimeoutError:  # a slow sender holds a concurrency slot: not for ever
            raise RequestTimeout(f"the request body did not arrive within {self.settings.body_timeout:g} s") from None
        except web.HTTPRequestEntityTooLarge:
            raise RequestTooLarge(f"the request body exceeds the limit of {self.settings.max_request_bytes} bytes") from None
        except ConnectionError:  # the caller went away before sending the whole body: nobody to answer
            raise CallerError("the connection closed before the whole request body arrived") from None
        except RequestPayloadError:  # e.g. a chunk size that is not hex, after the handler started reading
            raise CallerError("the request body is malformed: its chunked framing or length is broken") from None

    def _link(self, request: web.Request, co_id: str) -> str:
        """The envelope's ``link`` (§5): the request's entry in the log page, addressed by the
        server's own socket (never the caller's ``Host``, which a caller controls), and only when
        that page is served; "" otherwise (atlas-fn has no log page yet: the request log names
        the co_id)."""
        if self.log_page is None:
            return ""
        sockname = request.transport.get_extra_info("sockname") if request.transport is not None else None
        if not sockname:
            return ""
        host, port = sockname[0], sockname[1]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}{self.log_page}?co_id={co_id}"

    def _error(self, request: web.Request, error: AtlasFnError, co_id: str) -> web.Response:
        link = self._link(request, co_id)
        headers = {"Allow": ", ".join(error.allow)} if isinstance(error, MethodNotAllowed) else None
        return web.Response(status=error.status, body=json.dumps(error.envelope(link), separators=(",", ":")).encode(),
                            content_type="application/json", headers=headers)


class _Trace:
    """What the front learnt about a request on its way, for its event."""

    __slots__ = ("function", "verdict", "error", "logs", "legacy", "reading_body", "spec", "body", "reply", "routed",
                 "called")

    def __init__(self) -> None:
        self.function = "-"
        self.verdict = "-"
        self.error = ""
        self.logs: tuple[str, ...] = ()
        self.legacy = False
        self.reading_body = False
        self.spec: Any = None  # the CallSpec matched
        self.body = b""
        self.reply: Reply | None = None
        self.routed = self.called = 0.0  # perf_counter() when validation was done, when the worker answered

    def timings(self, started: float, now: float) -> tuple[float, float, float, float, float]:
        """The marks ``RequestEvent.timings`` holds; sinks that show steps make them (``events.steps``)."""
        reply = self.reply
        return started, self.routed, self.called if reply is not None else 0.0, now, reply.waited if reply is not None else 0.0


def _to_response(reply: Reply) -> web.Response:
    """A worker's reply, checked: a worker is not trusted to send well-formed HTTP (the
    protocol checked the types; the values are checked here, by the setters' own rules)."""
    # as setStatusCode; and as setHeader/addHeader, plus the Content-Type the response rules may add
    if not 200 <= reply.status <= 599 or len(reply.headers) > MAX_HEADERS + 1:
        raise FunctionError("the function's worker returned a malformed reply")
    for pair in reply.headers:  # (str, str) pairs, typed by the protocol: check_header keeps them as they are
        if pair not in _CHECKED_HEADERS:
            try:
                check_header("reply", pair[0], pair[1])
            except (TypeError, ValueError):
                raise FunctionError("the function's worker returned a malformed header") from None
            if len(pair[0]) + len(pair[1]) <= CHECKED_HEADER_CHARS and len(_CHECKED_HEADERS) < CHECKED_HEADERS:
                _CHECKED_HEADERS.add(pair)
    return web.Response(status=reply.status, body=reply.body or None, headers=reply.headers)  # pairs: repeated names kept


# Header pairs a reply carried that passed check_header (a pure check): the same pair in a later
# reply is not checked again (most replies repeat a Content-Type or two). Bounded in count and size.
CHECKED_HEADERS, CHECKED_HEADER_CHARS = 1024, 256
_CHECKED_HEADERS: set[tuple[str, str]] = set()


def service_host(snapshot: Snapshot, settings: Settings) -> ServiceHost:
    """The server's side of the snapshot's service requests, as the settings say."""
    return ServiceHost(snapshot.boot.services, app_dir=snapshot.app.root, data=settings.data,
                       mongodb_uri=settings.mongodb_uri, http_allow=settings.http_allow, policies=snapshot.policies,
                       caller=running_call)


async def start_pool(boot: Boot, settings: Settings, host: ServiceHost, ready: int | None = None,
                     spawned: Spawned | None = None) -> WorkerPool:
    """A worker pool booted with ``boot``, started (with ``ready``: once that many workers are up;
    ``spawned``: a process started ahead, its first worker); closed again if its start fails or
    is cancelled."""
    workers = WorkerPool(boot, size=settings.pool_size, timeout=settings.timeout,
                         memory_mb=settings.memory_mb, max_queue=settings.max_concurrency,
                         max_reply_bytes=settings.max_response_bytes + 1024 * 1024, depth=settings.queue_depth,
                         queue_timeout=settings.queue_timeout, services=host)
    try:
        await workers.start(ready, spawned)
    except BaseException:
        await workers.close()
        raise
    return workers


def build_app(snapshot: Snapshot, settings: Settings, runner_factory: Callable[[], Any] | None = None,
              sinks: Iterable[EventSink] = (), services: ServiceHost | None = None,
              source: Source | None = None) -> web.Application:
    """The aiohttp application for a snapshot (``runtime.app.snapshot``). The worker pool starts and
    stops with it (cleanup_ctx); tests may pass ``runner_factory`` for an in-process runner,
    and ``sinks`` receive every request's event (default: the access log). With ``source`` (where
    the app came from) and ``settings.reload``, edits are served without a restart (``RELOADER``)."""
    front = Front(snapshot, settings, sinks)

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
        host = None
        if runner_factory is not None:
            runner = runner_factory()
        else:
            host = services or service_host(snapshot, settings)
            runner = await start_pool(snapshot.boot, settings, host)
            front.services = host
        web_app[RUNNER] = runner  # the first generation's (tests read its pids)
        front.generation = Generation(1, snapshot, runner)
        starter = None if host is None else (lambda boot, spare: start_pool(boot, settings, host, 1, spare))
        reloader = Reloader(front, settings, source, starter, services=host)
        web_app[RELOADER] = reloader
        reloader.start()
        try:
            yield
        finally:
            await reloader.close()  # every generation's workers
            if host is not None:
                await host.close()

    web_app.cleanup_ctx.append(pool)
    inspector.install(web_app, front, {f.key: f.engine for f in snapshot.boot.functions}, settings.inspector)
    auth_routes.add_routes(web_app, snapshot.app.app_id, lambda: front.users, lambda request, error: front._error(request, error, ""))
    web_app.router.add_route("*", "/{tail:.*}", front.handle)
    return web_app
