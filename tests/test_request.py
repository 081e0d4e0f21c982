"""runtime.contract.request: Go header canonicalisation, Go query parsing, secret stripping, and the
payload / context.request a function sees (contract §3)."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.contract.request import canonical_header_key, parse_query, strip_secret
from tests.payloads import build_payload

# --- canonical_header_key: Go textproto.CanonicalMIMEHeaderKey (contract §3.1 INF) -----------


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("x-hook-signature", "X-Hook-Signature"),
        ("X-HOOK-SIGNATURE", "X-Hook-Signature"),
        ("endpoint-signature", "Endpoint-Signature"),
        ("sslclientcertstatus", "Sslclientcertstatus"),
        ("SSLClientCertStatus", "Sslclientcertstatus"),
        ("content-md5", "Content-Md5"),
        ("Content-MD5", "Content-Md5"),
        ("x-slack-request-timestamp", "X-Slack-Request-Timestamp"),
        ("etag", "Etag"),
        ("www-authenticate", "Www-Authenticate"),
        ("x-hub-signature-256", "X-Hub-Signature-256"),
        ("a-1-c", "A-1-C"),
        ("test-", "Test-"),
        ("-foo", "-Foo"),
        ("foo--bar", "Foo--Bar"),
        ("x_custom_header", "X_custom_header"),  # "_" is a token byte: canonicalised, no upper after it
        ("x.y", "X.y"),
        ("1abc", "1abc"),
        ("", ""),
    ],
)
def test_canonical_header_key(name: str, canonical: str) -> None:  # contract §3.1: Go-canonical names
    assert canonical_header_key(name) == canonical


@pytest.mark.parametrize("name", ["x hook signature", "content type", "x-hook:sig", "ünïcode-header", "x-a\tb", "x-a@b"])
def test_canonical_header_key_leaves_names_with_space_or_invalid_bytes_unchanged(name: str) -> None:  # contract §3.1
    assert canonical_header_key(name) == name


# --- parse_query: Go url.ParseQuery (contract §3.1 INF) ----------------------------------------


@pytest.mark.parametrize(
    ("raw", "pairs"),
    [
        ("arg1=hello&arg2=world", [("arg1", "hello"), ("arg2", "world")]),  # §3.1 stock template
        ("", []),
        ("a=1&a=2", [("a", "1"), ("a", "2")]),
        ("q=a+b", [("q", "a b")]),
        ("q=a%2Bb", [("q", "a+b")]),
        ("a+b=c", [("a b", "c")]),
        ("x=%41%42%e2%82%ac", [("x", "AB€")]),
        ("blank=&flag", [("blank", ""), ("flag", "")]),
        ("=v", [("", "v")]),
        ("a=1&&b=2&", [("a", "1"), ("b", "2")]),
        ("a=1;b=2&c=3", [("c", "3")]),  # Go ≥ 1.17: ";" drops the pair
        ("a=1&b=%zz&c=3", [("a", "1"), ("c", "3")]),  # bad escape drops the pair
        ("a=%4&c=3", [("c", "3")]),
        ("a%=1&c=3", [("c", "3")]),
        ("a=x=y", [("a", "x=y")]),
        ("regions=na,eu", [("regions", "na,eu")]),  # §10: not "na&eu"
        ("bad=%ff", [("bad", "\ufffd")]),  # non-UTF-8 bytes become U+FFFD
        ("raw=é", [("raw", "é")]),
    ],
)
def test_parse_query(raw: str, pairs: list[tuple[str, str]]) -> None:  # contract §3.1
    assert parse_query(raw) == pairs


# --- strip_secret (contract §2.2, §3.3) --------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stripped"),
    [
        ("secret=hello&someParam=42", ("someParam=42", "hello")),  # §2.2 documented example
        ("someParam=42", ("someParam=42", None)),
        ("", (None, None)),
        ("secret=only", (None, "only")),  # §3.3 INF: a query of only secret counts as none
        ("secret=a&x=1&secret=b&y=2", ("x=1&y=2", "a")),  # every pair removed, first value kept
        ("b=2&a=1&secret=s", ("b=2&a=1", "s")),  # original order
        ("q=a+b%20c&secret=s&z=%7E", ("q=a+b%20c&z=%7E", "s")),  # byte for byte
        ("secret=Super5ecr3tPa55w0rd", (None, "Super5ecr3tPa55w0rd")),
        ("secret=a%2Bb+c", (None, "a+b c")),  # the value is decoded as Go would
        ("secr%65t=s&x=1", ("x=1", "s")),  # the key is compared decoded
        ("secret", (None, "")),
        ("Secret=s&SECRET=t", ("Secret=s&SECRET=t", None)),  # exactly "secret"
        ("secrets=s", ("secrets=s", None)),
        ("secret=s;x=1&y=2", ("secret=s;x=1&y=2", None)),  # Go drops ";" pairs: not a secret pair
        ("a=1&&b=2", ("a=1&&b=2", None)),  # untouched when there is no secret
        ("secret=s&", (None, "s")),
    ],
)
def test_strip_secret(raw: str, stripped: tuple[str | None, str | None]) -> None:  # contract §2.2, §3.3
    assert strip_secret(raw) == stripped


# --- build_payload ---------------------------------------------------------------------------

ENDPOINT_URL = "http://localhost:8080/app/local/endpoint/hello/latest"
WEBHOOK_URL = "http://localhost:8080/api/client/v2.0/app/local/service/http/incoming_webhook/hook"


def build(**overrides: Any) -> tuple[Any, dict[str, Any]]:
    args: dict[str, Any] = {
        "method": "GET",
        "url": ENDPOINT_URL,
        "raw_query": "",
        "headers": [],
        "body": b"",
        "remote": "127.0.0.1",
        "kind": "endpoint",
        "service_type": "",
        "route_or_url": "/hello/latest",
    }
    args.update(overrides)
    return build_payload(**args)


def test_endpoint_payload_shape() -> None:  # contract §3.1
    payload, _ = build(
        method="POST",
        raw_query="arg1=hello&arg2=world&arg1=again",
        headers=[("Content-Type", "application/json"), ("x-custom", "1"), ("X-CUSTOM", "2")],
        body=b'{ "message": "Hello!" }',
    )
    assert payload == {
        "query": {"arg1": "hello", "arg2": "world"},  # first occurrence wins
        "headers": {"Content-Type": ["application/json"], "X-Custom": ["1", "2"]},
        "body": b'{ "message": "Hello!" }',  # raw bytes, untouched
    }


def test_no_query_gives_empty_dict_and_no_body_gives_none() -> None:  # contract §3.1
    payload, request = build()
    assert payload == {"query": {}, "headers": {}, "body": None}
    assert request["rawQueryString"] is None


def test_zero_length_body_is_none() -> None:  # contract §3.1 INF
    payload, _ = build(method="POST", headers=[("Content-Length", "0")], body=b"")
    assert payload["body"] is None
    assert payload["headers"] == {"Content-Length": ["0"]}


def test_secret_removed_from_query_and_raw_query_string() -> None:  # contract §2.2 decision
    payload, request = build(raw_query="secret=hello&someParam=42")
    assert payload["query"] == {"someParam": "42"}
    assert request["rawQueryString"] == "someParam=42"


def test_query_of_only_secret() -> None:  # contract §3.3 INF
    payload, request = build(raw_query="secret=hello")
    assert payload["query"] == {}
    assert request["rawQueryString"] is None


def test_host_and_transfer_encoding_are_not_in_headers() -> None:  # contract §3.1: Go server promotes Host
    payload, request = build(headers=[("Host", "localhost:8080"), ("Transfer-Encoding", "chunked"), ("Accept", "*/*")])
    assert payload["headers"] == {"Accept": ["*/*"]}
    assert request["requestHeaders"] == {"Accept": ["*/*"]}


def test_non_canonicalisable_header_name_kept_as_sent() -> None:  # contract §3.1 INF
    payload, _ = build(headers=[("x bad", "v")])
    assert payload["headers"] == {"x bad": ["v"]}


FORM = [("Content-Type", "application/x-www-form-urlencoded")]


def test_form_body_fields_join_query_and_body_stays_raw() -> None:  # contract §3.1 decision
    body = b"team_domain=mlynn&text=http%3A%2F%2Fgoogle.com&command=%2Fnew"
    payload, _ = build(method="POST", kind="webhook", service_type="http", url=WEBHOOK_URL, headers=FORM, body=body)
    assert payload["query"] == {"team_domain": "mlynn", "text": "http://google.com", "command": "/new"}
    assert payload["body"] == body


def test_url_query_wins_a_clash_with_form_fields() -> None:  # contract §3.1 decision
    payload, _ = build(method="POST", raw_query="a=url&c=3", headers=FORM, body=b"a=form&b=2&b=ignored")
    assert payload["query"] == {"a": "url", "c": "3", "b": "2"}


def test_form_secret_field_is_kept_in_query() -> None:  # contract §2.2 INF: only the URL query counts
    payload, _ = build(method="POST", raw_query="secret=s", headers=FORM, body=b"secret=body")
    assert payload["query"] == {"secret": "body"}


def test_form_content_type_with_parameters_and_case() -> None:  # contract §3.1 decision
    headers = [("content-type", "Application/X-WWW-Form-Urlencoded; charset=UTF-8")]
    payload, _ = build(method="PUT", headers=headers, body=b"x=1")
    assert payload["query"] == {"x": "1"}


def test_form_body_on_get_or_delete_is_not_parsed() -> None:  # contract §3.1: Go parses POST/PUT/PATCH bodies
    for method in ("GET", "DELETE"):
        payload, _ = build(method=method, headers=FORM, body=b"x=1")
        assert payload["query"] == {}


def test_non_form_body_adds_nothing() -> None:  # contract §3.1
    payload, _ = build(method="POST", headers=[("Content-Type", "application/json")], body=b"x=1")
    assert payload["query"] == {}


def test_unparsable_form_pairs_add_nothing() -> None:  # contract §3.1 INF
    payload, _ = build(method="POST", headers=FORM, body=b"a=%zz&b;c=1&d=4")
    assert payload["query"] == {"d": "4"}


def test_twilio_payload_is_the_form_fields() -> None:  # contract §3.2
    body = b"From=%2B15551234567&To=%2B15557654321&Body=Hello+there&Body=second"
    payload, _ = build(method="POST", kind="webhook", service_type="twilio", url=WEBHOOK_URL, headers=FORM, body=body)
    assert payload == {"From": "+15551234567", "To": "+15557654321", "Body": "Hello there"}


def test_github_payload_is_the_raw_body() -> None:  # contract §3.2: the worker parses the JSON event
    body = b'{"repository": {"name": "atlas-fn"}}'
    payload, _ = build(method="POST", kind="webhook", service_type="github", url=WEBHOOK_URL, body=body)
    assert payload == body


def test_endpoint_context_request() -> None:  # contract §3.3
    _, request = build(
        method="POST",
        url=ENDPOINT_URL + "?secret=s&b=2",
        raw_query="secret=s&b=2",
        headers=[("user-agent", "curl/8.5.0"), ("referer", "https://example.com/a"), ("referer", "ignored")],
        body=b"{}",
        remote="203.0.113.7",
    )
    assert request == {
        "remoteIPAddress": "203.0.113.7",
        "requestHeaders": {"User-Agent": ["curl/8.5.0"], "Referer": ["https://example.com/a", "ignored"]},
        "webhookUrl": "/hello/latest",
        "httpMethod": "POST",
        "rawQueryString": "b=2",
        "httpReferrer": "https://example.com/a",
        "httpUserAgent": "curl/8.5.0",
        "service": None,
        "action": None,
    }


def test_webhook_context_request_url_is_absolute_without_query() -> None:  # contract §3.3 decision
    _, request = build(kind="webhook", service_type="http", url=WEBHOOK_URL + "?a=1#frag", raw_query="a=1",
                       route_or_url="")
    assert request["webhookUrl"] == WEBHOOK_URL
    assert request["rawQueryString"] == "a=1"
    assert request["httpReferrer"] is None and request["httpUserAgent"] is None


def test_request_headers_equal_but_not_shared_with_payload_headers() -> None:  # contract §3.3
    payload, request = build(headers=[("Accept", "*/*")])
    assert request["requestHeaders"] == payload["headers"]
    request["requestHeaders"]["Accept"].append("x")
    assert payload["headers"] == {"Accept": ["*/*"]}


def test_github_and_twilio_context_request_has_headers() -> None:  # contract §3.3
    _, request = build(kind="webhook", service_type="github", url=WEBHOOK_URL, headers=[("x-github-event", "push")])
    assert request["requestHeaders"] == {"X-Github-Event": ["push"]}


@pytest.mark.parametrize("raw", [
    (),
    ((b"Host", b"h"), (b"x-a", b"1"), (b"X-A", b"2"), (b"transfer-encoding", b"chunked"), (b"content-TYPE", b"a/b")),
    ((b"bad name", b"v"), (b"X-\xff", b"\xfe\xff"), (b"x-b", b"caf\xc3\xa9"), (b"X-B", b"")),
])
def test_header_map_of_lines_is_the_map_of_the_decoded_pairs(raw: tuple[tuple[bytes, bytes], ...]) -> None:  # contract §3.1
    """The worker's one-pass map of the header lines (issue 8 bench) equals decoding them first
    and mapping the pairs: Go's names, repeated values in order, Host and Transfer-Encoding out,
    bad UTF-8 replaced."""
    from runtime.contract.request import decode_header_pairs, header_map, header_map_of_lines

    assert header_map_of_lines(raw) == header_map(decode_header_pairs(raw))
    assert list(header_map_of_lines(raw)) == list(header_map(decode_header_pairs(raw)))
