"""The router never trusts a worker: requests checked field by field, operations and arguments
checked by runtime/contract/services.py with messages that name what is allowed, services
dispatched by the app's names, limits enforced; and redaction of credentials."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from runtime.contract import services as contract
from runtime.protocol.messages import ServiceRequest
from runtime.services.mongodb import MongoService
from runtime.services.redact import redact, uri_secrets
from runtime.services.router import AppServices, handle
from runtime.values import ejson
from tests.services.conftest import LoopThread


def run(loop_thread: LoopThread, app: AppServices, service: str, operation: str, args: Any,
        call_id: int = 7, request_id: int = 3) -> tuple[bool, Any, tuple[str, str]]:
    text = args if isinstance(args, str) else ejson.to_canonical(args)
    result = loop_thread.run(handle(ServiceRequest(call_id, request_id, service, operation, text), app))
    assert (result.call_id, result.request_id) == (call_id, request_id)
    return result.ok, (ejson.parse(result.value) if result.ok else None), result.error


W = {"database": "db", "collection": "c"}

REFUSALS = [
    ("find", {**W, "query": []}, "InvalidParameter", "find: 'query' must be an object (document), got array"),
    ("find", {**W, "limit": -1}, "InvalidParameter", "find: 'limit' must be a whole number ≥ 0, got number -1"),
    ("find", {**W, "sort": {"a": 2}}, "InvalidParameter", "find: 'sort' maps each field to 1 or -1; 'a' has 2"),
    ("find", {**W, "filter": {}}, "InvalidParameter",
     "find: unknown argument 'filter'; allowed: collection, database, limit, projection, query, skip, sort"),
    ("findOne", {"collection": "c"}, "InvalidParameter", "findOne: the database name must be a non-empty string, got null"),
    ("findOne", {**W, "database": "a.b"}, "InvalidParameter",
     "findOne: the database name 'a.b' contains '.'; names may not contain / \\ . space \" $ or NUL"),
    ("findOne", {**W, "collection": "system.users"}, "InvalidParameter",
     "findOne: the collection name 'system.users' is reserved: names starting with 'system.' are not allowed"),
    ("findOne", {**W, "collection": "a$b"}, "InvalidParameter",
     "findOne: the collection name 'a$b' contains '$' or NUL, which MongoDB does not allow"),
    ("findOne", {**W, "database": "local"}, "InvalidParameter",
     "findOne: the database 'local' is a system database, which functions cannot use"),
    ("insertOne", {**W}, "InvalidParameter", "insertOne: 'document' is required"),
    ("insertOne", {**W, "document": [1]}, "InvalidParameter", "insertOne: 'document' must be an object (document), got array"),
    ("insertMany", {**W, "documents": []}, "InvalidParameter", "insertMany: 'documents' must be a non-empty array of objects, got array"),
    ("insertMany", {**W, "documents": [{}, 3]}, "InvalidParameter", "insertMany: 'documents'[1] must be an object, got number"),
    ("updateOne", {**W, "query": {}, "update": {}}, "InvalidParameter", "updateOne: 'update' must not be empty"),
    ("updateOne", {**W, "query": {}, "update": {"$set": {}}, "upsert": "yes"}, "InvalidParameter",
     "updateOne: 'upsert' must be a boolean, got string"),
    ("findOneAndReplace", {**W, "query": {}, "replacement": {"$inc": {"a": 1}}}, "InvalidParameter",
     "findOneAndReplace: the replacement document must not contain update operators, found '$inc'"),
    ("findOneAndUpdate", {**W, "query": {}, "update": {"$set": {"a": 1}}, "returnNewDocument": 1}, "InvalidParameter",
     "findOneAndUpdate: 'returnNewDocument' must be a boolean, got number"),
    ("aggregate", {**W, "pipeline": [{"$match": {}, "$sort": {}}]}, "InvalidParameter",
     "aggregate: 'pipeline'[0] must be an object with exactly one stage name"),
    ("aggregate", {**W, "pipeline": [{"$indexStats": {}}]}, "InvalidParameter",
     "aggregate: the aggregation stage $indexStats is not allowed"),
    ("distinct", {**W}, "InvalidParameter", "distinct: 'field' is required"),
    ("bulkWrite", {**W, "operations": [{"drop": {}}]}, "InvalidParameter",
     "bulkWrite: operations[0]: unknown operation 'drop'; allowed: insertOne, updateOne, updateMany, replaceOne, deleteOne, deleteMany"),
    ("bulkWrite", {**W, "operations": [{"updateOne": {"filter": {}, "update": {"$set": {"a": 1}}, "multi": True}}]},
     "InvalidParameter", "bulkWrite: operations[0].updateOne: unknown field 'multi'; allowed: filter, update, upsert"),
    ("find", {**W, "session": {}}, "ServiceActionNotSupported",
     "find: atlas-fn does not support sessions or transactions (the 'session' option)"),
    ("drop", {**W}, "InvalidParameter",
     "unknown MongoDB operation 'drop'; allowed: " + ", ".join(contract.MONGODB_OPERATIONS)),
    ("find", [1], "InvalidParameter", "find: the arguments must be an object, got array"),
]


@pytest.mark.parametrize(("operation", "args", "name", "message"), REFUSALS, ids=[f"{r[0]}-{i}" for i, r in enumerate(REFUSALS)])
def test_arguments_are_checked_with_messages_that_say_what_is_allowed(
        loop_thread: LoopThread, embedded: AppServices, operation: str, args: Any, name: str, message: str) -> None:
    assert run(loop_thread, embedded, "mongodb-atlas", operation, args) == (False, None, (name, message))


def test_args_that_are_not_ejson_are_refused(loop_thread: LoopThread, embedded: AppServices) -> None:
    ok, _, (name, message) = run(loop_thread, embedded, "mongodb-atlas", "find", '{"query": {"$oid": 5}}')
    assert (ok, name) == (False, "InvalidParameter")
    assert message.startswith("find: the arguments are not valid EJSON: EJSON.parse: invalid $oid value")
    ok, _, (name, message) = run(loop_thread, embedded, "mongodb-atlas", "find", "{nope")
    assert (ok, name) == (False, "InvalidParameter") and "not valid EJSON" in message


def test_fields_of_the_wrong_type_are_refused_not_raised(loop_thread: LoopThread, embedded: AppServices) -> None:
    bad = ServiceRequest(1, 2, "mongodb-atlas", "find", {"query": {}})  # type: ignore[arg-type]
    result = loop_thread.run(handle(bad, embedded))
    assert (result.ok, result.error) == (False, ("InvalidParameter", "a service request has a field of the wrong type"))
    long_name = run(loop_thread, embedded, "x" * 201, "find", {})
    assert long_name[2] == ("InvalidParameter", "a service or operation name is longer than 200 characters")


def test_oversized_args_are_refused_before_parsing(loop_thread: LoopThread, embedded: AppServices) -> None:
    text = '{"x":"' + "a" * contract.MAX_ARGS_BYTES + '"}'
    assert run(loop_thread, embedded, "mongodb-atlas", "find", text)[2] == (
        "InvalidParameter", f"find: the arguments are larger than {contract.MAX_ARGS_BYTES} bytes")


def test_services_are_dispatched_by_the_app_s_names(loop_thread: LoopThread, embedded: AppServices) -> None:
    assert run(loop_thread, embedded, "nope", "find", {})[2] == (
        "ServiceNotFound", "service not found: 'nope'; this app has 'gh', 'lake', 'legacyHttp', 'mongodb-atlas'")
    assert run(loop_thread, embedded, "gh", "createIssue", {})[2] == (
        "ServiceActionNotSupported",
        "service 'gh' is a github service: atlas-fn does not run third-party service actions ('createIssue' was called)")
    assert run(loop_thread, embedded, "lake", "insertOne", {**W, "document": {}})[2] == (
        "MongoDBError", "insertOne: a Federated data source does not support writes")
    assert run(loop_thread, embedded, "lake", "count", {**W, "collection": "never-written"}) == (True, 0, ("", ""))
    # a legacy HTTP service reaches the same client as context.http (its address rules too)
    ok, _, (name, message) = run(loop_thread, embedded, "legacyHttp", "get", {"url": "http://10.1.2.3/"})
    assert (ok, name) == (False, "HTTPError") and "is a private address" in message


def test_more_than_1000_operations_in_flight_for_one_call(loop_thread: LoopThread, embedded: AppServices) -> None:
    embedded.pending[99] = contract.MAX_PENDING_PER_CALL  # 1000 in flight already
    try:
        ok, _, error = run(loop_thread, embedded, "mongodb-atlas", "count", {**W}, call_id=99)
        assert (ok, error) == (False, ("TooManyAsyncOperations", "exceeded max async work queue size of 1000"))
        assert run(loop_thread, embedded, "mongodb-atlas", "count", {**W}, call_id=100)[0] is True  # other calls go on
    finally:
        embedded.pending.pop(99)


def test_the_pending_count_goes_back_to_zero(loop_thread: LoopThread, embedded: AppServices) -> None:
    async def many() -> list[Any]:
        requests = [ServiceRequest(5, i, "mongodb-atlas", "count", ejson.to_canonical(W)) for i in range(50)]
        return await asyncio.gather(*(handle(r, embedded) for r in requests))

    results = loop_thread.run(many())
    assert all(r.ok for r in results) and 5 not in embedded.pending


def test_redact_removes_credentials_from_uris_and_text() -> None:
    uri = "mongodb+srv://alice:p%40ss-w0rd@cluster0.example.net/app?retryWrites=true&password=other-secret"
    secrets = uri_secrets(uri)
    assert "p%40ss-w0rd" in secrets and "p@ss-w0rd" in secrets and "alice:p%40ss-w0rd" in secrets
    text = f"failed to connect to {uri}: auth failed for alice:p%40ss-w0rd (p@ss-w0rd)"
    shown = redact(text, secrets)
    for secret in ("p%40ss-w0rd", "p@ss-w0rd", "other-secret", "alice:"):
        assert secret not in shown
    assert "mongodb+srv://***@" in shown or shown.count("***") >= 3
    assert redact("GET https://bob:hunter2@api.example.com/x?token=abc&ok=1") == \
        "GET https://***@api.example.com/x?token=***&ok=1"
    assert redact("nothing to hide") == "nothing to hide"


def test_the_mongodb_service_redacts_every_message() -> None:
    service = MongoService(uri="mongodb://root:Sup3rSecret@db.internal:27017/")
    assert service.message("connect mongodb://root:Sup3rSecret@db.internal:27017/ as root:Sup3rSecret") == \
        "connect *** as ***"
    assert "Sup3rSecret" not in service.message("bad password Sup3rSecret")
