"""Users and rules under hot reload (issue 13 with issue 12): an edited rules.json or providers.json
is served from the next generation on, with the same user store."""

from __future__ import annotations

import json

from tests.auth.conftest import API_KEY, SECRETS, DataApi, endpoint
from tests.test_reload import Reloading, answer_becomes, reloading  # noqa: F401 - the fixture

KEY = {"apiKey": API_KEY}


async def test_an_edited_rule_and_a_disabled_provider_take_effect_on_reload(reloading: Reloading, data_api: DataApi) -> None:  # noqa: F811
    client, _ = await reloading(data_api.root, None, environ=SECRETS, data="memory")
    misc = endpoint("/items") + "?coll=misc"
    seeded = await client.post(endpoint("/seed"), data=json.dumps({"misc": [{"_id": "m1"}]}))
    assert seeded.status == 200
    status, body = await answer_becomes(client, misc, lambda s, b: s == 200, "a read under default_rule", KEY)
    assert json.loads(body) == {"docs": [{"_id": "m1"}]}
    rule = data_api.root / "data_sources" / "mongodb-atlas" / "default_rule.json"
    rule.write_text(json.dumps({"roles": [{"name": "none", "apply_when": {}, "read": False}]}))
    await answer_becomes(client, misc, lambda s, b: json.loads(b) == {"docs": []}, "the edited default rule", KEY)
    data_api.provider("api-key", disabled=True)
    await answer_becomes(client, misc, lambda s, b: s == 401, "the disabled api-key provider", KEY)
