"""The ``%%request`` fields a ``can_evaluate`` rule may name (contract §2.6, §3.3), and how a rule's key names one.

Owns: ``PREFIX``, ``STRING_FIELDS``, ``HEADER_FIELDS``, ``OPERATORS`` and the "allowed" texts of
the §2.6 grammar; ``target(key, path, problems)`` — a key ``%%request.<field>`` read into a
``Target`` (the ``context.request`` key, the lower-cased header name), or a problem. Split from
``runtime.contract.can_evaluate`` (which compiles and evaluates the rules). Must not evaluate
rules, do I/O, or put an operand value into a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runtime.contract import http_token
from runtime.contract.rule_messages import describe_key, quote

PREFIX = "%%request."
OPERATORS = ("$eq", "$ne", "$in", "$nin", "$exists")
STRING_FIELDS = (
    "remoteIPAddress", "webhookUrl", "httpMethod", "rawQueryString", "httpReferrer", "httpUserAgent", "service",
    "action",
)  # fmt: skip
HEADER_FIELDS = ("requestHeaders", "headers")

ALLOWED_FIELDS = (
    "remoteIPAddress, requestHeaders.<name>, headers.<name>, webhookUrl, httpMethod, rawQueryString, "
    "httpReferrer, httpUserAgent, service, action"
)
ALLOWED_KEYS = f"a key {PREFIX}<field>, <field> one of {ALLOWED_FIELDS}"
OPERATOR_NAMES = ", ".join(OPERATORS)
ALLOWED_OPERATORS = f"an object with exactly one of {OPERATOR_NAMES}"
ALLOWED_HEADER_NAME = f"a name of {http_token.ALLOWED_NAME}"


@dataclass(frozen=True)
class Target:
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




def target(key: Any, path: str, problems: list[tuple[str, str]]) -> Target | None:
    if not isinstance(key, str):
        problems.append((path, f"the key {key!r} is not a string; allowed: {ALLOWED_KEYS}"))
        return None
    if not key.startswith(PREFIX):
        if key == PREFIX[:-1]:
            problems.append((path, f"{quote(key)} names no field; allowed: {ALLOWED_KEYS}"))
        else:
            problems.append((path, f"{describe_key(key)} is not supported; allowed: {ALLOWED_KEYS}"))
        return None
    rest = key[len(PREFIX):]
    head, dot, name = rest.partition(".")
    if head in HEADER_FIELDS:
        if not name:
            problems.append((path, f"{quote(key)} names no header; allowed: {PREFIX}{head}.<name>"))
            return None
        if not http_token.is_token(name):
            problems.append((path, f"{quote(name)} is not a header name; allowed: {ALLOWED_HEADER_NAME}"))
            return None
        return Target(rest, "requestHeaders", name.lower())
    if head in STRING_FIELDS:
        if dot:
            problems.append((path, f"{head} is a string and has no field {quote(name)}; allowed: {PREFIX}{head}"))
            return None
        return Target(rest, head, None)
    problems.append((path, f"{quote(head)} is not a context.request field; allowed: {ALLOWED_FIELDS}"))
    return None


