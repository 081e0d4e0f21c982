"""Fixtures for the services: an event loop in its own thread (the server's, in miniature), the
app's services opened on it against a real SecantusDB store, and a second SecantusDB reached by
URI the way ``ATLAS_FN_MONGODB_URI`` reaches a real cluster (CI has no mongod).

Guest-side code is synchronous and runs in the test's thread; ``LoopThread.run`` hands a
coroutine to the service loop and waits for it, as a worker waits for its ``ServiceResult``.
"""

from __future__ import annotations

import asyncio
import re
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Coroutine, Iterator

import pytest

from runtime.protocol.messages import ServiceRequest
from runtime.services.router import AppServices, handle, open_services
from runtime.values import ejson
from runtime.worker.engines.base import ServiceFailed

MONGO = "mongodb-atlas"
SERVICES = {MONGO: "mongodb-atlas", "lake": "mongodb-datafederation", "legacyHttp": "http", "gh": "github"}


class LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="services-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class RouterHost:
    """A ``Host`` (runtime.worker.engines.base) that forwards to the router on the service loop:
    what the lead's worker wiring will do over frames."""

    def __init__(self, loop: LoopThread, app: AppServices, call_id: int = 1) -> None:
        self.loop, self.app, self.call_id = loop, app, call_id
        self.requests: list[ServiceRequest] = []

    def service(self, service: str, operation: str, args: str) -> str:
        request = ServiceRequest(self.call_id, len(self.requests) + 1, service, operation, args)
        self.requests.append(request)
        result = self.loop.run(handle(request, self.app))
        assert (result.call_id, result.request_id) == (request.call_id, request.request_id)
        if not result.ok:
            raise ServiceFailed(*result.error)
        return result.value


def call(loop: LoopThread, app: AppServices, operation: str, args: Any, service: str = MONGO) -> Any:
    """One request through the router; the parsed value, or ServiceFailed."""
    return ejson.parse(RouterHost(loop, app).service(service, operation, ejson.to_canonical(args)))


@pytest.fixture(scope="session")
def loop_thread() -> Iterator[LoopThread]:
    loop = LoopThread()
    yield loop
    loop.close()


class SecondServer:
    """A SecantusDB started directly (not by runtime.services.store), reached only by its URI."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="atlas-fn-second-"))
        (self.dir / "c.toml").write_text("")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "secantus", "--config", str(self.dir / "c.toml"), "--host", "127.0.0.1",
             "--port", "0", "--storage-path", str(self.dir / "data"), "--log-level", "INFO"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=self.dir)
        assert self.proc.stderr is not None
        deadline, port = time.monotonic() + 30, None
        while port is None:
            ready, _, _ = select.select([self.proc.stderr], [], [], max(0.0, deadline - time.monotonic()))
            line = self.proc.stderr.readline().decode() if ready else ""
            if not ready or not line:
                self.stop()
                raise RuntimeError("the second SecantusDB did not start")
            match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
            port = int(match[1]) if match else None
        self.uri = f"mongodb://127.0.0.1:{port}/?appName=second"
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()  # keep its pipe drained

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def embedded(loop_thread: LoopThread) -> Iterator[AppServices]:
    """The app's services with the embedded store (memory), started by runtime.services.store."""
    app = loop_thread.run(open_services(SERVICES, memory=True, environ={}))
    yield app
    loop_thread.run(app.close())
    assert app.store is not None and app.store.pid is None


@pytest.fixture(scope="session")
def by_uri(loop_thread: LoopThread) -> Iterator[AppServices]:
    """The app's services with ATLAS_FN_MONGODB_URI pointing at a second server."""
    second = SecondServer()
    app = loop_thread.run(open_services(SERVICES, environ={"ATLAS_FN_MONGODB_URI": second.uri}))
    assert app.store is None
    yield app
    loop_thread.run(app.close())
    second.stop()


@pytest.fixture(params=["embedded", "uri"])
def app(request: pytest.FixtureRequest) -> AppServices:
    return request.getfixturevalue("embedded" if request.param == "embedded" else "by_uri")


@pytest.fixture
def where() -> dict[str, str]:
    """A collection of its own for each test."""
    return {"database": "test", "collection": f"c{uuid.uuid4().hex[:12]}"}


async def _hello(request: Any) -> Any:
    from aiohttp import web
    return web.json_response({"hello": request.headers.get("X-Name", "?")})


@pytest.fixture
def hello_port(loop_thread: LoopThread) -> Iterator[int]:
    """A local HTTP server on the service loop (``GET /hello`` answers ``{"hello": <X-Name>}``):
    what ``context.http`` tests call, allowed by ``ATLAS_FN_HTTP_ALLOW=127.0.0.1``."""
    from aiohttp import web

    app = web.Application()
    app.add_routes([web.get("/hello", _hello)])
    runner = web.AppRunner(app)

    async def start() -> int:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    yield loop_thread.run(start())
    loop_thread.run(runner.cleanup())

