"""The worker pool: the parent side of the process wall.

Owns: spawning worker processes, handing each call to an idle worker strictly first come,
first served, the wall-time limit of every call (SIGKILL at the deadline), replacing any
worker that dies, times out, breaks the protocol or asks to be recycled, and back-pressure.
Only this module owns processes. Speaks no HTTP.

A call fails only with ``runtime.errors`` exceptions: ``TimeLimitExceeded`` at the deadline,
``FunctionError`` when the worker died under the call, ``TooManyRequests`` when the queue is
full, ``InternalError`` when the pool is closed.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from runtime import protocol
from runtime.errors import FunctionError, InternalError, TimeLimitExceeded, TooManyRequests

log = logging.getLogger("atlas_fn.host")

_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
_BOOTSTRAP = f"import sys; sys.path.insert(0, {_PACKAGE_ROOT!r}); from runtime.worker import main; main()"
STDERR_LINE_LIMIT = 2000


@dataclass(frozen=True)
class Reply:
    meta: dict[str, Any]
    body: bytes
    worker_pid: int


class FunctionRunner(Protocol):
    """What the server needs from a pool. Tests may supply an in-process one."""

    async def call(self, meta: dict[str, Any], body: bytes) -> Reply: ...


class _Worker(asyncio.SubprocessProtocol):
    def __init__(self, pool: "WorkerPool") -> None:
        self.pool = pool
        self.reader = protocol.FrameReader(pool.max_reply_bytes)
        self.transport: asyncio.SubprocessTransport | None = None
        self.stdin: asyncio.WriteTransport | None = None
        self.pid = 0
        self.ready: asyncio.Future[None] = pool.loop.create_future()
        self.pending: asyncio.Future[Reply] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.dead = False
        self.calls = 0
        self.stderr = bytearray()

    # asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.pid = self.transport.get_pid()  # type: ignore[union-attr]
        self.stdin = self.transport.get_pipe_transport(0)  # type: ignore[union-attr,assignment]

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd == 2:
            self._stderr(data)
            return
        try:
            for meta, body in self.reader.feed(data):
                self._frame(protocol.decode_reply(meta), body)
        except protocol.ProtocolError as exc:
            self._fail(FunctionError(f"the function's worker broke the protocol ({exc})"))
            self.kill()

    def process_exited(self) -> None:
        self.dead = True
        code = self.transport.get_returncode() if self.transport else None  # type: ignore[union-attr]
        if not self.ready.done():
            self.ready.set_exception(InternalError(f"worker {self.pid} exited during start-up (code {code}): {self._stderr_tail()}"))
        self._fail(_death_error(code, self.pool.memory_mb))
        self.pool._on_exit(self)

    # our side
    def _frame(self, meta: dict[str, Any], body: bytes) -> None:
        if not self.ready.done():
            self.ready.set_result(None)
            return
        future, self.pending = self.pending, None
        self._cancel_timer()
        if future is None:
            self.kill()  # a reply nobody asked for: the worker is not ours any more
            return
        if not future.done():  # done = the caller went away; the worker is still good
            future.set_result(Reply(meta, body, self.pid))
        if meta.get("recycle"):
            self.dead = True  # the worker exits by itself; process_exited replaces it
        else:
            self.pool._release(self)

    def send(self, frame: bytes, timeout: float) -> asyncio.Future[Reply]:
        future = self.pool.loop.create_future()
        self.pending = future
        self.calls += 1
        self.stdin.write(frame)  # type: ignore[union-attr]
        if timeout > 0:
            self.timer = self.pool.loop.call_later(timeout, self._time_up)
        return future

    def _time_up(self) -> None:
        self.timer = None
        self._fail(TimeLimitExceeded())
        self.kill()

    def _fail(self, error: Exception) -> None:
        self._cancel_timer()
        future, self.pending = self.pending, None
        if future is not None and not future.done():
            future.set_exception(error)

    def _cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def kill(self) -> None:
        self.dead = True
        if self.pid:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def _stderr(self, data: bytes) -> None:
        self.stderr += data
        while b"\n" in self.stderr:
            line, _, rest = self.stderr.partition(b"\n")
            self.stderr = bytearray(rest)
            log.warning("worker %s: %s", self.pid, line[:STDERR_LINE_LIMIT].decode("utf-8", "replace"))
        if len(self.stderr) > STDERR_LINE_LIMIT:
            del self.stderr[:-STDERR_LINE_LIMIT]

    def _stderr_tail(self) -> str:
        return self.stderr[-STDERR_LINE_LIMIT:].decode("utf-8", "replace").strip() or "no output"


def _death_error(code: int | None, memory_mb: int) -> FunctionError:
    if code is not None and code < 0:
        sig = -code
        if sig == signal.SIGXCPU:
            return TimeLimitExceeded()
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        return FunctionError(f"the function's worker process was killed ({name}); the memory limit is {memory_mb} MB")
    return FunctionError(f"the function's worker process exited unexpectedly (code {code})")


class WorkerPool:
    """N pre-spawned workers running one call each; calls wait in arrival order."""

    def __init__(self, boot: dict[str, Any], *, size: int, timeout: float, memory_mb: int,
                 max_queue: int = 10_000, max_reply_bytes: int = 64 * 1024 * 1024) -> None:
        self.boot_frame = protocol.encode_call(boot)
        self.size = size
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.max_queue = max_queue
        self.max_reply_bytes = max_reply_bytes
        self.loop = asyncio.get_running_loop()
        self.idle: collections.deque[_Worker] = collections.deque()
        self.waiters: collections.deque[asyncio.Future[_Worker]] = collections.deque()
        self.workers: set[_Worker] = set()
        self.closed = False
        self.spawned = 0
        self._spawning: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await asyncio.gather(*(self._spawn() for _ in range(self.size)))

    async def _spawn(self) -> None:
        _, worker = await self.loop.subprocess_exec(
            lambda: _Worker(self), sys.executable, "-I", "-c", _BOOTSTRAP,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, cwd="/", start_new_session=True,
        )
        self.spawned += 1
        self.workers.add(worker)
        worker.stdin.write(self.boot_frame)  # type: ignore[union-attr]
        try:
            await worker.ready
        except InternalError:
            self.workers.discard(worker)
            raise
        if self.closed:
            worker.kill()
            return
        self._release(worker)

    def _release(self, worker: _Worker) -> None:
        if worker.dead:
            return
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        self.idle.append(worker)

    def _on_exit(self, worker: _Worker) -> None:
        self.workers.discard(worker)
        try:
            self.idle.remove(worker)
        except ValueError:
            pass
        if worker.transport is not None:
            worker.transport.close()
        if not self.closed:
            task = self.loop.create_task(self._respawn())
            self._spawning.add(task)
            task.add_done_callback(self._spawning.discard)

    async def _respawn(self) -> None:
        try:
            await self._spawn()
        except Exception as exc:  # noqa: BLE001 - keep serving with fewer workers, say why
            log.error("could not replace a worker: %s", exc)

    async def call(self, meta: dict[str, Any], body: bytes) -> Reply:
        if self.closed:
            raise InternalError("the worker pool is shut down")
        worker = self.idle.popleft() if self.idle else await self._wait_for_worker()
        return await worker.send(protocol.encode_call(meta, body), self.timeout)

    async def _wait_for_worker(self) -> _Worker:
        if len(self.waiters) >= self.max_queue:
            raise TooManyRequests(f"more than {self.max_queue} requests are waiting for a worker")
        waiter: asyncio.Future[_Worker] = self.loop.create_future()
        self.waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._release(waiter.result())  # handed a worker as we were cancelled: pass it on
            raise

    def pids(self) -> list[int]:
        return sorted(w.pid for w in self.workers)

    async def close(self) -> None:
        self.closed = True
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_exception(InternalError("the server is shutting down"))
        for task in list(self._spawning):
            task.cancel()
        for worker in list(self.workers):
            worker.kill()
        for _ in range(100):
            if not self.workers:
                break
            await asyncio.sleep(0.01)
