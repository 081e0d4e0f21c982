"""No credential of a caller reaches the inspector (issue 13 §2, with the inspector of issue 12):
every request made with an API key, a password, a custom JWT or an access token, and every trace
the inspector keeps of them, is read back and searched for the credentials."""

from __future__ import annotations

import json
from typing import Any

from runtime.http.inspector import PAGE_PATH
from tests.auth.conftest import API_KEY, JWT_KEY, DataApi, custom_jwt, endpoint, login_url

API = PAGE_PATH + "api/requests"


async def test_the_inspector_shows_no_credential(client: Any, data_api: DataApi) -> None:
    jwt = custom_jwt(sub="inspected")
    tokens = await (await client.post(login_url("api-key"), json={"key": API_KEY})).json()
    calls = [{"apiKey": API_KEY}, {"email": "ada@example.com", "password": "correct horse"}, {"jwtTokenString": jwt},
             {"Authorization": f"Bearer {tokens['access_token']}"}, {"apiKey": "a-wrong-key-value"}]
    for headers in calls:
        await client.get(endpoint("/whoami/js"), headers=headers)
        await client.get(endpoint("/whoami/jwt"), headers=headers)
    listed = await (await client.get(API)).json()
    assert len(listed["requests"]) >= 2 * len(calls)
    seen = [json.dumps(listed)]
    for row in listed["requests"]:
        seen.append(json.dumps(await (await client.get(f"{API}/{row['co_id']}")).json()))
    text = "\n".join(seen)
    assert "whoami" in text and "headers {" in text  # the traces are there, the JS console line too
    for secret in (API_KEY, "correct horse", jwt, tokens["access_token"], tokens["refresh_token"], JWT_KEY,
                   "a-wrong-key-value"):
        assert secret not in text
