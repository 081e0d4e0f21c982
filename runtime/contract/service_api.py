"""The guest's face of the services: method names, positional parameters, cursor rules.

Owns: the ONE definition that each engine binds into guest code (context-services.md §8.6.2–
§8.6.6, §8.7.2): which methods a collection, a database, the admin client and a cursor have,
the names their positional arguments travel under (the wire names of
``runtime.contract.services``), and the rules of cursor methods. The Python facade
(``runtime.worker.engines.python.services``) builds its methods from these tables; the
JavaScript prelude receives them as JSON (``GUEST_API``) and builds its Promise-returning
methods from them. Pure: plain values only.

Must not: check argument values (the server does, with ``runtime.contract.services``), or do
I/O.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from runtime.contract import services as contract
from runtime.values import ejson
from runtime.values.guest_utils import UTILS

# collection method → its positional parameters, by wire name; every method also takes a last
# positional options object whose fields are flattened into the wire arguments
COLLECTION_METHODS: dict[str, tuple[str, ...]] = {
    "find": ("query", "projection"),
    "aggregate": ("pipeline",),
    "findOne": ("query", "projection"),
    "insertOne": ("document",),
    "insertMany": ("documents",),
    "updateOne": ("query", "update"),
    "updateMany": ("query", "update"),
    "replaceOne": ("query", "replacement"),
    "deleteOne": ("query",),
    "deleteMany": ("query",),
    "findOneAndUpdate": ("query", "update"),
    "findOneAndReplace": ("query", "replacement"),
    "findOneAndDelete": ("query",),
    "count": ("query",),
    "countDocuments": ("query",),
    "distinct": ("field", "query"),
    "bulkWrite": ("operations",),
}
CURSOR_METHODS = ("find", "aggregate")  # these answer a cursor at once; the query runs at its first read
CURSOR_MODIFIERS = ("sort", "limit", "skip")  # chainable until the first document is read (§8.6.3)
AGGREGATE_MODIFIERS = ("skip",)

assert set(COLLECTION_METHODS) <= set(contract.MONGODB_OPERATIONS), "a guest method without a server operation"
assert all(set(params) <= set(contract.MONGODB_OPERATIONS[name].arguments) for name, params in COLLECTION_METHODS.items())


def cursor_modifier_error(operation: str, method: str, fetched: bool) -> str | None:
    """Why ``cursor.<method>`` may not be called now (a TypeError's message), or None."""
    if fetched:
        return f"cursor.{method}: cannot be called after the cursor has returned documents"
    if operation == "aggregate" and method not in AGGREGATE_MODIFIERS:
        return (f"cursor.{method}: an aggregate cursor has only next, toArray and skip; "
                f"add a ${method} stage to the pipeline")
    return None


def service_kind(service_type: str) -> str:
    """What a service of the app's config is to guest code: ``mongodb``, ``http`` or ``other``
    (a third-party service, whose every action the server refuses by name)."""
    if service_type in contract.MONGODB_TYPES:
        return "mongodb"
    if service_type == contract.HTTP_TYPE:
        return "http"
    return "other"


def guest_service(names: Mapping[str, str], name: Any) -> str | None:
    """``context.services.get(name)``: the kind of the app's service of that name (see
    ``service_kind``), or None for a name the app does not have (answered without the server)."""
    if type(name) is not str:
        raise TypeError(f"context.services.get: the service name must be a string, got '{_type(name)}'")
    service_type = names.get(name)
    return None if service_type is None else service_kind(service_type)


def collection_args(operation: str, database: str, collection: str, given: Mapping[str, Any], options: Any) -> dict[str, Any]:
    """One collection call's wire arguments: the options' fields flattened, the positional
    arguments (by their wire names) over them."""
    if options is not None and not isinstance(options, dict):
        raise TypeError(f"collection.{operation}: options must be an object, got '{_type(options)}'")
    return {"database": database, "collection": collection, **(options or {}), **given}


def http_args(method: str, request: Any, fields: Mapping[str, Any]) -> dict[str, Any]:
    """``context.http.<method>(request)``'s wire arguments (the request document, §8.7.3;
    Python may also pass its fields as keywords)."""
    if request is not None and not isinstance(request, dict):
        raise TypeError(f"http.{method}: the request must be an object, got '{_type(request)}'")
    return {**(request or {}), **fields}


def _type(value: Any) -> str:
    return type(value).__name__


def wire_text(args: Mapping[str, Any]) -> str:
    """A request's args as sent by either engine: absent (None) arguments left out, canonical
    EJSON. Raises TypeError/ValueError for a value EJSON cannot carry."""
    return ejson.to_canonical({k: v for k, v in args.items() if v is not None})


GUEST_API: str = json.dumps({
    "collection": COLLECTION_METHODS,
    "cursor": list(CURSOR_METHODS),
    "modifiers": list(CURSOR_MODIFIERS),
    "http": list(contract.HTTP_METHODS),
    "contextHttp": contract.CONTEXT_HTTP,
    "utils": {space: list(functions) for space, functions in UTILS.items()},  # utils.crypto.*, utils.jwt.*
})
