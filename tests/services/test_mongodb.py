"""The MongoDB service through the router (context-services §8.6), against the embedded store and
against a second wire-protocol server reached by URI: every operation's result shape, the BSON
types surviving the round trip, and the errors in App Services' form."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from bson import Decimal128, Int64, ObjectId

from runtime.contract import services as contract
from runtime.protocol.messages import ServiceRequest
from runtime.services.router import AppServices, handle
from runtime.values import ejson
from bson.binary import Binary  # host-side values: the router speaks pymongo's types
from runtime.worker.engines.base import ServiceFailed
from runtime.values.pymongo_types import to_pymongo
from tests.services.conftest import LoopThread
from tests.services.conftest import call as call_guest


def call(*args: Any, **kwargs: Any) -> Any:
    """What the guest would get, as the host-side types these tests compare with."""
    return to_pymongo(call_guest(*args, **kwargs))

UTC = datetime.timezone.utc
TYPED = {
    "_id": ObjectId("5f1f7d5e9b1e8a3b4c5d6e7f"), "int": 7, "long": Int64(5), "big": Int64(2**40), "double": 1.5,
    "date": datetime.datetime(2023, 5, 5, 1, 2, 3, 456000, tzinfo=UTC), "decimal": Decimal128("1.10"),
    "binary": Binary(b"\x00\x01raw", 0), "uuid": Binary(bytes(range(16)), 4), "text": "héllo", "none": None,
    "nested": {"list": [1, "two", {"three": 3.0}]}, "bool": True,
}


def test_bson_types_round_trip_exactly(loop_thread: LoopThread, app: AppServices, where: dict) -> None:
    assert call(loop_thread, app, "insertOne", {**where, "document": TYPED}) == {"insertedId": TYPED["_id"]}
    found = call(loop_thread, app, "findOne", {**where, "query": {"_id": TYPED["_id"]}})
    assert found == TYPED
    assert {k: type(v) for k, v in found.items()} == {k: type(v) for k, v in TYPED.items()}
    # canonical EJSON text, as the worker receives it
    text = ejson.to_canonical(found)
    assert '"long":{"$numberLong":"5"}' in text and '"int":{"$numberInt":"7"}' in text
    assert '"date":{"$date":{"$numberLong":"1683248523456"}}' in text  # §9 #18
    assert '"decimal":{"$numberDecimal":"1.10"}' in text and '"subType":"04"' in text


def test_insert_shapes_and_generated_ids(loop_thread: LoopThread, app: AppServices, where: dict) -> None:
    one = call(loop_thread, app, "insertOne", {**where, "document": {"a": 1}})
    assert list(one) == ["insertedId"] and type(one["insertedId"]) is ObjectId
    assert call(loop_thread, app, "insertOne", {**where, "document": {"_id": 42}}) == {"insertedId": 42}
    many = call(loop_thread, app, "insertMany", {**where, "documents": [{"_id": "x"}, {"a": 2}, {"_id": Int64(9)}]})
    assert list(many) == ["insertedIds"] and many["insertedIds"][0] == "x"
    assert type(many["insertedIds"][1]) is ObjectId and many["insertedIds"][2] == 9
    assert type(many["insertedIds"][2]) is Int64
    assert call(loop_thread, app, "count", {**where}) == 5


def seed(loop_thread: LoopThread, app: AppServices, where: dict, n: int = 5) -> None:
    docs = [{"_id": i, "n": i, "group": "even" if i % 2 == 0 else "odd", "tags": ["t", f"t{i % 3}"]} for i in range(n)]
    call(loop_thread, app, "insertMany", {**where, "documents": docs})


def test_find_with_projection_sort_limit_skip(loop_thread: LoopThread, app: AppServices, where: dict) -> None:
    seed(loop_thread, app, where)
    found = call(loop_thread, app, "find", {**where, "query": {"n": {"$gte": 1}}, "projection": {"n": 1, "_id": 0},
                                            "sort": {"n": -1}, "limit": 2, "skip": 1})
    assert found == [{"n": 3}, {"n": 2}]
    assert call(loop_thread, app, "find", {**where, "query": {"n": 99}}) == []
    assert len(call(loop_thread, app, "find", {**where})) == 5


def test_find_one_returns_null_when_nothing_matches(loop_thread: LoopThread, app: AppServices, where: dict) -> None:
    seed(loop_thread, app, where)
    assert call(loop_thread, app, "findOne", {**where, "query": {"n": 99}}) is None
    assert call(loop_thread, app, "findOne", {**where, "query": {}, "sort": {"n": -1}, "projection": {"n": 1}}) == {"_id": 4, "n": 4}


def test_update_shapes(loop_thread: LoopThread, app: AppServices, where: dict) -> None:
    seed(loop_thread, app, where)
    assert call(loop_thread, app, "updateOne", {**where, "query": {"n": 1}, "update": {"$set": {"x": 1}}}) == \
        {"matchedCount": 1, "modifiedCount": 1}
    assert call(loop_thread, app, "updateMany", {**where, "query": {"group": "even"}, "update": {"$inc": {"n": 10}}}) == \
        {"matchedCount": 3, "modifiedCount": 3}
    upsert = call(loop_thread, app, "updateOne", {**where, "query": {"_id": "new"}, "update": {"$set": {"n": 0}},
                                                  "upsert": True})
    assert upsert == {"matchedCount": 0, "modifiedCount": 0, "upsertedId": "new"}
    assert call(loop_thread, app, "replaceOne", {**where, "query": {"_id": 1}, "replacement": {"only": True}}) == \
        {"matchedCount": 1, "modifiedCount": 1}
    assert call(loop_thread, app, "findOne", {**where, "query": {"_id": 1}}) == {"_id": 1, "only": True}
    unchanged = call(loop_thread, app, "updateOne", {**where, "query": {"_id": 1}, "update": {"$set": {"only": True}}})
    assert unchanged == {"matchedCount": 1, "modifiedCount": 0}


def test_delete_shapes(loop_thread: LoopThread, app: AppServices, where: dict) -> None:
    seed(loop_thread, app, where)
    assert call(loop_thread, app, "deleteOne", {**where, "query": {"group": "odd"}}) == {"deletedCount": 1}
    assert call(loop_thread, app, "deleteMany", {**where, "query": {"group": "even"}}) == {"deletedCount": 3}
    assert call(loop_thread, app, "deleteMany", {**where, "query": {}}) == {"deletedCount": 1}


def test_find_one_and_modify(loop_thread: LoopThread, app: AppServices, where: dict) -> None:
    seed(loop_thread, app, where)
    before = call(loop_thread, app, "findOneAndUpdate", {**where, "query": {"group": "odd"}, "update": {"$inc": {"n": 100}},
                                                         "sort": {"n": -1}, "projection": {"n": 1, "_id": 0}})
    assert before == {"n": 3}
    after = call(loop_thread, app, "findOneAndUpdate", {**where, "query": {"_id": 3}, "update": {"$inc": {"n": 1}},
                                                        "returnNewDocument": True})
    assert after["n"] == 104
    assert call(loop_thread, app, "findOneAndUpdate", {**where, "query": {"_id": "none"}, "update": {"$set": {"a": 1}}}) is None
    upserted = call(loop_thread, app, "findOneAndUpdate", {**where, "query": {"_id": "up"}, "update": {"$set": {"a": 1}},
                                                           "upsert": True, "returnNewDocument": True})
    assert upserted == {"_id": "up", "a": 1}
    replaced = call(loop_thread, app, "findOneAndReplace", {**where, "query": {"_id": 0}, "replacement": {"r": 1},
                                                            "returnNewDocument": True})
    assert replaced == {"_id": 0, "r": 1}
    deleted = call(loop_thread, app, "findOneAndDelete", {**where, "query": {"_id": 0}})
    assert deleted == {"_id": 0, "r": 1}
    assert call(loop_thread, app, "findOneAndDelete", {**where, "query": {"_id": 0}}) is None


def test_aggregate_count_distinct(loop_thread: LoopThread, app: AppServices, where: dict) -> None:
    seed(loop_thread, app, where)
    grouped = call(loop_thread, app, "aggregate", {**where, "pipeline": [
        {"$group": {"_id": "$group", "total": {"$sum": "$n"}}}, {"$sort": {"_id": 1}}]})
    assert grouped == [{"_id": "even", "total": 6}, {"_id": "odd", "total": 4}]
    skipped = call(loop_thread, app, "aggregate", {**where, "pipeline": [{"$sort": {"n": 1}}], "skip": 3})
    assert [d["n"] for d in skipped] == [3, 4]
    assert call(loop_thread, app, "count", {**where, "query": {"group": "even"}}) == 3
    assert call(loop_thread, app, "count", {**where, "limit": 2}) == 2
    assert call(loop_thread, app, "countDocuments", {**where, "skip": 1}) == 4
    assert sorted(call(loop_thread, app, "distinct", {**where, "field": "group"})) == ["even", "odd"]
    assert call(loop_thread, app, "distinct", {**where, "field": "n", "query": {"group": "odd"}}) == [1, 3]


def test_bulk_write_both_forms_and_null_result(loop_thread: LoopThread, app: AppServices, where: dict) -> None:
    result = call(loop_thread, app, "bulkWrite", {**where, "operations": [
        {"insertOne": {"document": {"_id": 1}}}, {"insertOne": {"_id": 2, "v": 1}},
        {"updateOne": {"filter": {"_id": 1}, "update": {"$set": {"v": 2}}}},
        {"replaceOne": {"filter": {"_id": 3}, "replacement": {"v": 3}, "upsert": True}},
        {"deleteOne": {"filter": {"_id": 2}}}, {"updateMany": {"filter": {}, "update": {"$set": {"w": 1}}}}]})
    assert result is None
    assert call(loop_thread, app, "find", {**where, "sort": {"_id": 1}}) == [{"_id": 1, "v": 2, "w": 1}, {"_id": 3, "v": 3, "w": 1}]


def test_names(loop_thread: LoopThread, app: AppServices, where: dict) -> None:
    call(loop_thread, app, "insertOne", {**where, "document": {}})
    assert where["database"] in call(loop_thread, app, "getDBNames", {})
    assert not {"admin", "local", "config"} & set(call(loop_thread, app, "getDBNames", {}))
    assert where["collection"] in call(loop_thread, app, "getCollectionNames", {"database": where["database"]})


def failure(loop_thread: LoopThread, app: AppServices, operation: str, args: dict, service: str = "mongodb-atlas") -> tuple[str, str]:
    with pytest.raises(ServiceFailed) as failed:
        call(loop_thread, app, operation, args, service)
    return failed.value.name, failed.value.message


def test_server_errors_in_app_services_form(loop_thread: LoopThread, app: AppServices, where: dict) -> None:
    call(loop_thread, app, "insertOne", {**where, "document": {"_id": 1}})
    name, message = failure(loop_thread, app, "insertOne", {**where, "document": {"_id": 1}})
    assert name == "MongoDBError" and message.startswith("E11000 duplicate key error collection: test.")
    assert "full error" not in message
    name, message = failure(loop_thread, app, "insertMany", {**where, "documents": [{"_id": 2}, {"_id": 1}]})
    assert name == "MongoDBError" and "duplicate key" in message
    name, message = failure(loop_thread, app, "find", {**where, "query": {"$who": 1}})
    assert (name, message.split(".")[0]) == ("MongoDBError", "unknown top level operator: $who")
    name, message = failure(loop_thread, app, "findOneAndUpdate", {**where, "query": {}, "update": {"$who": {"a": 1}}})
    assert name == "MongoDBError" and "Unknown modifier: $who" in message
    name, message = failure(loop_thread, app, "aggregate", {**where, "pipeline": [{"$who": 1}]})
    assert name == "MongoDBError" and "pipeline stage" in message


def test_a_document_over_16_mb_is_refused(loop_thread: LoopThread, app: AppServices, where: dict) -> None:
    big = {"blob": Binary(b"x" * (16 * 1024 * 1024 + 1))}
    request = ServiceRequest(1, 1, "mongodb-atlas", "insertOne", ejson.to_canonical({**where, "document": big}))
    result = loop_thread.run(handle(request, app))
    # the args text of a 16 MB document is over the frame's cap already: refused before parsing
    assert result.ok is False and result.error[0] == "InvalidParameter"
    assert f"larger than {contract.MAX_ARGS_BYTES} bytes" in result.error[1]
    mongodb = app.mongodb
    assert mongodb is not None
    with pytest.raises(contract.ServiceFailed) as failed:
        loop_thread.run(mongodb.run("insertOne", {**where, "document": big}))
    # the server's own words, as App Services passes them on
    assert failed.value.name == "MongoDBError"
    assert failed.value.message.startswith("object to insert too large. size in bytes: 16777")


def test_more_than_50000_documents_is_an_error(loop_thread: LoopThread, app: AppServices, where: dict) -> None:
    docs = [{"_id": i} for i in range(contract.MAX_DOCUMENTS + 1)]
    mongodb = app.mongodb
    assert mongodb is not None
    loop_thread.run(mongodb.run("insertMany", {**where, "documents": docs, "ordered": True}), timeout=120)
    name, message = failure(loop_thread, app, "find", {**where, "projection": {"_id": 1}})
    assert name == "MongoDBError"
    assert message == "find: the query returned more than 50000 documents, the most one query may return; " \
                      "narrow the query or use limit"
    assert len(call(loop_thread, app, "find", {**where, "limit": 50000})) == 50000
    name, _ = failure(loop_thread, app, "aggregate", {**where, "pipeline": [{"$match": {}}]})
    assert name == "MongoDBError"


def test_the_result_cap(loop_thread: LoopThread, app: AppServices, where: dict) -> None:
    for _ in range(2):  # each request's args stay under the 4 MB cap
        call(loop_thread, app, "insertMany", {**where, "documents": [{"s": "x" * 1_000_000} for _ in range(3)]})
    name, message = failure(loop_thread, app, "find", {**where})
    assert name == "ReadSizeLimitExceeded"
    assert message.startswith("find: the result is ") and f"over the limit of {contract.MAX_RESULT_BYTES} bytes" in message
