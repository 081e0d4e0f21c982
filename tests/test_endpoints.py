"""HTTPS endpoints and both URL styles at once, on a 20210101 export (issue 3 §1, §4).

contract §1 (routes, methods, HEAD, disabled), §2 (Endpoint-Signature, ?secret=), §4.2
(endpoint rows), §4.3 (JSON/EJSON, Accept, the JSON mapping of BSON types).
"""

from __future__ import annotations

import json
import logging

import pytest

from runtime.values.crypto import signature
from tests.conftest import ROOT, Serve

APP = ROOT / "tests/fixtures/apps/shop_20210101"
SECRETS = {"ATLAS_FN_SECRET_orders_secret": "Super5ecr3tPa55w0rd", "ATLAS_FN_SECRET_hello_secret": "hi"}
BASE = "/app/shop-qwert/endpoint"
WEBHOOK = "/api/client/v2.0/app/shop-qwert/service/orders/incoming_webhook"


@pytest.fixture
async def client(serve: Serve):  # type: ignore[no-untyped-def]
    return await serve(APP, None, pool=False, environ=SECRETS)


async def test_the_live_test_vector_passes_with_endpoint_signature(client) -> None:  # type: ignore[no-untyped-def]
    """contract §9 #2: the raw body with spaces, signed in Endpoint-Signature."""
    body = b'{ "sku": "Hello!" }'
    resp = await client.post(f"{BASE}/orders", data=body, headers={"Endpoint-Signature": signature("Super5ecr3tPa55w0rd", body)})
    assert (resp.status, await resp.read()) == (201, b'{"created":"Hello!"}')


@pytest.mark.parametrize("headers", [
    {"X-Hook-Signature": "sha256=d4f0537db4e230d7a6028a6f7c3bb1b57c9d16f39176d78697e559ac333e0b36"},  # the webhook header
    {"Endpoint-Signature": ":sha256=d4f0537db4e230d7a6028a6f7c3bb1b57c9d16f39176d78697e559ac333e0b36"},  # §10 typo
    {"Endpoint-Signature": "sha256=038c963c2a22696ea9e1ad98fb5aeaeb1f336c0aecf5afdec273d35cad00cf84"},  # §9 #3 compact body
])
async def test_endpoint_signatures_that_must_fail(client, headers: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    resp = await client.post(f"{BASE}/orders", data=b'{ "message": "Hello!" }', headers=headers)
    assert resp.status == 401
    assert (await resp.json())["error_code"] == "IncomingWebhookAuthFailed"


async def test_one_route_several_methods(client) -> None:  # type: ignore[no-untyped-def]
    """contract §1: one route, several endpoints with different methods; §4.3 JSON default."""
    resp = await client.get(f"{BASE}/orders")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/json"
    assert await resp.read() == b'[{"sku":"a-1","qty":2},{"sku":"b-7","qty":1}]'
    put = await client.put(f"{BASE}/orders")
    assert put.status == 405
    assert put.headers["Allow"] == "GET, HEAD, POST"


async def test_the_json_mapping_of_bson_types(client) -> None:  # type: ignore[no-untyped-def]
    """contract §4.3 type table, JSON column (Accept: application/json overrides EJSON)."""
    resp = await client.get(f"{BASE}/orders/latest", headers={"Accept": "application/json"})
    assert json.loads(await resp.read()) == {
        "date": "2023-05-05T01:02:03.456Z", "id": "5d505646cf6d4fe581014ab2", "price": "9823.1297",
        "count": 2147483648, "ratio": 10.5, "n": 42, "blob": {"Subtype": 0, "Data": "VGVzdA=="},
        "re": {"Pattern": "^H", "Options": "i"}, "ts": {"T": 1565545664, "I": 1}, "lo": {}, "hi": {},
    }


async def test_return_type_ejson_is_canonical(client) -> None:  # type: ignore[no-untyped-def]
    """contract §4.3: return_type EJSON; §9 #18 date."""
    got = json.loads(await (await client.get(f"{BASE}/orders/latest")).read())
    assert got["date"] == {"$date": {"$numberLong": "1683248523456"}}
    assert got["n"] == {"$numberInt": "42"}
    assert got["price"] == {"$numberDecimal": "9823.1297"}


async def test_accept_ejson_overrides_json(client) -> None:  # type: ignore[no-untyped-def]
    resp = await client.get(f"{BASE}/orders", headers={"Accept": "application/ejson"})
    assert json.loads(await resp.read())[0]["qty"] == {"$numberInt": "2"}


@pytest.mark.parametrize(("query", "status", "body"), [
    ("", 200, b'{"hello":"/hello","method":"GET"}'),  # not touched, respond_result
    ("&status=200", 200, b'{"hello":"/hello","method":"GET"}'),  # touched, no body, respond_result
    ("&status=418&body=teapot", 418, b"teapot"),  # touched, body set
])
async def test_endpoint_rows_with_respond_result(client, query: str, status: int, body: bytes) -> None:  # type: ignore[no-untyped-def]
    """contract §4.2 endpoint rows; §2.2 ?secret=; context.request.webhookUrl is the route."""
    resp = await client.get(f"{BASE}/hello?secret=hi{query}")
    assert (resp.status, await resp.read()) == (status, body)


async def test_not_touched_without_respond_result_is_204(client) -> None:  # type: ignore[no-untyped-def]
    resp = await client.post(f"{BASE}/quiet")
    assert (resp.status, await resp.read()) == (204, b"")
    assert "Content-Type" not in resp.headers


async def test_star_takes_every_method_including_head(client) -> None:  # type: ignore[no-untyped-def]
    """contract §1 Decision: HEAD reaches "*" endpoints and gets no body."""
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        resp = await client.request(method, f"{BASE}/hello?secret=hi")
        assert resp.status == 200, method
        assert (await resp.json())["method"] == method
    head = await client.head(f"{BASE}/hello?secret=hi")
    assert (head.status, await head.read()) == (200, b"")


async def test_a_disabled_endpoint_is_absent(client) -> None:  # type: ignore[no-untyped-def]
    resp = await client.get(f"{BASE}/retired")
    assert resp.status == 404
    assert (await resp.json())["error_code"] == "EndpointNotFound"


async def test_the_documented_respond_result_difference(client) -> None:  # type: ignore[no-untyped-def]
    """contract §4.2 [DOC convert]: setStatusCode(200); return "Hello world" — the webhook
    sends no body."""
    resp = await client.get(f"{WEBHOOK}/status")
    assert (resp.status, await resp.read()) == (200, b"")


async def test_both_url_styles_and_the_legacy_caller_log(client, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    """Issue 3 §4: one server serves both; hits on legacy webhook URLs name their caller."""
    caplog.set_level(logging.INFO, logger="atlas_fn.access")
    body = b'{"sku":"x"}'
    old = await client.post(f"{WEBHOOK}/create", data=body, headers={"X-Hook-Signature": signature("okemo", body), "User-Agent": "legacy-sender/2"})
    new = await client.post(f"{BASE}/orders", data=body, headers={"Endpoint-Signature": signature("Super5ecr3tPa55w0rd", body)})
    assert (old.status, new.status) == (201, 201)
    lines = [r.getMessage().split("\n")[0] for r in caplog.records if r.name == "atlas_fn.access"]
    assert lines[0].endswith("legacy-webhook caller=127.0.0.1 user-agent='legacy-sender/2'")
    assert "legacy-webhook" not in lines[1]
