"""The worker pool: the parent side of the process wall.

Owns: spawning worker processes, handing each call to a worker strictly first come, first
served, the wall-time limit of every call (SIGKILL once over it), replacing any worker that
dies, times out, breaks the protocol or asks to be recycled, and back-pressure. Only this
module owns processes. Speaks no HTTP.

Each worker is a child process joined to the server by one Unix socket pair. The event loop
watches the socket, the worker's stderr and a pidfd (process exit) directly with
``add_reader``: a reply is read, parsed and handed to its waiting call in one callback, with
no transport or protocol layers between (they cost more than the rest of a call's dispatch).

A worker runs one call at a time. With ``depth`` above 1 the pool may write the next call
to a worker before the current one ends, so the worker starts it without sleeping (a
worker woken for every call costs about half as much again per call). It does so only
behind a call that is young *and* whose function's last run was fast (the pure policy in
``runtime.host.dispatch``); a call written behind one that then dies or overruns never
started, and is sent again to another worker.

A call fails only with ``runtime.errors`` exceptions: ``TimeLimitExceeded`` past its limit,
``FunctionError`` when its worker died under it, ``TooManyRequests`` when the queue is full,
``InternalError`` when the pool is closed or cannot start.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable, Protocol, Sequence

from runtime.host import dispatch
from runtime.contract.log_text import console_line
from runtime.errors import FunctionError, InternalError, TimeLimitExceeded, TooManyRequests
from runtime.protocol import frames as protocol
from runtime.protocol import messages

log = logging.getLogger("atlas_fn.host")

_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
_BOOTSTRAP = f"import sys; sys.path.insert(0, {_PACKAGE_ROOT!r}); from runtime.worker.main import main; main()"
WORKER_ARGV = (sys.executable, "-I", "-c", _BOOTSTRAP)
STDERR_LINE_LIMIT = 2000
STDERR_LINES_PER_READ = 20  # log records per read of a worker's stderr; the rest is counted
READ_SIZE = 256 * 1024
WATCHDOG_SECONDS = 0.05  # how often call ages are checked against the time limit


class FunctionRunner(Protocol):
    """What the server needs from a pool. Tests may supply an in-process one."""

    async def call(self, call: messages.Call) -> messages.Reply: ...


ServiceHandler = Callable[[messages.ServiceRequest], Awaitable[messages.ServiceResult]]


async def no_services(request: messages.ServiceRequest) -> messages.ServiceResult:
    """The handler of a pool given none: every service is unknown."""
    return messages.ServiceResult(request.call_id, request.request_id, False,
                                  error=("ServiceError", f"service {request.service!r} is not available"))


@dataclass
class _Call:
    call_id: int
    function: str
    frame: bytes
    future: asyncio.Future[messages.Reply]
    started: float = 0.0  # loop time the worker began it (when the call ahead of it ended)


class _Worker:
    """One worker process and the calls written to it, oldest (running) first."""

    def __init__(self, pool: WorkerPool) -> None:
        self.pool = pool
        loop = pool.loop
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.process = subprocess.Popen(
                pool.argv, stdin=child.fileno(), stdout=child.fileno(),
                stderr=subprocess.PIPE, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, cwd="/",
                start_new_session=True, close_fds=True,
            )
        finally:
            child.close()
        self.pid = self.process.pid
        self.sock = parent
        self.sock.setblocking(False)
        self.fd = parent.fileno()
        self.err_fd = self.process.stderr.fileno()  # type: ignore[union-attr]
        os.set_blocking(self.err_fd, False)
        self.pidfd = os.pidfd_open(self.pid)
        self.reader = protocol.FrameReader(pool.max_reply_bytes)
        self.calls: collections.deque[_Call] = collections.deque()
        self.outgoing = bytearray()
        self.ready: asyncio.Future[None] = loop.create_future()
        self.dead = False
        self.killed = False  # by us, with the running call already answered
        self.closed = False
        self.stderr = bytearray()
        self.service_task: asyncio.Task[messages.ServiceResult] | None = None
        loop.add_reader(self.fd, self._readable)
        loop.add_reader(self.err_fd, self._stderr_readable)
        loop.add_reader(self.pidfd, self._exited)

    @property
    def pending(self) -> asyncio.Future[messages.Reply] | None:
        """The future of the call this worker is running, if any."""
        return self.calls[0].future if self.calls else None

    # --- writing -------------------------------------------------------------------------
    def send(self, call: _Call) -> None:
        if not self.calls:
            call.started = self.pool.clock()
        self.calls.append(call)
        self._write(call.frame)

    def _write(self, data: bytes) -> None:
        if self.outgoing:
            self.outgoing += data
            return
        try:
            sent = os.write(self.fd, data)
        except BlockingIOError:
            sent = 0
        except OSError:
            return  # the worker is gone; its exit fails or resends the calls
        if sent < len(data):
            self.outgoing += data[sent:]
            self.pool.loop.add_writer(self.fd, self._writable)

    def _writable(self) -> None:
        try:
            sent = os.write(self.fd, self.outgoing)
        except BlockingIOError:
            return
        except OSError:
            sent = len(self.outgoing)
        del self.outgoing[:sent]
        if not self.outgoing:
            self.pool.loop.remove_writer(self.fd)

    # --- reading -------------------------------------------------------------------------
    def _read(self, fd: int) -> bytes | None:
        """What ``fd`` has now; None when nothing yet; b"" at EOF (its reader is then removed:
        the pidfd reports the exit)."""
        try:
            data = os.read(fd, READ_SIZE)
        except BlockingIOError:
            return None
        except OSError:
            data = b""
        if not data:
            self.pool.loop.remove_reader(fd)
        return data

    def _readable(self) -> None:
        data = self._read(self.fd)
        if not data:
            return
        try:
            frames = self.reader.feed(data)
        except protocol.ProtocolError as exc:
            self._fail_head(FunctionError(f"the function's worker broke the protocol ({exc})"))
            self.kill()
            return
        for meta, body in frames:
            try:
                self._route(messages.read_from_worker(protocol.decode_reply(meta), body))
            except protocol.ProtocolError as exc:
                self._fail_head(FunctionError(f"the function's worker broke the protocol ({exc})"))
                self.kill()
                return

    def _route(self, message: messages.Ready | messages.Reply | messages.ServiceRequest | messages.LogEvent) -> None:
        """Each message to its place; one that names a call this worker is not running (or
        comes before ``Ready``, or a second ``Ready``) breaks the protocol."""
        kind = type(message)
        if kind is messages.Ready:
            if self.ready.done():
                raise protocol.ProtocolError("a second ready")
            self.ready.set_result(None)
            return
        if not self.ready.done():
            raise protocol.ProtocolError(f"{kind.__name__} before ready")
        running = self.calls[0].call_id if self.calls else None
        if message.call_id != running:  # type: ignore[union-attr]
            raise protocol.ProtocolError(f"{kind.__name__} for call {message.call_id}, which this worker is not running")  # type: ignore[union-attr]
        if kind is messages.Reply:
            self._reply(message)  # type: ignore[arg-type]
        elif kind is messages.ServiceRequest:
            self._service(message)  # type: ignore[arg-type]
        else:
            log.warning("worker %s (call %s): %s", self.pid, message.call_id, message.text)  # type: ignore[union-attr]

    def _service(self, request: messages.ServiceRequest) -> None:
        """Run a service request of the running call in the server and write back its result,
        if the call is still running then. A worker waits for each answer: a second request
        while one is open breaks the protocol."""
        if self.service_task is not None:
            raise protocol.ProtocolError("a service request while another is open")
        task = self.pool.loop.create_task(self.pool.services(request))
        self.service_task = task

        def done(finished: asyncio.Task[messages.ServiceResult]) -> None:
            self.service_task = None
            if finished.cancelled() or self.dead or not self.calls or self.calls[0].call_id != request.call_id:
                return
            error = finished.exception()
            if error is not None:
                log.error("service %s.%s failed: %r", request.service, request.operation, error)
                result = messages.ServiceResult(request.call_id, request.request_id, False,
                                                error=("InternalServerError", "atlas-fn failed to run the service request"))
            else:
                result = finished.result()
            self._write(messages.write_service_result(result))

        task.add_done_callback(done)

    def _reply(self, reply: messages.Reply) -> None:
        call = self.calls.popleft()
        now = self.pool.clock()
        self.pool.last_run[call.function] = now - call.started
        if not call.future.done():  # done = the caller went away; the worker is still good
            call.future.set_result(reply)
        if self.calls:
            self.calls[0].started = now
        if reply.recycle:
            self.dead = True  # it exits by itself; _exited resends what was queued behind
            self.killed = True  # as after kill(): its call is answered, the ones behind never started
        else:
            self.pool._released(self)

    def _stderr_readable(self) -> None:
        """A worker's own diagnostics (the interpreter's writes go to the call's console: see
        ``runtime.worker.output``). One read, one split, at most ``STDERR_LINES_PER_READ`` log
        records per callback: a flood costs the loop a bounded, linear amount per turn."""
        data = self._read(self.err_fd)
        if not data:
            return
        *lines, rest = (bytes(self.stderr) + data).split(b"\n")
        self.stderr = bytearray(rest[-STDERR_LINE_LIMIT:])
        if not lines:
            return
        call = f" (call {self.calls[0].call_id})" if self.calls else ""
        for line in lines[:STDERR_LINES_PER_READ]:
            log.warning("worker %s%s: %s", self.pid, call, console_line(line[:STDERR_LINE_LIMIT].decode("utf-8", "replace")))
        if len(lines) > STDERR_LINES_PER_READ:
            log.warning("worker %s%s: %d more lines of output dropped", self.pid, call, len(lines) - STDERR_LINES_PER_READ)

    # --- ending --------------------------------------------------------------------------
    def _exited(self) -> None:
        try:
            _, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            status = 0
        code = os.waitstatus_to_exitcode(status) if status else 0
        self.process.returncode = code
        self.dead = True
        self._close()
        if not self.ready.done():
            self.ready.set_exception(InternalError(f"worker {self.pid} exited during start-up (code {code}): {self._stderr_tail()}"))
        if self.calls and not self.killed:  # it died under its running call
            self.pool.last_run[self.calls[0].function] = dispatch.NEVER_RAN
            self._fail_head(_death_error(code, self.pool.memory_mb))
        unstarted = [call for call in self.calls if not call.future.done()]
        self.calls.clear()
        self.pool._exited(self, unstarted)

    def _fail_head(self, error: Exception) -> None:
        if self.calls:
            call = self.calls.popleft()
            if not call.future.done():
                call.future.set_exception(error)

    def time_up(self) -> None:
        if self.calls:
            self.pool.last_run[self.calls[0].function] = dispatch.NEVER_RAN
        self._fail_head(TimeLimitExceeded())
        self.kill()

    def kill(self) -> None:
        """SIGKILL, after the running call (if any) was answered: what is left never started."""
        self.dead = True
        self.killed = True
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def _close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.service_task is not None:
            self.service_task.cancel()
        loop = self.pool.loop
        for fd in (self.fd, self.err_fd, self.pidfd):
            loop.remove_reader(fd)
        loop.remove_writer(self.fd)
        self.sock.close()
        self.process.stderr.close()  # type: ignore[union-attr]
        os.close(self.pidfd)

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

    def __init__(self, boot: messages.Boot, *, size: int, timeout: float, memory_mb: int,
                 max_queue: int = 10_000, max_reply_bytes: int = 64 * 1024 * 1024, depth: int = 1,
                 services: ServiceHandler = no_services, argv: Sequence[str] = WORKER_ARGV) -> None:
        self.boot_frame = messages.write_boot(boot)
        self.services = services
        self.argv = list(argv)  # tests may run a stand-in worker that speaks the same protocol
        self.clock = asyncio.get_running_loop().time  # the dispatch policy's clock
        self._call_ids = itertools.count(1)
        self.size = size
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.max_queue = max_queue
        self.max_reply_bytes = max_reply_bytes
        self.depth = max(1, depth)
        self.loop = asyncio.get_running_loop()
        self.idle: collections.deque[_Worker] = collections.deque()  # ready, nothing in flight
        self.waiters: collections.deque[_Call] = collections.deque()  # no worker free yet, oldest first
        self.workers: set[_Worker] = set()
        self.closed = False
        self._spawning: set[asyncio.Task[None]] = set()
        self.last_run: dict[str, float] = {}  # function -> seconds its last call ran (inf: it died or overran)
        self._watchdog: asyncio.TimerHandle | None = None

    async def start(self) -> None:
        results = await asyncio.gather(*(self._spawn() for _ in range(self.size)), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            await self.close()
            raise errors[0]
        self._watch()

    async def _spawn(self) -> None:
        try:
            worker = _Worker(self)
        except OSError as exc:
            raise InternalError(f"cannot start a worker process: {exc}") from None
        self.workers.add(worker)
        worker._write(self.boot_frame)
        try:
            await worker.ready
        except InternalError:
            self.workers.discard(worker)
            raise
        if self.closed:
            worker.kill()
            return
        self._released(worker)

    # --- dispatch ------------------------------------------------------------------------
    async def call(self, message: messages.Call) -> messages.Reply:
        if self.closed:
            raise InternalError("the worker pool is shut down")
        call_id = next(self._call_ids)
        call = _Call(call_id, message.function, messages.write_call(message, call_id), self.loop.create_future())
        self._dispatch(call)
        try:
            return await call.future
        except asyncio.CancelledError:  # the caller went away (the server cancels its handler)
            self._abandoned(call)
            raise

    def _abandoned(self, call: _Call) -> None:
        """A call whose caller has gone: a waiting one is dropped by ``_drain`` (its future is
        done); a running one is stopped, its worker killed and replaced, so a burst of abandoned
        slow calls does not hold the pool (red-team finding F7)."""
        for worker in self.workers:
            if worker.calls and worker.calls[0] is call and not worker.dead:
                log.info("worker %s: call %s stopped, its caller went away", worker.pid, call.call_id)
                worker.kill()
                return

    def _dispatch(self, call: _Call) -> None:
        if len(self.waiters) >= self.max_queue:
            call.future.set_exception(TooManyRequests(f"more than {self.max_queue} requests are waiting for a worker"))
            return
        self.waiters.append(call)
        self._drain()

    def _drain(self) -> None:
        """Hand waiting calls out, oldest first, while some worker can take one (first come,
        first served: a newer call never overtakes an older one)."""
        while self.waiters:
            if self.waiters[0].future.done():  # its caller went away
                self.waiters.popleft()
                continue
            worker = self._pick()
            if worker is None:
                return
            worker.send(self.waiters.popleft())

    def _pick(self) -> _Worker | None:
        """An idle worker; else (depth > 1) the least loaded worker with room whose running call
        is young and of a function whose last run was fast."""
        while self.idle:
            worker = self.idle.popleft()
            if not worker.dead:
                return worker
        if self.depth == 1:
            return None
        busy = ((w, dispatch.Busy(len(w.calls), w.calls[0].started, w.calls[0].function))
                for w in self.workers if w.calls and not w.dead and w.ready.done())
        return dispatch.choose(busy, self.clock(), self.depth, self.last_run)

    def _released(self, worker: _Worker) -> None:
        """``worker`` finished a call (or started): it is idle or may take more; serve the waiters."""
        if worker.dead:
            return
        if not worker.calls:
            self.idle.append(worker)
        self._drain()

    def _exited(self, worker: _Worker, unstarted: list[_Call]) -> None:
        self.workers.discard(worker)
        try:
            self.idle.remove(worker)
        except ValueError:
            pass
        for call in reversed(unstarted):  # they never ran: send them again, ahead of newer calls
            if self.closed:
                call.future.set_exception(InternalError("the server is shutting down"))
            else:
                self.waiters.appendleft(call)
        self._drain()
        if not self.closed:
            task = self.loop.create_task(self._respawn())
            self._spawning.add(task)
            task.add_done_callback(self._spawning.discard)

    async def _respawn(self) -> None:
        try:
            await self._spawn()
        except Exception as exc:  # noqa: BLE001 - keep serving with fewer workers, say why
            log.error("could not replace a worker: %s", exc)

    # --- time limit ----------------------------------------------------------------------
    def _watch(self) -> None:
        if self.closed:
            return
        if self.timeout > 0:
            now = self.clock()
            for worker in list(self.workers):
                if worker.calls and not worker.dead and now - worker.calls[0].started >= self.timeout:
                    worker.time_up()
        self._watchdog = self.loop.call_later(WATCHDOG_SECONDS, self._watch)

    # --- the rest ------------------------------------------------------------------------
    def pids(self) -> list[int]:
        return sorted(w.pid for w in self.workers)

    async def close(self) -> None:
        self.closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
        for call in self.waiters:
            if not call.future.done():
                call.future.set_exception(InternalError("the server is shutting down"))
        self.waiters.clear()
        for task in list(self._spawning):
            task.cancel()
        for worker in list(self.workers):
            worker.kill()
        for _ in range(200):
            if not self.workers:
                break
            await asyncio.sleep(0.01)
