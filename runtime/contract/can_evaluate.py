"""``can_evaluate``: the rule a request must satisfy before its function runs (contract §2.6).

Owns: checking a rule expression once, at startup, against the supported subset and compiling
it into a frozen ``Rule``; evaluating that ``Rule`` against the plain ``context.request`` dict
(§3.3) that ``runtime.contract.request`` builds; ANDing an endpoint's rule with its function's.
Must not: raise while evaluating (any dict shape gets an answer), put an operand value into a
message (rules often hold a shared secret, as in §2.6's ``x-secret-key`` example), choose the
HTTP answer (the caller raises ``NoMatchingRule``, 401 ``NoMatchingRuleFound``, §5), do I/O, or
import the rest of ``runtime`` except ``runtime.values.shown`` and ``runtime.errors``.

Supported (Decision §2.6), anything else is an ``UnsupportedRule`` naming every problem:

* ``{}`` and ``true`` allow every request; ``false`` allows none;
* an object whose fields are ANDed, each ``"%%request.<field>"`` where ``<field>`` is one of
  ``remoteIPAddress``, ``requestHeaders.<name>``, ``headers.<name>``, ``webhookUrl``,
  ``httpMethod``, ``rawQueryString``, ``httpReferrer``, ``httpUserAgent``, ``service``,
  ``action`` (§3.3), and whose value is a literal (equality) or an object with exactly one of
  ``$eq``, ``$ne``, ``$in``, ``$nin``, ``$exists``.

Decisions where the contract is silent (MongoDB query semantics, INF §2.6):

* A field is absent when its key is missing or its value is None (§3.3 writes ``undefined``
  as None). Absent equals only ``null``; ``$exists: true`` means present, ``false`` absent.
* A field whose value is an array (a header's list of values) equals a literal when the whole
  array equals it (in order) or any element does; ``$in`` matches when any listed value
  matches so; ``$ne`` and ``$nin`` are exactly the negations of ``$eq`` and ``$in``.
* ``headers.<name>`` is ``requestHeaders.<name>``. Names compare ASCII-case-insensitively;
  when several keys of the dict match (only possible in a hand-built dict) their values are
  joined in dict order. A rule's header name must be an RFC 7230 token, as Go's server
  rejects any other name before App Services sees it.
* Literals that can never equal a request value are errors, not silently false rules: request
  fields are strings or absent, headers arrays of strings or absent, so a literal (or ``$eq``,
  ``$ne`` operand, or ``$in``/``$nin`` element) is a string or ``null``, or for a header also
  an array of strings. Numbers, booleans and objects are refused, as is any string starting
  with ``%%`` (an App Services expansion such as ``%%values.key``, which atlas-fn does not
  expand). ``$in: []`` and ``$nin: []`` are allowed (never, always). ``$exists`` takes a
  boolean only.
* Messages are ``<where><JSON path>: <what>; allowed: <what is allowed>``: keys are quoted as
  JSON (``$.can_evaluate["%%request.body"]``), operand values are shown by JSON type only
  (``runtime.values.shown.hidden``) except ``true``, ``false``, ``null`` and ``%%`` expansions.
* A problem in a field's key hides problems in its value (they depend on the field), and an
  operator object with several keys is one problem; every other problem is reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from runtime.contract import http_token
from runtime.values.shown import hidden, json_path
from runtime.errors import UnsupportedRule

PREFIX = "%%request."
OPERATORS = ("$eq", "$ne", "$in", "$nin", "$exists")
STRING_FIELDS = (
    "remoteIPAddress", "webhookUrl", "httpMethod", "rawQueryString", "httpReferrer", "httpUserAgent", "service",
    "action",
)  # fmt: skip
HEADER_FIELDS = ("requestHeaders", "headers")

_NEGATED = frozenset({"$ne", "$nin"})
_ALLOWED_FIELDS = (
    "remoteIPAddress, requestHeaders.<name>, headers.<name>, webhookUrl, httpMethod, rawQueryString, "
    "httpReferrer, httpUserAgent, service, action"
)
_ALLOWED_KEYS = f"a key {PREFIX}<field>, <field> one of {_ALLOWED_FIELDS}"
_OPERATOR_NAMES = ", ".join(OPERATORS)
_ALLOWED_OPERATORS = f"an object with exactly one of {_OPERATOR_NAMES}"
_ALLOWED_HEADER_NAME = f"a name of {http_token.ALLOWED_NAME}"


@dataclass(frozen=True)
class _Literals:
    """The values a check compares with: strings, ``null``, and (headers only) string arrays."""

    strings: frozenset[str] = frozenset()
    null: bool = False
    arrays: tuple[tuple[str, ...], ...] = ()

    def equal(self, value: Any) -> bool:
        if isinstance(value, str):
            return value in self.strings
        if value is None:
            return self.null
        if self.arrays and isinstance(value, (list, tuple)):
            return tuple(value) in self.arrays  # a tuple scan: == per element, no hashing
        return False

    def matches(self, value: Any) -> bool:
        """MongoDB equality: the value itself, or any element of an array value."""
        if self.equal(value):
            return True
        if isinstance(value, (list, tuple)):
            for element in value:
                if self.equal(element):
                    return True
        return False


@dataclass(frozen=True)
class Check:
    """One ANDed field of a rule: ``%%request.<path>`` with ``operator`` (``$eq`` for a literal)."""

    path: str = field(compare=False)  # as written after "%%request.", e.g. "headers.x-secret-key"
    operator: str
    key: str  # the context.request key: "httpMethod", "requestHeaders", ...
    header: str | None = None  # the lower-cased header name when key is "requestHeaders"
    literals: _Literals | None = field(default=None, repr=False)  # None for $exists
    exists: bool = False
    negated: bool = field(init=False, repr=False, compare=False)  # $ne, $nin

    def __post_init__(self) -> None:
        object.__setattr__(self, "negated", self.operator in _NEGATED)

    def holds(self, context_request: Mapping[str, Any]) -> bool:
        value = context_request.get(self.key)
        if self.header is not None:
            value = _header(value, self.header)
        if self.literals is None:
            return (value is not None) is self.exists
        return self.literals.matches(value) is not self.negated


@dataclass(frozen=True)
class Rule:
    """A compiled ``can_evaluate`` expression (contract §2.6): all ``checks`` must hold.

    ``never`` is the ``false`` rule. Build rules with ``compile_rule`` and ``combine``.
    """

    checks: tuple[Check, ...] = ()
    never: bool = False

    @property
    def always(self) -> bool:
        """True for ``{}`` and ``true``: every request is allowed, so the caller may skip it."""
        return not self.never and not self.checks

    def allows(self, context_request: Mapping[str, Any]) -> bool:
        """Whether the request's ``context.request`` dict (§3.3) satisfies the rule; a missing
        key is an absent field, and no input shape raises."""
        if self.never:
            return False
        if type(context_request) is not dict and not isinstance(context_request, Mapping):
            context_request = {}
        for check in self.checks:
            if not check.holds(context_request):
                return False
        return True


ALWAYS = Rule()
NEVER = Rule(never=True)


def compile_rule(expression: Any, where: str) -> Rule:
    """Check ``expression`` (a parsed ``can_evaluate`` value, contract §2.6) and compile it.

    ``where`` is the expression's JSON path in its file (``"$.can_evaluate"``,
    ``"$[4].can_evaluate"``); every message starts with it. Raises ``UnsupportedRule`` with
    every problem found.
    """
    if expression is True:
        return ALWAYS
    if expression is False:
        return NEVER
    if not isinstance(expression, Mapping):
        text = f"{_show(expression)} is not a rule expression; allowed: a JSON object, true, false"
        raise UnsupportedRule([(where, text)])
    problems: list[tuple[str, str]] = []
    checks: list[Check] = []
    for key, value in expression.items():
        check = _compile_field(key, value, json_path(where, key), problems)
        if check is not None:
            checks.append(check)
    if problems:
        raise UnsupportedRule(problems)
    return Rule(tuple(checks)) if checks else ALWAYS


def combine(*rules: Rule) -> Rule:
    """The AND of ``rules``, e.g. an endpoint's own rule and its function's manifest rule
    (§2.6: both places are accepted). Checks keep their order; repeated ones are dropped."""
    checks: dict[Check, None] = {}
    for rule in rules:
        if rule.never:
            return NEVER
        checks.update(dict.fromkeys(rule.checks))
    return Rule(tuple(checks)) if checks else ALWAYS


# --- compiling ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    path: str  # after "%%request."
    key: str
    header: str | None

    @property
    def nature(self) -> str:
        return "an array of strings or absent" if self.header is not None else "a string or absent"

    @property
    def operand(self) -> str:
        """What may be compared with the field."""
        return "a string, null or an array of strings" if self.header is not None else "a string or null"


def _compile_field(key: Any, value: Any, path: str, problems: list[tuple[str, str]]) -> Check | None:
    target = _target(key, path, problems)
    if target is None:
        return None
    if isinstance(value, Mapping) and any(isinstance(k, str) and k.startswith(("$", "%")) for k in value):
        return _compile_operator(target, value, path, problems)
    allowed = f"{target.operand}, or {_ALLOWED_OPERATORS}"
    literals = _literals([(value, path)], target, allowed, problems)
    return None if literals is None else Check(target.path, "$eq", target.key, target.header, literals)


def _target(key: Any, path: str, problems: list[tuple[str, str]]) -> _Target | None:
    if not isinstance(key, str):
        problems.append((path, f"the key {key!r} is not a string; allowed: {_ALLOWED_KEYS}"))
        return None
    if not key.startswith(PREFIX):
        if key == PREFIX[:-1]:
            problems.append((path, f"{_quote(key)} names no field; allowed: {_ALLOWED_KEYS}"))
        else:
            problems.append((path, f"{_describe_key(key)} is not supported; allowed: {_ALLOWED_KEYS}"))
        return None
    rest = key[len(PREFIX):]
    head, dot, name = rest.partition(".")
    if head in HEADER_FIELDS:
        if not name:
            problems.append((path, f"{_quote(key)} names no header; allowed: {PREFIX}{head}.<name>"))
            return None
        if not http_token.is_token(name):
            problems.append((path, f"{_quote(name)} is not a header name; allowed: {_ALLOWED_HEADER_NAME}"))
            return None
        return _Target(rest, "requestHeaders", name.lower())
    if head in STRING_FIELDS:
        if dot:
            problems.append((path, f"{head} is a string and has no field {_quote(name)}; allowed: {PREFIX}{head}"))
            return None
        return _Target(rest, head, None)
    problems.append((path, f"{_quote(head)} is not a context.request field; allowed: {_ALLOWED_FIELDS}"))
    return None


def _compile_operator(
    target: _Target, value: Mapping[Any, Any], path: str, problems: list[tuple[str, str]]
) -> Check | None:
    if len(value) != 1:
        keys = ", ".join(_quote(k) for k in value)
        text = f"an operator object with {len(value)} keys ({keys}) is not supported; allowed: {_ALLOWED_OPERATORS}"
        problems.append((path, text))
        return None
    ((operator, operand),) = value.items()
    at = json_path(path, operator)
    if operator in ("$eq", "$ne"):
        literals = _literals([(operand, at)], target, target.operand, problems)
    elif operator in ("$in", "$nin"):
        if not isinstance(operand, list):
            problems.append((at, f"{_show(operand)} is not an array; allowed: an array of {_plural(target)}"))
            return None
        items = [(item, json_path(at, index)) for index, item in enumerate(operand)]
        literals = _literals(items, target, target.operand, problems)
    elif operator == "$exists":
        if not isinstance(operand, bool):
            problems.append((at, f"{_show(operand)} is not a boolean; allowed: true, false"))
            return None
        return Check(target.path, operator, target.key, target.header, None, operand)
    else:
        problems.append((at, f"{_describe_key(operator)} is not supported; allowed: {_OPERATOR_NAMES}"))
        return None
    return None if literals is None else Check(target.path, operator, target.key, target.header, literals)


def _literals(
    items: list[tuple[Any, str]], target: _Target, allowed: str, problems: list[tuple[str, str]]
) -> _Literals | None:
    """The literals ``items`` (value, JSON path) compile to; None when any is reported."""
    before = len(problems)
    strings: set[str] = set()
    null = False
    arrays: list[tuple[str, ...]] = []
    for value, at in items:
        if value is None:
            null = True
        elif isinstance(value, str):
            if _literal_string(value, at, allowed, problems):
                strings.add(value)
        elif isinstance(value, list) and target.header is not None:
            elements = [(element, json_path(at, index)) for index, element in enumerate(value)]
            if all([_header_value(element, where, problems) for element, where in elements]):
                arrays.append(tuple(value))
        else:
            what = _object(value) if isinstance(value, Mapping) else _show(value)
            text = f"{what} can never equal {target.path}, which is {target.nature}; allowed: {allowed}"
            problems.append((at, text))
    if len(problems) > before:
        return None
    return _Literals(frozenset(strings), null, tuple(dict.fromkeys(arrays)))


def _literal_string(value: str, at: str, allowed: str, problems: list[tuple[str, str]]) -> bool:
    if value.startswith("%%"):
        problems.append((at, f"{_quote(value)} is an expansion, which is not supported; allowed: {allowed}"))
        return False
    return True


def _header_value(value: Any, at: str, problems: list[tuple[str, str]]) -> bool:
    if isinstance(value, str):
        return _literal_string(value, at, "a string", problems)
    problems.append((at, f"{_show(value)} is not a header value; allowed: a string"))
    return False


def _plural(target: _Target) -> str:
    return "strings, nulls or arrays of strings" if target.header is not None else "strings or nulls"


def _describe_key(key: str) -> str:
    if key.startswith("%%"):
        return f"the expansion {_quote(key)}"
    if key.startswith("%"):
        return f"the expression operator {_quote(key)}"
    if key.startswith("$"):
        return f"the operator {_quote(key)}"
    return f"the document field {_quote(key)}"


def _object(value: Mapping[Any, Any]) -> str:
    if not value:
        return "an empty object"
    return "an object with keys " + ", ".join(_quote(k) for k in value)


def _show(value: Any) -> str:
    """A value in a message: ``true``, ``false`` and ``null`` as such, anything else by type."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return hidden(value)


def _quote(text: Any) -> str:
    return json.dumps(text if isinstance(text, str) else str(text), ensure_ascii=False)


# --- evaluating --------------------------------------------------------------------------------


def _header(headers: Any, folded: str) -> Any:
    """The value of the header whose name is ``folded`` ignoring ASCII case; None if absent."""
    if type(headers) is not dict and not isinstance(headers, Mapping):
        return None
    size = len(folded)
    found: Any = None
    joined: list[Any] | None = None
    for name in headers:  # cheapest tests first: this runs per header per request
        if type(name) is not str or len(name) != size or not name.isascii() or name.lower() != folded:
            continue
        values = headers[name]
        if values is None:
            continue
        if found is None:
            found = values
        else:
            if joined is None:
                joined = _as_list(found)
            joined.extend(_as_list(values))
    return found if joined is None else joined


def _as_list(values: Any) -> list[Any]:
    return list(values) if isinstance(values, (list, tuple)) else [values]
