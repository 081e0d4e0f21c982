"""The Python guest's ``context.services`` and ``context.http`` end to end: sandboxed function code
(the real compiler, policy and guest API) → the facades of runtime/worker/engines/python/services.py
→ a Host that forwards each request to the router on the service loop (the lead's worker wiring
will carry the same requests over frames) → the embedded store or a local HTTP server."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from runtime.contract.response import Response
from runtime.contract.services import CONTEXT_HTTP
from runtime.services.router import AppServices, open_services
from runtime.worker.console import Console
from runtime.worker.engines.python import load_exports
from runtime.worker.engines.python.compiler import compile_function
from runtime.worker.engines.python.guest import AttrDict, Namespace
from runtime.worker.engines.python.services import build_services
from tests.services.conftest import SERVICES, LoopThread, RouterHost


def run_guest(source: str, host: Any, names: dict[str, str] = SERVICES) -> Any:
    services, http = build_services(host, names)
    context = Namespace("context", {"services": services, "http": http})
    code = compile_function(textwrap.dedent(source), "guest.py")
    exports, printer = load_exports(code, {"context": context}, Console())
    return exports(AttrDict(), Response())


def test_crud_through_the_facade(loop_thread: LoopThread, embedded: AppServices) -> None:
    host = RouterHost(loop_thread, embedded)
    result = run_guest('''
        def exports(payload, response):
            mongodb = context.services.get("mongodb-atlas")
            coll = mongodb.db("facade").collection("items")
            coll.deleteMany({})
            first = coll.insertOne({"name": "a", "n": 1, "when": EJSON.parse('{"$date": "2023-05-05T01:02:03.456Z"}')})
            many = coll.insertMany([{"name": "b", "n": 2}, {"name": "c", "n": 3}])
            found = coll.findOne({"name": "a"}, {"_id": 0})
            updated = coll.updateOne({"name": "b"}, {"$inc": {"n": 10}})
            upserted = coll.updateMany({"name": "z"}, {"$set": {"n": 0}}, {"upsert": True})
            after = coll.findOneAndUpdate({"name": "c"}, {"$set": {"n": 30}}, {"returnNewDocument": True, "projection": {"_id": 0}})
            cursor = coll.find({"n": {"$gte": 1}}, {"_id": 0, "name": 1}).sort({"n": -1}).skip(1).limit(2)
            names = [d.name for d in cursor.toArray()]
            agg = coll.aggregate([{"$group": {"_id": None, "total": {"$sum": "$n"}}}])
            first_doc = agg.next()
            return {
                "insertedId_is_oid": isinstance(first.insertedId, BSON.ObjectId),
                "insertedIds": len(many.insertedIds),
                "found": found,
                "updated": updated,
                "upserted_keys": sorted(upserted.keys()),
                "after": after,
                "names": names,
                "total": first_doc.total,
                "end": agg.next(),
                "count": coll.count({}),
                "distinct": sorted(coll.distinct("name")),
                "deleted": coll.deleteOne({"name": "z"}),
                "collections": mongodb.db("facade").getCollectionNames(),
                "dbs": "facade" in mongodb.admin().getDBNames(),
                "unknown": context.services.get("nope"),
            }
    ''', host)
    assert result["insertedId_is_oid"] is True and result["insertedIds"] == 2
    assert result["found"] == {"name": "a", "n": 1, "when": result["found"]["when"]}
    assert result["found"]["when"].isoformat() == "2023-05-05T01:02:03.456000+00:00"
    assert type(result["found"]) is AttrDict
    assert result["updated"] == {"matchedCount": 1, "modifiedCount": 1}
    assert result["upserted_keys"] == ["matchedCount", "modifiedCount", "upsertedId"]
    assert result["after"] == {"name": "c", "n": 30}
    assert result["names"] == ["b", "a"]  # n: 30, 12, 1 → skip 1 → c skipped, limit 2
    assert result["total"] == 43 and result["end"] is None
    assert result["count"] == 4 and result["distinct"] == ["a", "b", "c", "z"]
    assert result["deleted"] == {"deletedCount": 1}
    assert result["collections"] == ["items"] and result["dbs"] is True and result["unknown"] is None
    assert [r.operation for r in host.requests][:3] == ["deleteMany", "insertOne", "insertMany"]


def test_a_service_error_is_catchable_with_the_app_services_message(loop_thread: LoopThread, embedded: AppServices) -> None:
    result = run_guest('''
        def exports(payload, response):
            coll = context.services.get("mongodb-atlas").db("facade").collection("errors")
            coll.deleteMany({})
            coll.insertOne({"_id": 1})
            caught = []
            for attempt in [lambda: coll.insertOne({"_id": 1}), lambda: coll.find({"$who": 1}).toArray(),
                            lambda: coll.findOneAndReplace({}, {"$set": {"a": 1}}),
                            lambda: context.services.get("gh").createIssue("x")]:
                try:
                    attempt()
                except Exception as error:  # the sandbox lets guest code read args (and str) of an exception
                    name, message = error.args[0].split(": ", 1)
                    caught.append([name, message[:40], str(error) == error.args[0]])
            return caught
    ''', RouterHost(loop_thread, embedded))
    assert result == [
        ["MongoDBError", "E11000 duplicate key error collection: f", True],
        ["MongoDBError", "unknown top level operator: $who. If you", True],
        ["InvalidParameter", "findOneAndReplace: the replacement docum", True],
        ["ServiceActionNotSupported", "service 'gh' is a github service: atlas-", True],
    ]


def test_an_uncaught_service_error_names_itself(loop_thread: LoopThread, embedded: AppServices) -> None:
    from runtime.worker.engines.base import ServiceFailed
    with pytest.raises(ServiceFailed, match=r"^MongoDBError: E11000 duplicate key"):
        run_guest('''
            def exports(payload, response):
                coll = context.services.get("mongodb-atlas").db("facade").collection("uncaught")
                coll.deleteMany({})
                coll.insertOne({"_id": 1})
                coll.insertOne({"_id": 1})
        ''', RouterHost(loop_thread, embedded))


def test_cursor_rules(loop_thread: LoopThread, embedded: AppServices) -> None:
    result = run_guest('''
        def exports(payload, response):
            coll = context.services.get("mongodb-atlas").db("facade").collection("cursor")
            coll.deleteMany({})
            coll.insertMany([{"_id": i} for i in range(3)])
            out = []
            cursor = coll.find({}).sort({"_id": 1})
            out.append(cursor.next()["_id"])
            try:
                cursor.sort({"_id": -1})
            except TypeError as error:
                out.append(str(error))
            out.append([d["_id"] for d in cursor.toArray()])
            out.append(cursor.next())
            try:
                coll.aggregate([]).limit(1)
            except TypeError as error:
                out.append(str(error))
            return out
    ''', RouterHost(loop_thread, embedded))
    assert result == [0, "cursor.sort: cannot be called after the cursor has returned documents", [1, 2], None,
                      "cursor.limit: an aggregate cursor has only next, toArray and skip; add a $limit stage to the pipeline"]


def test_context_http_from_guest_code(loop_thread: LoopThread, hello_port: int) -> None:
    port = hello_port
    services = loop_thread.run(open_services({}, environ={"ATLAS_FN_HTTP_ALLOW": "127.0.0.1"}))
    try:
        result = run_guest(f'''
            def exports(payload, response):
                answer = context.http.get({{"url": "http://127.0.0.1:{port}/hello", "headers": {{"X-Name": ["Ada"]}}}})
                body = EJSON.parse(answer.body.text())
                refused = None
                try:
                    context.http.get(url="http://169.254.169.254/latest/meta-data/")
                except Exception as error:
                    refused = str(error).split(":")[0]
                return [answer.statusCode, answer.status, body.hello, refused]
        ''', RouterHost(loop_thread, services), names={})
        assert result == [200, "200 OK", "Ada", "HTTPError"]
    finally:
        loop_thread.run(services.close())


def test_build_services_hands_out_the_right_facades() -> None:
    class NoHost:
        def service(self, service: str, operation: str, args: str) -> str:
            raise AssertionError("no request is sent to build facades")

    services, http = build_services(NoHost(), {"mongodb-atlas": "mongodb-atlas", "web": "http", "gh": "github"})
    assert repr(services.get("mongodb-atlas")) == "[object MongoDBService mongodb-atlas]"
    assert repr(services.get("web")) == "[object HTTP]" and repr(http) == "[object HTTP]"
    assert repr(services.get("gh")) == "[object Service gh]" and services.get("missing") is None
    assert http._service == CONTEXT_HTTP and services.get("web")._service == "web"
    with pytest.raises(TypeError, match="context.services.get: the service name must be a string"):
        services.get(1)
