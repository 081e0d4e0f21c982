"""Calls that need a user, over real HTTP (issue 13 §2; contract §2.7, §5): application
authentication with apiKey, email/password, jwtTokenString and Bearer callers, the refusals and
their envelopes, run_as_user_id and the script form, context.user per provider in both engines,
and credentials kept out of the function's view."""

from __future__ import annotations

import json
from typing import Any

from runtime.values import crypto
from tests.auth.conftest import API_KEY, APP_ID, DataApi, custom_jwt, endpoint, login_url

NO_METHOD = "no authentication methods were specified"


async def test_an_endpoint_without_run_as_refuses_a_caller_without_credentials(client: Any) -> None:
    response = await client.get(endpoint("/whoami"))
    assert response.status == 400
    body = await response.json()
    assert body["error_code"] == "InvalidParameter" and body["error"] == NO_METHOD


async def test_bad_credentials_are_401_invalid_session(client: Any) -> None:
    for headers in ({"apiKey": "wrong"}, {"email": "ada@example.com", "password": "wrong"},
                    {"jwtTokenString": custom_jwt(key="another key")}, {"Authorization": "Bearer not.a.token"},
                    {"jwtTokenString": custom_jwt(aud="someone-else")}):
        response = await client.get(endpoint("/whoami"), headers=headers)
        body = await response.json()
        assert (response.status, body["error_code"]) == (401, "InvalidSession"), headers
        assert "wrong" not in body["error"]


async def test_an_api_key_caller_is_the_user_and_the_key_reaches_no_function(client: Any, data_api: DataApi) -> None:
    response = await client.get(endpoint("/whoami"), headers={"apiKey": API_KEY, "X-Other": "kept"})
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["user"]["id"] == data_api.key_user["id"] and body["user"]["type"] == "server"
    assert body["user"]["identities"][0]["provider_type"] == "api-key"
    assert body["system"] is False
    assert "Apikey" not in body["headers"] and "Apikey" not in body["requestHeaders"] and "X-Other" in body["headers"]
    assert API_KEY not in json.dumps(body)


async def test_an_email_and_password_caller(client: Any, data_api: DataApi) -> None:
    response = await client.get(endpoint("/whoami"), headers={"email": "ada@example.com", "password": "correct horse"})
    body = await response.json()
    assert body["user"]["id"] == data_api.password_user["id"] and body["user"]["data"] == {"email": "ada@example.com"}
    assert not {"Email", "Password"} & set(body["headers"] + body["requestHeaders"])


async def test_a_custom_jwt_caller_is_created_only_where_create_user_on_auth(client: Any) -> None:
    token = custom_jwt()
    refused = await client.get(endpoint("/whoami"), headers={"jwtTokenString": token})
    assert refused.status == 401  # the user does not exist yet, and /whoami does not create users
    created = await client.get(endpoint("/whoami/jwt"), headers={"jwtTokenString": token})
    body = await created.json()
    assert body["user"]["data"] == {"name": "Ext User", "team": "blue"}  # metadata_fields
    assert body["user"]["identities"] == [{"id": "ext-user-1", "provider_type": "custom-token", "provider_id": "custom-token"}]
    again = await (await client.get(endpoint("/whoami"), headers={"jwtTokenString": token})).json()
    assert again["user"]["id"] == body["user"]["id"]
    assert "Jwttokenstring" not in body["headers"]


async def test_login_then_bearer_then_refresh(client: Any, data_api: DataApi) -> None:
    login = await client.post(login_url("local-userpass"), json={"username": "ada@example.com", "password": "correct horse"})
    assert login.status == 200
    tokens = await login.json()
    assert set(tokens) == {"access_token", "refresh_token", "user_id", "device_id"}
    assert tokens["user_id"] == data_api.password_user["id"]
    called = await client.get(endpoint("/whoami"), headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert (await called.json())["user"]["id"] == tokens["user_id"]
    refreshed = await client.post("/api/client/v2.0/auth/session", headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert refreshed.status == 201
    access = (await refreshed.json())["access_token"]
    assert (await (await client.get(endpoint("/whoami"), headers={"Authorization": f"Bearer {access}"})).json())["user"]["id"] == tokens["user_id"]
    # a refresh token is not an access token, nor the other way round
    wrong = await client.get(endpoint("/whoami"), headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert wrong.status == 401
    wrong = await client.post("/api/client/v2.0/auth/session", headers={"Authorization": f"Bearer {access}"})
    assert wrong.status == 401


async def test_login_with_each_provider_and_the_refusals(client: Any, data_api: DataApi) -> None:
    by_key = await (await client.post(login_url("api-key"), json={"key": API_KEY})).json()
    assert by_key["user_id"] == data_api.key_user["id"]
    by_jwt = await client.post(login_url("custom-token"), json={"token": custom_jwt(sub="ext-2")})
    assert by_jwt.status == 200  # a login creates the custom JWT user
    bad = await client.post(login_url("local-userpass"), json={"username": "ada@example.com", "password": "no"})
    assert (bad.status, (await bad.json())["error_code"]) == (401, "InvalidPassword")
    disabled = await client.post(login_url("anon-user"), json={})
    body = await disabled.json()
    assert (disabled.status, body["error_code"]) == (404, "AuthProviderNotFound") and "anon-user" in body["error"]
    missing = await client.post(login_url("api-key"), json={})
    assert (missing.status, (await missing.json())["error_code"]) == (400, "InvalidParameter")


async def test_an_expired_access_token_is_refused(client: Any, data_api: DataApi) -> None:
    from runtime.auth.users import Authenticator
    from runtime.app.model import Auth

    old = Authenticator(Auth(True), data_api.store, APP_ID, now=lambda: 1_000_000.0).access_token(data_api.key_user["id"])
    response = await client.get(endpoint("/whoami"), headers={"Authorization": f"Bearer {old}"})
    body = await response.json()
    assert (response.status, body["error_code"]) == (401, "InvalidSession") and "expired" in body["error"]


async def test_validation_and_authentication_must_both_pass(client: Any) -> None:
    body = b'{"a": 1}'
    signature = crypto.signature("endpoint-secret", body)
    unsigned = await client.post(endpoint("/whoami/signed"), data=body, headers={"apiKey": API_KEY})
    assert (await unsigned.json())["error_code"] == "IncomingWebhookAuthFailed"
    anonymous = await client.post(endpoint("/whoami/signed"), data=body, headers={"Endpoint-Signature": signature})
    assert (await anonymous.json())["error_code"] == "InvalidParameter"
    both = await client.post(endpoint("/whoami/signed"), data=body, headers={"Endpoint-Signature": signature, "apiKey": API_KEY})
    assert both.status == 200


async def test_run_as_system_needs_no_credentials(client: Any) -> None:
    body = await (await client.get(endpoint("/system"))).json()
    assert body["system"] is True and body["user"] == {"type": "system", "data": {}, "identities": []}


async def test_a_run_as_authed_user_webhook(client: Any, data_api: DataApi) -> None:
    url = f"/api/client/v2.0/app/{APP_ID}/service/hooks/incoming_webhook/authed"
    assert (await client.get(url)).status == 400
    body = await (await client.get(url, headers={"apiKey": API_KEY})).json()
    assert body["user"]["id"] == data_api.key_user["id"]


async def test_run_as_user_id_and_the_script_form(serve: Any, data_api: DataApi) -> None:
    from tests.auth.conftest import SECRETS

    data_api.run_as("endpoints/asUser", run_as_user_id=data_api.password_user["id"])
    client = await serve(data_api.root, None, environ=SECRETS, data="memory")
    body = await (await client.get(endpoint("/asUser"))).json()
    assert body["user"]["id"] == data_api.password_user["id"] and body["system"] is False
    chosen = await (await client.get(endpoint("/byScript"), params={"who": data_api.key_user["id"]})).json()
    assert chosen["user"]["id"] == data_api.key_user["id"]
    system = await (await client.get(endpoint("/byScript"), params={"who": "system"})).json()
    assert system["system"] is True
    nobody = await client.get(endpoint("/byScript"), params={"who": "5f0000000000000000000000"})
    assert (nobody.status, (await nobody.json())["error_code"]) == (401, "InvalidSession")


async def test_a_run_as_user_id_naming_no_user_is_refused(client: Any) -> None:
    response = await client.get(endpoint("/asUser"))
    assert (response.status, (await response.json())["error_code"]) == (401, "InvalidSession")


async def test_context_user_in_javascript(client: Any, data_api: DataApi) -> None:
    response = await client.get(endpoint("/whoami/js"), headers={"apiKey": API_KEY})
    body = await response.json()
    assert body["user"]["id"] == data_api.key_user["id"] and body["system"] is False
    assert "Apikey" not in body["headers"]


async def test_custom_user_data_where_fetch_custom_user_data(serve: Any, data_api: DataApi) -> None:
    from tests.auth.conftest import SECRETS

    (data_api.root / "auth" / "custom_user_data.json").write_text(json.dumps({
        "enabled": True, "mongo_service_name": "mongodb-atlas", "database_name": "shop", "collection_name": "profiles",
        "user_id_field": "user_id"}))
    config = data_api.root / "https_endpoints" / "config.json"
    endpoints = json.loads(config.read_text())
    for entry in endpoints:
        if entry["route"] in ("/whoami/js", "/whoami/jwt"):
            entry["fetch_custom_user_data"] = True
    config.write_text(json.dumps(endpoints))
    client = await serve(data_api.root, None, environ=SECRETS, data="memory")
    key_id = data_api.key_user["id"]
    profile = {"_id": {"$oid": "5f00000000000000000000aa"}, "user_id": key_id, "plan": "gold"}
    assert (await client.post(endpoint("/seed"), data=json.dumps({"profiles": [profile]}))).status == 200
    body = await (await client.get(endpoint("/whoami/js"), headers={"apiKey": API_KEY})).json()
    assert body["user"]["custom_data"] == {"_id": "5f00000000000000000000aa", "user_id": key_id, "plan": "gold"}
    python = await (await client.get(endpoint("/whoami/jwt"), headers={"apiKey": API_KEY})).json()
    assert python["user"]["custom_data"]["plan"] == "gold"
    plain = await (await client.get(endpoint("/whoami"), headers={"apiKey": API_KEY})).json()
    assert "custom_data" not in plain["user"]  # /whoami does not fetch it
    nobody = await (await client.get(endpoint("/whoami/js"), headers={"email": "ada@example.com", "password": "correct horse"})).json()
    assert nobody["user"]["custom_data"] == {}


async def test_a_disabled_provider_refuses_its_callers(serve: Any, data_api: DataApi) -> None:
    from tests.auth.conftest import SECRETS

    data_api.provider("api-key", disabled=True)
    client = await serve(data_api.root, None, environ=SECRETS, data="memory")
    response = await client.get(endpoint("/whoami"), headers={"apiKey": API_KEY})
    body = await response.json()
    assert (response.status, body["error_code"]) == (401, "InvalidSession") and "api-key provider is not enabled" in body["error"]
    login = await client.post(login_url("api-key"), json={"key": API_KEY})
    assert (login.status, (await login.json())["error_code"]) == (404, "AuthProviderNotFound")
    assert (await client.get(endpoint("/whoami"), headers={"email": "ada@example.com", "password": "correct horse"})).status == 200


async def test_an_enabled_anonymous_provider_logs_in_a_new_user_each_time(serve: Any, data_api: DataApi) -> None:
    from tests.auth.conftest import SECRETS

    data_api.provider("anon-user", disabled=False)
    client = await serve(data_api.root, None, environ=SECRETS, data="memory")
    first = await (await client.post(login_url("anon-user"), json={})).json()
    second = await (await client.post(login_url("anon-user"), json={})).json()
    assert first["user_id"] != second["user_id"]
    body = await (await client.get(endpoint("/whoami"), headers={"Authorization": f"Bearer {first['access_token']}"})).json()
    assert body["user"]["id"] == first["user_id"] and body["user"]["identities"][0]["provider_type"] == "anon-user"
