"""The pool's dispatch policy, as pure decisions over plain values and an injected clock.

Owns: when a call may be written to a busy worker behind the call it is running, which of
several such workers takes it, and which idle worker is used first. The pool
(``runtime.host.pool``) asks, passing ``now`` in. First come, first served is the pool's: a
newer call never overtakes an older one. Must not own a process, a loop or a clock.

A call is written behind another only when that one is young (``QUEUE_BEHIND_SECONDS``) *and*
its function's last run was fast (``FAST_SECONDS``): a call then waits behind a slow one only
when a function that has been fast turns slow.

Idle workers are used warmest first: the worker that answered last takes the next call, while
its memory is still in the CPU's caches (at concurrency 1 with two workers, handing calls round
cost 8–10 % more worker CPU per call and a higher p50). Except after a call of an engine that
gets the next call ready in its worker once it has answered (the JavaScript engine builds its
next context, about 2 ms): that worker is busy, and is used last.
"""

from __future__ import annotations

from typing import Iterable, Mapping, NamedTuple, TypeVar

QUEUE_BEHIND_SECONDS = 0.002  # a call is written behind another only while that one is this young
FAST_SECONDS = 0.001  # ... and only if that one's function last ran in less than this
NEVER_RAN = float("inf")  # the last run of a function that never ran, died or overran
# Engines whose worker gets the next call ready after answering (``prepare`` in the engine, called
# by the worker's loop); tests/test_dispatch.py checks this against the engines themselves.
PREPARES_AFTER_A_CALL = frozenset({"javascript"})

K = TypeVar("K")


class Busy(NamedTuple):
    """A worker as the policy sees it: ready and alive, with ``queued`` calls written to it
    (the first running since ``started``, a call of ``function``). A named tuple: the pool
    makes one per busy worker on every dispatch that finds no idle worker."""

    queued: int
    started: float
    function: str


def may_queue_behind(worker: Busy, now: float, depth: int, last_run: Mapping[str, float]) -> bool:
    return (0 < worker.queued < depth and now - worker.started < QUEUE_BEHIND_SECONDS
            and last_run.get(worker.function, NEVER_RAN) < FAST_SECONDS)


def used_next(engine: str) -> bool:
    """Does a worker that just answered a call of ``engine`` go to the front of the idle workers
    (used next, warmest first) rather than the back (it is still getting its next call ready)?"""
    return engine not in PREPARES_AFTER_A_CALL


def choose(candidates: Iterable[tuple[K, Busy]], now: float, depth: int, last_run: Mapping[str, float]) -> K | None:
    """The least loaded of the busy workers a call may be written to (the first on a tie), or
    None when the call must wait for an idle one."""
    if depth <= 1:
        return None
    best: K | None = None
    best_queued = depth
    for key, worker in candidates:
        if worker.queued < best_queued and may_queue_behind(worker, now, depth, last_run):
            best, best_queued = key, worker.queued
    return best
