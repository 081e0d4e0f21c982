"""Collection rules for calls that run as a user, over real HTTP against the embedded store (issue 13
§3): rules that allow, filter documents, hide fields and deny, in both config layouts; a rule the
evaluator cannot handle is a start-up problem naming its file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runtime.app.snapshot import prepare
from runtime.auth.store import UserStore
from runtime.errors import ConfigError
from runtime.settings import Settings
from tests.auth.conftest import API_KEY, SECRETS, DataApi, custom_jwt, endpoint
from tests.conftest import write_app

ADA = {"email": "ada@example.com", "password": "correct horse"}


async def _seed(client: Any, data_api: DataApi) -> None:
    key_id, ada_id = data_api.key_user["id"], data_api.password_user["id"]
    items = [{"_id": "k1", "owner_id": key_id, "public": False, "secret": "k-secret"},
             {"_id": "k2", "owner_id": key_id, "public": True, "secret": "k-secret-2", "title": "open"},
             {"_id": "a1", "owner_id": ada_id, "public": False, "secret": "a-secret"}]
    response = await client.post(endpoint("/seed"), data=json.dumps({"items": items, "notes": [{"_id": 1}],
                                                                      "misc": [{"_id": "m1"}]}))
    assert response.status == 200, await response.text()


async def _items(client: Any, headers: dict[str, str], **query: str) -> Any:
    response = await client.get(endpoint("/items"), params=query, headers=headers)
    return response.status, await response.json()


async def test_a_read_keeps_only_the_documents_a_role_may_see(client: Any, data_api: DataApi) -> None:
    await _seed(client, data_api)
    status, body = await _items(client, {"apiKey": API_KEY})
    assert status == 200 and [d["_id"] for d in body["docs"]] == ["k1", "k2"]  # its own, with every field
    assert body["docs"][0]["secret"] == "k-secret"
    _, body = await _items(client, ADA)
    assert [d["_id"] for d in body["docs"]] == ["a1"]
    assert (await _items(client, ADA, op="count"))[1] == {"count": 1}
    assert (await _items(client, ADA, op="findOne", id="k1"))[1] == {"doc": None}


async def test_a_role_hides_fields(client: Any, data_api: DataApi) -> None:
    await _seed(client, data_api)
    await client.get(endpoint("/whoami/jwt"), headers={"jwtTokenString": custom_jwt()})  # the partner exists now
    _, body = await _items(client, {"jwtTokenString": custom_jwt()})
    assert body["docs"] == [{"_id": "k2", "owner_id": data_api.key_user["id"], "public": True, "title": "open"}]


async def test_writes_are_allowed_for_the_owner_and_denied_otherwise(client: Any, data_api: DataApi) -> None:
    await _seed(client, data_api)
    assert (await _items(client, {"apiKey": API_KEY}, op="insert", id="k3"))[1] == {"inserted": "k3"}
    status, body = await _items(client, {"apiKey": API_KEY}, op="insert", id="x", owner=data_api.password_user["id"])
    assert (status, body["error_code"]) == (400, "FunctionExecutionError") and body["error"].endswith("MongoDBError: insert not permitted")
    assert (await _items(client, {"apiKey": API_KEY}, op="update", id="k1"))[1] == {"matched": 1}
    status, body = await _items(client, {"apiKey": API_KEY}, op="update", id="a1")
    assert body["error"].endswith("MongoDBError: update not permitted")
    status, body = await _items(client, {"apiKey": API_KEY}, op="delete", id="a1")
    assert body["error"].endswith("MongoDBError: delete not permitted")
    assert (await _items(client, ADA))[1]["docs"] == [{"_id": "a1", "owner_id": data_api.password_user["id"],
                                                       "public": False, "secret": "a-secret"}]  # untouched
    assert (await _items(client, ADA, op="delete", id="a1"))[1] == {"deleted": 1}


async def test_a_collection_whose_roles_grant_nothing_reads_empty_and_the_default_rule_applies(client: Any, data_api: DataApi) -> None:
    await _seed(client, data_api)
    assert (await _items(client, {"apiKey": API_KEY}, coll="notes"))[1] == {"docs": []}
    assert (await _items(client, {"apiKey": API_KEY}, coll="misc"))[1] == {"docs": [{"_id": "m1"}]}  # default_rule: readAll
    status, body = await _items(client, {"apiKey": API_KEY}, coll="misc", op="insert", id="m2")
    assert body["error"].endswith("MongoDBError: insert not permitted")


async def test_a_system_function_is_not_bound_by_rules(client: Any, data_api: DataApi) -> None:
    await _seed(client, data_api)  # /seed runs as system and writes notes, which no role may touch
    response = await client.post(endpoint("/seed"), data=json.dumps({"notes": [{"_id": 2}]}))
    assert response.status == 200


async def test_aggregate_as_a_user_on_rules_that_decide_per_document_is_refused(client: Any, data_api: DataApi) -> None:
    await _seed(client, data_api)
    status, body = await _items(client, {"apiKey": API_KEY}, op="aggregate")
    assert "ServiceActionNotSupported: aggregate as an application user needs" in body["error"]  #  as an application user needs")
    _, body = await _items(client, {"apiKey": API_KEY}, op="aggregate", coll="misc")
    assert body == {"docs": [{"_id": "m1"}]}


async def test_rules_in_the_older_layout(serve: Any, tmp_path: Path) -> None:
    source = ("def exports(payload, response):\n"
              "    c = context.services.get('mongodb-atlas').db('shop').collection('items')\n"
              "    if payload['query'].get('op') == 'insert':\n"
              "        c.insertOne({'_id': payload['query']['id'], 'owner_id': payload['query']['owner']})\n"
              "    return c.find({}).sort({'_id': 1}).toArray()\n")
    hook = {"name": "items", "run_as_authed_user": True, "options": {"httpMethod": "GET", "validationMethod": "NO_VALIDATION"},
            "respond_result": True}
    root = write_app(tmp_path / "old", {
        "config.json": {"app_id": "old-abcde", "config_version": 20200603, "name": "old"},
        "auth_providers/api-key.json": {"name": "api-key", "type": "api-key", "disabled": False},
        "services/mongodb-atlas/config.json": {"name": "mongodb-atlas", "type": "mongodb-atlas", "config": {}},
        "services/mongodb-atlas/rules/shop.items.json": {"database": "shop", "collection": "items", "roles": [
            {"name": "owner", "apply_when": {"owner_id": "%%user.id"}, "read": True, "write": True, "insert": True}]},
        "services/svc/config.json": {"name": "svc", "type": "http", "config": {}},
        "services/svc/incoming_webhooks/items/config.json": hook,
        "services/svc/incoming_webhooks/items/source.py": source,
    })
    user, key = UserStore(root).create_api_key_user("old", "old-key")
    client = await serve(root, None, data="memory")
    url = "/api/client/v2.0/app/old-abcde/service/svc/incoming_webhook/items"
    assert (await client.get(url)).status == 400
    mine = await client.get(url, params={"op": "insert", "id": "1", "owner": user["id"]}, headers={"apiKey": key})
    assert (await mine.json()) == [{"_id": "1", "owner_id": user["id"]}]
    other = await client.get(url, params={"op": "insert", "id": "2", "owner": "someone"}, headers={"apiKey": key})
    assert (await other.json())["error"].endswith("MongoDBError: insert not permitted")


def test_a_rule_the_evaluator_cannot_handle_is_a_start_up_problem_naming_its_file(data_api: DataApi) -> None:
    rules = data_api.root / "data_sources" / "mongodb-atlas" / "shop" / "notes" / "rules.json"
    rules.write_text(json.dumps({"roles": [{"name": "r", "apply_when": {"%%values.admins": {"$in": ["x"]}},
                                            "read": {"age": {"$gt": 3}}, "document_filters": {"read": {"%function": 1}}}]}))
    with pytest.raises(ConfigError) as caught:
        prepare(data_api.root, None, Settings(), environ=SECRETS)
    text = caught.value.message
    shown = "app/data_sources/mongodb-atlas/shop/notes/rules.json"
    assert f'{shown}: $.roles[0].apply_when["%%values.admins"]: the expansion "%%values.admins" is not supported' in text
    assert f'{shown}: $.roles[0].read.age: the operator object ("$gt") is not supported' in text
    assert f'{shown}: $.roles[0].document_filters.read["%function"]: the expression operator "%function" is not supported' in text


async def test_a_javascript_function_running_as_a_user_is_bound_by_the_same_rules(client: Any, data_api: DataApi) -> None:
    await _seed(client, data_api)
    response = await client.get(endpoint("/items/js"), params={"op": "insert", "id": "j1", "owner": "someone-else"},
                                headers=ADA)
    body = await response.json()
    assert response.status == 200, body
    assert body["refused"] == "MongoDBError: insert not permitted"
    assert [d["_id"] for d in body["docs"]] == ["a1"]
    mine = await (await client.get(endpoint("/items/js"), params={"op": "insert", "id": "j2",
                                                                   "owner": data_api.password_user["id"]}, headers=ADA)).json()
    assert mine["refused"] is None and [d["_id"] for d in mine["docs"]] == ["a1", "j2"]
