"""``can_evaluate``: the rule a request must satisfy before its function runs (contract §2.6).

Owns: checking a rule expression once, at startup, against the supported subset and compiling
it into a frozen ``Rule``; evaluating that ``Rule`` against the plain ``context.request`` dict
(§3.3) that ``runtime.contract.request`` builds; ANDing an endpoint's rule with its function's.
The one evaluator of rule expressions: data rules (``runtime.contract.data_rules``, issue 13)
compile to the same ``Rule``/``Check`` and are evaluated here over a scope of expansions
(``Rule.holds_in``: ``%%request``, ``%%user``, ``%%root``, ``%%this``, ``%%prev``; ``resolve``).
Must not: raise while evaluating (any dict shape gets an answer), put an operand value into a
message (rules often hold a shared secret, as in §2.6's ``x-secret-key`` example), choose the
HTTP answer (the caller raises ``NoMatchingRule``, 401 ``NoMatchingRuleFound``, §5), do I/O, or
import the rest of ``runtime`` except ``runtime.values.shown``, ``runtime.errors`` and its own
helpers ``runtime.contract.request_fields`` (the §2.6 field names) and ``rule_messages``.

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

from dataclasses import dataclass, field
from typing import Any, Mapping

from runtime.contract.request_fields import ALLOWED_OPERATORS as _ALLOWED_OPERATORS
from runtime.contract.request_fields import OPERATOR_NAMES as _OPERATOR_NAMES
from runtime.contract.request_fields import STRING_FIELDS  # noqa: F401 - the fields, re-exported for callers
from runtime.contract.request_fields import Target as _Target
from runtime.contract.request_fields import target as _target
from runtime.contract.rule_messages import describe_key, describe_object, header_value, literal_string, quote, show
from runtime.errors import UnsupportedRule
from runtime.values.shown import json_path

_NEGATED = frozenset({"$ne", "$nin"})


@dataclass(frozen=True)
class _Literals:
    """The values a check compares with: strings, ``null``, (headers) string arrays, and for data
    rules any other value (``others``: numbers, booleans, objects), compared type for type."""

    strings: frozenset[str] = frozenset()
    null: bool = False
    arrays: tuple[tuple[Any, ...], ...] = ()
    others: tuple[Any, ...] = ()

    def equal(self, value: Any) -> bool:
        if isinstance(value, str):
            return value in self.strings
        if value is None:
            return self.null
        if self.arrays and isinstance(value, (list, tuple)) and tuple(value) in self.arrays:
            return True  # a tuple scan: == per element, no hashing
        for other in self.others:
            if _same(value, other):
                return True
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


def literals_of(values: list[Any]) -> _Literals:
    """The literals of ``values`` as they come (an expansion's value, a data rule's operand)."""
    return _Literals(frozenset(v for v in values if isinstance(v, str)), any(v is None for v in values),
                     tuple(tuple(v) for v in values if isinstance(v, (list, tuple))),
                     tuple(v for v in values if v is not None and not isinstance(v, (str, list, tuple))))


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same kind: a boolean never equals a number (MongoDB's order of types)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


@dataclass(frozen=True)
class Check:
    """One ANDed field of a rule: ``%%<root>.<key>[.<rest>]`` with ``operator`` (``$eq`` for a
    literal). ``can_evaluate`` checks read ``%%request``; data rules (``runtime.contract.data_rules``)
    also ``%%user``, ``%%root``, ``%%this``, ``%%prev``, and may compare with an expansion
    (``operand``: its root and path, resolved when the check is evaluated)."""

    path: str = field(compare=False)  # as written after "%%request.", e.g. "headers.x-secret-key"
    operator: str
    key: str  # the context.request key: "httpMethod", "requestHeaders", ... ("" for the root itself)
    header: str | None = None  # the lower-cased header name when key is "requestHeaders"
    literals: _Literals | None = field(default=None, repr=False)  # None for $exists
    exists: bool = False
    root: str = "request"
    rest: tuple[str, ...] = ()  # further path segments under key
    operand: tuple[str, ...] | None = None  # an expansion compared with: (root, *path)
    negated: bool = field(init=False, repr=False, compare=False)  # $ne, $nin

    def __post_init__(self) -> None:
        object.__setattr__(self, "negated", self.operator in _NEGATED)

    def holds(self, context_request: Mapping[str, Any]) -> bool:
        value = context_request.get(self.key)
        if self.header is not None:
            value = _header(value, self.header)
        return self._compare(value, None)

    def holds_in(self, scope: Mapping[str, Any]) -> bool:
        """The check over ``scope`` (root name → value: ``request``, ``user``, ``root``, ``prev``…)."""
        base = scope.get(self.root)
        value = (base.get(self.key) if isinstance(base, Mapping) else None) if self.key else base
        if self.header is not None:
            value = _header(value, self.header)
        return self._compare(walk(value, self.rest), scope)

    def _compare(self, value: Any, scope: Mapping[str, Any] | None) -> bool:
        if self.literals is None and self.operand is None:
            return (value is not None) is self.exists
        literals = self.literals
        if self.operand is not None:
            found = resolve(scope or {}, self.operand)
            listed = list(found) if self.operator in ("$in", "$nin") and isinstance(found, (list, tuple)) else [found]
            literals = literals_of(listed)
        assert literals is not None
        return literals.matches(value) is not self.negated


@dataclass(frozen=True)
class Rule:
    """A compiled ``can_evaluate`` expression (contract §2.6) or data-rule expression: all
    ``checks`` must hold, and in each ``any_of`` group (a data rule's ``$or``) some rule.

    ``never`` is the ``false`` rule. Build rules with ``compile_rule`` and ``combine``.
    """

    checks: tuple[Check, ...] = ()
    never: bool = False
    any_of: tuple[tuple["Rule", ...], ...] = ()

    @property
    def always(self) -> bool:
        """True for ``{}`` and ``true``: every request is allowed, so the caller may skip it."""
        return not self.never and not self.checks and not self.any_of

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

    def holds_in(self, scope: Mapping[str, Any]) -> bool:
        """A data rule over ``scope`` (``Check.holds_in``); no input shape raises."""
        if self.never:
            return False
        for check in self.checks:
            if not check.holds_in(scope):
                return False
        return all(any(rule.holds_in(scope) for rule in group) for group in self.any_of)


def resolve(scope: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value of an expansion ``%%<root>.<path>`` in ``scope`` (None when absent)."""
    return walk(scope.get(path[0]), path[1:]) if path else None


def walk(value: Any, parts: tuple[str, ...]) -> Any:
    """A dotted path into plain data: object keys, array indexes, and through arrays of objects
    (MongoDB's ``a.b`` over ``a: [{b: 1}, {b: 2}]`` is ``[1, 2]``)."""
    for part in parts:
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, (list, tuple)):
            if part.isdigit():
                value = value[int(part)] if int(part) < len(value) else None
            else:
                value = [element.get(part) for element in value if isinstance(element, Mapping)]
        else:
            return None
    return value


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
        text = f"{show(expression)} is not a rule expression; allowed: a JSON object, true, false"
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


def _compile_field(key: Any, value: Any, path: str, problems: list[tuple[str, str]]) -> Check | None:
    target = _target(key, path, problems)
    if target is None:
        return None
    if isinstance(value, Mapping) and any(isinstance(k, str) and k.startswith(("$", "%")) for k in value):
        return _compile_operator(target, value, path, problems)
    allowed = f"{target.operand}, or {_ALLOWED_OPERATORS}"
    literals = _literals([(value, path)], target, allowed, problems)
    return None if literals is None else Check(target.path, "$eq", target.key, target.header, literals)


def _compile_operator(
    target: _Target, value: Mapping[Any, Any], path: str, problems: list[tuple[str, str]]
) -> Check | None:
    if len(value) != 1:
        keys = ", ".join(quote(k) for k in value)
        text = f"an operator object with {len(value)} keys ({keys}) is not supported; allowed: {_ALLOWED_OPERATORS}"
        problems.append((path, text))
        return None
    ((operator, operand),) = value.items()
    at = json_path(path, operator)
    if operator in ("$eq", "$ne"):
        literals = _literals([(operand, at)], target, target.operand, problems)
    elif operator in ("$in", "$nin"):
        if not isinstance(operand, list):
            problems.append((at, f"{show(operand)} is not an array; allowed: an array of {_plural(target)}"))
            return None
        items = [(item, json_path(at, index)) for index, item in enumerate(operand)]
        literals = _literals(items, target, target.operand, problems)
    elif operator == "$exists":
        if not isinstance(operand, bool):
            problems.append((at, f"{show(operand)} is not a boolean; allowed: true, false"))
            return None
        return Check(target.path, operator, target.key, target.header, None, operand)
    else:
        problems.append((at, f"{describe_key(operator)} is not supported; allowed: {_OPERATOR_NAMES}"))
        return None
    return None if literals is None else Check(target.path, operator, target.key, target.header, literals)


def _plural(target: _Target) -> str:
    return "strings, nulls or arrays of strings" if target.header is not None else "strings or nulls"


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
            if literal_string(value, at, allowed, problems):
                strings.add(value)
        elif isinstance(value, list) and target.header is not None:
            elements = [(element, json_path(at, index)) for index, element in enumerate(value)]
            if all([header_value(element, where, problems) for element, where in elements]):
                arrays.append(tuple(value))
        else:
            what = describe_object(value) if isinstance(value, Mapping) else show(value)
            text = f"{what} can never equal {target.path}, which is {target.nature}; allowed: {allowed}"
            problems.append((at, text))
    if len(problems) > before:
        return None
    return _Literals(frozenset(strings), null, tuple(dict.fromkeys(arrays)))


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
