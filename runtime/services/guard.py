"""Data operations of a call that runs as a user, under the collection's rules (issue 13 §3).

Owns: ``run_as_user(mongodb, operation, args, policy, scope)`` — the server's side of the rules
that ``runtime.contract.data_rules`` compiles and decides: reads get the applicable ``filters`` and
the roles' ``document_filters.read`` added to their query, then each document is kept only when a
role applies and may read it, with the fields it may not see removed (silently, as App Services
did); writes are checked per document (insert: the new document; update, replace, delete: each
matched document, for the ``One`` forms the first in ``sort`` order) and then run only on the
documents checked, so nothing unchecked is written; a denied write fails with ``MongoDBError``
``"<insert|update|delete> not permitted"`` and writes nothing. ``scope`` holds ``user`` and
``request`` (``%%user``, ``%%request``). Must not trust the worker (the user comes from the
server's own record of the call, never from a service request) or run an operation it has not
checked.

Decisions: ``getDBNames``/``getCollectionNames`` are system functions only (spec §8.6);
``bulkWrite`` as a user and ``aggregate`` on a collection whose rules depend on the document are
refused with ``ServiceActionNotSupported`` (atlas-fn cannot check them document by document);
``aggregate`` otherwise runs behind a ``$match`` of the filters, and refuses the stages an
application user may not use (spec §8.6.10).
"""

from __future__ import annotations

from typing import Any, Mapping

from runtime.contract import data_rules as rules
from runtime.contract.can_evaluate import walk
from runtime.contract.services import MAX_DOCUMENTS, MONGODB_ERROR, NOT_SUPPORTED, ServiceFailed

USER_REFUSED_STAGES = ("$collStats", "$facet", "$geoNear", "$graphLookup", "$indexStats", "$lookup", "$merge", "$out",
                       "$unionWith", "$currentOp")
_READS = ("find", "findOne", "count", "countDocuments", "distinct")
_UPDATES = {"updateOne": "update", "updateMany": "update", "replaceOne": "replacement",
            "findOneAndUpdate": "update", "findOneAndReplace": "replacement"}
_DELETES = ("deleteOne", "deleteMany", "findOneAndDelete")
_ONE = ("updateOne", "replaceOne", "findOneAndUpdate", "findOneAndReplace", "deleteOne", "findOneAndDelete")


def denied(action: str) -> ServiceFailed:
    return ServiceFailed(MONGODB_ERROR, f"{action} not permitted")


async def run_as_user(mongodb: Any, operation: str, args: dict[str, Any], policy: rules.Policy,
                      scope: Mapping[str, Any]) -> Any:
    if operation in ("getDBNames", "getCollectionNames"):
        raise ServiceFailed(NOT_SUPPORTED, f"{operation} is a system function only: this function runs as an application user")
    if operation == "bulkWrite":
        raise ServiceFailed(NOT_SUPPORTED, "bulkWrite as an application user is not supported by atlas-fn; run the "
                                           "function as system or use insertMany/updateMany/deleteMany")
    if operation in _READS:
        return await _read(mongodb, operation, args, policy, scope)
    if operation == "aggregate":
        return await _aggregate(mongodb, args, policy, scope)
    if operation in ("insertOne", "insertMany"):
        documents = [args["document"]] if operation == "insertOne" else list(args["documents"])
        for document in documents:
            here = {**scope, "root": document, "this": document}
            role = rules.role_for(policy, here)
            if not rules.permits(role, "insert", here):
                raise denied("insert")
        return await mongodb.run(operation, args)
    return await _write(mongodb, operation, args, policy, scope)


def _read_query(query: Any, policy: rules.Policy, scope: Mapping[str, Any]) -> dict[str, Any]:
    """The caller's query AND the filters that apply AND (any role's read filter)."""
    parts = [query] if query else []
    parts += [rules.expand(f.query, scope) for f in policy.filters if f.query and f.apply_when.holds_in(scope)]
    role_filters = [r.read_filter for r in policy.roles]
    if role_filters and all(f for f in role_filters):
        parts.append({"$or": [rules.expand(f, scope) for f in role_filters]})
    return parts[0] if len(parts) == 1 else {"$and": parts} if parts else {}


def _shown(document: Any, policy: rules.Policy, scope: Mapping[str, Any]) -> Any:
    """The document as the role that applies may see it, or None when it may see nothing."""
    if not isinstance(document, Mapping):
        return None
    here = {**scope, "root": document, "this": document}
    role = rules.role_for(policy, here)
    if role is None or not rules.readable_at_all(role, here):
        return None
    return rules.visible(role, document, here)


async def _read(mongodb: Any, operation: str, args: dict[str, Any], policy: rules.Policy, scope: Mapping[str, Any]) -> Any:
    query = _read_query(args.get("query"), policy, scope)
    if operation in ("find", "findOne"):
        if operation == "findOne":
            found = await mongodb.run("findOne", {**args, "query": query, "projection": None})
            return _project(_shown(found, policy, scope), args.get("projection"))
        documents = await mongodb.run("find", {**args, "query": query, "projection": None})
        return [_project(d, args.get("projection")) for d in (_shown(d, policy, scope) for d in documents) if d is not None]
    base = {"database": args["database"], "collection": args["collection"], "query": query, "projection": None,
            "sort": None, "limit": 0, "skip": 0}
    visible = [d for d in (_shown(d, policy, scope) for d in await mongodb.run("find", base)) if d is not None]
    if operation == "distinct":
        values: list[Any] = []
        for document in visible:
            found = walk(document, tuple(args["field"].split(".")))
            for value in found if isinstance(found, list) else [found]:
                if value is not None and value not in values:
                    values.append(value)
        return values
    skip = args.get("skip") or 0
    limit = args.get("limit") or MAX_DOCUMENTS + 1
    return len(visible[skip:skip + limit])


def _project(document: Any, projection: Any) -> Any:
    """A caller's inclusion or exclusion projection, applied after the rules (top-level fields)."""
    if document is None or not projection:
        return document
    include = {k for k, v in projection.items() if v not in (0, False)}
    if include - {"_id"}:
        keep = include | ({"_id"} if projection.get("_id", 1) not in (0, False) else set())
        return {k: v for k, v in document.items() if k in keep}
    return {k: v for k, v in document.items() if k not in projection}


async def _aggregate(mongodb: Any, args: dict[str, Any], policy: rules.Policy, scope: Mapping[str, Any]) -> Any:
    for stage in args["pipeline"]:
        name = next(iter(stage))
        if name in USER_REFUSED_STAGES:
            raise ServiceFailed("InvalidParameter", f"aggregate: the aggregation stage {name} is not allowed for an application user")
    plain = all(r.apply_when.always and r.actions["read"].always for r in policy.roles[:1]) and policy.roles
    if not plain:
        raise ServiceFailed(NOT_SUPPORTED, "aggregate as an application user needs a first role that applies to everyone "
                                           "and reads every document (apply_when {} and read true); these rules decide "
                                           "per document, which atlas-fn checks only for find, count and distinct")
    return await mongodb.run("aggregate", {**args, "pipeline": [{"$match": _read_query(None, policy, scope)}, *args["pipeline"]]})


def _touched(operation: str, args: dict[str, Any]) -> set[str]:
    """The top-level fields an update or replacement writes."""
    change = args[_UPDATES[operation]]
    if _UPDATES[operation] == "replacement":
        return set(change) - {"_id"}
    names: set[str] = set()
    for operator, fields in (change.items() if isinstance(change, Mapping) else ()):
        names |= {str(name).split(".", 1)[0] for name in (fields if isinstance(fields, Mapping) else {})}
    return names


async def _write(mongodb: Any, operation: str, args: dict[str, Any], policy: rules.Policy, scope: Mapping[str, Any]) -> Any:
    action = "delete" if operation in _DELETES else "write"  # the role's permission; "update" in the message
    parts = [args["query"]] if args.get("query") else []
    write_filters = [r.write_filter for r in policy.roles]
    if write_filters and all(write_filters):
        parts.append({"$or": [rules.expand(f, scope) for f in write_filters]})
    query = parts[0] if len(parts) == 1 else {"$and": parts} if parts else {}
    one = operation in _ONE
    matched = await mongodb.run("find", {"database": args["database"], "collection": args["collection"], "query": query,
                                         "projection": None, "sort": args.get("sort"), "limit": 1 if one else 0, "skip": 0})
    touched = _touched(operation, args) if action == "write" else set()
    for document in matched:
        here = {**scope, "root": document, "this": document, "prev": document}
        role = rules.role_for(policy, here)
        if not rules.permits(role, action, here) and not (action == "write" and role is not None and touched
                                                          and rules.may_write_fields(role, touched, here)):
            raise denied("delete" if action == "delete" else "update")
    if not matched and args.get("upsert"):
        seed = {k: v for k, v in args["query"].items() if not k.startswith("$") and not isinstance(v, Mapping)}
        change = args[_UPDATES[operation]]
        seed.update(change.get("$set", {}) if _UPDATES[operation] == "update" else change)
        here = {**scope, "root": seed, "this": seed}
        if not rules.permits(rules.role_for(policy, here), "insert", here):
            raise denied("insert")
    elif not matched:
        query = {"_id": {"$in": []}}
    ids = [d["_id"] for d in matched]
    restricted = {"$and": [args["query"] or {}, {"_id": {"$in": ids}}]} if matched else query
    unprojected = {"projection": None} if operation.startswith("findOneAnd") else {}
    result = await mongodb.run(operation, {**args, "query": restricted, **unprojected})
    if operation.startswith("findOneAnd"):
        return _project(_shown(result, policy, scope), args.get("projection"))
    return result
