"""Waiting in tests on real events, never on the clock alone.

A test that must wait for something (a worker to hold a call, a pool to refill, a process to
print a line, a call to start burning CPU) waits for *that*, with a deadline that only bounds
a failure: ``until`` (in the event loop) and ``wait_for`` (in plain code) re-check a predicate
over real state and return the moment it holds; ``Lines`` reads a subprocess's output lines
with a timeout. Nothing here assumes how long anything takes: on a slow or loaded machine a
wait is longer, never wrong.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from pathlib import Path
from typing import IO, Callable

DEADLINE = 30.0  # seconds: only ever reached when what is awaited never happens

# A check is re-run on every turn of the event loop at first; then the wait backs off (up to
# MAX_PAUSE between checks) so that a long wait does not spin a core away from the worker
# processes it is waiting for.
EAGER_TURNS = 50
MAX_PAUSE = 0.01


async def until(predicate: Callable[[], object], *, timeout: float = DEADLINE,
                what: str | Callable[[], str] = "") -> None:
    """Return as soon as ``predicate()`` is true; AssertionError if it is still false after
    ``timeout`` seconds. The predicate reads state the event loop changes (a pool's workers
    and calls, a server's connections): it is re-checked after every loop turn."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    pause = 0.0
    turns = 0
    while not predicate():
        if loop.time() >= deadline:
            raise AssertionError(f"not within {timeout} s: {_said(what) or predicate}")
        turns += 1
        if turns > EAGER_TURNS:
            pause = min(MAX_PAUSE, pause * 2 or 0.0005)
        await asyncio.sleep(pause)


def wait_for(predicate: Callable[[], object], *, timeout: float = DEADLINE,
             what: str | Callable[[], str] = "") -> None:
    """``until`` for plain (threaded or subprocess) code: poll ``predicate`` with a short
    back-off until it is true; AssertionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    pause = 0.0005
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {timeout} s: {_said(what) or predicate}")
        time.sleep(pause)
        pause = min(MAX_PAUSE, pause * 2)


def _said(what: str | Callable[[], str]) -> str:
    """What was awaited, said when it did not happen (a callable: the state at that moment)."""
    return what() if callable(what) else what


class Lines:
    """The lines a subprocess writes to ``stream``, each awaited with a timeout: a reader
    thread hands them over as they come, so a process that stops talking fails the test
    instead of hanging it."""

    def __init__(self, stream: IO[str]) -> None:
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        try:
            for line in stream:
                self._lines.put(line)
        except ValueError:  # the stream was closed under us
            pass
        self._lines.put(None)

    def next(self, timeout: float = DEADLINE) -> str:
        """The next line (with its newline); "" once the stream has ended."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output line within {timeout} s") from None
        if line is None:
            self._lines.put(None)  # stay at the end
            return ""
        return line

    def until(self, predicate: Callable[[str], object], timeout: float = DEADLINE) -> list[str]:
        """Lines up to and including the first one for which ``predicate`` holds."""
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while True:
            line = self.next(max(0.0, deadline - time.monotonic()))
            if not line:
                raise AssertionError(f"the output ended before the awaited line; it was: {seen}")
            seen.append(line)
            if predicate(line):
                return seen


def worker_pids(server: int) -> list[int]:
    """The worker processes of an ``atlas-fn serve`` process: its children that run
    ``runtime.worker.main`` (the embedded data store, also its child, is not one)."""
    found = []
    for task in Path(f"/proc/{server}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                if b"runtime.worker.main" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(int(child))
            except OSError:  # it exited meanwhile
                continue
    return found


def cpu_ticks(pid: int) -> int | None:
    """utime + stime of ``pid`` in clock ticks, None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])


def wait_for_cpu(pids: list[int], ticks: int = 3, timeout: float = DEADLINE) -> int:
    """The first of ``pids`` to burn ``ticks`` clock ticks of CPU from now: how a test outside
    the server sees that a worker has really started a call that computes (an idle worker is
    blocked reading its socket and burns none)."""
    start = {pid: cpu_ticks(pid) for pid in pids}
    found: list[int] = []

    def burning() -> bool:
        for pid in pids:
            now, then = cpu_ticks(pid), start[pid]
            if now is not None and then is not None and now - then >= ticks:
                found.append(pid)
                return True
        return False

    wait_for(burning, timeout=timeout, what=f"one of workers {pids} burning {ticks} ticks of CPU")
    return found[0]
