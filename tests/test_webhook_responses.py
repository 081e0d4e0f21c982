"""Every webhook row of the response table, the payload shape, context.request, and errors.

contract §3.1, §3.3, §4.2 (webhook rows), §4.3, §5; issue 2 §4.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from runtime.app.snapshot import prepare
from runtime.contract.response import MAX_HEADERS
from runtime.protocol import messages
from runtime.http.server import build_app
from runtime.settings import Settings
from tests.conftest import Serve, webhook_config, write_app

SOURCES = {
    "status_and_value": "def exports(payload, response):\n    response.setStatusCode(418)\n    return {'ignored': True}\n",
    "body_only": "def exports(payload, response):\n    response.setBody('plain')\n    return {'ignored': True}\n",
    "header_only": "def exports(payload, response):\n    response.setHeader('X-Only', 'yes')\n    return 'ignored'\n",
    "untouched_value": "def exports(payload, response):\n    return {'n': 2147483648, 'pi': 3.14159, 's': 'x', 'l': [True, None]}\n",
    "untouched_no_result": "def exports(payload, response):\n    return {'ignored': True}\n",
    "returns_none": "def exports(payload, response):\n    return None\n",
    "binary_body": "def exports(payload, response):\n    response.setBody(BSON.Binary.fromHex('ff00fe'))\n",
    "echo": (
        "def exports(payload, response):\n"
        "    body = payload.body.text() if payload.body is not None else None\n"
        "    return {'query': payload.query, 'headers': payload.headers, 'body': body,\n"
        "            'request': context.request}\n"
    ),
    "raises": "def exports(payload, response):\n    console.log('about to fail')\n    return {}['missing']\n",
    "bad_status": "def exports(payload, response):\n    response.setStatusCode(1000)\n",
    "unserialisable": "def exports(payload, response):\n    return {'f': exports}\n",
}
RESPOND_RESULT = {"untouched_no_result": False}


async def with_worker(aiohttp_client: Any, app_dir: Path, runner: Any) -> Any:
    """The real server in front of a stand-in worker, for what a hostile worker may send."""
    return await aiohttp_client(build_app(prepare(app_dir, None, Settings(), environ={}), Settings(), runner_factory=runner))


@pytest.fixture
def app(tmp_path: Path) -> Path:
    files: dict[str, Any] = {"realm_config.json": {"app_id": "t-app"}, "services/t/config.json": {"name": "t", "type": "http"}}
    for name, source in SOURCES.items():
        files[f"services/t/incoming_webhooks/{name}/config.json"] = webhook_config(name, respond_result=RESPOND_RESULT.get(name, True))
        files[f"services/t/incoming_webhooks/{name}/source.py"] = source
    return write_app(tmp_path / "app", files)


def url(name: str) -> str:
    return f"/api/client/v2.0/app/t-app/service/t/incoming_webhook/{name}"


@pytest.mark.parametrize(("name", "status", "body", "content_type"), [
    ("status_and_value", 418, b"", None),  # touched: status kept, return value ignored
    ("body_only", 200, b"plain", "text/plain; charset=utf-8"),  # touched, body set: status ?? 200
    ("header_only", 200, b"", None),  # touched, no body: empty
    ("untouched_value", 200, b'{"n":{"$numberLong":"2147483648"},"pi":{"$numberDouble":"3.14159"},"s":"x","l":[true,null]}', "application/json"),
    ("untouched_no_result", 200, b"", None),  # not touched, not respond_result: 200 empty
    ("returns_none", 200, b"", None),  # §4.3 Decision: None is as if nothing were returned
    ("binary_body", 200, b"\xff\x00\xfe", "application/octet-stream"),  # §4.3: not UTF-8
])
async def test_webhook_response_table(serve: Serve, app: Path, name: str, status: int, body: bytes, content_type: str | None) -> None:
    """contract §4.2, webhook rows: first match wins."""
    client = await serve(app, None, pool=False)
    resp = await client.post(url(name))
    assert resp.status == status
    assert await resp.read() == body
    assert resp.headers.get("Content-Type") == content_type


async def test_head_gets_no_body(serve: Serve, app: Path) -> None:
    """contract §4.2: HEAD responses carry no body."""
    client = await serve(app, None, pool=False)
    resp = await client.head(url("body_only"))
    assert resp.status == 200
    assert await resp.read() == b""


async def test_payload_shape_and_context_request(serve: Serve, app: Path) -> None:
    """contract §3.1 (query strings, first value, form merge; Go-canonical headers as lists;
    body as Binary) and §3.3 (every context.request field)."""
    client = await serve(app, None, pool=False)
    resp = await client.post(url("echo") + "?a=1&a=2&secret=s&x=%20y", data=b"a=form&f=2",
                             headers={"content-type": "application/x-www-form-urlencoded", "x-custom-thing": "v1",
                                      "Referer": "http://ref.example/", "User-Agent": "tester/1"})
    assert resp.status == 200
    got = json.loads(await resp.read())
    assert got["query"] == {"a": "1", "x": " y", "f": "2"}
    assert got["headers"]["X-Custom-Thing"] == ["v1"]
    assert got["headers"]["Content-Type"] == ["application/x-www-form-urlencoded"]
    assert got["body"] == "a=form&f=2"
    request = got["request"]
    assert request["httpMethod"] == "POST"
    assert request["rawQueryString"] == "a=1&a=2&x=%20y"
    assert request["remoteIPAddress"] == "127.0.0.1"
    assert request["webhookUrl"].startswith("http://127.0.0.1:") and request["webhookUrl"].endswith(url("echo"))
    assert request["httpReferrer"] == "http://ref.example/"
    assert request["httpUserAgent"] == "tester/1"
    assert request["requestHeaders"] == got["headers"]


async def test_no_body_is_none(serve: Serve, app: Path) -> None:
    """contract §3.1: body is undefined (None) without a body."""
    client = await serve(app, None, pool=False)
    got = json.loads(await (await client.get(url("echo"))).read())
    assert got["body"] is None and got["query"] == {}
    assert got["request"]["rawQueryString"] is None


@pytest.mark.parametrize(("name", "message"), [
    ("raises", "KeyError: 'missing'"),
    ("bad_status", "ValueError: response.setStatusCode: 1000 is not an HTTP status code; allowed: an integer from 100 to 599"),
    ("unserialisable", "TypeError: cannot serialise a value of type 'function' to EJSON at $.f"),
])
async def test_an_uncaught_error_is_400_function_execution_error(serve: Serve, app: Path, name: str, message: str) -> None:
    """contract §5: uncaught error → 400 FunctionExecutionError "<ErrorType>: <message>"."""
    client = await serve(app, None, pool=False)
    resp = await client.post(url(name))
    assert resp.status == 400
    assert resp.headers["Content-Type"] == "application/json"
    body = json.loads(await resp.read())
    assert (body["error_code"], body["error"]) == ("FunctionExecutionError", message)


async def test_the_request_log_has_one_line_then_console_lines(serve: Serve, app: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 2 §7: time, method, path, function, validation verdict, status, duration; console lines;
    issue 12 §6: then the failed call's traceback, with file and line."""
    caplog.set_level(logging.INFO, logger="atlas_fn.access")
    client = await serve(app, None, pool=False)
    await client.post(url("raises"))
    [record] = [r for r in caplog.records if r.name == "atlas_fn.access"]
    first, *rest = record.getMessage().split("\n")
    assert f" POST {url('raises')} fn=raises validation=NO_VALIDATION:ok (no validation) status=400 " in first
    assert first.endswith("error=\"KeyError: 'missing'\"")
    assert rest == ["  | about to fail", "  ! Traceback (most recent call last):",
                    '  !   File "app/services/t/incoming_webhooks/raises/source.py", line 3, in exports',
                    "  ! KeyError: 'missing'"]


async def test_a_failed_validation_logs_why_without_the_secret(serve: Serve, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 2 §7: a failed validation logs why, never the expected value."""
    caplog.set_level(logging.INFO, logger="atlas_fn.access")
    app = write_app(tmp_path / "app", {
        "services/s/config.json": {"name": "s", "type": "http"},
        "services/s/incoming_webhooks/h/config.json": webhook_config("h", "POST", "VERIFY_PAYLOAD", "topsecret"),
        "services/s/incoming_webhooks/h/source.py": "def exports(payload, response):\n    return 1\n",
    })
    client = await serve(app, None, pool=False)
    await client.post("/api/client/v2.0/app/local/service/s/incoming_webhook/h", data=b"x", headers={"X-Hook-Signature": "sha256=" + "0" * 64})
    await client.post("/api/client/v2.0/app/local/service/s/incoming_webhook/h", data=b"x")
    lines = [r.getMessage() for r in caplog.records if r.name == "atlas_fn.access"]
    assert "validation=VERIFY_PAYLOAD:failed (signature mismatch) status=401" in lines[0]
    assert "validation=VERIFY_PAYLOAD:failed (X-Hook-Signature header missing) status=401" in lines[1]
    assert not any("topsecret" in line for line in lines)


async def test_console_lines_cannot_forge_log_lines(serve: Serve, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """THREAT_MODEL.md, logs: a line break in console output is escaped, not written."""
    caplog.set_level(logging.INFO, logger="atlas_fn.access")
    functions = write_app(tmp_path / "f", {"forge.py": "def exports(payload, response):\n    console.log('a\\n2026-01-01T00:00:00Z GET /admin status=200')\n"})
    client = await serve(None, functions, pool=False)
    await client.get("/api/client/v2.0/app/local/service/http/incoming_webhook/forge")
    [record] = [r for r in caplog.records if r.name == "atlas_fn.access"]
    assert record.getMessage().split("\n")[1:] == ["  | a\\u000a2026-01-01T00:00:00Z GET /admin status=200"]


@pytest.mark.parametrize("headers", [(("X-A", "a\r\nSet-Cookie: x=1"),), (("Content-Length", "5"),), (("X A", "v"),)])
async def test_the_server_does_not_trust_a_worker_s_headers(aiohttp_client: Any, app: Path, headers: tuple[Any, ...]) -> None:
    """THREAT_MODEL.md, worker processes: a worker that escaped its sandbox may send anything;
    a reply header that breaks the setters' rules is a 400, never written to the wire (headers
    of the wrong shape or type break the protocol: tests/test_protocol.py)."""
    class LyingWorker:
        async def call(self, call: messages.Call) -> messages.Reply:
            return messages.Reply(call.call_id, 200, headers, body=b"x")

    client = await with_worker(aiohttp_client, app, LyingWorker)
    resp = await client.post(url("body_only"))
    assert resp.status == 400
    body = await resp.json()
    assert (body["error_code"], body["error"]) == ("FunctionExecutionError", "the function's worker returned a malformed header")


async def test_a_worker_may_not_answer_with_an_informational_status(aiohttp_client: Any, app: Path) -> None:
    """As setStatusCode: a final 1xx (a bare 101 above all) never reaches the wire."""

    class LyingWorker:
        async def call(self, call: messages.Call) -> messages.Reply:
            return messages.Reply(call.call_id, 101)

    client = await with_worker(aiohttp_client, app, LyingWorker)
    resp = await client.post(url("body_only"))
    assert (resp.status, (await resp.json())["error"]) == (400, "the function's worker returned a malformed reply")


async def test_a_worker_may_not_answer_with_more_headers_than_a_function_may_set(aiohttp_client: Any, app: Path) -> None:
    """THREAT_MODEL.md, red-team findings (header lines): an escaped worker is held to the guest's cap."""

    class LyingWorker:
        async def call(self, call: messages.Call) -> messages.Reply:
            return messages.Reply(call.call_id, 200, tuple((f"X-{i}", "v") for i in range(MAX_HEADERS + 2)))  # + Content-Type the rules add

    client = await with_worker(aiohttp_client, app, LyingWorker)
    resp = await client.post(url("body_only"))
    assert (resp.status, (await resp.json())["error"]) == (400, "the function's worker returned a malformed reply")


async def test_the_query_secret_never_reaches_the_worker(aiohttp_client: Any, tmp_path: Path) -> None:
    """contract §2.2: the secret is removed before the call leaves the server process."""
    seen: list[str] = []

    class RecordingWorker:
        async def call(self, call: messages.Call) -> messages.Reply:
            seen.append(call.raw_query)
            return messages.Reply(call.call_id, 200)

    app = write_app(tmp_path / "app", {
        "services/s/config.json": {"name": "s", "type": "http"},
        "services/s/incoming_webhooks/q/config.json": webhook_config("q", "GET", "SECRET_AS_QUERY_PARAM", "hunter2"),
        "services/s/incoming_webhooks/q/source.py": "def exports(payload, response):\n    return 1\n",
    })
    client = await with_worker(aiohttp_client, app, RecordingWorker)
    assert (await client.get("/api/client/v2.0/app/local/service/s/incoming_webhook/q?a=1&secret=hunter2&b=2")).status == 200
    assert seen == ["a=1&b=2"]


async def test_unicode_line_separators_in_console_lines_are_escaped(serve: Serve, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """THREAT_MODEL.md, logs: C1 controls and U+2028/U+2029 are escaped like C0 ones."""
    caplog.set_level(logging.INFO, logger="atlas_fn.access")
    functions = write_app(tmp_path / "f", {"sep.py": "def exports(payload, response):\n    console.log('a\\u2028b\\x85c')\n"})
    client = await serve(None, functions, pool=False)
    await client.get("/api/client/v2.0/app/local/service/http/incoming_webhook/sep")
    [record] = [r for r in caplog.records if r.name == "atlas_fn.access"]
    assert record.getMessage().split("\n")[1:] == ["  | a\\u2028b\\u0085c"]


def test_a_reply_header_pair_is_checked_until_it_passed_once() -> None:
    """THREAT_MODEL.md, worker processes: the server keeps the header pairs that passed its
    check (issue 8 bench) and checks every other pair, every time: a refused pair stays refused,
    a pair too long to keep is checked again, and repeated names stay in order."""
    from runtime.errors import FunctionError
    from runtime.http import server

    good = messages.Reply(1, 200, (("X-A", "1"), ("X-A", "2"), ("X-Long", "v" * 300)), body=b"x")
    for _ in range(3):
        response = server._to_response(good)
        assert response.headers.getall("X-A") == ["1", "2"] and response.headers["X-Long"] == "v" * 300
    assert ("X-A", "1") in server._CHECKED_HEADERS and ("X-Long", "v" * 300) not in server._CHECKED_HEADERS
    for bad in [("X-A", "1\r\nSet-Cookie: x=1"), ("Content-Length", "5"), ("X A", "1"), ("X-A", "\x7f")]:
        for _ in range(2):
            with pytest.raises(FunctionError, match="^the function's worker returned a malformed header$"):
                server._to_response(messages.Reply(1, 200, (("X-A", "1"), bad), body=b"x"))
        assert bad not in server._CHECKED_HEADERS
