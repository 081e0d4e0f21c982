"""How atlas-fn runs its aiohttp application: the runner every server uses, and its options.

Owns: ``server_options(settings)`` (handler cancellation, the keep-alive timer) and
``AtlasRunner``, an ``aiohttp.web.AppRunner`` whose connections must deliver their first
request head within ``idle_timeout`` (aiohttp's keep-alive timer covers a connection only
after its first request: a caller that opens connections and never finishes a head held a
descriptor for ever, red-team finding F5). Must not decide anything about a request.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from runtime.settings import Settings


def server_options(settings: Settings) -> dict[str, Any]:
    """Options of every runner (``AtlasRunner``, tests' ``TestServer``): a handler is cancelled
    when its caller's connection closes, so a call nobody waits for is dropped or stopped
    (red-team F7); an idle keep-alive connection is closed after ``idle_timeout`` (F5)."""
    return {"handler_cancellation": True, "keepalive_timeout": settings.idle_timeout}


class _HeadTimedHandler(RequestHandler):
    """aiohttp's handler, closing a connection whose first request head is not whole in time."""

    _first_head: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        timeout = getattr(self._manager, "head_timeout", 0)
        if timeout:
            self._first_head = self._loop.call_later(timeout, self._no_head_in_time)

    def _no_head_in_time(self) -> None:
        self._first_head = None
        if self._request_count == 0:
            self.force_close()

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._first_head is not None:
            self._first_head.cancel()
            self._first_head = None
        super().connection_lost(exc)


class _HeadTimedServer(web.Server):
    head_timeout: float = 0.0

    def __call__(self) -> RequestHandler:
        return _HeadTimedHandler(self, loop=self._loop, **self._kwargs)


class AtlasRunner(web.AppRunner):
    """``web.AppRunner`` with ``server_options(settings)`` and the first-head deadline."""

    def __init__(self, app: web.Application, settings: Settings, **kwargs: Any) -> None:
        super().__init__(app, **{**kwargs, **server_options(settings)})
        self._head_timeout = settings.idle_timeout

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _HeadTimedServer  # only __call__ differs: the handler class it makes
        server.head_timeout = self._head_timeout  # type: ignore[attr-defined]
        return server
