"""One worker process as the pool sees it: its socket, its stderr, its exit, the calls written to it.

Owns: ``spawn`` (a child and its socket pair, maybe ahead of its pool: ``Spawned``), ``_Worker``
(the child with its socket pair and pidfd, writing call frames,
reading and routing every message by kind and call id — replies, service requests, log
events —, reading its stderr linearly, killing it, noticing its exit) and ``_Call``. The event
loop watches the socket, the stderr pipe and the pidfd directly with ``add_reader``: a reply is
read, parsed and handed to its waiting call in one callback, with no transport or protocol
layers between (they cost more than the rest of a call's dispatch). Decisions across workers
(dispatch, respawn, the watchdog) are the pool's. Must not build HTTP answers.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import signal
import socket
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING

from runtime.contract.log_text import console_line
from runtime.errors import FunctionError, InternalError, TimeLimitExceeded
from runtime.host import dispatch
from runtime.protocol import frames as protocol
from runtime.protocol import messages

if TYPE_CHECKING:
    from runtime.host.pool import WorkerPool

log = logging.getLogger("atlas_fn.host")

STDERR_LINE_LIMIT = 2000
STDERR_LINES_PER_READ = 20  # log records per read of a worker's stderr; the rest is counted
READ_SIZE = 256 * 1024


@dataclass
class _Call:
    call_id: int
    function: str
    frame: bytes
    future: asyncio.Future[messages.Reply]
    started: float = 0.0  # loop time the worker began it (when the call ahead of it ended)
    queued: float = 0.0  # loop time it began to wait for a worker


@dataclass
class Spawned:
    """A worker process started ahead of its boot frame: after its imports it waits for one.
    A reload keeps one spare, so a new generation's first worker skips the interpreter's
    start-up and imports (``runtime.http.reload``)."""

    process: subprocess.Popen[bytes]
    sock: socket.socket

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def discard(self) -> None:
        """Kill it and let go of its descriptors (it was never given to a pool)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.sock.close()
        if self.process.stderr is not None:
            self.process.stderr.close()


def spawn(argv: list[str]) -> Spawned:
    """Start a worker process: its own session, an empty environment, in /, a socket pair."""
    parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        process = subprocess.Popen(
            argv, stdin=child.fileno(), stdout=child.fileno(),
            stderr=subprocess.PIPE, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, cwd="/",
            start_new_session=True, close_fds=True,
        )
    except BaseException:
        parent.close()
        raise
    finally:
        child.close()
    return Spawned(process, parent)


class _Worker:
    """One worker process and the calls written to it, oldest (running) first."""

    def __init__(self, pool: WorkerPool, spawned: Spawned | None = None) -> None:
        self.pool = pool
        loop = pool.loop
        spawned = spawned if spawned is not None else spawn(pool.argv)
        self.process = spawned.process
        parent = spawned.sock
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

    @property
    def started_ok(self) -> bool:
        """It answered Ready: it served, and its death calls for a replacement."""
        return self.ready.done() and not self.ready.cancelled() and self.ready.exception() is None

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
            self.pool._released(self, call.function)

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
