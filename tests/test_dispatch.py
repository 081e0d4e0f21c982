"""runtime/host/dispatch.py: the pool's policy as a pure unit, with the clock passed in."""

from __future__ import annotations

from runtime.host.dispatch import (FAST_SECONDS, NEVER_RAN, PREPARES_AFTER_A_CALL, QUEUE_BEHIND_SECONDS, Busy, choose,
                                   may_queue_behind, used_next)

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


def test_a_worker_is_used_next_unless_its_engine_gets_the_next_call_ready_after_answering() -> None:
    assert used_next("python")
    assert not used_next("javascript")
    assert used_next("")  # a function the boot does not name (a stand-in worker's): warmest first


def test_the_engines_that_prepare_after_a_call_are_the_ones_the_policy_names() -> None:
    """One fact, two places: the pool cannot import the engines (they are the worker's), so the
    policy names them, and this holds it to what the engines do (a ``prepare`` the worker's loop
    calls after each reply: runtime.worker.invoke.Invoker.idle)."""
    from runtime.worker.engines import _MODULES, engine

    preparing = {name for name in _MODULES if getattr(engine(name), "prepare", None) is not None}
    assert preparing == PREPARES_AFTER_A_CALL
