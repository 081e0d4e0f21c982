"""Comparing a legacy webhook's answer with its converted endpoint's: the pure core of ``atlas-fn diff``.

Owns: ``Observed`` (status, header lines, body bytes) and ``compare``, which lists every
difference in status, headers (names case-insensitive, every value in order) and body —
EJSON-aware, so the same value in canonical EJSON and in JSON is "the same value, in another
format" — and names the differences the contract documents (``KNOWN``). No I/O.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterable

from runtime.contract import validation
from runtime.values import ejson
from runtime.values.shown import json_path, shorten

IGNORED_HEADERS = ("Date", "Server", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive")
_IGNORED = frozenset(name.lower() for name in IGNORED_HEADERS)
SIGNATURE_HEADERS = (validation.WEBHOOK_SIGNATURE_HEADER, validation.ENDPOINT_SIGNATURE_HEADER)
_ERROR_KEYS = {"error", "error_code", "link"}

KNOWN = {
    "respond_result": "known (contract §4.2): with respond_result an endpoint sends the return value when setBody "
                      "was not called; a webhook whose response was touched sends only a setBody body",
    "no_content": "known (contract §4.2): an endpoint that neither touches the response nor has respond_result "
                  "answers 204 No Content, a webhook 200",
    "format": "known (contract §4.3): webhooks send canonical EJSON, endpoints JSON unless return_type or the "
              "Accept header asks for EJSON",
    "signature_header": "known (contract §2.3): the signature header is X-Hook-Signature for webhooks, "
                        "Endpoint-Signature for endpoints, and the function sees it among the headers",
    "webhook_url": "known (contract §3.3): context.request.webhookUrl is the absolute URL for a webhook, the "
                   "route for an endpoint",
    "manual_port": "known (contract §6): not converted, port by hand: their payload shape changes (GitHub sends "
                   "the parsed event, Twilio the parsed form; an endpoint receives {query, headers, body})",
    "head": "not converted, port by hand: endpoints take no HEAD method (atlas-fn migrate)",
}



@dataclass(frozen=True)
class Observed:
    """One HTTP answer as received: status, header lines in order, raw body bytes."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True)
class Difference:
    part: str  # "status", "header" or "body"
    name: str  # the header name; "" otherwise
    webhook: str  # how the webhook's side is shown
    endpoint: str
    note: str = ""  # what exactly differs
    known: str | None = None  # the KNOWN key(s), "+"-joined, when the contract documents this difference

    @property
    def known_text(self) -> str | None:
        return " ".join(KNOWN[key] for key in self.known.split("+")) if self.known else None


def compare(webhook: Observed, endpoint: Observed, *, respond_result: bool = False, webhook_url_path: str = "",
            endpoint_url_path: str = "") -> list[Difference]:  # fmt: skip
    """Every difference between two answers to the same request, status then headers then body.

    ``respond_result`` is the endpoint's; the URL paths let an error message that names its own
    URL compare equal."""
    differences = []
    same_status = webhook.status == endpoint.status
    body = _compare_bodies(webhook.body, endpoint.body, respond_result and same_status, webhook_url_path,
                           endpoint_url_path)
    if webhook.status != endpoint.status:
        known = None
        if webhook.status == 200 and endpoint.status == 204 and not webhook.body and not endpoint.body:
            known = "no_content"
        differences.append(Difference("status", "", str(webhook.status), str(endpoint.status), known=known))
    differences += _compare_headers(webhook.headers, endpoint.headers, body is not None and body.known == "respond_result")
    if body is not None:
        differences.append(body)
    return differences


def _header_values(headers: Iterable[tuple[str, str]]) -> dict[str, tuple[str, list[str]]]:
    found: dict[str, tuple[str, list[str]]] = {}
    for name, value in headers:
        found.setdefault(name.lower(), (name, []))[1].append(value)
    return found


def _compare_headers(webhook: Iterable[tuple[str, str]], endpoint: Iterable[tuple[str, str]],
                     respond_result_body: bool) -> list[Difference]:  # fmt: skip
    ours, theirs = _header_values(webhook), _header_values(endpoint)
    differences = []
    for key in [*ours, *(key for key in theirs if key not in ours)]:
        if key in _IGNORED:
            continue
        name, left = ours.get(key, ("", []))
        other, right = theirs.get(key, ("", []))
        if left == right:
            continue
        if not left or not right:
            note = f"only in the {'endpoint' if not left else 'webhook'}'s answer"
        elif sorted(left) == sorted(right):
            note = "the same values in a different order"
        else:
            note = "the values differ"
        known = "respond_result" if key == "content-type" and not left and respond_result_body else None
        differences.append(Difference("header", name or other, _show_values(left), _show_values(right), note, known))
    return differences


def _show_values(values: list[str]) -> str:
    return " | ".join(values) if values else "(absent)"


def _compare_bodies(webhook: bytes, endpoint: bytes, respond_result: bool, webhook_url_path: str,
                    endpoint_url_path: str) -> Difference | None:  # fmt: skip
    """``respond_result``: the endpoint has it and both answers have the same status, so an
    endpoint body beside an empty webhook body is the return value (§4.2)."""
    if webhook == endpoint:
        return None
    left, right = show_body(webhook), show_body(endpoint)
    if not webhook and respond_result:
        return Difference("body", "", left, right, "the webhook sent no body; the endpoint sent the return value",
                          "respond_result")
    values = _parsed(webhook), _parsed(endpoint)
    if values[0] is _NOT_JSON or values[1] is _NOT_JSON:
        return Difference("body", "", left, right, _first_difference(webhook, endpoint))
    a, b = values
    if _is_envelope(a) and _is_envelope(b):
        a, b = _normalised_envelope(a, webhook_url_path), _normalised_envelope(b, endpoint_url_path)
        if _same(a, b):
            return None
    if _same(a, b) or _same(_as_json(a), _as_json(b)):
        formats = _format_of(webhook, a), _format_of(endpoint, b)
        known = "format" if set(formats) == {"EJSON", "JSON"} else None
        return Difference("body", "", left, right, f"same value, different format ({formats[0]} vs {formats[1]})", known)
    paths: list[tuple[str, Any, Any]] = []
    _differing_paths(_as_json(a), _as_json(b), "$", paths)
    kinds = {_known_path(path) for path, _, _ in paths}
    known = None if None in kinds or not kinds else "+".join(sorted(kinds))  # type: ignore[arg-type]
    shown = "; ".join(f"{path}: {show_json(x)} vs {show_json(y)}" for path, x, y in paths[:8])
    more = f"; and {len(paths) - 8} more" if len(paths) > 8 else ""
    return Difference("body", "", left, right, f"the values differ at {shown}{more}", known)


_NOT_JSON = object()
_MISSING = object()


def _parsed(data: bytes) -> Any:
    if not data:
        return _NOT_JSON
    try:
        return ejson.parse(data)
    except (ValueError, TypeError):
        return _NOT_JSON


def _as_json(value: Any) -> Any:
    """The value as App Services' JSON mapping writes it, read back (contract §4.3)."""
    try:
        return json.loads(ejson.to_json(value))
    except (ValueError, TypeError):
        return value


def _format_of(data: bytes, value: Any) -> str:
    text = data.decode("utf-8")
    for name, write in (("EJSON", ejson.to_canonical), ("JSON", ejson.to_json), ("relaxed EJSON", ejson.to_relaxed)):
        try:
            if write(value) == text:
                return name
        except (ValueError, TypeError):
            continue
    return "other JSON text"


def _is_envelope(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == _ERROR_KEYS


def _normalised_envelope(value: dict[str, Any], url_path: str) -> dict[str, Any]:
    error = value["error"]
    if isinstance(error, str) and url_path:
        error = error.replace(url_path, "<url path>")
    return {"error": error, "error_code": value["error_code"]}


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON values: booleans are not numbers, 1 equals 1.0, object key order is free."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return (isinstance(a, type(b)) or isinstance(b, type(a))) and a == b


def _differing_paths(a: Any, b: Any, path: str, out: list[tuple[str, Any, Any]]) -> None:
    if _same(a, b):
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(key for key in b if key not in a)]:
            _differing_paths(a.get(key, _MISSING), b.get(key, _MISSING), json_path(path, key), out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for index, (x, y) in enumerate(zip(a, b)):
            _differing_paths(x, y, json_path(path, index), out)
    else:
        out.append((path, a, b))


def _known_path(path: str) -> str | None:
    last = re.split(r"[.\[]", path)[-1].rstrip("]").strip('"')
    if last in SIGNATURE_HEADERS:
        return "signature_header"
    if last == "webhookUrl":
        return "webhook_url"
    return None


def show_json(value: Any, limit: int = 80) -> str:
    if value is _MISSING:
        return "(absent)"
    return shorten(json.dumps(value, ensure_ascii=False), limit)


def show_body(data: bytes) -> str:
    """A body for the report: its text as sent (shortened; backslash and line breaks escaped)
    with its length, or a note on bytes that are not UTF-8."""
    if not data:
        return "(empty)"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return f"{len(data)} bytes, not UTF-8 (starts {data[:12].hex()})"
    shown = shorten(text, 120).replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f"{shown} ({len(data)} bytes)"


def _first_difference(a: bytes, b: bytes) -> str:
    at = next((index for index, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return f"the bytes differ from offset {at}"
