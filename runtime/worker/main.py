"""The worker process: the only place user code runs.

Owns: the child side of the process wall. It takes its pipe, cuts itself off (no stdin or
stdout left for guest code, dies with its parent, rlimits on memory, files, core dumps and
CPU per call), reads the boot message with the app's compiled functions, answers ``Ready``,
then serves one call at a time until its socket closes; a call may ask the server for a
service in the middle and wait (``Channel.service``). Synchronous; must not import asyncio
or aiohttp.

Started by ``runtime.host.pool`` as ``python -I -c <bootstrap>`` with an empty environment.
"""

from __future__ import annotations

import collections
import ctypes
import gc
import io
import itertools
import os
import resource
import signal
import sys
import time
from typing import BinaryIO

from runtime.protocol import frames as protocol
from runtime.protocol import messages
from runtime.worker.engines.base import ServiceFailed
from runtime.worker.output import GuestOutput, install

PR_SET_PDEATHSIG = 1
FILE_DESCRIPTORS = 32
HOST_FRAMES = 20


def _die_with_parent() -> None:
    """Linux: SIGKILL this worker when the server process dies, whatever it is doing."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:
        os._exit(1)


def _take_pipes() -> tuple[BinaryIO, int]:
    """Keep private copies of the pipe ends; leave guest code /dev/null on fds 0 and 1."""
    read_fd, write_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    return io.open(read_fd, "rb", buffering=1 << 16), write_fd


def _limit(memory_mb: int) -> None:
    if memory_mb:
        size = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (FILE_DESCRIPTORS, FILE_DESCRIPTORS))


class _CpuBudget:
    """RLIMIT_CPU as a backstop to the server's wall-time limit: SIGXCPU ends this process
    once a call has used about ``seconds`` of CPU. The limit is moved on only when less than
    90 % of a budget is left, so most calls pay one clock read and no system call."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.soft = 0

    def renew(self) -> None:
        if self.seconds <= 0:
            return
        used = time.process_time()
        if self.soft - used >= 0.9 * self.seconds:
            return
        self.soft = int(used + self.seconds) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (self.soft, resource.RLIM_INFINITY))


class Channel:
    """The worker's end of its socket: typed messages in and out, one frame per message.

    Calls the server writes ahead (``queue_depth`` > 1) may arrive while a call waits for a
    service result: they are kept, in order, for later, and never taken for that result."""

    def __init__(self, stream: BinaryIO, out: int) -> None:
        self._stream = stream
        self._out = out
        self._queued: collections.deque[messages.Call] = collections.deque()
        self._request_ids = itertools.count(1)

    def read(self) -> messages.Boot | messages.Call | messages.ServiceResult | None:
        head = self._stream.read(protocol.HEADER.size)
        if len(head) < protocol.HEADER.size:
            return None
        meta_len, body_len = protocol.HEADER.unpack(head)
        data = self._stream.read(meta_len + body_len)
        if len(data) < meta_len + body_len:
            return None
        return messages.read_from_server(data[:meta_len], data[meta_len:])

    def next_call(self) -> messages.Call | None:
        """The next call to run: one kept while waiting for a service result, else the next frame."""
        if self._queued:
            return self._queued.popleft()
        message = self.read()
        if message is None:
            return None
        if type(message) is not messages.Call:
            raise protocol.ProtocolError(f"expected a call, the server sent {type(message).__name__}")
        return message

    def service(self, call_id: int, service: str, operation: str, args: str) -> messages.ServiceResult:
        """Ask the server and wait for its answer to this request; calls queued meanwhile are kept."""
        request_id = next(self._request_ids)
        self.send(messages.write_service_request(messages.ServiceRequest(call_id, request_id, service, operation, args)))
        while True:
            message = self.read()
            if message is None:
                raise EOFError("the server closed the channel while a call waited for a service")
            if type(message) is messages.Call:
                self._queued.append(message)
            elif type(message) is messages.ServiceResult and (message.call_id, message.request_id) == (call_id, request_id):
                return message
            else:
                raise protocol.ProtocolError(f"expected the result of service request {request_id}, got {type(message).__name__}")

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._out, view):]


class ChannelHost:
    """``Host`` for one call: its service requests go through the channel with its call id."""

    __slots__ = ("_channel", "_call_id")

    def __init__(self, channel: Channel, call_id: int) -> None:
        self._channel = channel
        self._call_id = call_id

    def service(self, service: str, operation: str, args: str) -> str:
        result = self._channel.service(self._call_id, service, operation, args)
        if not result.ok:
            raise ServiceFailed(*result.error)
        return result.value


def main() -> None:
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when workers stop
    stream, out = _take_pipes()
    from runtime.worker.invoke import Invoker  # imported after the pipes are private

    channel = Channel(stream, out)
    boot = channel.read()
    if type(boot) is not messages.Boot:
        return
    guest_output = GuestOutput()
    install(guest_output)  # from here on, what the interpreter prints goes to the running call's console
    invoker = Invoker(boot, guest_output, collect=True)
    limits = boot.limits
    budget = _CpuBudget(float(limits.cpu_seconds))
    _limit(int(limits.memory_mb))
    # guest frames plus the few of ours beneath them (worker loop, invoke, sandbox)
    sys.setrecursionlimit(int(limits.max_recursion_depth) + HOST_FRAMES)
    gc.freeze()  # what boot made lives forever: collections then only look at a call's own objects
    channel.send(messages.write_ready(messages.Ready(os.getpid())))
    while True:
        call = channel.next_call()
        if call is None:
            return
        budget.renew()
        reply = invoker.call(call, ChannelHost(channel, call.call_id))
        channel.send(messages.write_reply(reply))
        if reply.recycle:
            return


if __name__ == "__main__":
    main()
