"""Bad input at the HTTP front, fuzzed with hypothesis (issue 4 §4; contract §2, §5).

Requests are written byte for byte on a raw socket, so nothing is normalised on the way:
malformed, oversized, non-ASCII and duplicated signature headers (X-Hook-Signature,
Endpoint-Signature, X-Hub-Signature-256) in any letter case; invalid UTF-8 and random bytes
in bodies, headers and percent-escapes; truncated bodies (a Content-Length or a chunk larger
than what is sent, then the connection closed); absurd query strings (thousands of pairs,
huge keys, `%` garbage, `;`); random methods and paths. Most cases run against the in-process
runner (`pool=False`) for speed; `test_through_the_pool` and the truncated-body case send
some through the real worker pool.

Properties, for every request:

* never a 500, never a Python traceback in a response;
* a request that reached routing gets the §5 envelope (`error`, `error_code`, `link`) as
  `application/json`, or the function's own JSON answer — never aiohttp's text error page.
  Only refusals by the HTTP layer itself come before routing and are text: the parser's 400
  (an unknown method, a byte not allowed in a request line or header, a bad Content-Length or
  chunk size, a line over the limit) and 417 for an unknown `Expect` — Go's server, in front
  of App Services, refused those before any handler too;
* signature checks are exact: the request passes only when the first signature header
  carries the right HMAC of the raw body, and a 401 never shows the secret or the expected
  signature;
* atlas-fn logs no error and no traceback, and the access log stays one line per request
  (a `%0A` in a path cannot forge a line);
* the server answers the next good request.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
import re
import signal
import string
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.conftest import INSPECTOR_LINK, Serve, webhook_config, write_app
from tests.waiting import until

SECRET = "s3cret-fuzz"
ENDPOINT_SECRETS = {"ATLAS_FN_SECRET_ep_secret": SECRET}
APP_ID = "fuzz-abcde"
HOOKS = f"/api/client/v2.0/app/{APP_ID}/service"
ECHO = f"{HOOKS}/http/incoming_webhook/echo"
SIGNED = f"{HOOKS}/http/incoming_webhook/signed"
QUERY = f"{HOOKS}/http/incoming_webhook/query"
PUSH = f"{HOOKS}/gh/incoming_webhook/push"
ENDPOINT_ECHO = f"/app/{APP_ID}/endpoint/echo"
ENDPOINT_SIGNED = f"/app/{APP_ID}/endpoint/signed"
ENVELOPE_CODES = {
    "IncomingWebhookAuthFailed", "NoMatchingRuleFound", "FunctionExecutionError", "ExecutionTimeLimitExceeded",
    "IncomingWebhookNotFound", "EndpointNotFound", "MethodNotAllowed", "RequestTooLarge", "TooManyRequests",
    "InvalidParameter",
}
ECHO_SOURCE = (
    "def exports(payload, response):\n"
    "    return {'q': len(payload.query), 'h': len(payload.headers), 'b': len(payload.body or '')}\n"
)
HEADERS_SOURCE = "def exports(payload, response):\n    return {'headers': payload.headers, 'query': payload.query}\n"

FUZZ = settings(max_examples=100, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    return write_app(tmp_path / "app", {
        "realm_config.json": {"app_id": APP_ID, "name": "fuzz"},
        "services/http/config.json": {"name": "http", "type": "http"},
        "services/http/incoming_webhooks/echo/config.json": webhook_config("echo"),
        "services/http/incoming_webhooks/headers/config.json": webhook_config("headers"),
        "services/http/incoming_webhooks/signed/config.json": webhook_config("signed", "POST", "VERIFY_PAYLOAD", SECRET),
        "services/http/incoming_webhooks/query/config.json": webhook_config("query", "GET", "SECRET_AS_QUERY_PARAM", SECRET),
        "services/gh/config.json": {"name": "gh", "type": "github"},
        "services/gh/incoming_webhooks/push/config.json": {"name": "push", "options": {"secret": SECRET}, "respond_result": True},
        "https_endpoints/config.json": [
            {"route": "/echo", "http_method": "*", "function_name": "echo", "validation_method": "NO_VALIDATION",
             "respond_result": True},
            {"route": "/signed", "http_method": "POST", "function_name": "echo", "validation_method": "VERIFY_PAYLOAD",
             "secret_name": "ep_secret", "respond_result": True},
        ],
        "functions/echo.py": ECHO_SOURCE,
        "functions/signed.py": ECHO_SOURCE,
        "functions/query.py": ECHO_SOURCE,
        "functions/headers.py": HEADERS_SOURCE,
        "functions/push.py": "def exports(payload, response):\n    return 'ok'\n",
    })


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="atlas_fn")
    return caplog


@pytest.fixture
async def front(serve: Serve, app_dir: Path) -> TestClient:
    """The in-process front; request lines and header lines up to 128 KiB reach routing."""
    return await serve(app_dir, None, pool=False, environ=ENDPOINT_SECRETS, max_header_line_bytes=1 << 17)


@pytest.fixture
def port(front: TestClient) -> int:
    return front.port


def http_server(front: TestClient) -> web.Server:
    """aiohttp's server under the front: it lists each connection until that connection's
    handler task has ended (``Server.connection_lost`` drops it from the task's done callback,
    as of aiohttp 3.14), and counts the requests it has handed to a handler."""
    return front.server.runner.server  # type: ignore[union-attr]


@pytest.fixture
async def pool_port(serve: Serve, app_dir: Path) -> int:
    """The same app behind the real worker pool (2 workers)."""
    client = await serve(app_dir, None, pool=True, environ=ENDPOINT_SECRETS, max_header_line_bytes=1 << 17, timeout=10)
    return client.port


# --- a raw HTTP/1.1 client ---------------------------------------------------------------------

@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # lower-cased names, last value wins
    body: bytes


def http(method: bytes, target: bytes, headers: Sequence[tuple[bytes, bytes]] = (), body: bytes = b"",
         length: int | None = None) -> bytes:
    """One request, byte for byte (``Connection: close``; Content-Length from the body unless given)."""
    lines = [method + b" " + target + b" HTTP/1.1", b"Host: fuzz", b"Connection: close"]
    lines += [name + b": " + value for name, value in headers]
    if body or length is not None:
        lines.append(b"Content-Length: %d" % (len(body) if length is None else length))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


async def exchange(port: int, data: bytes, *, head: bool = False, timeout: float = 10.0) -> Answer:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    try:
        try:
            writer.write(data)
            await writer.drain()
        except ConnectionError:
            pass  # the server answered and closed before reading everything: read its answer
        return await read_answer(reader, head=head, timeout=timeout)
    finally:
        writer.close()


async def read_answer(reader: asyncio.StreamReader, *, head: bool = False, timeout: float = 10.0) -> Answer:
    while True:
        raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        if status != 100:
            break
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if head or status in (204, 304):
        body = b""
    elif "content-length" in headers:
        body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), timeout)
    else:
        body = await asyncio.wait_for(reader.read(), timeout)
    return Answer(status, headers, body)


# --- the properties ----------------------------------------------------------------------------

def routed(answer: Answer, *, head: bool = False) -> Any:
    """A request that reached routing: the §5 envelope or the function's JSON; never a 500."""
    assert answer.status != 500 and b"Traceback" not in answer.body, answer
    if head and answer.status < 400:
        return None  # a HEAD answer has no body, and none of its headers is required (contract §4.2)
    assert answer.headers.get("content-type") == "application/json", answer
    if head:
        return None
    value = json.loads(answer.body)
    if answer.status >= 400:
        assert isinstance(value, dict) and set(value) == {"error", "error_code", "link"}, answer
        assert value["error_code"] in ENVELOPE_CODES and value["error"], answer
        assert INSPECTOR_LINK.fullmatch(value["link"]), answer  # the inspector's entry, never the caller's Host (issue 9)
    return value


def answered(answer: Answer, *, head: bool = False) -> Any:
    """Any request: refused by the HTTP layer before routing (text), or routed."""
    assert answer.status != 500 and b"Traceback" not in answer.body, answer
    if answer.headers.get("content-type", "").startswith("text/plain"):
        assert answer.status in (400, 417, 431), answer
        return None
    return routed(answer, head=head)


async def still_serving(port: int, logs: pytest.LogCaptureFixture, sent: int = 1) -> None:
    """The next good request is answered; atlas-fn logged no error, and at most one access-log
    line per request (``sent`` before this one; these functions print no console lines), so
    nothing a caller sent became a line of its own."""
    answer = await exchange(port, http(b"GET", ECHO.encode() + b"?a=1"))
    assert (answer.status, answer.body) == (200, b'{"q":{"$numberInt":"1"},"h":{"$numberInt":"1"},"b":{"$numberInt":"0"}}')
    records = [record for record in logs.records if record.name.startswith("atlas_fn")]
    assert [r.getMessage() for r in records if r.levelno >= logging.ERROR] == []
    lines = [line for r in records if r.name == "atlas_fn.access" for line in r.getMessage().split("\n")]
    assert len(lines) <= sent + 1 and not any("\r" in line for line in lines), lines
    logs.clear()


def sign(body: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}=" + hmac.new(SECRET.encode(), body, getattr(hashlib, algorithm)).hexdigest()


# --- strategies --------------------------------------------------------------------------------

# bytes a header value may hold on the wire (RFC 9110 field-vchar, SP, HTAB, obs-text)
VALUE_BYTES = bytes([0x09, 0x20, *range(0x21, 0x7F), *range(0x80, 0x100)])
TOKEN = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"


def header_values(max_size: int = 200) -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=max_size).map(lambda raw: bytes(b for b in raw if b in VALUE_BYTES)),
        st.text(max_size=max_size // 4).map(lambda text: text.encode("utf-8")).map(
            lambda raw: bytes(b for b in raw if b in VALUE_BYTES)),
    ).map(lambda value: value.strip(b" \t"))


def mixed_case(name: str) -> st.SearchStrategy[bytes]:
    return st.lists(st.booleans(), min_size=len(name), max_size=len(name)).map(
        lambda upper: "".join(c.upper() if u else c.lower() for c, u in zip(name, upper)).encode())


@st.composite
def signature_values(draw: st.DrawFn, body: bytes, algorithm: str) -> bytes:
    right = sign(body, algorithm)
    hex_part = right.split("=", 1)[1]
    kind = draw(st.sampled_from(["right", "upper", "random", "prefixed", "huge", "non-ascii", "truncated", "spaced"]))
    if kind == "right":
        return right.encode()
    if kind == "upper":
        return f"{algorithm}={hex_part.upper()}".encode()
    if kind == "random":
        return draw(header_values())
    if kind == "prefixed":  # wrong prefixes around a right or random digest
        prefix = draw(st.sampled_from(["sha1=", ":sha256=", "SHA256=", "sha256:", "sha512=", "", "sha256=sha256=", " sha256 ="]))
        digest = draw(st.sampled_from([hex_part, hex_part[:-1], hex_part + "0", "0" * 64, "g" * 64]))
        return (prefix + digest).encode().strip()
    if kind == "huge":
        return f"{algorithm}=".encode() + draw(st.sampled_from([b"a", b"0", b"z", b"\xff"])) * draw(st.integers(65, 100_000))
    if kind == "non-ascii":
        return f"{algorithm}=".encode() + draw(st.text(min_size=1, max_size=64).filter(lambda t: not t.isascii())).encode(
            "utf-8", "surrogatepass").translate(None, bytes(range(0x20)) + b"\x7f")
    if kind == "truncated":
        return right[:draw(st.integers(0, len(right) - 1))].encode()
    return b"sha256 = " + hex_part.encode()


def signature_ok(value: bytes, body: bytes, algorithm: str) -> bool:
    text = value.strip(b" \t")
    prefix = f"{algorithm}=".encode()
    return text.startswith(prefix) and text[len(prefix):].lower() == sign(body, algorithm).split("=", 1)[1].encode()


SIGNED_TARGETS = {  # path → (the header that carries the signature, algorithm)
    SIGNED: ("X-Hook-Signature", "sha256"),
    ENDPOINT_SIGNED: ("Endpoint-Signature", "sha256"),
    PUSH: ("X-Hub-Signature-256", "sha256"),
}


# --- signature headers -------------------------------------------------------------------------

@FUZZ
@given(data=st.data(), path=st.sampled_from(sorted(SIGNED_TARGETS)),
       body=st.one_of(st.binary(max_size=300), st.just(b'{"action":"opened"}')))
async def test_signature_headers(port: int, logs: pytest.LogCaptureFixture, data: st.DataObject, path: str, body: bytes) -> None:
    """Malformed, oversized, non-ASCII, duplicated and mixed-case signature headers: exactly the
    first one counts; a wrong one is a 401 envelope that names neither secret nor signature."""
    header, algorithm = SIGNED_TARGETS[path]
    values = data.draw(st.lists(signature_values(body, algorithm), min_size=1, max_size=3), label="values")
    names = [data.draw(mixed_case(header), label="name") for _ in values]
    decisive = values[0]
    answer = await exchange(port, http(b"POST", path.encode(), list(zip(names, values)), body))
    value = routed(answer)
    if signature_ok(decisive, body, algorithm):
        if path == PUSH:  # GitHub: the body is parsed as the JSON event; random bytes may not be one
            assert answer.status == 200 or value["error_code"] == "FunctionExecutionError", answer
        else:
            assert answer.status == 200, answer
    else:
        assert (answer.status, value["error_code"]) == (401, "IncomingWebhookAuthFailed"), answer
        assert SECRET not in value["error"] and sign(body, algorithm).split("=", 1)[1] not in value["error"]
    await still_serving(port, logs)


# --- headers in general ------------------------------------------------------------------------

# RFC 9110 singleton fields: aiohttp's parser refuses a request repeating one (400, before routing)
SINGLETONS = {"content-length", "content-location", "content-range", "content-type", "etag", "host", "max-forwards",
              "server", "transfer-encoding", "user-agent"}


def repeats_a_singleton(headers: list[tuple[bytes, bytes]]) -> bool:
    names = [b"host"] + [name.lower() for name, _ in headers]
    return any(names.count(name.encode()) > 1 for name in SINGLETONS)


HEADER_NAMES = ["Content-Type", "Accept", "User-Agent", "Referer", "X-Forwarded-For", "X-Forwarded-Proto", "Cookie",
                "Authorization", "X-Hook-Signature", "Endpoint-Signature", "X-Hub-Signature", "X-Hub-Signature-256",
                "Forwarded", "Origin", "X-Request-Id", "Accept-Encoding", "Content-Encoding"]


@FUZZ
@given(data=st.data(), path=st.sampled_from([ECHO, ENDPOINT_ECHO, SIGNED, QUERY, PUSH, f"{HOOKS}/http/incoming_webhook/headers"]),
       method=st.sampled_from([b"GET", b"POST", b"PUT", b"DELETE", b"PATCH", b"HEAD"]),
       body=st.binary(max_size=200))
async def test_duplicate_mixed_case_and_odd_headers(port: int, logs: pytest.LogCaptureFixture, data: st.DataObject, path: str,
                                                    method: bytes, body: bytes) -> None:
    """Up to 100 header lines: known names in any case, repeated, random tokens, random values
    (obs-text and invalid UTF-8 included), Accept/Content-Type/Content-Encoding nonsense."""
    names = st.one_of(st.sampled_from(HEADER_NAMES).flatmap(mixed_case),
                      st.text(alphabet=TOKEN, min_size=1, max_size=40).map(str.encode))
    headers = data.draw(st.lists(st.tuples(names, header_values(300)), max_size=100), label="headers")
    answer = await exchange(port, http(method, path.encode(), headers, body), head=method == b"HEAD")
    if repeats_a_singleton(headers):  # e.g. two User-Agent lines: the parser's 400
        answered(answer, head=method == b"HEAD")
    else:
        routed(answer, head=method == b"HEAD")
    await still_serving(port, logs)


@pytest.mark.parametrize("raw", [
    http(b"GET", ECHO.encode(), [(b"Host", b"other")]),  # a second Host
    http(b"POST", ECHO.encode(), [(b"Content-Length", b"3")], b"abc"),  # Content-Length twice
    http(b"POST", ECHO.encode(), [(b"Transfer-Encoding", b"chunked")], b"abc"),  # both framings
    http(b"POST", ECHO.encode(), [(b"Transfer-Encoding", b"gzip, chunked")]) + b"3\r\nabc\r\n0\r\n\r\n",
    http(b"POST", ECHO.encode(), [(b"Expect", b"banana")], b"abc"),
    http(b"POST", ECHO.encode(), [(b"Expect", b"100-continue")], b"abc"),
    http(b"GET", ECHO.encode(), [(b"Upgrade", b"websocket"), (b"Connection", b"Upgrade")]),
    http(b"GET", ECHO.encode(), [(b"X", b"a\x01b")]),  # a control byte
    http(b"GET", ECHO.encode(), [(b"\xc3\xa9", b"1")]),  # a non-token name
    http(b"GET", ECHO.encode(), [(b"X-Big", b"v" * 200_000)]),  # over the line limit
    http(b"GET", ECHO.encode(), [(b"X-%d" % n, b"v") for n in range(200)]),  # over the header count
    http(b"POST", ECHO.encode(), [(b"Content-Encoding", b"gzip")], b"not gzip at all"),
    http(b"POST", ECHO.encode(), [(b"Content-Encoding", b"br")], b"\xff\xfe"),
], ids=["two-hosts", "two-lengths", "te-and-cl", "te-gzip-chunked", "expect-unknown", "expect-100", "upgrade",
        "control-byte", "non-token-name", "huge-line", "too-many", "bad-gzip", "bad-brotli"])
async def test_protocol_level_headers(port: int, logs: pytest.LogCaptureFixture, raw: bytes) -> None:
    """Headers the HTTP layer owns: refused as text before routing, or routed — never a 500."""
    answered(await exchange(port, raw))
    await still_serving(port, logs)


async def test_a_broken_content_encoding_reaches_the_function_as_sent(port: int, logs: pytest.LogCaptureFixture) -> None:
    """Request bodies are not decompressed (Go's server does not): a body that is not gzip
    despite `Content-Encoding: gzip` is served, not a 500, and signatures cover the bytes sent."""
    body = b"\x1f\x8b not really gzip"
    answer = await exchange(port, http(b"POST", SIGNED.encode(), [(b"Content-Encoding", b"gzip"),
                                                                   (b"X-Hook-Signature", sign(body).encode())], body))
    assert (answer.status, routed(answer)) == (200, {"q": {"$numberInt": "0"}, "h": {"$numberInt": "4"},
                                                     "b": {"$numberInt": str(len(body))}})
    await still_serving(port, logs)


# --- bodies --------------------------------------------------------------------------------------

@FUZZ
@given(path=st.sampled_from([ECHO, ENDPOINT_ECHO, SIGNED, ENDPOINT_SIGNED, PUSH]),
       body=st.one_of(st.binary(max_size=2000), st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass"))),
       content_type=st.sampled_from([None, b"application/x-www-form-urlencoded", b"application/json",
                                     b"application/x-www-form-urlencoded; charset=\xff", b"text/plain; charset=utf-16",
                                     b"multipart/form-data; boundary=x"]),
       signed=st.booleans())
async def test_bodies_of_any_bytes(port: int, logs: pytest.LogCaptureFixture, path: str, body: bytes,
                                   content_type: bytes | None, signed: bool) -> None:
    """Invalid UTF-8, lone surrogates, form bodies of garbage: a signed request passes on the
    raw bytes whatever they are; nothing is a 500."""
    headers = [(b"Content-Type", content_type)] if content_type is not None else []
    if path in SIGNED_TARGETS and signed:
        headers.append((SIGNED_TARGETS[path][0].encode(), sign(body).encode()))
    answer = await exchange(port, http(b"POST", path.encode(), headers, body))
    value = routed(answer)
    if path in (ECHO, ENDPOINT_ECHO) or (path in (SIGNED, ENDPOINT_SIGNED) and signed):
        assert answer.status == 200, answer
    elif path in SIGNED_TARGETS and not signed:
        assert value["error_code"] == "IncomingWebhookAuthFailed", answer
    await still_serving(port, logs)


# --- query strings -------------------------------------------------------------------------------

QUERY_CHARS = string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@/?"
PERCENT = ["%", "%z", "%zz", "%f", "%ff", "%FE%FF", "%00", "%0A", "%0D%0A", "%C3%A9", "%ED%A0%80", "%F4%90%80%80",
           "%25", "%2", "%%", "%+", "%26", "%3D", "%3B"]


@st.composite
def absurd_queries(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["random", "many", "huge-key", "huge-value", "semicolons", "secret"]))
    if kind == "random":
        parts = draw(st.lists(st.one_of(st.text(alphabet=QUERY_CHARS, max_size=20), st.sampled_from(PERCENT)), max_size=60))
        return "".join(parts).encode()
    if kind == "many":
        n = draw(st.integers(1000, 6000))
        pair = draw(st.sampled_from(["a=1", "a", "=", "k{n}=v", "%zz={n}", "x{n}=%ff", ";{n}", ""]))
        return "&".join(pair.format(n=i) for i in range(n)).encode()
    if kind == "huge-key":
        return b"k" * draw(st.integers(1000, 100_000)) + b"=v"
    if kind == "huge-value":
        return b"v=" + draw(st.sampled_from([b"a", b"%41", b"%", b"+"])) * draw(st.integers(1000, 30_000))
    if kind == "semicolons":
        return ";".join(draw(st.lists(st.text(alphabet=QUERY_CHARS.replace(";", ""), max_size=10), max_size=30))).encode()
    secrets = draw(st.lists(st.sampled_from([SECRET, SECRET.upper(), "", "%zz", SECRET + "%00", "s3cret%2Dfuzz"]), max_size=3))
    return "&".join(f"secret={s}" for s in secrets).encode()


@FUZZ
@given(query=absurd_queries(), path=st.sampled_from([ECHO, ENDPOINT_ECHO, QUERY, f"{HOOKS}/http/incoming_webhook/headers"]))
async def test_absurd_query_strings(port: int, logs: pytest.LogCaptureFixture, query: bytes, path: str) -> None:
    """Thousands of pairs, keys of 100 KB, bad `%` escapes and invalid UTF-8 once decoded, `;`:
    routed and answered (the query-secret webhook: 200 or 401), never a 500."""
    answer = await exchange(port, http(b"GET", path.encode() + b"?" + query))
    value = routed(answer)
    if path == QUERY:
        assert answer.status == 200 or value["error_code"] == "IncomingWebhookAuthFailed", answer
        if answer.status == 200:
            assert b"secret=" + SECRET.encode() in query or b"secret=s3cret%2Dfuzz" in query
    else:
        assert answer.status == 200, answer
    await still_serving(port, logs)


@FUZZ
@given(raw=st.binary(min_size=1, max_size=40))
async def test_raw_bytes_in_the_request_target(port: int, logs: pytest.LogCaptureFixture, raw: bytes) -> None:
    """Bytes a request line may not hold (over 0x7F, controls, spaces) are the parser's 400;
    whatever passes it is routed."""
    target = ECHO.encode() + b"?" + raw.replace(b"\r", b"").replace(b"\n", b"")
    answered(await exchange(port, http(b"GET", target)))
    await still_serving(port, logs)


# --- methods and paths ---------------------------------------------------------------------------

KNOWN_METHODS = [b"GET", b"POST", b"PUT", b"PATCH", b"DELETE", b"HEAD", b"OPTIONS", b"TRACE"]
SEGMENTS = ["api", "client", "v2.0", "app", APP_ID, "other-app", "service", "http", "gh", "incoming_webhook", "echo",
            "signed", "push", "endpoint", "", ".", "..", "%2e%2e", "%00", "%0a", "%0D", "%ff", "%", "%zz", "%2F", "~",
            "%E2%80%AE", "*", ";", "a;b=c", "@", ":"]


@FUZZ
@given(method=st.one_of(st.sampled_from(KNOWN_METHODS), st.sampled_from(KNOWN_METHODS).map(bytes.lower),
                         st.text(alphabet=TOKEN, min_size=1, max_size=12).map(str.encode),
                         st.sampled_from([b"CONNECT", b"PROPFIND", b"QUERY", b"PURGE", b"SEARCH", b"M-SEARCH"])),
       path=st.one_of(
           st.lists(st.one_of(st.sampled_from(SEGMENTS), st.text(alphabet=QUERY_CHARS.replace("?", ""), max_size=12)),
                    max_size=12).map(lambda parts: ("/" + "/".join(parts)).encode()),
           st.sampled_from([b"*", b"//" + ECHO.encode(), ECHO.encode() + b"/", ECHO.encode() + b"%0A",
                            b"http://fuzz" + ECHO.encode(), b"fuzz:80", ECHO.encode() + b"#frag", b"/%"])))
async def test_random_methods_and_paths(port: int, logs: pytest.LogCaptureFixture, method: bytes, path: bytes) -> None:
    """Any method, any path: an unknown method may be the parser's 400; every other request is
    routed (404/405 envelopes, or a function's answer)."""
    answer = await exchange(port, http(method, path), head=method == b"HEAD")
    if method in KNOWN_METHODS and path.startswith(b"/"):
        routed(answer, head=method == b"HEAD")
    else:
        answered(answer, head=method == b"HEAD")
    await still_serving(port, logs)


async def test_paths_the_catch_all_route_cannot_match_get_the_envelope(port: int, logs: pytest.LogCaptureFixture) -> None:
    """`OPTIONS *`, `CONNECT host:port` and a path holding a decoded newline were aiohttp's text
    404; they are the front's EndpointNotFound now, and the log line shows `%0A`, not a newline."""
    for raw in (http(b"OPTIONS", b"*"), http(b"CONNECT", b"fuzz:80"), http(b"GET", b"/a%0A2026-01-01T00:00:00Z%20GET%20/forged")):
        answer = await exchange(port, raw)
        assert (answer.status, routed(answer)["error_code"]) == (404, "EndpointNotFound")
    lines = [r.getMessage() for r in logs.records if r.name == "atlas_fn.access"]
    assert any(" GET /a%0A2026-01-01T00:00:00Z GET /forged fn=- " in line for line in lines), lines
    await still_serving(port, logs, sent=3)


# --- truncated bodies ----------------------------------------------------------------------------

async def truncated(port: int, path: bytes, declared: int, sent: bytes, chunked: bool, half_close: bool) -> bytes:
    """Send a body shorter than declared, wait for an answer that must not come, then close."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        if chunked:
            writer.write(http(b"POST", path, [(b"Transfer-Encoding", b"chunked")]) + b"%x\r\n" % declared + sent)
        else:
            writer.write(http(b"POST", path, length=declared) + sent)
        await writer.drain()
        try:
            early = await asyncio.wait_for(reader.read(1 << 16), 0.1)
        except asyncio.TimeoutError:
            early = b""
        if half_close:
            writer.write_eof()
            try:
                early += await asyncio.wait_for(reader.read(1 << 16), 1.0)
            except (asyncio.TimeoutError, ConnectionError):
                pass
        return early
    finally:
        writer.close()


def truncated_lines(logs: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in logs.records if r.name == "atlas_fn.access" and r.getMessage().split(" ", 3)[1] == "POST"]


@settings(FUZZ, max_examples=30)
@given(path=st.sampled_from([ECHO.encode(), SIGNED.encode(), ENDPOINT_SIGNED.encode()]), declared=st.integers(1, 1_000_000),
       fraction=st.floats(0, 0.999), chunked=st.booleans(), half_close=st.booleans())
async def test_truncated_bodies(front: TestClient, port: int, logs: pytest.LogCaptureFixture, path: bytes, declared: int,
                                fraction: float, chunked: bool, half_close: bool) -> None:
    """A body shorter than its Content-Length (or chunk size): no answer while the server waits
    for the rest; when the caller gives up, no error and no traceback, and the next request is
    served. (The test server cancels a handler whose client left, so the request may leave no
    log line here; `test_truncated_bodies_against_a_real_server` checks the line `serve` logs.)"""
    sent = b"x" * min(int(declared * fraction), 20_000)
    early = await truncated(port, path, declared, sent, chunked, half_close)
    assert early == b"", early
    # the server is done with the connection: its handler has logged its line, or was cancelled
    server = http_server(front)
    await until(lambda: not server.connections, what=lambda: f"the server still holds {server.connections}")
    for line in truncated_lines(logs):
        assert " status=400 " in line and "the connection closed before the whole request body arrived" in line, line
    await still_serving(port, logs)


async def test_a_malformed_chunk_mid_body_is_never_a_500(front: TestClient, port: int, logs: pytest.LogCaptureFixture) -> None:
    """A chunk size that is not hex, arriving after the handler started reading the body.
    aiohttp's pure-Python parser fails the body (→ 400 envelope); its C parser (the default)
    drops the body without failing it, so the request waits until the caller closes. Either
    way: no 500, no traceback, and the next request is served."""
    server = http_server(front)
    requests_before = server.requests_count
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(http(b"POST", ECHO.encode(), [(b"Transfer-Encoding", b"chunked")]) + b"5\r\nhello\r\n")
    await writer.drain()
    # the request has been handed to its handler (its head and first chunk parsed) before the bad chunk is sent
    await until(lambda: server.requests_count > requests_before, what="the request handed to its handler")
    writer.write(b"zz\r\nabc\r\n0\r\n\r\n")
    try:
        answer = await read_answer(reader, timeout=0.5)
    except asyncio.TimeoutError:
        answer = None
    writer.close()
    if answer is not None:
        assert (answer.status, routed(answer)["error"]) == (400, "the request body is malformed: its chunked framing or length is broken")
    await still_serving(port, logs)


async def test_truncated_bodies_against_a_real_server(tmp_path: Path, app_dir: Path) -> None:
    """`atlas-fn serve` (aiohttp's production settings: a handler is not cancelled when its
    client leaves) logs a caller who closes mid-body as a 400, not a 500 with a traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_FN_")} | ENDPOINT_SECRETS
    log = tmp_path / "serve.log"
    with log.open("wb") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "runtime", "serve", "--app", str(app_dir), "--port", "0", "--workers", "1"],
                                cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        banner = proc.stdout.readline()  # type: ignore[union-attr]
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)", banner)
        assert match, banner + log.read_text()
        port = int(match.group(1))
        for chunked in (False, True):
            for half_close in (False, True):
                for path in (ECHO, ENDPOINT_SIGNED):
                    assert await truncated(port, path.encode(), 5000, b"x" * 100, chunked, half_close) == b""
        answer = await exchange(port, http(b"GET", ECHO.encode() + b"?a=1"))
        assert (answer.status, answer.body) == (200, b'{"q":{"$numberInt":"1"},"h":{"$numberInt":"1"},"b":{"$numberInt":"0"}}')
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    text = log.read_text(errors="replace")
    assert "Traceback" not in text and "status=500" not in text and "internal error" not in text, text
    lines = [line for line in text.splitlines() if " POST " in line]
    assert len(lines) == 8, text
    assert all(" status=400 " in line and "the connection closed before the whole request body arrived" in line for line in lines), text


# --- through the real worker pool ----------------------------------------------------------------

@settings(FUZZ, max_examples=40)
@given(data=st.data(), path=st.sampled_from([ECHO, f"{HOOKS}/http/incoming_webhook/headers", ENDPOINT_ECHO, SIGNED]),
       body=st.binary(max_size=500))
async def test_through_the_pool(pool_port: int, logs: pytest.LogCaptureFixture, data: st.DataObject, path: str, body: bytes) -> None:
    """Random queries, headers (invalid UTF-8 values included) and bodies through real workers:
    answered exactly as in-process — the function's JSON or an envelope, never a 500."""
    query = data.draw(absurd_queries(), label="query")
    names = st.one_of(st.sampled_from(HEADER_NAMES).flatmap(mixed_case), st.text(alphabet=TOKEN, min_size=1, max_size=20).map(str.encode))
    headers = data.draw(st.lists(st.tuples(names, header_values(100)), max_size=30), label="headers")
    answer = await exchange(pool_port, http(b"POST", path.encode() + b"?" + query, headers, body))
    if repeats_a_singleton(headers):
        answered(answer)
        await still_serving(pool_port, logs)
        return
    value = routed(answer)
    if path != SIGNED:
        assert answer.status == 200, answer
    else:
        assert answer.status == 200 or value["error_code"] == "IncomingWebhookAuthFailed", answer
    await still_serving(pool_port, logs)


async def test_truncated_body_through_the_pool(pool_port: int, logs: pytest.LogCaptureFixture) -> None:
    for chunked in (False, True):
        for half_close in (False, True):
            assert await truncated(pool_port, ECHO.encode(), 5000, b"x" * 100, chunked, half_close) == b""
            await still_serving(pool_port, logs)
