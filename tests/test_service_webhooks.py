"""GitHub and Twilio service webhooks, and values with secrets, through the server.

contract §2.5 (GitHub signatures, Twilio without validation), §3.2 (parsed payloads),
§7.3 (values from secrets); issue 2 §3, §4.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Serve, write_app

GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_BODY = b"Hello, World!"


@pytest.fixture
def app(tmp_path: Path) -> Path:
    return write_app(tmp_path / "app", {
        "realm_config.json": {"app_id": "svc-app"},
        "services/gh/config.json": {"name": "gh", "type": "github"},
        "services/gh/incoming_webhooks/push/config.json": {"name": "push", "options": {"secret": GITHUB_SECRET}, "respond_result": True},
        "services/gh/incoming_webhooks/push/source.py":
            "def exports(payload, response):\n    return {'repo': payload.repository.name, 'sender': payload['sender']['login']}\n",
        "services/sms/config.json": {"name": "sms", "type": "twilio", "config": {"sid": "AC1"}},
        "services/sms/incoming_webhooks/inbound/config.json": {"name": "inbound", "respond_result": True},
        "services/sms/incoming_webhooks/inbound/source.py":
            "def exports(payload, response):\n    return {'from': payload.From, 'body': payload.Body.strip()}\n",
        "values/api_key.json": {"name": "api_key", "value": "api_key_secret", "from_secret": True},
        "functions/key.py": "def exports(payload, response):\n    return context.values.get('api_key')\n",
    })


def github_url(name: str = "push") -> str:
    return f"/api/client/v2.0/app/svc-app/service/gh/incoming_webhook/{name}"


async def test_github_gets_the_parsed_event_with_a_sha256_signature(serve: Serve, app: Path) -> None:
    client = await serve(app, None, pool=False, environ={"ATLAS_FN_SECRET_api_key_secret": "k"})
    event = json.dumps({"repository": {"name": "atlas-fn"}, "sender": {"login": "ada"}}).encode()
    from runtime.values.crypto import signature
    resp = await client.post(github_url(), data=event, headers={"X-Hub-Signature-256": signature(GITHUB_SECRET, event)})
    assert resp.status == 200
    assert await resp.json() == {"repo": "atlas-fn", "sender": "ada"}


@pytest.mark.parametrize(("headers", "status"), [
    ({"X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}, 400),  # §9 #12: valid, body not JSON
    ({"X-Hub-Signature": "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59"}, 400),  # §9 #13: valid sha1, body not JSON
    ({"X-Hub-Signature-256": "sha256=" + "0" * 64}, 401),
    ({}, 401),
])
async def test_github_signature_vectors(serve: Serve, app: Path, headers: dict[str, str], status: int) -> None:
    """A valid signature reaches the function (whose JSON parse of 'Hello, World!' fails: 400)."""
    client = await serve(app, None, pool=False, environ={"ATLAS_FN_SECRET_api_key_secret": "k"})
    resp = await client.post(github_url(), data=GITHUB_BODY, headers=headers)
    assert resp.status == status
    expected = "FunctionExecutionError" if status == 400 else "IncomingWebhookAuthFailed"
    assert (await resp.json())["error_code"] == expected


async def test_twilio_gets_the_parsed_form_without_validation(serve: Serve, app: Path) -> None:
    client = await serve(app, None, pool=False, environ={"ATLAS_FN_SECRET_api_key_secret": "k"})
    resp = await client.post("/api/client/v2.0/app/svc-app/service/sms/incoming_webhook/inbound",
                             data=b"From=%2B15551234&To=%2B15550000&Body=+hi+there+&From=ignored",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 200
    assert await resp.json() == {"from": "+15551234", "body": "hi there"}


async def test_a_value_from_a_secret_reaches_context_values(serve: Serve, app: Path) -> None:
    client = await serve(app, None, pool=False, environ={"ATLAS_FN_SECRET_api_key_secret": "s3cr3t"})
    resp = await client.get("/api/client/v2.0/app/svc-app/service/http/incoming_webhook/key")
    assert await resp.read() == b'"s3cr3t"'
