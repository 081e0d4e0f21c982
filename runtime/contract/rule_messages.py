"""How a rule expression's problems are written: keys quoted as JSON, values shown by type only.

Owns: the wording shared by the ``can_evaluate`` grammar (contract §2.6) and the data-rule grammar
(``runtime.contract.data_rules``): ``show`` (``true``/``false``/``null`` as such, any other value
by its JSON type, since rules often hold a shared secret), ``quote``, ``describe_key``,
``describe_object``, and the checks of a literal string and a header value. Must not evaluate
rules, do I/O, or put an operand's value into a message.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from runtime.values.shown import hidden


def literal_string(value: str, at: str, allowed: str, problems: list[tuple[str, str]]) -> bool:
    if value.startswith("%%"):
        problems.append((at, f"{quote(value)} is an expansion, which is not supported; allowed: {allowed}"))
        return False
    return True


def header_value(value: Any, at: str, problems: list[tuple[str, str]]) -> bool:
    if isinstance(value, str):
        return literal_string(value, at, "a string", problems)
    problems.append((at, f"{show(value)} is not a header value; allowed: a string"))
    return False


def describe_key(key: str) -> str:
    if key.startswith("%%"):
        return f"the expansion {quote(key)}"
    if key.startswith("%"):
        return f"the expression operator {quote(key)}"
    if key.startswith("$"):
        return f"the operator {quote(key)}"
    return f"the document field {quote(key)}"


def describe_object(value: Mapping[Any, Any]) -> str:
    if not value:
        return "an empty object"
    return "an object with keys " + ", ".join(quote(k) for k in value)


def show(value: Any) -> str:
    """A value in a message: ``true``, ``false`` and ``null`` as such, anything else by type."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    return hidden(value)


def quote(text: Any) -> str:
    return json.dumps(text if isinstance(text, str) else str(text), ensure_ascii=False)
