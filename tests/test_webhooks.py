"""The legacy webhook contract through the real aiohttp app and the real worker pool.

contract §1 (URLs), §2 (validation), §3 (payload), §4 (response), §5 (errors); issue 2 §4.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import EXAMPLE_ID, Serve, webhook_url

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
    assert body["link"].startswith("http://127.0.0.1:")
    assert "828ee180" not in json.dumps(body) and "12345" not in json.dumps(body)
    assert resp.headers["Content-Type"] == "application/json"
