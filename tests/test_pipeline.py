"""runtime/contract/pipeline.py: the order of checks as a pure function over plain values
(contract §2 validation, §2.2 query secret, §2.6 can_evaluate), and the call specs the route
table resolves to (each with its rule, never a failed lookup)."""

from __future__ import annotations

from pathlib import Path

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from runtime.app.snapshot import prepare
from runtime.contract.call_spec import CallSpec
from runtime.contract.can_evaluate import ALWAYS
from runtime.contract.pipeline import IncomingRequest, prepare_call
from runtime.errors import AuthFailed, NoMatchingRule
from runtime.settings import Settings
from runtime.values import crypto

from tests.conftest import write_app

ENDPOINT = "/app/local/endpoint"


def request(method: str = "POST", query: str = "", headers: dict[str, str] | None = None, body: bytes = b"{}") -> IncomingRequest:
    headers = headers or {}
    return IncomingRequest(method, "http://127.0.0.1:8080/p", query, CIMultiDictProxy(CIMultiDict(headers)),
                           tuple((k.encode(), v.encode()) for k, v in headers.items()), "127.0.0.1", body)


@pytest.fixture
def app(tmp_path: Path) -> Path:
    return write_app(tmp_path / "app", {
        "secrets.json": {"s": "hunter2"},
        "functions/f.py": "def exports(request, response):\n    return 1\n",
        "functions/config.json": [{"name": "f"}],
        "https_endpoints/config.json": [
            {"route": "/open", "http_method": "POST", "function_name": "f", "validation_method": "NO_VALIDATION"},
            {"route": "/ruled", "http_method": "POST", "function_name": "f", "validation_method": "NO_VALIDATION",
             "can_evaluate": {"%%request.requestHeaders.X-Ok": "yes"}},
            {"route": "/q", "http_method": "POST", "function_name": "f", "validation_method": "SECRET_AS_QUERY_PARAM",
             "secret_name": "s"},
            {"route": "/signed", "http_method": "POST", "function_name": "f", "validation_method": "VERIFY_PAYLOAD",
             "secret_name": "s", "return_type": "EJSON"},
        ],
    })


def spec(app: Path, route: str) -> CallSpec:
    return prepare(app, None, Settings(), environ={}).routes.resolve("POST", f"{ENDPOINT}{route}")


def test_a_rule_is_part_of_the_spec_and_survives_a_rebuild(app: Path) -> None:
    """House issue: rules were kept by id(target) and a rebuilt app silently lost them. Every
    snapshot's specs carry their rule; 'always' is a value."""
    for _ in range(2):  # two snapshots of one app, as a reload makes
        ruled = spec(app, "/ruled")
        assert ruled.rule is not ALWAYS
        decision = prepare_call(ruled, request())
        assert isinstance(decision.error, NoMatchingRule) and decision.call is None
        assert decision.error.message == "the request does not satisfy the can_evaluate rule of f"
        assert prepare_call(ruled, request(headers={"X-Ok": "yes"})).call is not None
    assert spec(app, "/open").rule is ALWAYS
    with pytest.raises(TypeError):
        CallSpec(name="f", kind="endpoint", service_type="http", validation="NO_VALIDATION", function_key="k",
                 respond_result=True)  # type: ignore[call-arg]  # no rule: no spec


def test_the_query_secret_is_removed_once_and_never_reaches_the_call(app: Path) -> None:  # contract §2.2
    decision = prepare_call(spec(app, "/q"), request(query="a=1&secret=hunter2&b=2"))
    assert decision.verdict.ok and decision.call is not None
    assert decision.call.raw_query == "a=1&b=2"
    bad = prepare_call(spec(app, "/q"), request(query="secret=nope"))
    assert isinstance(bad.error, AuthFailed) and bad.error.message == "secret query parameter did not match"
    assert (bad.verdict.ok, bad.verdict.detail) == (False, "secret mismatch")


def test_context_request_is_built_in_the_server_only_for_a_rule(app: Path) -> None:
    assert prepare_call(spec(app, "/open"), request()).call.request is None  # type: ignore[union-attr]
    call = prepare_call(spec(app, "/ruled"), request(query="x=1", headers={"X-Ok": "yes"})).call
    assert call is not None and call.request is not None
    assert (call.request["rawQueryString"], call.request["requestHeaders"]["X-Ok"]) == ("x=1", ["yes"])


def test_the_signature_and_the_format_are_decided_from_the_spec(app: Path) -> None:  # contract §2.3, §4.3
    body = b'{"a":1}'
    signed = request(headers={"Endpoint-Signature": crypto.signature("hunter2", body), "Accept": "application/json"}, body=body)
    decision = prepare_call(spec(app, "/signed"), signed)
    assert decision.verdict.detail == "signature matches" and decision.call is not None
    assert (decision.call.format, decision.call.body, decision.call.route) == ("JSON", body, "/signed")
    unsigned = prepare_call(spec(app, "/signed"), request(body=body))
    assert isinstance(unsigned.error, AuthFailed) and unsigned.call is None
    assert prepare_call(spec(app, "/signed"), signed._replace(headers=CIMultiDictProxy(CIMultiDict(
        {"Endpoint-Signature": crypto.signature("hunter2", body)})))).call.format == "EJSON"  # type: ignore[union-attr]


def test_the_secret_is_in_no_repr_of_a_spec(app: Path) -> None:
    assert "hunter2" not in repr(spec(app, "/signed")) and "hunter2" not in repr(spec(app, "/q"))
