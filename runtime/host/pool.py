"""The worker pool: the parent side of the process wall.

Owns: spawning worker processes, handing each call to a worker strictly first come, first
served, the wall-time limit of every call (SIGKILL once over it), replacing any worker that
dies, times out, breaks the protocol or asks to be recycled, and back-pressure. One worker
process and its socket are ``runtime.host.worker_process``'s. Must not build HTTP answers.

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
import errno
import itertools
import logging
import os
import sys
from pathlib import Path
from typing import Awaitable, Callable, Protocol, Sequence

from runtime.host import dispatch
from runtime.errors import InternalError, NoWorkerAvailable, TooManyRequests
from runtime.protocol import messages
from runtime.host.worker_process import Spawned, _Call, _Worker

log = logging.getLogger("atlas_fn.host")

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding the package runtime/
_BOOTSTRAP = f"import sys; sys.path.insert(0, {_PACKAGE_ROOT!r}); from runtime.worker.main import main; main()"
WORKER_ARGV = (sys.executable, "-I", "-c", _BOOTSTRAP)
FD_RESERVE = 16  # descriptors kept for spawning workers (a spawn takes about six)
RESPAWN_FIRST_PAUSE = 0.05  # seconds before a failed worker start is tried again, doubling ...
RESPAWN_LAST_PAUSE = 5.0  # ... up to this
WATCHDOG_SECONDS = 0.05  # how often call ages are checked against the time limit


# Call ids are unique in the process, not only per pool: a reload's generations share one service
# host, which must tell their calls apart (the pending count per call, and who a call runs as).
_CALL_IDS = itertools.count(1)
_RUNNING: dict[int, messages.Call] = {}  # calls that run as a user, by call id: the server's own record


def running_call(call_id: int) -> messages.Call | None:
    """The running call of that id if it runs as a user (its ``user`` set), else None: what the
    data rules use (``runtime.services.guard``), never anything a worker says about itself."""
    return _RUNNING.get(call_id)


class FunctionRunner(Protocol):
    """What the server needs from a pool. Tests may supply an in-process one."""

    async def call(self, call: messages.Call) -> messages.Reply: ...


ServiceHandler = Callable[[messages.ServiceRequest], Awaitable[messages.ServiceResult]]


async def no_services(request: messages.ServiceRequest) -> messages.ServiceResult:
    """The handler of a pool given none: every service is unknown."""
    return messages.ServiceResult(request.call_id, request.request_id, False,
                                  error=("ServiceError", f"service {request.service!r} is not available"))


class WorkerPool:
    """N pre-spawned workers running one call each; calls wait in arrival order."""

    def __init__(self, boot: messages.Boot, *, size: int, timeout: float, memory_mb: int,
                 max_queue: int = 10_000, max_reply_bytes: int = 64 * 1024 * 1024, depth: int = 1,
                 services: ServiceHandler = no_services, argv: Sequence[str] = WORKER_ARGV,
                 queue_timeout: float = 0.0) -> None:
        self.boot_frame = messages.write_boot(boot)
        self.services = services
        self.queue_timeout = queue_timeout  # 0: a call waits for a worker as long as it takes
        self.reserve: list[int] = []
        self.argv = list(argv)  # tests may run a stand-in worker that speaks the same protocol
        self.clock = asyncio.get_running_loop().time  # the dispatch policy's clock
        self.size = size
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.max_queue = max_queue
        self.max_reply_bytes = max_reply_bytes
        self.depth = max(1, depth)
        self.loop = asyncio.get_running_loop()
        self.idle: collections.deque[_Worker] = collections.deque()  # ready, nothing in flight; next first
        self.engines = {f.key: f.engine for f in boot.functions}  # function -> engine (dispatch.used_next)
        self.waiters: collections.deque[_Call] = collections.deque()  # no worker free yet, oldest first
        self.workers: set[_Worker] = set()
        self.closed = False
        self._spawning: set[asyncio.Task[None]] = set()
        self.last_run: dict[str, float] = {}  # function -> seconds its last call ran (inf: it died or overran)
        self._watchdog: asyncio.TimerHandle | None = None

    async def start(self, ready: int | None = None, spawned: Spawned | None = None) -> None:
        """Spawn the workers; return once all are ready, or with ``ready`` once that many are
        (a reload's new generation serves from its first worker: on two cores, workers that
        start together take about twice as long); the rest then start as replaced workers do.
        ``spawned``: a process started ahead (``worker_process.Spawned``) to boot as the first worker."""
        self._hold_reserve()
        now = self.size if ready is None else max(1, min(ready, self.size))
        results = await asyncio.gather(*(self._spawn(spawned if i == 0 else None) for i in range(now)),
                                       return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            await self.close()
            raise errors[0]
        for _ in range(self.size - now):
            task = self.loop.create_task(self._respawn())
            self._spawning.add(task)
            task.add_done_callback(self._spawning.discard)
        self._watch()

    async def _spawn(self, spawned: Spawned | None = None) -> None:
        try:
            worker = _Worker(self, spawned)
        except OSError as exc:
            if exc.errno not in (errno.EMFILE, errno.ENFILE) or not self.reserve:
                raise InternalError(f"cannot start a worker process: {exc}") from None
            self._free_reserve()  # descriptors kept for this: a worker comes before another connection
            try:
                worker = _Worker(self)
            except OSError as again:
                raise InternalError(f"cannot start a worker process: {again}") from None
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

    # --- descriptors kept for spawning ------------------------------------------------------
    def _hold_reserve(self) -> None:
        """Keep ``FD_RESERVE`` descriptors open (on /dev/null) while they can be had: accepted
        connections cannot take the last descriptors a worker's spawn needs."""
        try:
            while len(self.reserve) < FD_RESERVE:
                self.reserve.append(os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC))
        except OSError:
            pass  # taken again after the next spawn

    def _free_reserve(self) -> None:
        while self.reserve:
            os.close(self.reserve.pop())

    # --- dispatch ------------------------------------------------------------------------
    async def call(self, message: messages.Call) -> messages.Reply:
        if self.closed:
            raise InternalError("the worker pool is shut down")
        call_id = next(_CALL_IDS)
        call = _Call(call_id, message.function, messages.write_call(message, call_id), self.loop.create_future())
        if message.user is not None:
            _RUNNING[call_id] = message
        self._dispatch(call)
        try:
            reply = await call.future
        except asyncio.CancelledError:  # the caller went away (the server cancels its handler)
            self._abandoned(call)
            raise
        finally:
            _RUNNING.pop(call_id, None)
        # for the inspector; ``waited`` is the reply's last field (_make over a slice: _replace costs 2 µs)
        return messages.Reply._make(reply[:-1] + (max(0.0, call.started - call.queued),))

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
        call.queued = self.clock()
        self.waiters.append(call)
        if len(self.waiters) == 1:
            self._drain()
        # else calls were waiting already: the last _drain found no worker for them, and none can
        # take one until a worker is released, replaced or started (each drains; a running call
        # only grows older meanwhile, which never lets a call be written behind it): under load
        # most calls arrive so, and skip a _pick that would find nothing

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
        busy = [(w, dispatch.Busy(len(w.calls), w.calls[0].started, w.calls[0].function))
                for w in self.workers if 0 < len(w.calls) < self.depth and not w.dead and w.ready.done()]
        return dispatch.choose(busy, self.clock(), self.depth, self.last_run) if busy else None

    def _released(self, worker: _Worker, function: str = "") -> None:
        """``worker`` finished a call of ``function`` (or started: ""): it is idle or may take more;
        serve the waiters. An idle one is used next, or last after a call whose engine then gets
        its next call ready (``dispatch.used_next``); a new one is used last."""
        if worker.dead:
            return
        if not worker.calls:
            if function and dispatch.used_next(self.engines.get(function, "")):
                self.idle.appendleft(worker)
            else:
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
        if not self.closed and worker.started_ok:  # one that died starting is retried by whoever started it
            task = self.loop.create_task(self._respawn())
            self._spawning.add(task)
            task.add_done_callback(self._spawning.discard)

    async def _respawn(self) -> None:
        """Replace a worker, trying again with a growing pause until it starts or the pool
        closes: a pool whose spawns fail (EMFILE while connections hold every descriptor)
        recovers by itself once descriptors free up (red-team finding F5)."""
        pause = RESPAWN_FIRST_PAUSE
        while not self.closed:
            try:
                await self._spawn()
                self._hold_reserve()
                return
            except Exception as exc:  # noqa: BLE001 - keep serving with fewer workers, say why, try again
                log.error("could not replace a worker (trying again in %g s): %s", pause, exc)
            await asyncio.sleep(pause)
            pause = min(pause * 2, RESPAWN_LAST_PAUSE)

    # --- time limit ----------------------------------------------------------------------
    def _watch(self) -> None:
        if self.closed:
            return
        now = self.clock()
        if self.queue_timeout > 0:  # calls wait in arrival order: the oldest are first
            while self.waiters and now - self.waiters[0].queued >= self.queue_timeout:
                call = self.waiters.popleft()
                if not call.future.done():
                    call.future.set_exception(NoWorkerAvailable(
                        f"no worker was free to run the function within {self.queue_timeout:g} s"))
        if self.timeout > 0:
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
        self._free_reserve()
        for _ in range(200):
            if not self.workers:
                break
            await asyncio.sleep(0.01)
