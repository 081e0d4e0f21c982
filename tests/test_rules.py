"""runtime.contract.response_rules: every row of the §4.2 response table, and the §4.3 Content-Type decision."""

from __future__ import annotations

from typing import Any, Callable

import pytest

from runtime.contract.response_rules import content_type, decide, response_format

RESULT = b'"Hello world"'


def returns(value: bytes | None) -> Callable[[], bytes | None]:
    return lambda: value


def never() -> bytes | None:
    raise AssertionError("result() must not be called for this row")


def run(**overrides: Any) -> tuple[int, bytes | None]:
    args: dict[str, Any] = {
        "kind": "endpoint",
        "touched": False,
        "status": None,
        "body": None,
        "respond_result": False,
        "result": never,
        "head": False,
    }
    args.update(overrides)
    return decide(**args)


# --- §4.2 webhook rows -----------------------------------------------------------------------


def test_webhook_touched_sends_set_status_and_set_body_ignoring_return() -> None:  # contract §4.2 row "webhook touched"
    assert run(kind="webhook", touched=True, status=201, body=b"made", respond_result=True) == (201, b"made")


def test_webhook_touched_without_status_is_200() -> None:  # contract §4.2 row "webhook touched": status ?? 200
    assert run(kind="webhook", touched=True, body=b"ok") == (200, b"ok")


def test_webhook_touched_without_body_is_empty_even_with_respond_result() -> None:  # contract §4.2, DOC convert
    # setStatusCode(200); return "Hello world" from a webhook → 200, no body
    assert run(kind="webhook", touched=True, status=200, respond_result=True) == (200, None)


def test_webhook_not_touched_respond_result_sends_return_value() -> None:  # contract §4.2 row "webhook not touched, respond_result"
    ejson = b'{"Processed":{"$numberInt":"900"}}'  # §9 #14
    assert run(kind="webhook", respond_result=True, result=returns(ejson)) == (200, ejson)


def test_webhook_not_touched_not_respond_result_is_empty_200() -> None:  # contract §4.2 row "webhook not touched, not respond_result"
    assert run(kind="webhook") == (200, None)


# --- §4.2 endpoint rows ----------------------------------------------------------------------


def test_endpoint_touched_body_set() -> None:  # contract §4.2 row "endpoint touched, body set"
    assert run(touched=True, status=202, body=b"accepted", respond_result=True) == (202, b"accepted")


def test_endpoint_touched_body_set_without_respond_result() -> None:  # contract §4.2 decision: an explicit body is sent
    assert run(touched=True, body=b"explicit") == (200, b"explicit")


def test_endpoint_touched_no_body_respond_result_sends_return_value() -> None:  # contract §4.2 row, DOC convert
    # setStatusCode(200); return "Hello world" from an endpoint with respond_result → 200, "Hello world"
    assert run(touched=True, status=200, respond_result=True, result=returns(RESULT)) == (200, RESULT)


def test_endpoint_touched_no_body_respond_result_keeps_set_status() -> None:  # contract §4.2: status ?? 200
    assert run(touched=True, status=418, respond_result=True, result=returns(RESULT)) == (418, RESULT)


def test_endpoint_touched_no_body_not_respond_result_is_empty() -> None:  # contract §4.2 row, DOC convert
    assert run(touched=True, status=200) == (200, None)


def test_endpoint_touched_by_header_only_is_200_not_204() -> None:  # contract §4.2: touched = any setter
    assert run(touched=True) == (200, None)


def test_endpoint_not_touched_respond_result_sends_return_value() -> None:  # contract §4.2 row "endpoint not touched, respond_result"
    assert run(respond_result=True, result=returns(RESULT)) == (200, RESULT)


def test_endpoint_not_touched_not_respond_result_is_204() -> None:  # contract §4.2 row, DOC cfg-https "204 - No Content"
    assert run() == (204, None)


# --- body-less responses and edge cases --------------------------------------------------------


@pytest.mark.parametrize("kind", ["webhook", "endpoint"])
def test_head_carries_no_body_and_does_not_serialise(kind: str) -> None:  # contract §4.2: HEAD carries no body
    assert run(kind=kind, respond_result=True, head=True) == (200, None)
    assert run(kind=kind, touched=True, status=201, body=b"x", head=True) == (201, None)


@pytest.mark.parametrize("kind", ["webhook", "endpoint"])
def test_set_204_carries_no_body(kind: str) -> None:  # contract §4.2: 204 carries no body
    assert run(kind=kind, touched=True, status=204, body=b"dropped") == (204, None)


@pytest.mark.parametrize("status", [101, 199, 304])
def test_other_bodyless_statuses_carry_no_body(status: int) -> None:  # contract §4.2, Go bodyAllowedForStatus
    assert run(touched=True, status=status, body=b"dropped", respond_result=True) == (status, None)


def test_undefined_return_with_respond_result_is_empty_200() -> None:  # contract §4.3 decision
    assert run(respond_result=True, result=returns(None)) == (200, None)
    assert run(kind="webhook", respond_result=True, result=returns(None)) == (200, None)


def test_explicit_null_return_is_sent() -> None:  # contract §4.3 decision: JS null is sent as null
    assert run(respond_result=True, result=returns(b"null")) == (200, b"null")


def test_set_body_empty_counts_as_body_set() -> None:  # contract §4.1 INF: setBody() is an empty body, touched
    assert run(touched=True, body=b"", respond_result=True) == (200, None)


def test_status_error_codes_pass_through() -> None:  # contract §4.2: status ?? 200
    assert run(kind="webhook", touched=True, status=500, body=b"boom") == (500, b"boom")


# --- §4.3 Content-Type -------------------------------------------------------------------------


def test_serialised_value_is_application_json() -> None:  # contract §4.3 decision (EJSON too)
    assert content_type(False, b'{"a":{"$numberInt":"1"}}', False) == "application/json"


def test_set_body_utf8_is_text_plain() -> None:  # contract §4.3 decision
    assert content_type(True, "héllo".encode(), False) == "text/plain; charset=utf-8"


def test_set_body_json_text_is_still_text_plain() -> None:  # contract §4.3: no sniffing beyond UTF-8
    assert content_type(True, b'{"a":1}', False) == "text/plain; charset=utf-8"


def test_set_body_binary_is_octet_stream() -> None:  # contract §4.3 decision
    assert content_type(True, b"\xff\xfe\x00", False) == "application/octet-stream"


def test_handler_content_type_is_kept() -> None:  # contract §4.3 INF [go-http]
    assert content_type(True, b"<p>hi</p>", True) is None
    assert content_type(False, b"{}", True) is None


@pytest.mark.parametrize("body", [None, b""])
def test_empty_body_or_204_gets_no_content_type(body: bytes | None) -> None:  # contract §4.3 INF [go-http]
    assert content_type(True, body, False) is None
    assert content_type(False, body, False) is None


# --- §4.3 JSON or EJSON for endpoints ------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "return_type", "fmt"),
    [
        (None, "JSON", "JSON"),
        (None, "EJSON", "EJSON"),
        (None, "", "JSON"),  # §4.3 decision: a missing return_type means JSON
        ("application/json", "EJSON", "JSON"),  # Accept overrides return_type
        ("application/ejson", "JSON", "EJSON"),
        ("Application/EJSON; charset=utf-8", "JSON", "EJSON"),
        ("text/html, application/ejson", "JSON", "EJSON"),
        ("*/*", "EJSON", "EJSON"),  # an invalid Accept means the default
        ("text/html", "JSON", "JSON"),
        ("garbage;;;", "EJSON", "EJSON"),
        ("", "EJSON", "EJSON"),
        ("application/ejson, application/json", "JSON", "EJSON"),  # first listed wins a tie
        ("application/ejson;q=0.5, application/json", "EJSON", "JSON"),  # higher q wins
        ("application/json;q=0", "EJSON", "EJSON"),  # q=0 means "not this"
        ("application/json;q=oops", "EJSON", "JSON"),
    ],
)
def test_response_format(accept: str | None, return_type: str, fmt: str) -> None:  # contract §4.3 [DOC custom-endpoints]
    assert response_format(accept, return_type) == fmt
