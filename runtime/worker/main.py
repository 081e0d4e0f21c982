"""The worker process: the only place user code runs.

Owns: the child side of the process wall. It takes its pipe, cuts itself off (no stdin or
stdout left for guest code, dies with its parent, rlimits on memory, files, core dumps and
CPU per call), reads the boot frame with the app's compiled functions, answers ``ready``,
then serves one call at a time until its pipe closes. Synchronous; must not import asyncio
or aiohttp.

Started by ``runtime.host.pool`` as ``python -I -c <bootstrap>`` with an empty environment.
"""

from __future__ import annotations

import ctypes
import gc
import io
import os
import resource
import signal
import sys
import time
from typing import BinaryIO

from runtime.protocol import frames as protocol

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
    sys.stdout = sys.stderr
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


def _read_frame(stream: BinaryIO) -> tuple[bytes, bytes] | None:
    head = stream.read(protocol.HEADER.size)
    if len(head) < protocol.HEADER.size:
        return None
    meta_len, body_len = protocol.HEADER.unpack(head)
    data = stream.read(meta_len + body_len)
    if len(data) < meta_len + body_len:
        return None
    return data[:meta_len], data[meta_len:]


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def main() -> None:
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when workers stop
    stream, out = _take_pipes()
    from runtime.worker.invoke import Invoker  # imported after the pipes are private

    frame = _read_frame(stream)
    if frame is None:
        return
    boot = protocol.decode_call(frame[0])
    invoker = Invoker(boot)
    limits = boot.get("limits", {})
    budget = _CpuBudget(float(limits.get("cpu_seconds", 0)))
    _limit(int(limits.get("memory_mb", 0)))
    # guest frames plus the few of ours beneath them (worker loop, invoke, sandbox)
    sys.setrecursionlimit(int(limits.get("max_recursion_depth", 1000)) + HOST_FRAMES)
    gc.freeze()  # what boot made lives forever: collections then only look at a call's own objects
    _write(out, protocol.encode_reply({"ready": True, "pid": os.getpid()}))
    while True:
        frame = _read_frame(stream)
        if frame is None:
            return
        budget.renew()
        meta, body = invoker.call(protocol.decode_call(frame[0]), frame[1])
        # Finalise this call's garbage now, inside its own time limit: a cycle left behind would
        # otherwise run its finalisers (a generator's `finally:`) during some later call.
        gc.collect()
        _write(out, protocol.encode_reply(meta, body))
        if meta.get("recycle"):
            return


if __name__ == "__main__":
    main()
