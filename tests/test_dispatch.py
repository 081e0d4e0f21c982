"""runtime/host/dispatch.py: the pool's policy as a pure unit, with the clock passed in."""

from __future__ import annotations

from runtime.host.dispatch import FAST_SECONDS, NEVER_RAN, QUEUE_BEHIND_SECONDS, Busy, choose, may_queue_behind

FAST = {"f": FAST_SECONDS / 2}


def test_a_call_goes_behind_a_young_call_of_a_fast_function() -> None:
    assert may_queue_behind(Busy(1, 10.0, "f"), 10.0 + QUEUE_BEHIND_SECONDS / 2, 4, FAST)


def test_not_behind_a_call_that_has_run_too_long() -> None:
    assert not may_queue_behind(Busy(1, 10.0, "f"), 10.0 + QUEUE_BEHIND_SECONDS, 4, FAST)


def test_not_behind_a_function_whose_last_run_was_slow_died_or_never_happened() -> None:
    assert not may_queue_behind(Busy(1, 10.0, "f"), 10.0, 4, {"f": FAST_SECONDS})
    assert not may_queue_behind(Busy(1, 10.0, "f"), 10.0, 4, {"f": NEVER_RAN})
    assert not may_queue_behind(Busy(1, 10.0, "f"), 10.0, 4, {})


def test_not_beyond_the_depth_and_not_to_an_idle_worker() -> None:
    assert not may_queue_behind(Busy(4, 10.0, "f"), 10.0, 4, FAST)
    assert not may_queue_behind(Busy(0, 10.0, "f"), 10.0, 4, FAST)


def test_choose_takes_the_least_loaded_eligible_worker_first_on_a_tie() -> None:
    workers = [("a", Busy(3, 10.0, "f")), ("b", Busy(2, 10.0, "f")), ("c", Busy(2, 10.0, "f")), ("d", Busy(1, 0.0, "f"))]
    assert choose(workers, 10.0, 4, FAST) == "b"  # d has the fewest calls, but its running call is old


def test_choose_nothing_at_depth_one_or_when_none_is_eligible() -> None:
    assert choose([("a", Busy(1, 10.0, "f"))], 10.0, 1, FAST) is None
    assert choose([("a", Busy(1, 10.0, "slow"))], 10.0, 4, FAST) is None
    assert choose([], 10.0, 4, FAST) is None
