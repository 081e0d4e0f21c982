"""The credential step of the pure call pipeline (contract §2.7, §5): who a call runs as is decided
in ``prepare_call`` with the user lookup injected as a plain function — no store, no I/O here."""

from __future__ import annotations

from typing import Any, Mapping

from multidict import CIMultiDict, CIMultiDictProxy

from runtime.contract.call_spec import CallSpec
from runtime.contract.can_evaluate import ALWAYS, compile_rule
from runtime.contract.credentials import Credentials, RunAs
from runtime.contract.pipeline import IncomingRequest, prepare_call
from runtime.errors import InvalidParameter, InvalidSession


def spec(run_as: RunAs, rule: Any = ALWAYS) -> CallSpec:
    return CallSpec("f", "endpoint", "http", "NO_VALIDATION", "f.py", True, rule, route="/f", run_as=run_as)


def incoming(headers: dict[str, str]) -> IncomingRequest:
    return IncomingRequest("GET", "http://h/f", "", CIMultiDictProxy(CIMultiDict(headers)),
                           tuple((k.encode(), v.encode()) for k, v in headers.items()), "1.2.3.4", b"")


seen: list[tuple[Credentials, bool]] = []


def identify(credentials: Credentials, create: bool) -> Mapping[str, Any]:
    seen.append((credentials, create))
    if credentials.values[0] in ("good-key", "u1", "tok") or credentials.values == ("a@b", "pw"):
        return {"id": "u1", "type": "normal", "data": {}, "identities": [], "api_keys": [{"id": "k"}]}
    raise InvalidSession("invalid session: error finding user for endpoint")


def test_the_first_credential_in_order_counts_and_is_taken_out() -> None:
    seen.clear()
    headers = {"apiKey": "good-key", "email": "a@b", "password": "pw", "X-Keep": "1", "Authorization": "Bearer tok"}
    decision = prepare_call(spec(RunAs("authed", create_user=True)), incoming(headers), identify=identify)
    assert decision.error is None and decision.call is not None
    assert seen == [(Credentials("bearer", ("tok",)), True)]  # Bearer first, then apiKey, email+password, JWT
    assert decision.call.user == {"id": "u1", "type": "normal", "data": {}, "identities": []}  # no api_keys
    assert [name for name, _ in decision.call.headers] == [b"X-Keep"]


def test_no_credentials_and_wrong_ones() -> None:
    missing = prepare_call(spec(RunAs("authed")), incoming({"X": "1"}), identify=identify).error
    assert isinstance(missing, InvalidParameter) and missing.message == "no authentication methods were specified"
    assert (missing.status, missing.error_code) == (400, "InvalidParameter")
    wrong = prepare_call(spec(RunAs("authed")), incoming({"apiKey": "bad"}), identify=identify).error
    assert isinstance(wrong, InvalidSession) and (wrong.status, wrong.error_code) == (401, "InvalidSession")
    assert "bad" not in repr(Credentials("api-key", ("bad",)))


def test_a_can_evaluate_rule_sees_the_request_without_credentials() -> None:
    rule = compile_rule({"%%request.requestHeaders.apiKey": {"$exists": False}}, "$.can_evaluate")
    decision = prepare_call(spec(RunAs("authed"), rule), incoming({"apiKey": "good-key"}), identify=identify)
    assert decision.error is None and decision.call is not None and decision.call.request is not None
    assert "Apikey" not in decision.call.request["requestHeaders"]


def test_run_as_user_id_system_and_script() -> None:
    by_id = prepare_call(spec(RunAs("user-id", user_id="u1")), incoming({}), identify=identify)
    assert by_id.call is not None and by_id.call.user["id"] == "u1"
    assert prepare_call(spec(RunAs("user-id", user_id="zz")), incoming({}), identify=identify).error is not None
    system = prepare_call(spec(RunAs()), incoming({"apiKey": "good-key"}), identify=identify)
    assert system.call is not None and system.call.user is None and system.call.headers == ((b"apiKey", b"good-key"),)
    script = prepare_call(spec(RunAs("script", script_key="run-as:x")), incoming({}), identify=identify)
    assert script.script == "run-as:x" and script.call is not None and script.call.user is None
