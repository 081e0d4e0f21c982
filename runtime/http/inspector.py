"""The inspector: recent requests and their decision traces, at ``/_atlas-fn/``, for the developer.

Owns: the ring of recent requests (a ``RequestEvent`` sink: the last ``RING_ENTRIES``, at most
``RING_BYTES`` in all; request bodies kept up to ``KEPT_BODY_BYTES`` so they can be re-sent,
answers cut to ``SHOWN_BYTES``), the page and its script and style (package data in
``inspector_page/``, no build step), the JSON the page reads, and re-sending a kept request
through the server's own socket. Who may see any of it is ``runtime.http.inspector_access``'s
decision (the ``inspector`` setting; loopback callers by default); what it shows and masks is
``runtime.http.inspector_view``'s. Must not: answer a caller the setting refuses, show a
secret or a signature, build markup from request data (the page sets text only), or hold the
request path up (the sink only appends).
"""

from __future__ import annotations

import asyncio
import collections
import json
import time
from itertools import chain
from pathlib import Path
from typing import Any, Callable

import aiohttp
from aiohttp import web
from yarl import URL

from runtime.errors import InspectorRefused
from runtime.http.events import RequestEvent
from runtime.http.inspector_access import PAGE_HEADER, Access, same_page
from runtime.http.inspector_view import Kept, detail, refusal_to_resend, summary

PAGE_PATH = "/_atlas-fn/"
INSPECTOR = web.AppKey("inspector", "Inspector")  # the app's inspector, when it serves one
RING_ENTRIES = 200
RING_BYTES = 64 * 1024 * 1024
KEPT_BODY_BYTES = 1024 * 1024  # a larger request body is shown cut and cannot be re-sent
SHOWN_BYTES = 64 * 1024  # of each answer's body
MAX_NOTICES, MAX_NOTICE_CHARS = 20, 4000
ENTRY_OVERHEAD = 2048  # bytes counted per entry besides its bodies, lines and headers
PAGE_FILES = {"": ("index.html", "text/html"), "inspector.js": ("inspector.js", "text/javascript"),
              "style.css": ("style.css", "text/css")}
# the page loads only its own script and style, and nothing may frame it
SECURITY_HEADERS = {"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                                               "connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
                                               "form-action 'none'; frame-ancestors 'none'",
                    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                    "Cache-Control": "no-store", "X-Frame-Options": "DENY"}
# not copied into a re-sent request: the client frames it again
HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive", "expect", "upgrade", "te",
                        "trailer", "proxy-connection"})


class Inspector:
    """A ``RequestEvent`` sink holding recent requests, and the handlers that show them."""

    def __init__(self, access: Access, engines: dict[str, str], *, entries: int = RING_ENTRIES,
                 max_bytes: int = RING_BYTES, clock: Callable[[], float] = time.time) -> None:
        self.access = access
        self.engines = engines  # function key -> engine name
        self.entries = entries
        self.max_bytes = max_bytes
        self.clock = clock
        self.ring: collections.deque[tuple[Kept, int]] = collections.deque()  # (entry, bytes counted), oldest first
        self.by_id: dict[str, Kept] = {}
        self.bytes = 0
        self._seq = 0
        self._resending: dict[tuple[str, str, bytes], str] = {}  # (method, target, body) -> the co_id re-sent
        self._resent: dict[tuple[str, str, bytes], str] = {}  # the same key -> the new request's co_id
        self.notices: collections.deque[tuple[str, str]] = collections.deque(maxlen=MAX_NOTICES)  # (UTC time, text)
        folder = Path(__file__).with_name("inspector_page")
        self.files = {name: ((folder / file).read_bytes(), kind) for name, (file, kind) in PAGE_FILES.items()}

    # --- the sink --------------------------------------------------------------------------
    def __call__(self, event: RequestEvent) -> None:
        body_size, response_size = len(event.body), len(event.response_body)
        if body_size > KEPT_BODY_BYTES or response_size > SHOWN_BYTES:
            event = event._replace(body=event.body[:SHOWN_BYTES] if body_size > KEPT_BODY_BYTES else event.body,
                                   response_body=event.response_body[:SHOWN_BYTES])
        resent_from = ""
        if self._resending:
            key = (event.method, event.target, event.body)
            resent_from = self._resending.get(key, "")
            if resent_from:
                self._resent[key] = event.co_id
        self._seq += 1
        kept = Kept(self._seq, self.clock(), event, body_size, response_size, resent_from)
        # the lengths summed by joining (one C call each, not a len call per item): the same figure
        cost = (ENTRY_OVERHEAD + len(event.body) + len(event.response_body) + len(event.traceback) + len(event.target)
                + len("".join(event.logs)) + len("".join(event.calls)) + len(b"".join(chain.from_iterable(event.headers))))
        self.ring.append((kept, cost))
        self.by_id[event.co_id] = kept
        self.bytes += cost
        while len(self.ring) > self.entries or (self.bytes > self.max_bytes and len(self.ring) > 1):
            old, old_cost = self.ring.popleft()
            self.bytes -= old_cost
            self.by_id.pop(old.event.co_id, None)

    def notice(self, text: str) -> None:
        """Show ``text`` above the list (the last ``MAX_NOTICES``): what the server wants the
        developer to see, such as why an edited file is not served (issue 12 §1)."""
        self.notices.append((time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock())), text[:MAX_NOTICE_CHARS]))

    # --- HTTP ------------------------------------------------------------------------------
    def add_routes(self, router: web.UrlDispatcher) -> None:
        """The page, its files and its JSON, before the catch-all route of the functions."""
        router.add_get(PAGE_PATH.rstrip("/"), self._to_page)
        router.add_get(PAGE_PATH + "api/requests", self._list)
        router.add_get(PAGE_PATH + "api/requests/{co_id}", self._detail)
        router.add_post(PAGE_PATH + "api/requests/{co_id}/resend", self._resend)
        router.add_get(PAGE_PATH + "{file:(|inspector\\.js|style\\.css)}", self._file)
        router.add_route("*", PAGE_PATH + "{rest:.*}", self._unknown)

    def _refused(self, request: web.Request) -> web.Response | None:
        """The answer to a caller the setting does not allow, else None."""
        remote = request.remote or ""
        if not self.access.allows(remote):
            return _envelope(InspectorRefused(self.access.refusal(remote)))
        if not self.access.host_allowed(request.host):
            return _envelope(InspectorRefused(
                f"the inspector (/_atlas-fn/) answers only requests addressed to this machine (Host localhost or a "
                f"loopback address); this request was addressed to {request.host[:100]!r}"))
        return None

    async def _to_page(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        raise web.HTTPFound(PAGE_PATH + (f"?{request.query_string}" if request.query_string else ""))

    async def _file(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        data, kind = self.files[request.match_info["file"]]
        return web.Response(body=data, content_type=kind, charset="utf-8", headers=SECURITY_HEADERS)

    async def _list(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        rows = [summary(kept) for kept, _ in reversed(self.ring)]
        return _json({"requests": rows, "entries": self.entries, "bytes": self.bytes, "max_bytes": self.max_bytes,
                      "notices": [{"at": at, "text": text} for at, text in reversed(self.notices)]})

    async def _detail(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        kept = self.by_id.get(request.match_info["co_id"])
        if kept is None:
            return _missing(request.match_info["co_id"])
        return _json(detail(kept, self.engines, KEPT_BODY_BYTES))

    async def _unknown(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        return _json({"error": f"the inspector has no page {request.path[:200]!r}; it is at {PAGE_PATH}",
                      "error_code": "NotFound", "link": ""}, status=404)

    async def _resend(self, request: web.Request) -> web.Response:
        """Send a kept request again, byte for byte (its method, target, header lines and body;
        the secret and signature as they were), to the socket this request came in on."""
        refused = self._refused(request)
        if refused is not None:
            return refused
        if not same_page(request.headers.get("Origin"), request.host, request.headers.get(PAGE_HEADER)):
            return _json({"error": f"a re-send must come from the inspector page itself (header {PAGE_HEADER}, "
                                   "no other site's Origin)", "error_code": "Forbidden", "link": ""}, status=403)
        kept = self.by_id.get(request.match_info["co_id"])
        if kept is None:
            return _missing(request.match_info["co_id"])
        event = kept.event
        refusal = refusal_to_resend(kept, KEPT_BODY_BYTES)
        if refusal:
            return _json({"error": refusal, "error_code": "Conflict", "link": ""}, status=409)
        sockname = request.transport.get_extra_info("sockname") if request.transport is not None else None
        if not sockname:
            return _json({"error": "the inspector cannot tell its own address", "error_code": "InternalServerError",
                          "link": ""}, status=500)
        host = f"[{sockname[0]}]" if ":" in sockname[0] else sockname[0]
        headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in event.headers
                   if n.decode("latin-1").lower() not in HOP_BY_HOP]
        key = (event.method, event.target, event.body)
        self._resending[key] = event.co_id
        try:
            async with aiohttp.ClientSession(skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
                                             auto_decompress=False) as session:
                async with session.request(event.method, URL(f"http://{host}:{sockname[1]}{event.target}", encoded=True),
                                           headers=headers, data=event.body or None, allow_redirects=False) as answer:
                    await answer.read()
                    status = answer.status
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            return _json({"error": f"the re-sent request failed: {type(exc).__name__}: {exc}"[:500],
                          "error_code": "BadGateway", "link": ""}, status=502)
        finally:
            self._resending.pop(key, None)
        return _json({"status": status, "resent_from": event.co_id, "co_id": self._resent.pop(key, "")})


def _json(value: Any, status: int = 200) -> web.Response:
    return web.Response(body=json.dumps(value).encode("ascii"), status=status,
                        content_type="application/json", charset="utf-8", headers=SECURITY_HEADERS)


def _envelope(error: InspectorRefused) -> web.Response:
    return _json(error.envelope(""), status=error.status)


def _missing(co_id: str) -> web.Response:
    return _json({"error": f"no request {co_id[:40]!r} in the inspector: it keeps the last {RING_ENTRIES} requests",
                  "error_code": "NotFound", "link": ""}, status=404)


def install(web_app: web.Application, front: Any, engines: dict[str, str], inspector: str) -> Inspector | None:
    """Serve the inspector on ``web_app`` per the ``inspector`` setting (None when ``off``): the
    routes, the sink on ``front``, and the envelope's ``link`` pointing at the page."""
    access = Access.from_setting(inspector)
    if not access.served:
        return None
    sink = Inspector(access, engines)
    web_app[INSPECTOR] = sink
    sink.add_routes(web_app.router)
    front.sinks = (*front.sinks, sink)
    front.log_page = PAGE_PATH
    return sink
