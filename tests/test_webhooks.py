"""The legacy webhook contract through the real aiohttp app and the real worker pool.

contract §1 (URLs), §2 (validation), §3 (payload), §4 (response), §5 (errors); issue 2 §4.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import INSPECTOR_LINK, EXAMPLE_ID, Serve, webhook_url

DOCS_BODY = b'{"message":"MESSAGE"}'
DOCS_SIGNATURE = "sha256=828ee180512eaf8a6229eda7eea72323f68e9c0f0093b11a578b0544c5777862"  # contract §9 #1


def envelope_of(data: bytes) -> dict:
    return json.loads(data)


async def test_the_docs_signed_example_passes(serve: Serve) -> None:
    """contract §2.3, §9 #1: secret 12345, the docs' body and header."""
    client = await serve()
    resp = await client.post(webhook_url("signed"), data=DOCS_BODY,
                             headers={"X-Hook-Signature": DOCS_SIGNATURE, "Content-Type": "application/json"})
    assert resp.status == 201
    assert resp.headers["Content-Type"] == "application/json"
    assert await resp.read() == b'{"received":"MESSAGE","length":{"$numberInt":"21"}}'


async def test_the_same_json_with_one_extra_space_fails(serve: Serve) -> None:
    """contract §2.3: the raw bytes are hashed, never a re-serialisation."""
    client = await serve()
    resp = await client.post(webhook_url("signed"), data=b'{"message": "MESSAGE"}',
                             headers={"X-Hook-Signature": DOCS_SIGNATURE})
    assert resp.status == 401
    body = envelope_of(await resp.read())
    assert body["error_code"] == "IncomingWebhookAuthFailed"
    assert body["error"] == "request signature did not match"
    assert INSPECTOR_LINK.fullmatch(body["link"]), body  # the inspector's entry for this request (issue 12 §4)
    assert "828ee180" not in json.dumps(body) and "12345" not in json.dumps(body)
    assert resp.headers["Content-Type"] == "application/json"


async def test_a_missing_signature_header_fails(serve: Serve) -> None:
    """contract §2.3 Decision: a missing header fails."""
    client = await serve(pool=False)
    resp = await client.post(webhook_url("signed"), data=DOCS_BODY)
    assert resp.status == 401
    assert envelope_of(await resp.read())["error"] == "missing X-Hook-Signature header"


async def test_secret_as_query_param_passes_and_is_removed_everywhere(serve: Serve) -> None:
    """contract §2.2: ?secret= validates, and is removed from query and rawQueryString."""
    client = await serve(pool=False)
    resp = await client.get(webhook_url("secret_query") + "?page=2&secret=Super5ecr3tPa55w0rd&b=x&secret=other")
    assert resp.status == 200
    assert await resp.read() == b'{"query":{"page":"2","b":"x"},"rawQueryString":"page=2&b=x"}'


@pytest.mark.parametrize("query", ["", "?secret=wrong", "?Secret=Super5ecr3tPa55w0rd", "?secret="])
async def test_a_wrong_or_missing_query_secret_fails(serve: Serve, query: str) -> None:
    client = await serve(pool=False)
    resp = await client.get(webhook_url("secret_query") + query)
    assert resp.status == 401
    body = envelope_of(await resp.read())
    assert body["error_code"] == "IncomingWebhookAuthFailed"
    assert "Super5ecr3t" not in json.dumps(body)


async def test_no_validation_returns_the_value_as_canonical_ejson(serve: Serve) -> None:
    """contract §4.2 row "webhook, not touched, respond_result"; §4.3 canonical EJSON."""
    client = await serve(pool=False)
    resp = await client.get(webhook_url("hello") + "?name=Ada&name=Bob")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/json"
    assert await resp.read() == b'{"greeting":"Hello, Ada!","method":"GET","answer":{"$numberInt":"42"}}'


async def test_every_response_method_reaches_the_wire(serve: Serve) -> None:
    """contract §4.1: setStatusCode, setHeader, addHeader (two lines on the wire), setBody."""
    client = await serve(pool=False)
    resp = await client.post(webhook_url("respond"))
    assert resp.status == 202
    assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert resp.headers.getall("X-Digest") == ["SUXd6PRMaTXXgBGaGsIHzaDWgTSa6C3D44lRGrvRak0=", "second value"]  # §9 #7
    assert await resp.read() == b"accepted\n"


async def test_a_drop_in_file_is_served_without_config(serve: Serve) -> None:
    """Issue 2 §3: a function file no config names is webhook http/<name>, ANY, respond_result."""
    client = await serve(pool=False)
    for method in ("GET", "POST", "DELETE"):
        resp = await client.request(method, webhook_url("ping", service="http"))
        assert resp.status == 200
        assert (await resp.json())["pong"] is True


async def test_unknown_webhook_is_404_incoming_webhook_not_found(serve: Serve) -> None:
    """contract §1 routing failures, §5."""
    client = await serve(pool=False)
    for path in (webhook_url("nope"), webhook_url("hello", service="nosvc"), webhook_url("hello", app_id="other-app")):
        resp = await client.get(path)
        assert resp.status == 404, path
        body = envelope_of(await resp.read())
        assert body["error_code"] == "IncomingWebhookNotFound"
        assert set(body) == {"error", "error_code", "link"}
        assert INSPECTOR_LINK.fullmatch(body["link"]), body  # the inspector's entry (issue 9: never the caller's Host)


async def test_a_method_not_served_is_405_with_allow(serve: Serve) -> None:
    """contract §1 routing failures: 405 MethodNotAllowed with an Allow header."""
    client = await serve(pool=False)
    resp = await client.get(webhook_url("signed"))
    assert resp.status == 405
    assert resp.headers["Allow"] == "POST"
    assert envelope_of(await resp.read())["error_code"] == "MethodNotAllowed"


async def test_an_unknown_path_is_404(serve: Serve) -> None:
    client = await serve(pool=False)
    resp = await client.get("/")
    assert resp.status == 404
    assert envelope_of(await resp.read())["error_code"] == "EndpointNotFound"


async def test_the_envelope_link_never_comes_from_the_caller_s_host(serve: Serve) -> None:
    """Issue 9: the link was built from the Host header, so `Host: evil.example` got that host
    back. It is built from the server's own socket, and only when a log page is served."""
    from runtime.http.server import Front

    client = await serve(pool=False, inspector="off")  # no page is served: no link
    resp = await client.get(webhook_url("nope"), headers={"Host": "evil.example"})
    assert resp.status == 404 and envelope_of(await resp.read())["link"] == ""
    [front] = {route.handler.__self__ for route in client.app.router.routes()
               if isinstance(getattr(route.handler, "__self__", None), Front)}
    assert front.log_page is None
    client = await serve(pool=False)  # the inspector is served (loopback by default)
    resp = await client.get(webhook_url("nope"), headers={"Host": "evil.example"})
    link = envelope_of(await resp.read())["link"]
    assert link.startswith(f"http://127.0.0.1:{client.server.port}/_atlas-fn/?co_id=") and "evil" not in link
