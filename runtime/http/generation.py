"""One generation of the served app: a snapshot and the runner (worker pool) booted from it.

Owns: ``Generation`` — its number, snapshot and runner, and the count of requests holding it.
A request takes the front's current generation once, when it starts, and uses that
generation's routes and runner to its end, so a reload's swap (one assignment of
``Front.generation``) gives every request either the old snapshot and pool or the new ones,
never a mix. ``retire`` waits until no request holds the generation, then closes its runner.
Must not decide anything about a request, or start processes (``runtime.host`` does).
"""

from __future__ import annotations

import asyncio
from typing import Any

from runtime.app.snapshot import Snapshot


class Generation:
    __slots__ = ("number", "snapshot", "runner", "active", "_idle")

    def __init__(self, number: int, snapshot: Snapshot, runner: Any) -> None:
        self.number = number  # 1 at start, one more per reload
        self.snapshot = snapshot
        self.runner = runner  # a FunctionRunner: the WorkerPool booted with snapshot.boot
        self.active = 0  # requests holding this generation
        self._idle = asyncio.Event()
        self._idle.set()

    def enter(self) -> None:
        if not self.active:  # the event changes only when the first request takes the generation
            self._idle.clear()
        self.active += 1

    def leave(self) -> None:
        self.active -= 1
        if self.active == 0:
            self._idle.set()

    async def retire(self) -> None:
        """Once no request holds it (the calls in flight on it have answered), close its runner:
        its workers stop. A caller that must stop sooner closes the runner itself."""
        await self._idle.wait()
        await close_runner(self.runner)


async def close_runner(runner: Any) -> None:
    """Close a runner that can be closed (a test's in-process runner has nothing to close)."""
    close = getattr(runner, "close", None)
    if close is not None:
        await close()
