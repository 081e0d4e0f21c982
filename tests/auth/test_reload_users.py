"""Users and rules under hot reload (issue 13 with issue 12): an edited rules.json or providers.json
is served from the next generation on, with the same user store."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tests.auth.conftest import API_KEY, SECRETS, DataApi, endpoint
from tests.test_reload import Reloading, reloading  # noqa: F401 - the fixture
from tests.waiting import DEADLINE


async def _until(client: Any, url: str, headers: dict[str, str], wanted: Any, what: str) -> Any:
    deadline = asyncio.get_running_loop().time() + DEADLINE
    while True:
        response = await client.get(url, headers=headers)
        got = (response.status, await response.json())
        if wanted(*got):
            return got
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {DEADLINE} s: {what}; last answer {got}")
        await asyncio.sleep(0.02)


async def test_an_edited_rule_and_a_disabled_provider_take_effect_on_reload(reloading: Reloading, data_api: DataApi) -> None:  # noqa: F811
    client, _ = await reloading(data_api.root, None, environ=SECRETS, data="memory")
    misc = endpoint("/items") + "?coll=misc"
    seeded = await client.post(endpoint("/seed"), data=json.dumps({"misc": [{"_id": "m1"}]}))
    assert seeded.status == 200
    status, body = await _until(client, misc, {"apiKey": API_KEY}, lambda s, b: s == 200, "a read under default_rule")
    assert body == {"docs": [{"_id": "m1"}]}
    rule = data_api.root / "data_sources" / "mongodb-atlas" / "default_rule.json"
    rule.write_text(json.dumps({"roles": [{"name": "none", "apply_when": {}, "read": False}]}))
    await _until(client, misc, {"apiKey": API_KEY}, lambda s, b: b == {"docs": []}, "the edited default rule")
    providers = data_api.root / "auth" / "providers.json"
    config = json.loads(providers.read_text())
    config["api-key"]["disabled"] = True
    providers.write_text(json.dumps(config))
    await _until(client, misc, {"apiKey": API_KEY}, lambda s, b: s == 401, "the disabled api-key provider")
