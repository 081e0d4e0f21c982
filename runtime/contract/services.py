"""The service operations guest code reaches through ``context``: names, argument shapes, checks, results.

Owns: the ONE definition both engines bind and the server enforces (context-services.md §8.6,
§8.7, contract §8.5): the MongoDB operations with their wire arguments, defaults and checks
(``check_mongodb``), the result shapes (``insertedId``, ``matchedCount``…), the HTTP methods and
every service limit; the ``context.http`` request document is checked by
``runtime.contract.http_request``, which builds on this module. Pure: no I/O, no asyncio, no pymongo
client; only plain values (as ``runtime.values.ejson.parse`` gives them) in and out.

Must not trust its input: a worker may be hostile, so every argument is checked for its type,
every name for what MongoDB allows, and a refusal is a ``ServiceFailed`` (runtime.errors) that names the
operation, the argument and what is allowed.

Wire shape: a request's ``args`` is one EJSON object of named arguments, the JavaScript
positional arguments by their documented names (``find(query, projection)`` →
``{"database", "collection", "query", "projection"}``) with the option documents flattened
(``{"upsert": true}``); the cursor methods of ``find``/``aggregate`` travel as ``sort``,
``limit`` and ``skip``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from runtime.errors import ServiceFailed  # what a refused service call raises: (name, message)

# --- limits (contract §8.5, context-services §8.6.10; the undocumented ones decided here) -----

MAX_DOCUMENTS = 50_000  # documents one query may return (LIMITS §Query Results)
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024  # one BSON document (MongoDB)
MAX_PENDING_PER_CALL = 1000  # async operations in flight for one call (contract §8.5)
PENDING_MESSAGE = f"exceeded max async work queue size of {MAX_PENDING_PER_CALL}"
MAX_ARGS_BYTES = 4 * 1024 * 1024  # a request's args text: the worker → server frame's meta cap
MAX_RESULT_BYTES = 4 * 1024 * 1024 - 64 * 1024  # a result's EJSON text: fits the server → worker frame
MAX_NAME_BYTES = {"database": 64, "collection": 255}
SYSTEM_DATABASES = ("admin", "local", "config")  # refused by name (and never listed by getDBNames)
HTTP_TIMEOUT_SECONDS = 60.0  # one context.http request, redirects included (undocumented; decided)
HTTP_MAX_RESPONSE_BYTES = 2 * 1024 * 1024  # a response body (base64 in the result must fit MAX_RESULT_BYTES)
HTTP_MAX_REDIRECTS = 10

# --- service types and names ----------------------------------------------------------------

MONGODB_TYPES = ("mongodb-atlas", "mongodb-datafederation")
HTTP_TYPE = "http"
THIRD_PARTY_TYPES = ("github", "twilio", "aws", "aws-s3", "aws-ses", "aws-sns", "gcm")
DEFAULT_SERVICES = {"mongodb-atlas": "mongodb-atlas"}  # an app without data_sources/ gets the embedded store
CONTEXT_HTTP = "context.http"  # the service name context.http uses: no app service can have a dot in its name

# error names (SDK-ERR codes), what ServiceFailed.name carries
INVALID_PARAMETER = "InvalidParameter"
MONGODB_ERROR = "MongoDBError"
HTTP_ERROR = "HTTPError"
SERVICE_NOT_FOUND = "ServiceNotFound"
READ_SIZE_LIMIT = "ReadSizeLimitExceeded"
TOO_MANY_OPERATIONS = "TooManyAsyncOperations"
NOT_SUPPORTED = "ServiceActionNotSupported"


def invalid(operation: str, message: str) -> ServiceFailed:
    return ServiceFailed(INVALID_PARAMETER, f"{operation}: {message}")


# --- argument kinds -------------------------------------------------------------------------

def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def _document(op: str, name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(op, f"'{name}' must be an object (document), got {_kind(value)}")
    return value


def _optional_document(op: str, name: str, value: Any) -> dict[str, Any] | None:
    return None if value is None else _document(op, name, value)


def _boolean(op: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise invalid(op, f"'{name}' must be a boolean, got {_kind(value)}")
    return value


def _count(op: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < 0:
        raise invalid(op, f"'{name}' must be a whole number ≥ 0, got {_kind(value)} {value!r}"[:200])
    if value > 2**31 - 1:
        raise invalid(op, f"'{name}' must be at most {2**31 - 1}")
    return int(value)


def _sort(op: str, name: str, value: Any) -> list[tuple[str, int]] | None:
    if value is None:
        return None
    spec = _document(op, name, value)
    out = []
    for field, direction in spec.items():
        if isinstance(direction, bool) or direction not in (1, -1):
            raise invalid(op, f"'{name}' maps each field to 1 or -1; {field!r} has {direction!r}"[:200])
        out.append((field, int(direction)))
    return out


def _update(op: str, value: Any) -> dict[str, Any] | list[Any]:
    """An update document of operators, or an aggregation pipeline (a list of stages)."""
    if isinstance(value, list):
        return _pipeline(op, "update", value)
    update = _document(op, "update", value)
    if not update:
        raise invalid(op, "'update' must not be empty")
    return update


def _replacement(op: str, value: Any) -> dict[str, Any]:
    doc = _document(op, "replacement", value)
    operators = [key for key in doc if key.startswith("$")]
    if operators:
        raise invalid(op, f"the replacement document must not contain update operators, found {operators[0]!r}"[:200])
    return doc


def _pipeline(op: str, name: str, value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise invalid(op, f"'{name}' must be an array of stages, got {_kind(value)}")
    for index, stage in enumerate(value):
        if not isinstance(stage, dict) or len(stage) != 1:
            raise invalid(op, f"'{name}'[{index}] must be an object with exactly one stage name")
    return value


def _documents(op: str, value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not value:
        raise invalid(op, f"'documents' must be a non-empty array of objects, got {_kind(value)}")
    for index, doc in enumerate(value):
        if not isinstance(doc, dict):
            raise invalid(op, f"'documents'[{index}] must be an object, got {_kind(doc)}")
    if len(value) > MAX_DOCUMENTS:
        raise invalid(op, f"at most {MAX_DOCUMENTS} documents per call, got {len(value)}")
    return value


def _field(op: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise invalid(op, f"'field' must be a non-empty string, got {_kind(value)}")
    return value


def check_database_name(op: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise invalid(op, f"the database name must be a non-empty string, got {_kind(value)}")
    bad = next((c for c in value if c in '/\\. "$\x00'), None)
    if bad is not None:
        raise invalid(op, f"the database name {value[:80]!r} contains {bad!r}; names may not contain / \\ . space \" $ or NUL")
    if len(value.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES["database"]:
        raise invalid(op, f"the database name is longer than {MAX_NAME_BYTES['database']} bytes")
    if value in SYSTEM_DATABASES:
        raise invalid(op, f"the database {value!r} is a system database, which functions cannot use")
    return value


def check_collection_name(op: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise invalid(op, f"the collection name must be a non-empty string, got {_kind(value)}")
    if "$" in value or "\x00" in value:
        raise invalid(op, f"the collection name {value[:80]!r} contains '$' or NUL, which MongoDB does not allow")
    if value.startswith("system."):
        raise invalid(op, f"the collection name {value[:80]!r} is reserved: names starting with 'system.' are not allowed")
    if len(value.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES["collection"]:
        raise invalid(op, f"the collection name is longer than {MAX_NAME_BYTES['collection']} bytes")
    return value


# --- the MongoDB operations -----------------------------------------------------------------

Check = Callable[[str, Any], Any]
REQUIRED = object()


@dataclass(frozen=True)
class Operation:
    """One MongoDB service operation: its wire arguments (name → (check, default)), whether it
    names a collection, whether it writes (refused on a Federated data source)."""

    name: str
    arguments: Mapping[str, tuple[Check, Any]]
    collection: bool = True
    writes: bool = False


_QUERY = (lambda op, v: _document(op, "query", {} if v is None else v), None)
_PROJECTION = (lambda op, v: _optional_document(op, "projection", v), None)
_SORT = (lambda op, v: _sort(op, "sort", v), None)
_LIMIT = (lambda op, v: _count(op, "limit", v), 0)
_SKIP = (lambda op, v: _count(op, "skip", v), 0)
_UPSERT = (lambda op, v: _boolean(op, "upsert", v), False)
_RETURN_NEW = (lambda op, v: _boolean(op, "returnNewDocument", v), False)
_ORDERED = (lambda op, v: _boolean(op, "ordered", v), True)
_UPDATE = (_update, REQUIRED)
_REPLACEMENT = (_replacement, REQUIRED)


def _array_filters(op: str, value: Any) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise invalid(op, "'arrayFilters' must be an array of objects")
    return value


def _operations(op: str, value: Any) -> list[tuple[str, dict[str, Any]]]:
    """bulkWrite's operations: ``{insertOne: {document}}`` (the table) or ``{insertOne: doc}``
    (the docs' own example), ``{updateOne: {filter, update, upsert}}``, … (§8.6.6)."""
    if not isinstance(value, list) or not value:
        raise invalid(op, f"'operations' must be a non-empty array, got {_kind(value)}")
    if len(value) > MAX_DOCUMENTS:
        raise invalid(op, f"at most {MAX_DOCUMENTS} operations per call, got {len(value)}")
    out = []
    for index, item in enumerate(value):
        where = f"operations[{index}]"
        if not isinstance(item, dict) or len(item) != 1:
            raise invalid(op, f"{where} must be an object with exactly one of {', '.join(BULK_KINDS)}")
        (kind, spec), = item.items()
        if kind not in BULK_KINDS:
            raise invalid(op, f"{where}: unknown operation {kind[:40]!r}; allowed: {', '.join(BULK_KINDS)}")
        spec = _document(op, where, spec)
        if kind == "insertOne":
            document = spec["document"] if set(spec) == {"document"} and isinstance(spec["document"], dict) else spec
            out.append((kind, {"document": document}))
            continue
        allowed = BULK_KINDS[kind]
        unknown = sorted(set(spec) - set(allowed))
        if unknown:
            raise invalid(op, f"{where}.{kind}: unknown field {unknown[0][:40]!r}; allowed: {', '.join(allowed)}")
        checked: dict[str, Any] = {"filter": _document(op, f"{where}.{kind}.filter", spec.get("filter", {}))}
        if "update" in allowed:
            checked["update"] = _update(op, spec.get("update"))
        if "replacement" in allowed:
            checked["replacement"] = _replacement(op, spec.get("replacement"))
        if "upsert" in allowed:
            checked["upsert"] = _boolean(op, "upsert", spec.get("upsert", False))
        out.append((kind, checked))
    return out


BULK_KINDS: dict[str, tuple[str, ...]] = {
    "insertOne": ("document",),
    "updateOne": ("filter", "update", "upsert"),
    "updateMany": ("filter", "update", "upsert"),
    "replaceOne": ("filter", "replacement", "upsert"),
    "deleteOne": ("filter",),
    "deleteMany": ("filter",),
}


def _ops(*operations: Operation) -> dict[str, Operation]:
    return {o.name: o for o in operations}


MONGODB_OPERATIONS: dict[str, Operation] = _ops(
    Operation("find", {"query": _QUERY, "projection": _PROJECTION, "sort": _SORT, "limit": _LIMIT, "skip": _SKIP}),
    Operation("findOne", {"query": _QUERY, "projection": _PROJECTION, "sort": _SORT}),
    Operation("insertOne", {"document": (lambda op, v: _document(op, "document", v), REQUIRED)}, writes=True),
    Operation("insertMany", {"documents": (_documents, REQUIRED), "ordered": _ORDERED}, writes=True),
    Operation("updateOne", {"query": _QUERY, "update": _UPDATE, "upsert": _UPSERT,
                            "arrayFilters": (_array_filters, None)}, writes=True),
    Operation("updateMany", {"query": _QUERY, "update": _UPDATE, "upsert": _UPSERT,
                             "arrayFilters": (_array_filters, None)}, writes=True),
    Operation("replaceOne", {"query": _QUERY, "replacement": _REPLACEMENT, "upsert": _UPSERT}, writes=True),
    Operation("deleteOne", {"query": _QUERY}, writes=True),
    Operation("deleteMany", {"query": _QUERY}, writes=True),
    Operation("findOneAndUpdate", {"query": _QUERY, "update": _UPDATE, "upsert": _UPSERT, "sort": _SORT,
                                   "projection": _PROJECTION, "returnNewDocument": _RETURN_NEW}, writes=True),
    Operation("findOneAndReplace", {"query": _QUERY, "replacement": _REPLACEMENT, "upsert": _UPSERT, "sort": _SORT,
                                    "projection": _PROJECTION, "returnNewDocument": _RETURN_NEW}, writes=True),
    Operation("findOneAndDelete", {"query": _QUERY, "sort": _SORT, "projection": _PROJECTION}, writes=True),
    Operation("aggregate", {"pipeline": (lambda op, v: _pipeline(op, "pipeline", v), REQUIRED), "skip": _SKIP}),
    Operation("count", {"query": _QUERY, "limit": _LIMIT}),
    Operation("countDocuments", {"query": _QUERY, "limit": _LIMIT, "skip": _SKIP}),
    Operation("distinct", {"field": (_field, REQUIRED), "query": _QUERY}),
    Operation("bulkWrite", {"operations": (_operations, REQUIRED), "ordered": _ORDERED,
                            "bypassDocumentValidation": (lambda op, v: _boolean(op, "bypassDocumentValidation", v), False)},
              writes=True),
    Operation("getDBNames", {}, collection=False),
    Operation("getCollectionNames", {}, collection=False),
)

# Aggregation stages refused to everyone (LIMITS: the system user may use all but $indexStats and
# $currentOp); an application user is refused more (runtime.services.guard.USER_REFUSED_STAGES).
REFUSED_STAGES = ("$indexStats", "$currentOp")


def check_mongodb(operation: str, args: Any, *, writable: bool = True) -> dict[str, Any]:
    """A MongoDB request's args, checked: every argument of the operation present (defaults
    filled in), each of its type, nothing else. Raises ``ServiceFailed`` (InvalidParameter)."""
    spec = MONGODB_OPERATIONS.get(operation) if isinstance(operation, str) else None
    if spec is None:
        shown = operation[:40] if isinstance(operation, str) else _kind(operation)
        raise ServiceFailed(INVALID_PARAMETER, f"unknown MongoDB operation {shown!r}; "
                                              f"allowed: {', '.join(MONGODB_OPERATIONS)}")
    if not isinstance(args, dict):
        raise invalid(operation, f"the arguments must be an object, got {_kind(args)}")
    if "session" in args:
        raise ServiceFailed(NOT_SUPPORTED, f"{operation}: atlas-fn does not support sessions or transactions "
                                          "(the 'session' option)")
    if spec.writes and not writable:
        raise ServiceFailed(MONGODB_ERROR, f"{operation}: a Federated data source does not support writes")
    names = set(spec.arguments) | ({"database", "collection"} if spec.collection else set())
    if operation == "getCollectionNames":
        names.add("database")
    unknown = sorted(set(args) - names)
    if unknown:
        raise invalid(operation, f"unknown argument {unknown[0][:40]!r}; allowed: {', '.join(sorted(names)) or 'none'}")
    checked: dict[str, Any] = {}
    if "database" in names:
        checked["database"] = check_database_name(operation, args.get("database"))
    if spec.collection:
        checked["collection"] = check_collection_name(operation, args.get("collection"))
    for name, (check, default) in spec.arguments.items():
        value = args.get(name)
        if value is None:
            if default is REQUIRED:
                raise invalid(operation, f"'{name}' is required")
            if name not in ("query", "projection", "sort", "arrayFilters"):
                checked[name] = default
                continue
        checked[name] = check(operation, value)
    for stage in checked.get("pipeline", ()):
        if next(iter(stage)) in REFUSED_STAGES:
            raise invalid(operation, f"the aggregation stage {next(iter(stage))} is not allowed")
    return checked


# --- results (§8.6.6, §8.6.8) ---------------------------------------------------------------

def insert_one_result(inserted_id: Any) -> dict[str, Any]:
    return {"insertedId": inserted_id}


def insert_many_result(inserted_ids: list[Any]) -> dict[str, Any]:
    return {"insertedIds": list(inserted_ids)}


def update_result(matched: int, modified: int, upserted_id: Any = None, upserted: bool = False) -> dict[str, Any]:
    """``{matchedCount, modifiedCount}`` plus ``upsertedId`` only when an upsert inserted."""
    result: dict[str, Any] = {"matchedCount": int(matched), "modifiedCount": int(modified)}
    if upserted:
        result["upsertedId"] = upserted_id
    return result


def delete_result(deleted: int) -> dict[str, Any]:
    return {"deletedCount": int(deleted)}


def too_many_documents(operation: str) -> ServiceFailed:
    return ServiceFailed(MONGODB_ERROR, f"{operation}: the query returned more than {MAX_DOCUMENTS} documents, "
                                       f"the most one query may return; narrow the query or use limit")


# --- context.http (§8.7): the request document is checked by runtime.contract.http_request ---

HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head")
