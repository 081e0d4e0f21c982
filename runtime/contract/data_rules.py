"""Collection rules for calls that run as a user: roles, filters and field permissions (issue 13 §3).

Owns: compiling ``default_rule.json`` and each collection's ``rules.json`` (roles with
``apply_when``, ``read``, ``write``, ``insert``, ``delete``, ``search``, ``document_filters``,
``fields``, ``additional_fields``; ``filters`` with ``apply_when``, ``query``, ``projection``) into a
frozen ``Policy``, at start-up, every unsupported part an ``UnsupportedRule`` problem (never a
silent allow); and the pure decisions over one document: which role applies (``role_for``),
whether an action is permitted (``permits``), what a role may see (``visible``) and write
(``may_write_fields``), and a document filter with its expansions filled in (``expand``). Rule
expressions compile to ``runtime.contract.can_evaluate``'s ``Rule``/``Check`` and are evaluated
there (``Rule.holds_in``): one evaluator. Must not do I/O or put an operand value into a message.

The expression grammar (App Services' rule expressions, the subset atlas-fn evaluates):
``true``/``false``/``{}``; an object whose fields are ANDed, plus ``$and``/``$or`` arrays of
expressions; a field is ``%%user[.path]``, ``%%request.<field>``, ``%%root[.path]``,
``%%this[.path]``, ``%%prev[.path]`` or a document field (``owner_id``, ``a.b``: ``%%root.<field>``);
its value a literal (equality, any JSON type), ``%%true``/``%%false``, an expansion of those roots,
or an object with one of ``$eq``, ``$ne``, ``$in``, ``$nin``, ``$exists``. Anything else —
``%%values``, ``%%environment``, ``%function``, ``$gt``, ``$regex`` … — is a start-up problem.

Decisions where App Services' documentation leaves a choice: a document-level ``read`` or
``write`` grant covers every field (field rules cannot narrow it, as documented); ``write``
implies ``read``; without either, a field is visible when its ``fields.<name>`` (else
``additional_fields``) ``read`` or ``write`` holds, and ``_id`` always is; a collection with no
``rules.json`` uses its data source's ``default_rule.json``, and with neither a user may do nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from runtime.contract.can_evaluate import ALWAYS, NEVER, Check, Rule, literals_of, resolve
from runtime.contract.request_fields import target
from runtime.contract.rule_messages import describe_key, quote, show
from runtime.errors import UnsupportedRule
from runtime.values.shown import json_path

ROOTS = ("user", "request", "root", "this", "prev")
OPERATORS = ("$eq", "$ne", "$in", "$nin", "$exists")
ACTIONS = ("read", "write", "insert", "delete", "search")
_ALLOWED = ("true, false, or an object of fields %%user[.path], %%request.<field>, %%root/%%this/%%prev[.path] or "
            "document fields, each a literal, %%true, %%false, an expansion of those, or one of $eq, $ne, $in, $nin, "
            "$exists; and $and/$or arrays")


@dataclass(frozen=True)
class Role:
    name: str
    apply_when: Rule
    actions: Mapping[str, Rule]  # read, write, insert, delete, search: NEVER when not granted
    read_filter: Any = None  # document_filters.read, raw (expansions filled in by ``expand``)
    write_filter: Any = None
    fields: Mapping[str, tuple[Rule, Rule]] = field(default_factory=dict)  # name -> (read, write)
    additional: tuple[Rule, Rule] = (NEVER, NEVER)


@dataclass(frozen=True)
class Filter:
    apply_when: Rule
    query: Any
    projection: Any


@dataclass(frozen=True)
class Policy:
    """The rules of one collection (or a data source's default rule)."""

    roles: tuple[Role, ...] = ()
    filters: tuple[Filter, ...] = ()
    file: str = ""


NOBODY = Policy()  # no rules.json and no default_rule.json: a user may do nothing


def compile_policy(roles: Any, filters: Any, file: str) -> Policy:
    """A collection's compiled rules; ``UnsupportedRule`` with every problem (JSON paths)."""
    problems: list[tuple[str, str]] = []
    compiled = tuple(_role(role, json_path("$.roles", index), problems) for index, role in enumerate(roles))
    found = tuple(_filter(item, json_path("$.filters", index), problems) for index, item in enumerate(filters))
    if problems:
        raise UnsupportedRule(problems)
    return Policy(compiled, found, file)


def _role(raw: Any, at: str, problems: list[tuple[str, str]]) -> Role:
    if not isinstance(raw, Mapping):
        problems.append((at, f"{show(raw)} is not a role; allowed: a JSON object"))
        return Role("", NEVER, {})
    actions = {action: expression(raw.get(action, False), json_path(at, action), problems) for action in ACTIONS}
    filters = raw.get("document_filters") or {}
    for key in ("read", "write"):
        _check_filter(filters.get(key) if isinstance(filters, Mapping) else None, json_path(json_path(at, "document_filters"), key), problems)
    fields = raw.get("fields") or {}
    compiled_fields = {}
    for name, rules in (fields.items() if isinstance(fields, Mapping) else ()):
        compiled_fields[name] = _read_write(rules, json_path(json_path(at, "fields"), name), problems)
    additional = _read_write(raw.get("additional_fields") or {}, json_path(at, "additional_fields"), problems)
    return Role(str(raw.get("name", "")), expression(raw.get("apply_when", {}), json_path(at, "apply_when"), problems),
                actions, filters.get("read") if isinstance(filters, Mapping) else None,
                filters.get("write") if isinstance(filters, Mapping) else None, compiled_fields, additional)


def _read_write(raw: Any, at: str, problems: list[tuple[str, str]]) -> tuple[Rule, Rule]:
    if not isinstance(raw, Mapping):
        problems.append((at, f"{show(raw)} is not a field rule; allowed: {{\"read\": ..., \"write\": ...}}"))
        return NEVER, NEVER
    return (expression(raw.get("read", False), json_path(at, "read"), problems),
            expression(raw.get("write", False), json_path(at, "write"), problems))


def _filter(raw: Any, at: str, problems: list[tuple[str, str]]) -> Filter:
    if not isinstance(raw, Mapping):
        problems.append((at, f"{show(raw)} is not a filter; allowed: a JSON object"))
        return Filter(NEVER, None, None)
    _check_filter(raw.get("query"), json_path(at, "query"), problems)
    return Filter(expression(raw.get("apply_when", {}), json_path(at, "apply_when"), problems), raw.get("query"), raw.get("projection"))


def _check_filter(value: Any, at: str, problems: list[tuple[str, str]]) -> None:
    """A document filter is a MongoDB query the database runs; its ``%%`` strings must be
    ``%%user``/``%%request`` expansions or ``%%true``/``%%false`` (they are filled in per call)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and key.startswith("%"):
                problems.append((json_path(at, key), f"{describe_key(key)} is not supported in a document filter; "
                                                     "allowed: a MongoDB query whose values may be %%user or %%request expansions"))
            _check_filter(item, json_path(at, key), problems)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_filter(item, json_path(at, index), problems)
    elif isinstance(value, str) and value.startswith("%%") and value not in ("%%true", "%%false") \
            and value.split(".", 1)[0] not in ("%%user", "%%request"):
        problems.append((at, f"{quote(value)} is not supported in a document filter; allowed: %%user[.path], "
                             "%%request.<field>, %%true, %%false"))


def expression(raw: Any, at: str, problems: list[tuple[str, str]]) -> Rule:
    """A rule expression (the module's grammar) compiled to a ``Rule``; problems appended."""
    if raw is True or raw == "%%true":
        return ALWAYS
    if raw is False or raw == "%%false":
        return NEVER
    if not isinstance(raw, Mapping):
        problems.append((at, f"{show(raw)} is not a rule expression; allowed: {_ALLOWED}"))
        return NEVER
    checks: list[Check] = []
    groups: list[tuple[Rule, ...]] = []
    for key, value in raw.items():
        where = json_path(at, key)
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value:
                problems.append((where, f"{show(value)} is not a non-empty array; allowed: an array of expressions"))
                continue
            parts = tuple(expression(item, json_path(where, index), problems) for index, item in enumerate(value))
            if key == "$or":
                groups.append(parts)
            else:
                for part in parts:
                    checks.extend(part.checks)
                    groups.extend(part.any_of)
                    if part.never:
                        checks.append(_NEVER_CHECK)
            continue
        check = _field(key, value, where, problems)
        if check is not None:
            checks.append(check)
    return Rule(tuple(checks), any_of=tuple(groups)) if checks or groups else ALWAYS


_NEVER_CHECK = Check("false", "$in", "", literals=literals_of([]), root="never")  # $in [] never holds


def _place(key: Any, where: str, problems: list[tuple[str, str]]) -> dict[str, Any] | None:
    """Where a field (or an expansion value) reads: root, key, header, rest."""
    if not isinstance(key, str) or not key:
        problems.append((where, f"the key {quote(key)} names no field; allowed: {_ALLOWED}"))
        return None
    if key.startswith("%%request."):
        found = target(key, where, problems)
        return None if found is None else {"root": "request", "key": found.key, "header": found.header, "rest": ()}
    if key.startswith("%%"):
        head, _, rest = key[2:].partition(".")
        if head not in ROOTS or head == "request":
            problems.append((where, f"{describe_key(key)} is not supported; allowed: {_ALLOWED}"))
            return None
        parts = tuple(rest.split(".")) if rest else ()
        return {"root": head, "key": parts[0] if parts else "", "header": None, "rest": parts[1:]}
    if key.startswith(("$", "%")):
        problems.append((where, f"{describe_key(key)} is not supported; allowed: {_ALLOWED}"))
        return None
    parts = tuple(key.split("."))
    return {"root": "root", "key": parts[0], "header": None, "rest": parts[1:]}


def _field(key: Any, value: Any, where: str, problems: list[tuple[str, str]]) -> Check | None:
    place = _place(key, where, problems)
    if place is None:
        return None
    operator, operand = "$eq", value
    if isinstance(value, Mapping) and any(isinstance(k, str) and k.startswith(("$", "%")) for k in value):
        if len(value) != 1 or next(iter(value)) not in OPERATORS:
            keys = ", ".join(quote(k) for k in value)
            problems.append((where, f"the operator object ({keys}) is not supported; allowed: exactly one of {', '.join(OPERATORS)}"))
            return None
        ((operator, operand),) = value.items()
        where = json_path(where, operator)
    base = {"path": str(key), "operator": operator, **place}
    if operator == "$exists":
        if not isinstance(operand, bool):
            problems.append((where, f"{show(operand)} is not a boolean; allowed: true, false"))
            return None
        return Check(**base, exists=operand)
    if isinstance(operand, str) and operand.startswith("%%") and operand not in ("%%true", "%%false"):
        source = _place(operand, where, problems)
        if source is None:
            return None
        if source["header"] is not None:
            problems.append((where, f"{quote(operand)}: a header is not supported as an operand; allowed: {_ALLOWED}"))
            return None
        return Check(**base, operand=(source["root"], *((source["key"],) if source["key"] else ()), *source["rest"]))
    if operator in ("$in", "$nin"):
        if not isinstance(operand, list):
            problems.append((where, f"{show(operand)} is not an array; allowed: an array of literals, or an expansion"))
            return None
        values = operand
    else:
        values = [operand]
    if any(isinstance(v, str) and v.startswith("%%") and v not in ("%%true", "%%false") for v in values):
        problems.append((where, f"an expansion inside {operator}'s array is not supported; allowed: literals, or one expansion"))
        return None
    values = [True if v == "%%true" else False if v == "%%false" else v for v in values]
    return Check(**base, literals=literals_of(values))


# --- decisions over one document ---------------------------------------------------------------

def role_for(policy: Policy, scope: Mapping[str, Any]) -> Role | None:
    """The first role whose ``apply_when`` holds (``scope``: user, request, root = the document)."""
    for role in policy.roles:
        if role.apply_when.holds_in(scope):
            return role
    return None


def permits(role: Role | None, action: str, scope: Mapping[str, Any]) -> bool:
    if role is None:
        return False
    if role.actions[action].holds_in(scope):
        return True
    return action in ("read", "search") and role.actions["write"].holds_in(scope)  # write implies read


def visible(role: Role, document: Mapping[str, Any], scope: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``document`` ``role`` may read (all of them with a document-level grant)."""
    if permits(role, "read", scope):
        return dict(document)
    shown: dict[str, Any] = {}
    for name, value in document.items():
        read, write = role.fields.get(name, role.additional)
        if name == "_id" or read.holds_in(scope) or write.holds_in(scope):
            shown[name] = value
    return shown


def may_write_fields(role: Role, names: set[str], scope: Mapping[str, Any]) -> bool:
    if role.actions["write"].holds_in(scope):
        return True
    return all(role.fields.get(name, role.additional)[1].holds_in(scope) for name in names)


def readable_at_all(role: Role, scope: Mapping[str, Any]) -> bool:
    """Whether the role may read anything of the document (a document-level grant or some field)."""
    return permits(role, "read", scope) or any(r.holds_in(scope) or w.holds_in(scope)
                                                for r, w in (*role.fields.values(), role.additional))


def expand(value: Any, scope: Mapping[str, Any]) -> Any:
    """A document filter with its ``%%user``/``%%request`` expansions and ``%%true``/``%%false`` filled in."""
    if isinstance(value, Mapping):
        return {key: expand(item, scope) for key, item in value.items()}
    if isinstance(value, list):
        return [expand(item, scope) for item in value]
    if value == "%%true":
        return True
    if value == "%%false":
        return False
    if isinstance(value, str) and value.startswith("%%"):
        return resolve(scope, tuple(value[2:].split(".")))
    return value
