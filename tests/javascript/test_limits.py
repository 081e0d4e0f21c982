"""The binding behaviour the JavaScript engine's limits rest on (quickjs-ng 0.17).

``engine.arm_time_limit`` relies on how the binding installs its interrupt handler; if a new
binding changes that, these tests fail before any function runs without a time limit.
"""

from __future__ import annotations

import time

import pytest
import quickjs

from runtime.worker.engines.javascript.engine import arm_time_limit


def test_the_binding_refuses_callbacks_while_a_time_limit_is_set() -> None:
    """Why arming is needed at all: a plain set_time_limit breaks every host callback."""
    context = quickjs.Context()
    context.add_callable("h", lambda: "x")
    context.set_time_limit(5)
    with pytest.raises(quickjs.JSException, match="Can not call into Python with a time limit set"):
        context.eval("h()")


def test_armed_contexts_allow_callbacks_and_still_interrupt() -> None:
    context = quickjs.Context()
    calls = []
    context.add_callable("h", lambda: calls.append(1) or "x")
    arm_time_limit(context, 0.3)
    assert context.eval("h()") == "x"
    started = time.process_time()
    with pytest.raises(quickjs.JSException, match="interrupted"):
        context.eval("for (;;) { h(); }")
    assert 0.2 < time.process_time() - started < 2.0 and len(calls) > 1


def test_the_limit_counts_from_arming_across_evals_and_jobs() -> None:
    context = quickjs.Context()
    arm_time_limit(context, 0.3)
    context.eval("function spin() { const s = Date.now(); while (Date.now() - s < 20) {} }")
    with pytest.raises(quickjs.JSException, match="interrupted"):
        for _ in range(100):  # 100 separate 20 ms calls: only the whole is limited
            context.eval("spin()")


def test_the_interrupt_cannot_be_caught_in_javascript() -> None:
    context = quickjs.Context()
    arm_time_limit(context, 0.2)
    with pytest.raises(quickjs.JSException, match="interrupted"):
        context.eval("for (;;) { try { for (;;) {} } catch (e) {} finally { } }")


def test_arming_leaves_no_global_behind() -> None:
    context = quickjs.Context()
    arm_time_limit(context, 1)
    assert context.eval("typeof __atlasfn_arm") == "undefined"
