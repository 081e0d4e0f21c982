"""JavaScript's ``context.services`` and ``context.http`` (issue 10 §2, issue 11 §2–§3): original
App Services JS (Promises, as the JS API returned them) → the real engine and prelude
(js/services.js) → the bridge's ``service.*`` operations → a Host forwarding to the router →
the embedded store, and the same against a second wire-protocol server reached by URI.
The Python facade's tests (test_python_facade.py) are the twin: same operations, same answers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runtime.services.router import AppServices, open_services
from runtime.worker.engines.javascript.engine import JavaScriptError
from tests.javascript.harness import run
from tests.services.conftest import SERVICES, LoopThread, RouterHost


def run_js(source: str, host: Any, names: dict[str, str] = SERVICES) -> Any:
    ran = run(source, host=host, services=names)
    raw = ran.outcome.serialise("JSON")
    return None if raw is None else json.loads(raw)


CRUD = '''
exports = async function (payload, response) {
  const mongodb = context.services.get("mongodb-atlas");
  const coll = mongodb.db("jsfacade").collection("items");
  await coll.deleteMany({});
  const first = await coll.insertOne({name: "a", n: 1, when: new Date("2023-05-05T01:02:03.456Z"),
                                      big: BSON.Long.fromString("9007199254740993"), dec: BSON.Decimal128.fromString("1.10"),
                                      bin: BSON.Binary.fromText("hi")});
  const many = await coll.insertMany([{name: "b", n: 2}, {name: "c", n: 3}]);
  const found = await coll.findOne({name: "a"}, {_id: 0});
  const updated = await coll.updateOne({name: "b"}, {$inc: {n: 10}});
  const upserted = await coll.updateMany({name: "z"}, {$set: {n: 0}}, {upsert: true});
  const after = await coll.findOneAndUpdate({name: "c"}, {$set: {n: 30}}, {returnNewDocument: true, projection: {_id: 0, name: 1, n: 1}});
  const names = (await coll.find({n: {$gte: 1}}, {_id: 0, name: 1}).sort({n: -1}).skip(1).limit(2).toArray()).map(d => d.name);
  const agg = coll.aggregate([{$match: {n: {$exists: true}}}, {$group: {_id: null, total: {$sum: "$n"}}}]);
  const firstDoc = await agg.next();
  return {
    insertedIdIsOid: first.insertedId instanceof BSON.ObjectId,
    insertedIds: many.insertedIds.length,
    whenIsDate: found.when instanceof Date, when: found.when.toISOString(),
    bigIsLong: found.big instanceof BSON.Long, big: found.big.toString(),
    dec: found.dec.toString(), bin: found.bin.text(),
    updated, upsertedKeys: Object.keys(upserted).sort(), after, names,
    total: firstDoc.total, end: typeof (await agg.next()),
    count: await coll.count({}), distinct: (await coll.distinct("name")).sort(),
    deleted: await coll.deleteOne({name: "z"}),
    collections: await mongodb.db("jsfacade").getCollectionNames(),
    dbs: (await mongodb.admin().getDBNames()).includes("jsfacade"),
    unknown: typeof context.services.get("nope"),
  };
};
'''


def test_crud_from_javascript(loop_thread: LoopThread, app: AppServices) -> None:
    host = RouterHost(loop_thread, app)
    result = run_js(CRUD, host)
    assert result == {
        "insertedIdIsOid": True, "insertedIds": 2,
        "whenIsDate": True, "when": "2023-05-05T01:02:03.456Z",
        "bigIsLong": True, "big": "9007199254740993", "dec": "1.10", "bin": "hi",
        "updated": {"matchedCount": 1, "modifiedCount": 1},
        "upsertedKeys": ["matchedCount", "modifiedCount", "upsertedId"],
        "after": {"name": "c", "n": 30}, "names": ["b", "a"], "total": 43, "end": "undefined",
        "count": 4, "distinct": ["a", "b", "c", "z"], "deleted": {"deletedCount": 1},
        "collections": ["items"], "dbs": True, "unknown": "undefined",
    }
    assert [r.operation for r in host.requests][:3] == ["deleteMany", "insertOne", "insertMany"]


def test_a_returned_cursor_is_materialised_as_an_array(loop_thread: LoopThread, embedded: AppServices) -> None:
    """Contract §4.2: a returned cursor is its documents (those not yet read)."""
    host = RouterHost(loop_thread, embedded)
    result = run_js('''
      exports = async function () {
        const coll = context.services.get("mongodb-atlas").db("jsfacade").collection("returned");
        await coll.deleteMany({});
        await coll.insertMany([{_id: 1}, {_id: 2}, {_id: 3}]);
        const read = coll.find({}).sort({_id: 1});
        await read.next();
        return {whole: coll.find({}, {_id: 1}).sort({_id: -1}), rest: read};
      };''', host)
    assert result == {"whole": [{"_id": 3}, {"_id": 2}, {"_id": 1}], "rest": [{"_id": 2}, {"_id": 3}]}


def test_service_errors_reject_with_the_app_services_name_and_message(loop_thread: LoopThread, embedded: AppServices) -> None:
    """context-services.md decision 1: the error's name is the code, its message the server's text."""
    result = run_js('''
      exports = async function () {
        const coll = context.services.get("mongodb-atlas").db("jsfacade").collection("errors");
        await coll.deleteMany({});
        await coll.insertOne({_id: 1});
        const caught = [];
        for (const attempt of [() => coll.insertOne({_id: 1}), () => coll.find({$who: 1}).toArray(),
                               () => coll.findOneAndReplace({}, {$set: {a: 1}}), () => context.services.get("gh").createIssue("x"),
                               () => coll.insertOne({a: 1}, "not options")]) {
          try { await attempt(); caught.push("no error"); }
          catch (e) { caught.push([e.name, e.message.slice(0, 60), e instanceof Error]); }
        }
        for (const sync of [() => context.services.get("mongodb-atlas").db("local"), () => context.services.get(7),
                            () => coll.aggregate([]).limit(1)]) {
          try { sync(); caught.push("no error"); } catch (e) { caught.push([e.name, e.message.slice(0, 60)]); }
        }
        return caught;
      };''', RouterHost(loop_thread, embedded))
    assert result == [
        ["MongoDBError", "E11000 duplicate key error collection: jsfacade.errors index", True],
        ["MongoDBError", "unknown top level operator: $who. If you have a field name t", True],
        ["InvalidParameter", "findOneAndReplace: the replacement document must not contain", True],
        ["ServiceActionNotSupported", "service 'gh' is a github service: atlas-fn does not run thir", True],
        ["TypeError", "collection.insertOne: options must be an object, got 'str'", True],
        ["InvalidParameter", "db: the database 'local' is a system database, which functio"],
        ["TypeError", "context.services.get: the service name must be a string, got"],
        ["TypeError", "cursor.limit: an aggregate cursor has only next, toArray and"],
    ]


def test_an_uncaught_rejection_is_the_function_error(loop_thread: LoopThread, embedded: AppServices) -> None:
    with pytest.raises(JavaScriptError) as info:
        run('''exports = async function () {
                 const coll = context.services.get("mongodb-atlas").db("jsfacade").collection("uncaught");
                 await coll.deleteMany({});
                 await coll.insertOne({_id: 1});
                 await coll.insertOne({_id: 1});
               };''', host=RouterHost(loop_thread, embedded), services=SERVICES)
    assert info.value.text.startswith("MongoDBError: E11000 duplicate key error")


def test_cursor_rules_are_the_python_facades(loop_thread: LoopThread, embedded: AppServices) -> None:
    result = run_js('''
      exports = async function () {
        const coll = context.services.get("mongodb-atlas").db("jsfacade").collection("cursor");
        await coll.deleteMany({});
        await coll.insertMany([{_id: 0}, {_id: 1}, {_id: 2}]);
        const out = [];
        const cursor = coll.find({}).sort({_id: 1});
        out.push((await cursor.next())._id);
        try { cursor.sort({_id: -1}); } catch (e) { out.push(e.message); }
        out.push((await cursor.toArray()).map(d => d._id));
        out.push(typeof (await cursor.next()));
        return out;
      };''', RouterHost(loop_thread, embedded))
    assert result == [0, "cursor.sort: cannot be called after the cursor has returned documents", [1, 2], "undefined"]


def test_a_federated_source_refuses_writes(loop_thread: LoopThread, embedded: AppServices) -> None:
    result = run_js('''
      exports = async () => {
        try { await context.services.get("lake").db("jsfacade").collection("x").insertOne({a: 1}); }
        catch (e) { return e.name + ": " + e.message; }
      };''', RouterHost(loop_thread, embedded))
    assert result == "MongoDBError: insertOne: a Federated data source does not support writes"


def test_context_http_and_a_legacy_http_service_from_javascript(loop_thread: LoopThread, hello_port: int) -> None:
    port = hello_port
    services = loop_thread.run(open_services({"legacyHttp": "http"}, environ={"ATLAS_FN_HTTP_ALLOW": "127.0.0.1"}))
    try:
        result = run_js(f'''
          exports = async function () {{
            const answer = await context.http.get({{url: "http://127.0.0.1:{port}/hello", headers: {{"X-Name": ["Ada"]}}}});
            const legacy = await context.services.get("legacyHttp").get({{url: "http://127.0.0.1:{port}/hello"}});
            let refused, odd;
            try {{ await context.http.get({{url: "http://169.254.169.254/latest/meta-data/"}}); }} catch (e) {{ refused = e.name; }}
            try {{ await context.http.post("http://example.com/"); }} catch (e) {{ odd = e.name + ": " + e.message; }}
            return [answer.statusCode, answer.status, JSON.parse(answer.body.text()).hello, answer.body instanceof BSON.Binary,
                    EJSON.parse(legacy.body.text()).hello, refused, odd];
          }};''', RouterHost(loop_thread, services), names={"legacyHttp": "http"})
        assert result == [200, "200 OK", "Ada", True, "?", "HTTPError",
                          "TypeError: http.post: the request must be an object, got 'str'"]
    finally:
        loop_thread.run(services.close())
