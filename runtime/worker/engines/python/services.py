"""The Python guest's ``context.services`` and ``context.http``: facades over ``Host.service``.

Owns: ``build_services(host, service_names) -> (services, http)``; the MongoDB client facade
(``db(name).collection(name)`` with the synchronous methods of the JavaScript API, cursors from
``find``/``aggregate`` with ``toArray``, ``next``, ``sort``, ``limit``, ``skip``; ``admin().
getDBNames()``, ``getCollectionNames()``), the HTTP client facade (``get``/``post``/``put``/
``patch``/``delete``/``head``), and the pass-through facade of third-party services (the server
refuses their actions by name). Every call becomes one ``host.service(service, operation,
canonical EJSON args)`` with the wire arguments of ``runtime.contract.services``, and its answer
is parsed back with ``AttrDict`` mappings. A refusal arrives as ``ServiceFailed`` (``name``,
``message``), which guest code catches like any exception.

Must not import asyncio or aiohttp, decide what the server decides (argument checks beyond
the shape of a call happen in the server, which never trusts them), or hand guest code the
host: state lives in underscore slots, which RestrictedPython refuses to reach.
"""

from __future__ import annotations

from typing import Any, Mapping

from runtime.contract import services as contract
from runtime.values import ejson
from runtime.worker.engines.base import Host, ServiceFailed
from runtime.worker.engines.python.guest import AttrDict

__all__ = ["build_services", "ServiceFailed"]


def _send(host: Host, service: str, operation: str, args: Mapping[str, Any], where: str) -> Any:
    wire = {k: v for k, v in args.items() if v is not None}
    try:
        text = ejson.to_canonical(wire)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{where}: an argument cannot be sent to the service: {exc}") from None
    return ejson.parse(host.service(service, operation, text), mapping=AttrDict)


def _options(where: str, options: Any) -> dict[str, Any]:
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise TypeError(f"{where}: options must be an object, got '{type(options).__name__}'")
    return dict(options)


class Services:
    """``context.services``: ``get(name)`` → the service's client, or None."""

    __slots__ = ("_host", "_names")

    def __init__(self, host: Host, names: Mapping[str, str]) -> None:
        self._host = host
        self._names = dict(names)

    def get(self, name: Any) -> Any:
        if type(name) is not str:
            raise TypeError("context.services.get: the service name must be a string")
        kind = self._names.get(name)
        if kind is None:
            return None
        if kind in contract.MONGODB_TYPES:
            return MongoClient(self._host, name)
        if kind == contract.HTTP_TYPE:
            return Http(self._host, name)
        return OtherService(self._host, name)

    def __repr__(self) -> str:
        return "[object Services]"


class MongoClient:
    __slots__ = ("_host", "_service")

    def __init__(self, host: Host, service: str) -> None:
        self._host, self._service = host, service

    def db(self, name: Any) -> Database:
        contract.check_database_name("db", name)
        return Database(self._host, self._service, name)

    def admin(self) -> Admin:
        return Admin(self._host, self._service)

    def __repr__(self) -> str:
        return f"[object MongoDBService {self._service}]"


class Admin:
    __slots__ = ("_host", "_service")

    def __init__(self, host: Host, service: str) -> None:
        self._host, self._service = host, service

    def getDBNames(self) -> Any:  # noqa: N802 - App Services name
        return _send(self._host, self._service, "getDBNames", {}, "admin.getDBNames")


class Database:
    __slots__ = ("_host", "_service", "_name")

    def __init__(self, host: Host, service: str, name: str) -> None:
        self._host, self._service, self._name = host, service, name

    def collection(self, name: Any) -> Collection:
        contract.check_collection_name("collection", name)
        return Collection(self._host, self._service, self._name, name)

    def getCollectionNames(self) -> Any:  # noqa: N802 - App Services name
        return _send(self._host, self._service, "getCollectionNames", {"database": self._name},
                     "database.getCollectionNames")

    def __repr__(self) -> str:
        return f"[object Database {self._name}]"


class Collection:
    """``database.collection(name)``: the methods of §8.6.4–§8.6.6, synchronous."""

    __slots__ = ("_host", "_service", "_db", "_name")

    def __init__(self, host: Host, service: str, db: str, name: str) -> None:
        self._host, self._service, self._db, self._name = host, service, db, name

    def _run(self, operation: str, args: dict[str, Any], options: Any = None) -> Any:
        where = f"collection.{operation}"
        wire = {"database": self._db, "collection": self._name, **_options(where, options), **args}
        return _send(self._host, self._service, operation, wire, where)

    def find(self, query: Any = None, projection: Any = None, options: Any = None) -> Cursor:
        return Cursor(self, "find", {"query": query, "projection": projection, **_options("collection.find", options)})

    def aggregate(self, pipeline: Any, options: Any = None) -> Cursor:
        return Cursor(self, "aggregate", {"pipeline": pipeline, **_options("collection.aggregate", options)})

    def findOne(self, query: Any = None, projection: Any = None, options: Any = None) -> Any:  # noqa: N802
        return self._run("findOne", {"query": query, "projection": projection}, options)

    def insertOne(self, document: Any, options: Any = None) -> Any:  # noqa: N802
        return self._run("insertOne", {"document": document}, options)

    def insertMany(self, documents: Any, options: Any = None) -> Any:  # noqa: N802
        return self._run("insertMany", {"documents": documents}, options)

    def updateOne(self, query: Any, update: Any, options: Any = None) -> Any:  # noqa: N802
        return self._run("updateOne", {"query": query, "update": update}, options)

    def updateMany(self, query: Any, update: Any, options: Any = None) -> Any:  # noqa: N802
        return self._run("updateMany", {"query": query, "update": update}, options)

    def replaceOne(self, query: Any, replacement: Any, options: Any = None) -> Any:  # noqa: N802
        return self._run("replaceOne", {"query": query, "replacement": replacement}, options)

    def deleteOne(self, query: Any = None, options: Any = None) -> Any:  # noqa: N802
        return self._run("deleteOne", {"query": query}, options)

    def deleteMany(self, query: Any = None, options: Any = None) -> Any:  # noqa: N802
        return self._run("deleteMany", {"query": query}, options)

    def findOneAndUpdate(self, query: Any, update: Any, options: Any = None) -> Any:  # noqa: N802
        return self._run("findOneAndUpdate", {"query": query, "update": update}, options)

    def findOneAndReplace(self, query: Any, replacement: Any, options: Any = None) -> Any:  # noqa: N802
        return self._run("findOneAndReplace", {"query": query, "replacement": replacement}, options)

    def findOneAndDelete(self, query: Any = None, options: Any = None) -> Any:  # noqa: N802
        return self._run("findOneAndDelete", {"query": query}, options)

    def count(self, query: Any = None, options: Any = None) -> Any:
        return self._run("count", {"query": query}, options)

    def countDocuments(self, query: Any = None, options: Any = None) -> Any:  # noqa: N802
        return self._run("countDocuments", {"query": query}, options)

    def distinct(self, field: Any, query: Any = None, options: Any = None) -> Any:
        return self._run("distinct", {"field": field, "query": query}, options)

    def bulkWrite(self, operations: Any, options: Any = None) -> Any:  # noqa: N802
        return self._run("bulkWrite", {"operations": operations}, options)

    def __repr__(self) -> str:
        return f"[object Collection {self._db}.{self._name}]"


class Cursor:
    """A ``find``/``aggregate`` cursor: ``sort``/``limit``/``skip`` chain until the first
    document is read (§8.6.3); ``next()`` gives None once exhausted (JavaScript's undefined)."""

    __slots__ = ("_collection", "_operation", "_args", "_documents", "_position")

    def __init__(self, collection: Collection, operation: str, args: dict[str, Any]) -> None:
        self._collection, self._operation, self._args = collection, operation, args
        self._documents: list[Any] | None = None
        self._position = 0

    def _modify(self, method: str, name: str, value: Any) -> Cursor:
        if self._documents is not None:
            raise TypeError(f"cursor.{method}: cannot be called after the cursor has returned documents")
        if self._operation == "aggregate" and method != "skip":
            raise TypeError(f"cursor.{method}: an aggregate cursor has only next, toArray and skip; "
                            f"add a ${method} stage to the pipeline")
        self._args[name] = value
        return self

    def sort(self, sort: Any) -> Cursor:
        return self._modify("sort", "sort", sort)

    def limit(self, limit: Any) -> Cursor:
        return self._modify("limit", "limit", limit)

    def skip(self, amount: Any) -> Cursor:
        return self._modify("skip", "skip", amount)

    def _fetch(self) -> list[Any]:
        if self._documents is None:
            self._documents = list(self._collection._run(self._operation, dict(self._args)))
        return self._documents

    def toArray(self) -> list[Any]:  # noqa: N802 - App Services name
        documents = self._fetch()[self._position:]
        self._position = len(self._documents or ())
        return documents

    def next(self) -> Any:
        documents = self._fetch()
        if self._position >= len(documents):
            return None
        self._position += 1
        return documents[self._position - 1]

    def __repr__(self) -> str:
        return "[object Cursor]"


class Http:
    """``context.http`` and legacy HTTP services: one request document per call (§8.7.2)."""

    __slots__ = ("_host", "_service")

    def __init__(self, host: Host, service: str) -> None:
        self._host, self._service = host, service

    def _request(self, method: str, request: Any, fields: dict[str, Any]) -> Any:
        where = f"http.{method}"
        if request is not None and not isinstance(request, dict):
            raise TypeError(f"{where}: the request must be an object, got '{type(request).__name__}'")
        return _send(self._host, self._service, method, {**(request or {}), **fields}, where)

    def get(self, request: Any = None, **fields: Any) -> Any:
        return self._request("get", request, fields)

    def post(self, request: Any = None, **fields: Any) -> Any:
        return self._request("post", request, fields)

    def put(self, request: Any = None, **fields: Any) -> Any:
        return self._request("put", request, fields)

    def patch(self, request: Any = None, **fields: Any) -> Any:
        return self._request("patch", request, fields)

    def delete(self, request: Any = None, **fields: Any) -> Any:
        return self._request("delete", request, fields)

    def head(self, request: Any = None, **fields: Any) -> Any:
        return self._request("head", request, fields)

    def __repr__(self) -> str:
        return "[object HTTP]"


class OtherService:
    """A third-party service (GitHub, Twilio, AWS…): every action goes to the server, which
    answers that atlas-fn does not run third-party service actions."""

    __slots__ = ("_host", "_service")

    def __init__(self, host: Host, service: str) -> None:
        self._host, self._service = host, service

    def __getattr__(self, action: str) -> Any:
        if action.startswith("_"):
            raise AttributeError(action)
        host, service = self._host, self._service

        def call(*args: Any) -> Any:
            return _send(host, service, action, {"args": list(args)}, f"{service}.{action}")
        return call

    def __repr__(self) -> str:
        return f"[object Service {self._service}]"


def build_services(host: Host, service_names: Mapping[str, str]) -> tuple[Services, Http]:
    """``context.services`` and ``context.http`` for one call. ``service_names`` is the app's
    ``{service name: service type}`` (``"mongodb-atlas"``, ``"http"``, ``"github"``…)."""
    return Services(host, service_names), Http(host, contract.CONTEXT_HTTP)
