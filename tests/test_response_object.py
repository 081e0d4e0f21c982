"""The `response` object guest code mutates (contract §4.1)."""

import pytest

from runtime.values.bsontypes import Binary
from runtime.contract.response import Response


def test_setters_chain_and_record_state() -> None:
    r = Response()
    assert r.setStatusCode(201).setHeader("X-A", "1").addHeader("X-A", "2").setBody("hé") is r
    assert r.state() == (True, 201, "hé".encode(), [("X-A", "1"), ("X-A", "2")])


def test_untouched_response() -> None:
    assert Response().state() == (False, None, None, [])


def test_set_header_replaces_every_value_case_insensitively() -> None:
    r = Response().addHeader("x-a", "1").addHeader("X-A", "2").addHeader("X-B", "3").setHeader("X-a", "4")
    assert r.state()[3] == [("X-B", "3"), ("X-a", "4")]


def test_set_body_takes_binary_bytes_as_they_are() -> None:
    assert Response().setBody(Binary(b"\xff\x00")).state()[2] == b"\xff\x00"


def test_set_body_without_argument_is_an_empty_body_that_counts_as_touched() -> None:
    """contract §4.1 INF: undefined means an empty body, still touched."""
    assert Response().setBody().state()[:3] == (True, None, b"")


@pytest.mark.parametrize(("value", "text"), [(True, b"true"), (3, b"3"), (2.0, b"2"), (2.5, b"2.5")])
def test_set_body_writes_scalars_as_javascript_would(value: object, text: bytes) -> None:
    assert Response().setBody(value).state()[2] == text


def test_set_body_refuses_a_dict() -> None:
    with pytest.raises(TypeError, match=r"^response.setBody: a value of type 'dict' cannot be a body; allowed: str, BSON.Binary or bytes$"):
        Response().setBody({"a": 1})


@pytest.mark.parametrize("code", [99, 600, "200", 200.0, True, None])
def test_status_outside_100_599_is_an_error(code: object) -> None:
    """contract §4.1 INF: a status outside 100–599 is an uncaught error."""
    with pytest.raises(ValueError, match="is not an HTTP status code; allowed: an integer from 100 to 599$"):
        Response().setStatusCode(code)


@pytest.mark.parametrize(("name", "value", "message"), [
    ("X A", "v", "response.setHeader: 'X A' is not a header name; allowed: letters, digits and !#$%&'*+-.^_`|~"),
    ("X-A", "a\r\nSet-Cookie: x", "response.setHeader: the value of X-A contains a line break or NUL"),
    ("Content-Length", "1", "response.setHeader: the Content-Length header is set by the server"),
    ("Transfer-Encoding", "chunked", "response.setHeader: the Transfer-Encoding header is set by the server"),
])
def test_header_injection_and_framing_headers_are_refused(name: str, value: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        Response().setHeader(name, value)
    assert str(caught.value) == message


TOO_MANY_HEADERS = ("more than 94 headers; allowed: at most 94 header lines, so that with the server's own "
                    "the answer stays under the 100 lines HTTP clients refuse")


def test_header_count_is_capped() -> None:
    r = Response()
    for i in range(94):
        r.addHeader("X-N", str(i))
    with pytest.raises(ValueError) as raised:
        r.addHeader("X-N", "x")
    assert str(raised.value) == f"response.addHeader: {TOO_MANY_HEADERS}"
    with pytest.raises(ValueError) as raised:
        r.setHeader("X-Other", "x")
    assert str(raised.value) == f"response.setHeader: {TOO_MANY_HEADERS}"
    r.setHeader("X-N", "one")  # replacing lines never counts against the cap
    assert r.state()[3] == [("X-N", "one")]


@pytest.mark.parametrize("code", [100, 103, 199])
def test_informational_statuses_cannot_end_a_response(code: int) -> None:
    """A final 1xx leaves clients waiting for the real answer (and 101 tunnels past proxies)."""
    with pytest.raises(ValueError) as caught:
        Response().setStatusCode(code)
    assert str(caught.value) == f"response.setStatusCode: {code} is an informational status, which cannot end a response; allowed: 200 to 599"
