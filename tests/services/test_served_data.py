"""The MongoDB service from a served function (issue 11 §1): the worker asks, the server runs the
operation on the embedded store it started (a real SecantusDB process), BSON types survive."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Serve, write_app

HOOK = "/api/client/v2.0/app/local/service/http/incoming_webhook"

NOTES = '''
def exports(payload, response):
    notes = context.services.get("mongodb-atlas").db("app").collection("notes")
    if payload.query.get("text"):
        inserted = notes.insertOne({"text": payload.query["text"], "n": BSON.Long(7)})
        return {"insertedId": inserted.insertedId}
    return notes.find({}, {"_id": 0}).sort({"text": 1}).toArray()
'''

EXECUTE = '''
def exports(payload, response):
    return context.functions.execute("helpers/add", 2, BSON.Long(40))
'''
ADD = "def exports(a, b):\n    return a + b\n"


NOTES_JS = '''
exports = async function (payload, response) {
  const notes = context.services.get("mongodb-atlas").db("app").collection("notes");
  if (payload.query.text) {
    const inserted = await notes.insertOne({text: payload.query.text, n: BSON.Long.fromNumber(7), at: new Date(0)});
    return {insertedId: inserted.insertedId};
  }
  return notes.find({}, {_id: 0}).sort({text: 1});  // a returned cursor is its documents (contract §4.2)
};
'''


@pytest.mark.parametrize(("file", "source", "listing"), [
    ("notes.py", NOTES, '[{"text":"a","n":{"$numberLong":"7"}},{"text":"b","n":{"$numberLong":"7"}}]'),
    # issue 10 §2 / issue 11 §2: the original JS, Promises and all (a Long within 2^53 reads as a number)
    ("notes.js", NOTES_JS, '[{"text":"a","n":{"$numberInt":"7"},"at":{"$date":{"$numberLong":"0"}}},'
                           '{"text":"b","n":{"$numberInt":"7"},"at":{"$date":{"$numberLong":"0"}}}]'),
], ids=["python", "javascript"])
async def test_a_function_writes_and_reads_the_embedded_store(serve: Serve, tmp_path: Path, file: str, source: str,
                                                              listing: str) -> None:
    functions = write_app(tmp_path / "f", {file: source})
    client = await serve(None, functions, workers=1, data="memory")
    first = await client.get(f"{HOOK}/notes?text=b")
    assert first.status == 200 and "$oid" in (await first.json())["insertedId"]
    assert (await client.get(f"{HOOK}/notes?text=a")).status == 200
    listed = await client.get(f"{HOOK}/notes")
    assert await listed.text() == listing


async def test_an_unknown_service_is_none(serve: Serve, tmp_path: Path) -> None:
    functions = write_app(tmp_path / "f", {"none.py": "def exports(payload, response):\n"
                                                      "    return context.services.get('nope') is None\n"})
    client = await serve(None, functions, workers=1, data="memory")
    assert await (await client.get(f"{HOOK}/none")).json() is True


async def test_functions_execute_runs_the_callee_in_the_worker(serve: Serve, tmp_path: Path) -> None:
    """Spec §8.8: Python to Python, names with / map to folders, values cross as EJSON."""
    functions = write_app(tmp_path / "f", {"calc.py": EXECUTE, "helpers/add.py": ADD})
    app = write_app(tmp_path / "app", {"functions/calc.py": EXECUTE, "functions/helpers/add.py": ADD,
                                       "functions/config.json": [{"name": "calc"}, {"name": "helpers/add", "private": True}],
                                       "https_endpoints/config.json": [{"route": "/calc", "http_method": "GET",
                                                                        "function_name": "calc", "respond_result": True}]})
    client = await serve(app, None, workers=1, data="memory")
    resp = await client.get("/app/local/endpoint/calc")
    assert (resp.status, await resp.text()) == (200, "42")
    missing = write_app(tmp_path / "m", {"calc.py": "def exports(payload, response):\n"
                                                    "    return context.functions.execute('nope')\n"})
    client = await serve(None, missing, workers=1, data="memory")
    body = await (await client.get(f"{HOOK}/calc")).json()
    assert body["error"] == "ServiceFailed: FunctionNotFound: function not found: 'nope'"


async def test_the_example_apps_notes_function_stores_and_lists(serve: Serve) -> None:
    """The README's quick start: the example app's data-using drop-in (functions/notes.js)."""
    from tests.conftest import EXAMPLE_APP, EXAMPLE_FUNCTIONS, webhook_url

    client = await serve(EXAMPLE_APP, EXAMPLE_FUNCTIONS, workers=1, data="memory")
    url = webhook_url("notes", service="http")
    for text in ("first", "second"):
        stored = await client.post(url, data=f'{{"text":"{text}"}}')
        assert stored.status == 201 and set(json.loads(await stored.text())["insertedId"]) == {"$oid"}
    listed = await client.get(url)
    assert await listed.json() == [{"text": "second"}, {"text": "first"}]
