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

from runtime.contract import service_api
from runtime.contract import services as contract
from runtime.values import ejson
from runtime.worker.engines.base import Host, ServiceFailed
from runtime.worker.engines.python.guest import AttrDict

__all__ = ["build_services", "ServiceFailed"]


def _send(host: Host, service: str, operation: str, args: Mapping[str, Any], where: str) -> Any:
    try:
        text = service_api.wire_text(args)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{where}: an argument cannot be sent to the service: {exc}") from None
    return ejson.parse(host.service(service, operation, text), mapping=AttrDict)


class Services:
    """``context.services``: ``get(name)`` → the service's client, or None."""

    __slots__ = ("_host", "_names")

    def __init__(self, host: Host, names: Mapping[str, str]) -> None:
        self._host = host
        self._names = dict(names)

    def get(self, name: Any) -> Any:
        face = service_api.guest_service(self._names, name)
        if face is None:
            return None
        if face == "mongodb":
            return MongoClient(self._host, name)
        if face == "http":
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
    """``database.collection(name)``: the methods of §8.6.4–§8.6.6, synchronous, one per entry of
    ``runtime.contract.service_api.COLLECTION_METHODS`` (added below the class)."""

    __slots__ = ("_host", "_service", "_db", "_name")

    def __init__(self, host: Host, service: str, db: str, name: str) -> None:
        self._host, self._service, self._db, self._name = host, service, db, name

    def _run(self, operation: str, given: dict[str, Any], options: Any = None) -> Any:
        wire = service_api.collection_args(operation, self._db, self._name, given, options)
        return _send(self._host, self._service, operation, wire, f"collection.{operation}")

    def __repr__(self) -> str:
        return f"[object Collection {self._db}.{self._name}]"


def _collection_method(operation: str, parameters: tuple[str, ...]) -> Any:
    names = (*parameters, "options")

    def method(self: Collection, *args: Any, **named: Any) -> Any:
        where = f"collection.{operation}"
        if len(args) > len(names):
            raise TypeError(f"{where}: takes at most {len(names)} arguments ({', '.join(names)}), got {len(args)}")
        unknown = sorted(set(named) - set(names[len(args):]))
        if unknown:
            raise TypeError(f"{where}: unexpected argument {unknown[0]!r}; allowed: {', '.join(names)}")
        given = {**dict(zip(names, args)), **named}
        options = given.pop("options", None)
        if operation in service_api.CURSOR_METHODS:
            service_api.collection_args(operation, self._db, self._name, given, options)  # bad options fail here, not at the first read
            return Cursor(self, operation, given, options)
        return self._run(operation, given, options)
    method.__name__ = method.__qualname__ = operation
    return method


for _operation, _parameters in service_api.COLLECTION_METHODS.items():
    setattr(Collection, _operation, _collection_method(_operation, _parameters))


class Cursor:
    """A ``find``/``aggregate`` cursor: ``sort``/``limit``/``skip`` chain until the first
    document is read (§8.6.3); ``next()`` gives None once exhausted (JavaScript's undefined)."""

    __slots__ = ("_collection", "_operation", "_args", "_options", "_documents", "_position")

    def __init__(self, collection: Collection, operation: str, args: dict[str, Any], options: Any) -> None:
        self._collection, self._operation, self._args, self._options = collection, operation, args, options
        self._documents: list[Any] | None = None
        self._position = 0

    def _modify(self, method: str, name: str, value: Any) -> Cursor:
        refused = service_api.cursor_modifier_error(self._operation, method, self._documents is not None)
        if refused is not None:
            raise TypeError(refused)
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
            self._documents = list(self._collection._run(self._operation, dict(self._args), self._options))
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
        return _send(self._host, self._service, method, service_api.http_args(method, request, fields), f"http.{method}")

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
