"""The inspector's JSON and its rules, through the aiohttp test client (issue 12 §4).

The page at ``/_atlas-fn/`` reads this JSON; ``tests/test_inspector_browser.py`` drives the page
itself in a real browser. Here: the ring (newest first, bounded by count and bytes), every part
of a request's decision trace, signature forensics that are never echoed to the caller,
masking, who may see it (loopback only by default, ``--inspector`` otherwise, the Host check),
and re-sending.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from runtime.app.snapshot import prepare
from runtime.errors import ConfigError
from runtime.http.events import RequestEvent
from runtime.http.inspector import INSPECTOR, KEPT_BODY_BYTES, PAGE_PATH, Inspector
from runtime.http.inspector_access import Access
from runtime.http.server import build_app
from runtime.settings import Settings, load
from tests.conftest import (EXAMPLE_APP, EXAMPLE_FUNCTIONS, INSPECTOR_LINK, AtlasTestServer, InProcessRunner, Serve,
                            webhook_url, write_app)

API = PAGE_PATH + "api/requests"
DOCS_BODY = b'{"message":"MESSAGE"}'
DOCS_SIGNATURE = "sha256=828ee180512eaf8a6229eda7eea72323f68e9c0f0093b11a578b0544c5777862"  # contract §9 #1
PAGE = {"X-Atlas-Fn-Inspector": "resend"}


async def rows(client: TestClient) -> list[dict[str, Any]]:
    resp = await client.get(API)
    assert resp.status == 200, await resp.text()
    return (await resp.json())["requests"]


async def trace(client: TestClient, co_id: str) -> dict[str, Any]:
    resp = await client.get(f"{API}/{co_id}")
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def newest(client: TestClient) -> dict[str, Any]:
    return await trace(client, (await rows(client))[0]["co_id"])


@pytest.fixture
def serve_from(aiohttp_client: Any) -> Any:
    """``serve(pool=False)`` whose every request comes from ``remote`` (the test client connects from
    127.0.0.1): a middleware applies aiohttp's own ``request.clone(remote=…)``, as a proxy's would."""
    async def make(remote: str, **settings: Any) -> TestClient:
        @web.middleware
        async def seen_from(request: web.Request, handler: Any) -> web.StreamResponse:
            return await handler(request.clone(remote=remote))

        chosen = Settings(workers=1, **settings)
        prepared = prepare(EXAMPLE_APP, EXAMPLE_FUNCTIONS, chosen, environ={})
        app = build_app(prepared, chosen, runner_factory=lambda: InProcessRunner(prepared.boot))
        app.middlewares.append(seen_from)
        return await aiohttp_client(AtlasTestServer(app, chosen))
    return make


async def test_requests_are_listed_newest_first_and_each_opens_its_trace(serve: Serve) -> None:
    client = await serve(pool=False)
    assert await rows(client) == []
    await client.get(webhook_url("hello") + "?name=Ada")
    await client.get(webhook_url("respond"))
    listed = await rows(client)
    assert [(r["method"], r["function"], r["status"]) for r in listed] == [("GET", "respond", 202), ("GET", "hello", 200)]
    assert listed[0]["seq"] > listed[1]["seq"]
    hello = await trace(client, listed[1]["co_id"])
    assert hello["route"]["kind"] == "webhook" and hello["route"]["name"] == "hello"
    assert hello["route"]["engine"] == "python" and hello["route"]["function_file"].endswith("functions/hello.py")
    assert hello["validation"] == {"method": "NO_VALIDATION", "ok": True, "detail": "no validation"}
    assert hello["console"] == ["hello from 127.0.0.1"]
    assert hello["response"]["status"] == 200
    assert hello["response"]["body"]["text"] == '{"greeting":"Hello, Ada!","method":"GET","answer":{"$numberInt":"42"}}'
    assert [step for step, _ in hello["timings"]] == ["routing, body and validation", "queue wait", "worker", "writing"]
    assert all(ms >= 0 for _, ms in hello["timings"])


async def test_every_response_call_is_listed_in_order_with_the_final_answer(serve: Serve) -> None:
    client = await serve()  # the real worker pool: the calls travel in the reply
    await client.get(webhook_url("respond"))
    got = await newest(client)
    assert got["calls"] == ["setStatusCode(202)", "setHeader('Content-Type', 'text/plain; charset=utf-8')",
                            f"addHeader('X-Digest', '{_digest()}')", "addHeader('X-Digest', 'second value')",
                            "setBody('accepted\\n')"]
    assert got["response"]["status"] == 202
    assert got["response"]["headers"] == [["Content-Type", "text/plain; charset=utf-8"], ["X-Digest", _digest()],
                                          ["X-Digest", "second value"]]
    assert got["response"]["body"] == {"size": 9, "shown": 9, "text": "accepted\n", "hex": None}


def _digest() -> str:
    from runtime.values import crypto
    return crypto.hmac("hello!", "super-secret", "sha256", "base64")


async def test_a_javascript_function_reports_its_response_calls_and_console_too(serve: Serve, tmp_path: Path) -> None:
    functions = write_app(tmp_path / "f", {"made.js": """
        exports = function(payload, response) {
          console.log("made it");
          response.setStatusCode(201);
          response.setHeader("X-Made", "yes");
          response.setBody(BSON.Binary.fromHex("000102ff"));
        };
    """})
    client = await serve(None, functions, workers=1)
    resp = await client.post("/api/client/v2.0/app/local/service/http/incoming_webhook/made")
    assert resp.status == 201, await resp.text()
    got = await newest(client)
    assert got["route"]["engine"] == "javascript"
    assert got["console"] == ["made it"]
    assert got["calls"][:2] == ["setStatusCode(201)", "setHeader('X-Made', 'yes')"]
    assert got["calls"][2].startswith("setBody(<4 bytes>")
    assert got["response"]["body"]["text"] is None  # not UTF-8: shown as hex
    assert got["response"]["body"]["hex"].startswith("00000000  00 01 02 ff")


async def test_a_failed_signature_shows_which_byte_forms_would_have_matched_but_the_caller_sees_none(serve: Serve) -> None:
    """contract §2.3: the raw bytes are signed. The docs' signature is of the compact JSON; a body
    with one extra space fails, and the inspector says the compact form would have matched."""
    client = await serve(pool=False)
    resp = await client.post(webhook_url("signed"), data=b'{"message": "MESSAGE"}',
                             headers={"X-Hook-Signature": DOCS_SIGNATURE})
    caller_saw = await resp.text()
    assert resp.status == 401 and "forms" not in caller_saw and "compact" not in caller_saw
    link = json.loads(caller_saw)["link"]
    assert INSPECTOR_LINK.fullmatch(link)
    co_id = link.rpartition("co_id=")[2]
    got = await trace(client, co_id)
    assert got["co_id"] == co_id and got["status"] == 401 and got["error"] == "request signature did not match"
    validation = got["validation"]
    assert (validation["method"], validation["ok"], validation["detail"]) == ("VERIFY_PAYLOAD", False, "signature mismatch")
    forensics = validation["forensics"]
    assert forensics["header"] == "X-Hook-Signature"
    assert forensics["held"] == "'sha256=' and 64 hex digits (masked)"
    matched = {form["form"]: form["matches"] for form in forensics["forms"]}
    assert matched["raw bytes, as sent"] is False
    assert matched["compact JSON (JSON.stringify)"] is True
    assert matched["Python json.dumps default (', ' and ': ', ASCII)"] is False  # the form that was sent
    assert matched["raw bytes without the final newline"] is None  # there is none
    text = json.dumps(got)
    assert "828ee180" not in text and "12345" not in text  # neither the signature nor the secret, anywhere
    assert got["timings"] == [["routing, body and validation", got["timings"][0][1]]]  # no call was made
    assert got["calls"] == [] and got["route"]["validation"] == "VERIFY_PAYLOAD"


async def test_a_missing_signature_header_is_said_so(serve: Serve) -> None:
    client = await serve(pool=False)
    await client.post(webhook_url("signed"), data=DOCS_BODY)
    forensics = (await newest(client))["validation"]["forensics"]
    assert forensics["held"] == "nothing: the header was not sent"
    assert not any(form["matches"] for form in forensics["forms"])


async def test_secrets_and_signatures_are_masked_everywhere(serve: Serve) -> None:
    client = await serve(pool=False)
    await client.get(webhook_url("secret_query") + "?secret=Super5ecr3tPa55w0rd&page=2&apiKey=K3yK3yK3y",
                     headers={"Authorization": "Bearer t0k3nt0k3n", "apiKey": "hdrk3yhdrk3y", "X-Password": "pw0rdpw0rd",
                              "Cookie": "session=c00kiec00kie", "X-Hook-Signature": "sha256=" + "ab" * 32})
    listed = await rows(client)
    got = await trace(client, listed[0]["co_id"])
    assert got["status"] == 200  # the secret was right: it was masked only where shown
    # what the function itself answered is shown as it answered: this one echoes its query (not the secret)
    assert "K3yK3yK3y" in got["response"]["body"]["text"] and "Super5ecr3t" not in got["response"]["body"]["text"]
    text = json.dumps(listed) + json.dumps({**got, "response": {**got["response"], "body": None}})
    for secret in ("Super5ecr3tPa55w0rd", "K3yK3yK3y", "t0k3nt0k3n", "hdrk3yhdrk3y", "pw0rdpw0rd", "c00kiec00kie", "abab"):
        assert secret not in text, secret
    assert got["target"].endswith("/secret_query?secret=•••&page=2&apiKey=•••")
    headers = dict(got["request"]["headers"])
    assert headers["Authorization"] == "Bearer ••• (masked, 17 characters)"
    assert headers["X-Hook-Signature"] == "'sha256=' and 64 hex digits (masked)"
    assert headers["apiKey"] == "••• (masked, 12 characters)" and headers["X-Password"] == "••• (masked, 10 characters)"
    assert headers["Cookie"] == "••• (masked, 20 characters)"


async def test_hostile_text_is_data_in_the_json(serve: Serve) -> None:
    """The page sets text, never markup (tests/test_inspector_browser.py shows it in a browser);
    the JSON carries a request's `<script>` as the characters sent."""
    client = await serve(pool=False)
    await client.get(webhook_url("hello<script>alert(1)</script>"))
    got = await newest(client)
    assert got["status"] == 404 and got["path"].endswith("/hello<script>alert(1)</script>")
    await client.post(webhook_url("hello"), data=b"<script>alert(2)</script>", headers={"X-Evil": "<img src=x onerror=alert(3)>"})
    got = await newest(client)
    assert got["request"]["body"]["text"] == "<script>alert(2)</script>"
    assert ["X-Evil", "<img src=x onerror=alert(3)>"] in got["request"]["headers"]
    page = await client.get(PAGE_PATH)
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'; script-src 'self';")
    script = await client.get(PAGE_PATH + "inspector.js")
    assert script.status == 200 and "innerHTML =" not in await script.text() and ".innerHTML" not in await script.text()


async def test_the_page_and_its_files_are_served(serve: Serve) -> None:
    client = await serve(pool=False)
    for path, kind in ((PAGE_PATH, "text/html"), (PAGE_PATH + "inspector.js", "text/javascript"),
                       (PAGE_PATH + "style.css", "text/css")):
        resp = await client.get(path)
        assert (resp.status, resp.content_type) == (200, kind), path
    resp = await client.get(PAGE_PATH.rstrip("/") + "?co_id=abc", allow_redirects=False)
    assert (resp.status, resp.headers["Location"]) == (302, PAGE_PATH + "?co_id=abc")
    resp = await client.get(PAGE_PATH + "nothing-here")
    assert resp.status == 404 and "it is at /_atlas-fn/" in (await resp.json())["error"]
    resp = await client.get(f"{API}/nope")
    assert resp.status == 404 and (await resp.json())["error"] == "no request 'nope' in the inspector: it keeps the last 200 requests"
    assert await rows(client) == []  # the inspector's own requests are not listed


@pytest.mark.parametrize("path", [PAGE_PATH, PAGE_PATH + "inspector.js", API, f"{API}/x", PAGE_PATH + "other"])
async def test_a_caller_that_is_not_on_loopback_is_refused(serve_from: Any, path: str) -> None:
    client = await serve_from("192.0.2.7", inspector="loopback")
    resp = await client.get(path)
    assert resp.status == 403
    body = await resp.json()
    assert body == {"error": "the inspector (/_atlas-fn/) is served to loopback callers only; this request came from "
                             "192.0.2.7; allowed: start atlas-fn serve with --inspector any, or with --inspector set to "
                             "a list of addresses that includes the caller", "error_code": "Forbidden", "link": ""}
    resp = await client.get(webhook_url("hello"))  # the functions still answer that caller
    assert resp.status == 200


async def test_a_refused_caller_cannot_re_send(serve_from: Any) -> None:
    client = await serve_from("192.0.2.7")
    await client.get(webhook_url("hello"))
    [kept] = client.app[INSPECTOR].ring
    assert (await client.post(f"{API}/{kept[0].event.co_id}/resend", headers=PAGE)).status == 403
    assert len(client.app[INSPECTOR].ring) == 1  # nothing was sent


async def test_any_and_an_address_list_open_it_to_those_callers(serve_from: Any) -> None:
    client = await serve_from("198.51.100.9", inspector="198.51.100.0/24, 2001:db8::1")
    assert (await client.get(API)).status == 200
    client = await serve_from("198.51.101.9", inspector="198.51.100.0/24, 2001:db8::1")
    assert (await client.get(API)).status == 403
    client = await serve_from("203.0.113.5", inspector="any")
    assert (await client.get(API)).status == 200


async def test_off_serves_no_page_and_no_link(serve: Serve) -> None:
    client = await serve(pool=False, inspector="off")
    resp = await client.get(PAGE_PATH)
    body = await resp.json()
    assert (resp.status, body["error_code"], body["link"]) == (404, "EndpointNotFound", "")  # the functions' own 404


async def test_a_page_addressed_by_another_name_is_refused_in_loopback_mode(serve: Serve) -> None:
    """DNS rebinding: a site whose name now resolves to 127.0.0.1 sends its own name as Host."""
    client = await serve(pool=False)
    resp = await client.get(API, headers={"Host": "evil.example:8080"})
    assert resp.status == 403 and "'evil.example:8080'" in (await resp.json())["error"]
    for host in ("localhost:8080", "127.0.0.1", "[::1]:9", "app.localhost"):
        assert (await client.get(API, headers={"Host": host})).status == 200, host


def test_the_access_rule_as_a_pure_decision() -> None:
    loopback = Access.from_setting("loopback")
    assert [loopback.allows(a) for a in ("127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1", "10.0.0.1", "", "x")] == [
        True, True, True, True, False, False, False]
    listed = Access.from_setting("10.0.0.0/8,fe80::1")
    assert [listed.allows(a) for a in ("10.2.3.4", "11.0.0.1", "fe80::1%eth0", "127.0.0.1")] == [True, False, True, True]
    assert not Access.from_setting("off").served and Access.from_setting("any").allows("203.0.113.1")
    assert listed.host_allowed("evil.example")  # a chosen list serves other names by choice
    assert not loopback.host_allowed("evil.example") and loopback.host_allowed("LOCALHOST")


def test_a_bad_inspector_setting_is_refused_at_start() -> None:
    with pytest.raises(ConfigError) as raised:
        load({"inspector": "loopback,10.0.0.0/33"})
    assert str(raised.value.problems[0]) == (
        "command line: --inspector: 'loopback' is not an address or network; allowed: loopback, off, any, or a "
        "comma-separated list of addresses and networks (10.0.0.5,192.168.1.0/24)")
    assert load({}, {"ATLAS_FN_INSPECTOR": "any"}).inspector == "any"


async def test_re_send_repeats_the_request_byte_for_byte(serve: Serve) -> None:
    client = await serve(pool=False)
    resp = await client.post(webhook_url("signed") + "?x=1", data=DOCS_BODY,
                             headers={"X-Hook-Signature": DOCS_SIGNATURE, "Content-Type": "application/json"})
    assert resp.status == 201
    [first] = await rows(client)
    resp = await client.post(f"{API}/{first['co_id']}/resend", headers=PAGE)
    assert resp.status == 200, await resp.text()
    sent = await resp.json()
    listed = await rows(client)
    assert sent == {"status": 201, "resent_from": first["co_id"], "co_id": listed[0]["co_id"]}
    again = await trace(client, sent["co_id"])
    original = await trace(client, first["co_id"])
    assert again["resent_from"] == first["co_id"] and again["target"] == original["target"]
    assert again["request"]["body"] == original["request"]["body"]
    assert again["validation"]["ok"] and again["response"]["body"] == original["response"]["body"]
    sent_headers = [h for h in original["request"]["headers"] if h[0] not in ("Content-Length",)]
    assert [h for h in again["request"]["headers"] if h[0] not in ("Content-Length",)] == sent_headers


async def test_re_send_needs_the_page_s_own_header_and_origin(serve: Serve) -> None:
    client = await serve(pool=False)
    await client.get(webhook_url("hello"))
    co_id = (await rows(client))[0]["co_id"]
    assert (await client.post(f"{API}/{co_id}/resend")).status == 403  # a plain form post from anywhere
    resp = await client.post(f"{API}/{co_id}/resend", headers={**PAGE, "Origin": "http://evil.example"})
    assert resp.status == 403
    assert len(await rows(client)) == 1  # nothing was sent
    resp = await client.post(f"{API}/{co_id}/resend", headers={**PAGE, "Origin": f"http://127.0.0.1:{client.port}"})
    assert resp.status == 200 and len(await rows(client)) == 2


async def test_a_large_body_is_shown_cut_and_cannot_be_re_sent(serve: Serve) -> None:
    client = await serve(pool=False)
    big = b"x" * (KEPT_BODY_BYTES + 1)
    await client.post(webhook_url("signed"), data=big, headers={"X-Hook-Signature": DOCS_SIGNATURE})
    got = await newest(client)
    assert got["request"]["body"]["size"] == len(big) and got["request"]["body"]["shown"] < len(big)
    assert not got["resendable"]
    assert got["validation"]["forensics_missing"] == f"the body of {len(big)} bytes was not kept (over {KEPT_BODY_BYTES} bytes)"
    resp = await client.post(f"{API}/{got['co_id']}/resend", headers=PAGE)
    assert resp.status == 409
    assert (await resp.json())["error"] == (f"the request body of {len(big)} bytes was not kept for re-sending (the "
                                            f"inspector keeps up to {KEPT_BODY_BYTES} bytes)")


def _event(co_id: str, body: bytes = b"") -> RequestEvent:
    return RequestEvent(co_id, "POST", "/p", "f", "-", 200, 1.0, "", (), False, "127.0.0.1", "", body=body, target="/p")


def test_the_ring_keeps_the_newest_entries_within_its_count_and_bytes() -> None:
    ring = Inspector(Access.from_setting("loopback"), {}, entries=3, max_bytes=12_000)
    for i in range(5):
        ring(_event(f"id{i}"))
    assert [kept.event.co_id for kept, _ in ring.ring] == ["id2", "id3", "id4"] and set(ring.by_id) == {"id2", "id3", "id4"}
    ring(_event("big", b"y" * 7000))  # over the byte cap with the others: the oldest go first
    assert [kept.event.co_id for kept, _ in ring.ring] == ["id4", "big"]
    assert ring.bytes == sum(cost for _, cost in ring.ring) <= 12_000
    ring(_event("huge", b"z" * 20_000))  # alone over the cap: kept alone, so the newest request is always there
    assert [kept.event.co_id for kept, _ in ring.ring] == ["huge"]


@pytest.mark.parametrize(("setting", "noted"), [("loopback", True), ("any", True), ("off", False)])
def test_workers_write_the_setter_calls_only_while_the_inspector_is_served(setting: str, noted: bool) -> None:
    """Only the inspector shows a call's setter calls: with ``--inspector off`` the boot tells the
    workers not to write them (about a twentieth of a Python call's cost in its worker)."""
    from multidict import CIMultiDict

    from runtime.contract.pipeline import IncomingRequest, prepare_call
    from runtime.protocol import messages
    from runtime.worker.invoke import Invoker

    snapshot = prepare(EXAMPLE_APP, EXAMPLE_FUNCTIONS, load({"inspector": setting}, environ={}))
    boot = messages.read_from_server(*_boot_frame(messages.write_boot(snapshot.boot)))
    assert boot.note_calls is noted
    spec = snapshot.routes.resolve("GET", webhook_url("respond"), webhook_url("respond"))
    incoming = IncomingRequest("GET", "http://localhost" + webhook_url("respond"), "", CIMultiDict(), (), "127.0.0.1", b"")
    call = prepare_call(spec, incoming).call

    class NoServices:
        def service(self, *args: Any) -> str:
            raise AssertionError("the respond function uses no service")

    reply = Invoker(boot).call(call, NoServices())
    assert reply.error is None and reply.status
    assert bool(reply.calls) is noted


def _boot_frame(frame: bytes) -> tuple[bytes, bytes]:
    meta_len = int.from_bytes(frame[:4], "big")
    return frame[8:8 + meta_len], frame[8 + meta_len:]


def test_response_calls_are_capped() -> None:
    from runtime.contract.response import MAX_CALLS, Response, noted_calls

    response = Response()
    for _ in range(MAX_CALLS + 50):
        response.setHeader("X-A", "1")
    calls = noted_calls(response)
    assert len(calls) == MAX_CALLS and calls[-1] == "... and 51 more calls"


def test_an_installed_copy_has_the_page() -> None:
    """pyproject's package-data globs take every file of the page (a wheel without them serves no page)."""
    import tomllib
    from fnmatch import fnmatch

    from tests.conftest import ROOT

    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["runtime.http"]
    folder = ROOT / "runtime/http/inspector_page"
    files = [path.relative_to(folder.parent).as_posix() for path in folder.iterdir()]
    assert sorted(files) == ["inspector_page/index.html", "inspector_page/inspector.js", "inspector_page/style.css"]
    assert all(any(fnmatch(name, glob) for glob in globs) for name in files), (files, globs)


async def test_a_body_the_server_did_not_read_is_not_re_sent_empty(serve: Serve) -> None:
    """A 404 is answered before the body is read: a re-send would send none, so it is refused."""
    client = await serve(pool=False)
    await client.post(webhook_url("nope"), data=b"0123456789")
    got = await newest(client)
    assert got["status"] == 404 and not got["resendable"]
    assert got["resend_refusal"] == ("the server answered before reading the request body (10 bytes declared), so "
                                     "there is none to re-send")
    assert (await client.post(f"{API}/{got['co_id']}/resend", headers=PAGE)).status == 409


def test_the_trace_shows_the_guest_traceback_when_the_event_has_one() -> None:
    """The traceback (file and line) comes with the event (RequestEvent.traceback); shown as it is."""
    from runtime.http.inspector_view import Kept, detail

    event = _event("id1")._replace(traceback='File "functions/boom.py", line 3, in exports\nZeroDivisionError: division by zero',
                                   error="ZeroDivisionError: division by zero", status=400)
    got = detail(Kept(1, 0.0, event, 0, 0), {}, KEPT_BODY_BYTES)
    assert got["traceback"].startswith('File "functions/boom.py", line 3') and got["error"].startswith("ZeroDivisionError")


async def test_a_notice_is_listed_above_the_requests(serve: Serve) -> None:
    """The seam for what the server wants the developer to see on the page (e.g. hot reload's
    "a broken edit keeps the last good version", issue 12 §1): text, newest first, capped."""
    client = await serve(pool=False)
    inspector = client.app[INSPECTOR]
    inspector.notice("functions/a.py: line 3: invalid syntax; serving the last good version")
    inspector.notice("<b>x</b>" + "y" * 10_000)
    notices = (await (await client.get(API)).json())["notices"]
    assert [n["text"][:8] for n in notices] == ["<b>x</b>", "function"] and len(notices[0]["text"]) == 4000


def test_response_calls_are_written_as_each_argument_shows() -> None:
    """noted_calls writes each setter call as ``name(arg, ...)`` with every argument as
    _show_argument shows it, the whole cut to MAX_CALL_CHARS (its loop takes the one-argument
    case first, issue 8 bench): the same text as the plain join, for each kind of argument."""
    from runtime.contract.response import MAX_CALL_CHARS, Response, _show_argument, noted_calls
    from runtime.values.bsontypes import Binary, ObjectId
    from runtime.values.shown import shorten

    response = Response()
    arguments = [(202,), (), ("X-A", "1"), ("s" * 80,), ("s" * 81,), ("é\n'\"",), (b"\x00bin" * 40,),
                 (Binary(b"abc"),), (10**40,), (1.5,), (True,), (None,), (ObjectId(bytes(range(12))),),
                 ({"a": 1},), ("X-" + "n" * 200, "v" * 200), ("w" * 80,) * 5, (["x"], 3)]
    for args in arguments:
        response._note("setBody" if len(args) < 2 else "setHeader", args)
    expected = tuple(shorten(f"{method}({', '.join(_show_argument(a) for a in args)})", MAX_CALL_CHARS)
                     for method, args in response._calls)
    assert noted_calls(response) == expected
    assert expected[:3] == ("setBody(202)", "setBody()", "setHeader('X-A', '1')")
    assert expected[3] == "setBody('" + "s" * 56 + "...)" and expected[4].startswith("setBody(<81 characters> ")
    assert expected[13] == "setBody(a value of type 'dict')" and len(expected[15]) == MAX_CALL_CHARS


def test_an_entry_counts_its_bodies_lines_calls_and_header_bytes() -> None:
    """What an entry counts against the ring's bytes: a fixed overhead, then the length of each
    body, traceback, target, console line, setter call and header name and value."""
    from runtime.http.inspector import ENTRY_OVERHEAD

    ring = Inspector(Access.from_setting("loopback"), {})
    event = _event("id1", b"body")._replace(logs=("é line", ""), calls=("setStatusCode(202)",), traceback="tb",
                                            headers=((b"Host", b"h"), (b"X-\xff", b"")), response_body=b"answer")
    ring(event)
    [(_, cost)] = ring.ring
    assert cost == ENTRY_OVERHEAD + 4 + 6 + 2 + len("/p") + len("é line") + len("setStatusCode(202)") + 4 + 1 + 3


@pytest.mark.parametrize("value", ["", "a", "é\n'\"\\", "\x00" * 80, "s" * 80, 0, -5, 202, 10**29, -(10**29) + 1, True, None, 1.5])
def test_a_short_string_or_a_number_argument_shows_as_show_value_writes_it(value: object) -> None:
    """The setter-call notes write a short string or a plain integer inline (issue 8 bench): the
    same text as show_value, cut at the same length (a string of 80 escaped characters is cut)."""
    from runtime.contract.response import _show_argument
    from runtime.values.shown import show_value

    assert _show_argument(value) == show_value(value)
