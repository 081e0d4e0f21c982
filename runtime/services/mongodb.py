"""The MongoDB service: checked operations run with pymongo's ``AsyncMongoClient``.

Owns: one client per URI (the embedded store's, or ``ATLAS_FN_MONGODB_URI``: the same code
path), running each operation of ``runtime.contract.services.MONGODB_OPERATIONS`` on checked
arguments and returning its result as plain values (BSON types kept: ObjectId, datetime,
Decimal128, Int64, Binary), and turning every failure into a ``ServiceFailed`` in App Services'
form (``MongoDBError`` + the server's own message). Must not parse or write EJSON (the router
does), trust arguments it did not get from ``check_mongodb``, or show the URI: every message
goes through ``redact`` with the URI's secrets.

An operation in flight when the embedded store dies fails at once (``Store.on_death`` cancels
it in its caller's task), never waits on a socket nobody will answer; one that starts while the
store is down waits for the restart (up to the server-selection timeout). The driver's own
retries are off, so an operation runs at most once; a restarted store gets a fresh client.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from typing import Any, Awaitable, Callable

from bson.codec_options import CodecOptions
from bson.errors import BSONError, InvalidDocument
from pymongo import AsyncMongoClient, DeleteMany, DeleteOne, InsertOne, ReplaceOne, UpdateMany, UpdateOne
from pymongo.errors import (BulkWriteError, ConnectionFailure, DocumentTooLarge, OperationFailure, PyMongoError,
                            ServerSelectionTimeoutError, WriteError)
from pymongo.collection import ReturnDocument

from runtime.contract import services as contract
from runtime.contract.services import MAX_DOCUMENTS, ServiceFailed
from runtime.services.redact import redact, uri_secrets
from runtime.services.store import Store

log = logging.getLogger("atlas_fn.mongodb")

CODEC = CodecOptions(tz_aware=True, tzinfo=datetime.timezone.utc)
SYSTEM_DATABASES = contract.SYSTEM_DATABASES


class MongoService:
    """Runs MongoDB operations for every ``mongodb-atlas`` service of an app.

    ``uri`` is ``ATLAS_FN_MONGODB_URI`` when given; else ``store`` (started by the caller) gives
    it. ``op_timeout`` bounds one operation (the call's own limit bounds it anyway)."""

    def __init__(self, *, uri: str | None = None, store: Store | None = None, op_timeout: float = 300.0,
                 server_selection_timeout: float = 10.0, listeners: tuple[Any, ...] = ()) -> None:
        if (uri is None) == (store is None):
            raise ValueError("give exactly one of uri (ATLAS_FN_MONGODB_URI) or store")
        self._uri, self._store = uri, store
        self.op_timeout = op_timeout
        self.server_selection_timeout = server_selection_timeout
        self.listeners = listeners  # pymongo event listeners (command monitoring), for tests and tracing
        self._client: AsyncMongoClient[Any] | None = None
        self._client_key: tuple[str, int] | None = None
        self._secrets = uri_secrets(uri) if uri else ()
        self._closing: set[asyncio.Future[Any]] = set()
        self._inflight: set[asyncio.Future[Any]] = set()
        self._cut_off: set[asyncio.Future[Any]] = set()
        if store is not None:
            store.on_death(self._store_died)

    def _current(self) -> AsyncMongoClient[Any]:
        uri = self._uri if self._uri is not None else self._store.uri  # type: ignore[union-attr]
        key = (uri, 0 if self._store is None else self._store.generation)
        if self._client is None or self._client_key != key:  # a restarted store gets a fresh client
            old = self._client
            if old is not None:  # closed in the background: its server is gone, ending sessions may wait
                task = asyncio.ensure_future(old.close())
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
            self._client = AsyncMongoClient(
                uri, document_class=dict, tz_aware=True, tzinfo=datetime.timezone.utc, retryWrites=False,
                retryReads=False, serverSelectionTimeoutMS=int(self.server_selection_timeout * 1000),
                connectTimeoutMS=5000, appname="atlas-fn", uuidRepresentation="standard",
                event_listeners=list(self.listeners))
            self._client_key = key
        return self._client

    async def close(self) -> None:
        clients = list(self._closing)
        if self._client is not None:
            clients.append(asyncio.ensure_future(self._client.close()))
            self._client = None
        if clients:
            done, pending = await asyncio.wait(clients, timeout=5.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    def message(self, text: str) -> str:
        """Any text about this service, with the URI and its credentials removed."""
        return redact(text, self._secrets)

    async def run(self, operation: str, args: dict[str, Any]) -> Any:
        """Run one checked operation; plain values back, or ``ServiceFailed``."""
        if self._store is not None and self._store.died.is_set():
            await self._wait_for_store()
        client = self._current()
        work = asyncio.current_task()  # the operation runs in the caller's task: no task of its own to schedule
        assert work is not None
        self._inflight.add(work)
        try:
            async with asyncio.timeout(self.op_timeout):
                result = await _OPERATIONS[operation](client, args)
            if work in self._cut_off:
                # The store died while this ran, and the driver answered anyway (it may swallow the
                # cancel while it closes a connection): the answer is not trusted, the error is the same.
                raise _store_stopped(work, operation)
            return result
        except asyncio.CancelledError:
            if work not in self._cut_off:
                raise
            raise _store_stopped(work, operation) from None
        except TimeoutError:
            raise ServiceFailed(contract.MONGODB_ERROR, f"{operation}: no answer from the database within "
                                                       f"{self.op_timeout:g} s") from None
        except ServiceFailed:
            raise
        except PyMongoError as exc:
            raise self._error(operation, exc) from None
        except (BSONError, InvalidDocument, OverflowError) as exc:
            raise ServiceFailed(contract.INVALID_PARAMETER, self.message(f"{operation}: {exc}")) from None
        finally:
            self._inflight.discard(work)
            self._cut_off.discard(work)

    def _store_died(self) -> None:
        """The store process died: every operation in flight fails now, not at a socket timeout."""
        for work in list(self._inflight):
            self._cut_off.add(work)
            work.cancel()

    async def _wait_for_store(self) -> None:
        assert self._store is not None
        try:
            await asyncio.wait_for(self._store.wait_up(), self.server_selection_timeout)
        except asyncio.TimeoutError:
            raise ServiceFailed(contract.MONGODB_ERROR, "the data store is not running (atlas-fn is restarting "
                                                       "it); try again") from None

    def _error(self, operation: str, exc: PyMongoError) -> ServiceFailed:
        if isinstance(exc, BulkWriteError):
            errors = exc.details.get("writeErrors") or [{}]
            text = str(errors[0].get("errmsg") or "bulk write failed")
        elif isinstance(exc, (WriteError, OperationFailure)):
            details = exc.details or {}
            text = str(details.get("errmsg") or (exc.args[0] if exc.args else exc)).split(", full error:")[0]
        elif isinstance(exc, DocumentTooLarge):
            text = f"a document is larger than the maximum of {contract.MAX_DOCUMENT_BYTES} bytes (16 MB)"
        elif isinstance(exc, ServerSelectionTimeoutError):
            text = "cannot reach the database (no server answered in time)"
        elif isinstance(exc, ConnectionFailure):
            text = "the connection to the database failed"
        else:
            text = str(exc).split(", full error:")[0]
        return ServiceFailed(contract.MONGODB_ERROR, self.message(text[:2000]))  # the server's own words, as App Services passes them


def _store_stopped(work: asyncio.Task[Any], operation: str) -> ServiceFailed:
    """The error of an operation cut off by ``_store_died``: its cancel (if the driver let it
    through) was ours, not its caller's, so it is taken back."""
    if work.cancelling():
        work.uncancel()
    return ServiceFailed(contract.MONGODB_ERROR, f"{operation}: the data store stopped while the operation ran "
                                                 "(atlas-fn is restarting it); the operation may or may not have "
                                                 "been applied")


# --- the operations, each (client, checked args) → plain result ------------------------------

def _collection(client: AsyncMongoClient[Any], args: dict[str, Any]) -> Any:
    return client.get_database(args["database"], codec_options=CODEC).get_collection(args["collection"])


async def _bounded(cursor: Any, operation: str) -> list[Any]:
    out = []
    async for document in cursor:
        out.append(document)
        if len(out) > MAX_DOCUMENTS:
            await cursor.close()
            raise contract.too_many_documents(operation)
    return out


async def _find(client: AsyncMongoClient[Any], a: dict[str, Any]) -> list[Any]:
    limit = a["limit"] if a["limit"] else MAX_DOCUMENTS + 1
    cursor = _collection(client, a).find(a["query"], a["projection"], sort=a["sort"], skip=a["skip"],
                                         limit=min(limit, MAX_DOCUMENTS + 1))
    return await _bounded(cursor, "find")


async def _find_one(client: AsyncMongoClient[Any], a: dict[str, Any]) -> Any:
    return await _collection(client, a).find_one(a["query"], a["projection"], sort=a["sort"])


async def _insert_one(client: AsyncMongoClient[Any], a: dict[str, Any]) -> Any:
    result = await _collection(client, a).insert_one(a["document"])
    return contract.insert_one_result(result.inserted_id)


async def _insert_many(client: AsyncMongoClient[Any], a: dict[str, Any]) -> Any:
    result = await _collection(client, a).insert_many(a["documents"], ordered=a["ordered"])
    return contract.insert_many_result(result.inserted_ids)


def _update_result(result: Any) -> dict[str, Any]:
    upserted = result.upserted_id is not None
    return contract.update_result(result.matched_count, result.modified_count, result.upserted_id, upserted)


async def _update_one(client: AsyncMongoClient[Any], a: dict[str, Any]) -> Any:
    result = await _collection(client, a).update_one(a["query"], a["update"], upsert=a["upsert"],
                                                     array_filters=a["arrayFilters"])
    return _update_result(result)


async def _update_many(client: AsyncMongoClient[Any], a: dict[str, Any]) -> Any:
    result = await _collection(client, a).update_many(a["query"], a["update"], upsert=a["upsert"],
                                                      array_filters=a["arrayFilters"])
    return _update_result(result)


async def _replace_one(client: AsyncMongoClient[Any], a: dict[str, Any]) -> Any:
    result = await _collection(client, a).replace_one(a["query"], a["replacement"], upsert=a["upsert"])
    return _update_result(result)


async def _delete_one(client: AsyncMongoClient[Any], a: dict[str, Any]) -> Any:
    return contract.delete_result((await _collection(client, a).delete_one(a["query"])).deleted_count)


async def _delete_many(client: AsyncMongoClient[Any], a: dict[str, Any]) -> Any:
    return contract.delete_result((await _collection(client, a).delete_many(a["query"])).deleted_count)


def _returned(a: dict[str, Any]) -> ReturnDocument:
    return ReturnDocument.AFTER if a["returnNewDocument"] else ReturnDocument.BEFORE


async def _find_one_and_update(client: AsyncMongoClient[Any], a: dict[str, Any]) -> Any:
    return await _collection(client, a).find_one_and_update(
        a["query"], a["update"], projection=a["projection"], sort=a["sort"], upsert=a["upsert"],
        return_document=_returned(a))


async def _find_one_and_replace(client: AsyncMongoClient[Any], a: dict[str, Any]) -> Any:
    return await _collection(client, a).find_one_and_replace(
        a["query"], a["replacement"], projection=a["projection"], sort=a["sort"], upsert=a["upsert"],
        return_document=_returned(a))


async def _find_one_and_delete(client: AsyncMongoClient[Any], a: dict[str, Any]) -> Any:
    return await _collection(client, a).find_one_and_delete(a["query"], projection=a["projection"], sort=a["sort"])


async def _aggregate(client: AsyncMongoClient[Any], a: dict[str, Any]) -> list[Any]:
    pipeline = list(a["pipeline"]) + ([{"$skip": a["skip"]}] if a["skip"] else [])
    cursor = await _collection(client, a).aggregate(pipeline)
    return await _bounded(cursor, "aggregate")


async def _count(client: AsyncMongoClient[Any], a: dict[str, Any]) -> int:
    options = {"limit": a["limit"]} if a["limit"] else {}
    return int(await _collection(client, a).count_documents(a["query"], **options))


async def _count_documents(client: AsyncMongoClient[Any], a: dict[str, Any]) -> int:
    options = {k: a[k] for k in ("limit", "skip") if a[k]}
    return int(await _collection(client, a).count_documents(a["query"], **options))


async def _distinct(client: AsyncMongoClient[Any], a: dict[str, Any]) -> list[Any]:
    values = await _collection(client, a).distinct(a["field"], a["query"])
    if len(values) > MAX_DOCUMENTS:
        raise contract.too_many_documents("distinct")
    return list(values)


_BULK = {
    "insertOne": lambda s: InsertOne(s["document"]),
    "updateOne": lambda s: UpdateOne(s["filter"], s["update"], upsert=s["upsert"]),
    "updateMany": lambda s: UpdateMany(s["filter"], s["update"], upsert=s["upsert"]),
    "replaceOne": lambda s: ReplaceOne(s["filter"], s["replacement"], upsert=s["upsert"]),
    "deleteOne": lambda s: DeleteOne(s["filter"]),
    "deleteMany": lambda s: DeleteMany(s["filter"]),
}


async def _bulk_write(client: AsyncMongoClient[Any], a: dict[str, Any]) -> None:
    requests = [_BULK[kind](spec) for kind, spec in a["operations"]]
    await _collection(client, a).bulk_write(requests, ordered=a["ordered"],
                                            bypass_document_validation=a["bypassDocumentValidation"] or None)
    return None  # documented: Promise<null>


async def _db_names(client: AsyncMongoClient[Any], a: dict[str, Any]) -> list[str]:
    return sorted(n for n in await client.list_database_names() if n not in SYSTEM_DATABASES)


async def _collection_names(client: AsyncMongoClient[Any], a: dict[str, Any]) -> list[str]:
    names = await client.get_database(a["database"]).list_collection_names()
    return sorted(n for n in names if not n.startswith("system."))


_OPERATIONS: dict[str, Callable[[AsyncMongoClient[Any], dict[str, Any]], Awaitable[Any]]] = {
    "find": _find, "findOne": _find_one, "insertOne": _insert_one, "insertMany": _insert_many,
    "updateOne": _update_one, "updateMany": _update_many, "replaceOne": _replace_one,
    "deleteOne": _delete_one, "deleteMany": _delete_many, "findOneAndUpdate": _find_one_and_update,
    "findOneAndReplace": _find_one_and_replace, "findOneAndDelete": _find_one_and_delete,
    "aggregate": _aggregate, "count": _count, "countDocuments": _count_documents, "distinct": _distinct,
    "bulkWrite": _bulk_write, "getDBNames": _db_names, "getCollectionNames": _collection_names,
}
assert set(_OPERATIONS) == set(contract.MONGODB_OPERATIONS), "every contract operation has a runner"
