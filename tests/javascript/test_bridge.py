"""The host callback never raises into the engine, whatever it is given (bridge.py's rule).

The prelude hides the callback from guest code, but the wall must not depend on that: every
operation is called here with odd arguments, and each answer must be a marker string.
"""

from __future__ import annotations

import json

from hypothesis import given, settings, strategies as st

from runtime.contract.response import Response
from runtime.worker.console import Console
from runtime.worker.engines.base import Invocation
from runtime.worker.engines.javascript.bridge import Bridge
from tests.javascript.harness import APP, ENVIRONMENT, REQUEST, VALUES, StandInHost


def bridge() -> Bridge:
    b = Bridge(lambda name: None, lambda key: None)
    b.invocation = Invocation({}, "http", REQUEST, APP, VALUES, ENVIRONMENT, Response(), Console(), StandInHost())
    return b


ODD = st.one_of(st.none(), st.integers(), st.floats(allow_nan=True), st.binary(max_size=50), st.text(max_size=200),
                st.lists(st.text(max_size=5), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))


@settings(max_examples=300, deadline=None)
@given(op=st.one_of(st.sampled_from(sorted(bridge().ops)), ODD), arg=ODD)
def test_any_operation_with_any_argument_answers_a_marker(op: object, arg: object) -> None:
    answer = bridge()(op, arg)
    assert type(answer) is str and answer[:1] in ("0", "1")
    if answer[0] == "1":
        name, message = json.loads(answer[1:])
        assert type(name) is str and name and type(message) is str


@settings(max_examples=200, deadline=None)
@given(arg=st.one_of(st.text(max_size=300), st.sampled_from(['[', '{"$binary": 1}', '[{"$date": "x"}]', '["setStatusCode", {"$oid": "zz"}]',
                                                             "[" * 5000, '["setBody", {"$numberLong": "99999999999999999999999"}]'])))
def test_every_operation_refuses_garbage_text_with_a_marker(arg: str) -> None:
    b = bridge()
    for op in b.ops:
        answer = b(op, arg)
        assert type(answer) is str and answer[:1] in ("0", "1"), (op, arg)


def test_extra_arguments_and_no_arguments_are_refused() -> None:
    b = bridge()
    assert b()[0] == "1" and b("console", "log:x", "extra")[0] == "1"
    assert json.loads(b("no.such.op", "")[1:]) == ["TypeError", "atlas-fn host: no operation 'no.such.op'"]


def test_a_failing_str_of_an_exception_still_answers() -> None:
    class Odd(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no text")

    b = bridge()
    b.ops["boom"] = lambda arg: (_ for _ in ()).throw(Odd())
    assert json.loads(b("boom", "")[1:]) == ["Error", "atlas-fn host: the operation failed"]


def test_the_settle_operation_keeps_the_first_outcome_only() -> None:
    b = bridge()
    b("settle", "0first")
    b("settle", "0second")
    assert b.outcome == "0first"


def test_an_answer_the_engine_could_not_take_is_refused() -> None:
    b = bridge()
    b.ops["surrogate"] = lambda arg: "a\ud800"
    assert b("surrogate", "")[0] == "1"


def test_a_service_answer_with_a_lone_surrogate_reaches_the_guest_escaped() -> None:
    b = bridge()
    b.invocation.host.answers["functions/execute"] = lambda args: '"a\ud800"'  # type: ignore[union-attr]
    assert b("function.execute", '{"name":"x","arguments":[]}') == '0"a\\ud800"'
