"""The arguments a function sees: ``payload``/``request`` and ``context.request`` (contract §3).

Owns: Go's header-name canonicalisation and query parsing, removing ``secret`` from the query,
and turning raw request values (method, URL, query, header pairs, body bytes, peer address)
into plain dicts, lists, strings and bytes. Must not: see aiohttp objects, do I/O, parse JSON
or build guest objects (BSON.Binary wrapping is the worker's job).
"""

from __future__ import annotations

import string
from typing import Any
from urllib.parse import unquote_to_bytes

from runtime.contract.call_spec import Kind
from runtime.contract.http_token import TOKEN

_HEX = frozenset(string.hexdigits.encode("ascii"))
_FORM_TYPE = "application/x-www-form-urlencoded"
_FORM_METHODS = frozenset({"POST", "PUT", "PATCH"})  # Go's Request.ParseForm reads bodies only for these
_DROPPED_HEADERS = frozenset({"Host", "Transfer-Encoding"})  # Go's server moves these out of Header


_CANONICAL_CACHE: dict[str, str] = {}
_CANONICAL_CACHE_SIZE = 4096  # header names repeat from request to request; a bound keeps it small


def canonical_header_key(name: str) -> str:
    """Go's ``textproto.CanonicalMIMEHeaderKey``: upper-case the first letter and each letter
    after ``-``, lower-case the rest; a name holding a space or any non-token byte (including
    non-ASCII) is returned unchanged."""
    cached = _CANONICAL_CACHE.get(name)
    if cached is not None:
        return cached
    key = "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-")) if TOKEN.issuperset(name) else name
    if len(_CANONICAL_CACHE) < _CANONICAL_CACHE_SIZE:
        _CANONICAL_CACHE[name] = key
    return key


def parse_query(raw: str) -> list[tuple[str, str]]:
    """Go's ``url.ParseQuery``, in order: pairs split on ``&`` only; a pair holding ``;`` or a
    bad ``%`` escape is dropped (Go ≥ 1.17); ``+`` is a space; empty segments are skipped,
    blank keys and values kept. Decoded bytes that are not UTF-8 become U+FFFD."""
    return _parse_pairs(raw.encode("utf-8", "surrogateescape"))


def strip_secret(raw_query: str) -> tuple[str | None, str | None]:
    """``(rawQueryString, secret)``: the query without any pair whose decoded key is exactly
    ``secret`` (other pairs kept byte for byte, in order; None if nothing is left), and the first
    such pair's decoded value (None if there is none). Contract §2.2, §3.3."""
    kept: list[str] = []
    secret: str | None = None
    for segment in raw_query.split("&"):
        pair = _parse_pair(segment.encode("utf-8", "surrogateescape"))
        if pair is not None and pair[0] == "secret":
            if secret is None:
                secret = pair[1]
            continue
        kept.append(segment)
    remaining = "&".join(kept)
    return (remaining or None), secret


def decode_header_pairs(raw: Any) -> list[tuple[str, str]]:
    """Header lines as sent (bytes pairs) → str pairs, as Go hands them over (bad UTF-8 replaced)."""
    return [(n.decode("utf-8", "replace"), v.decode("utf-8", "replace")) for n, v in raw]


def header_map(headers: list[tuple[str, str]]) -> dict[str, list[str]]:
    """The request's headers as Go's ``http.Header``: canonical name → its values, in order."""
    return _header_map(headers)


def header_map_of_lines(raw: Any) -> dict[str, list[str]]:
    """``header_map(decode_header_pairs(raw))`` in one pass, with no list of pairs between (the
    worker makes it for every call)."""
    header_map: dict[str, list[str]] = {}
    for name, value in raw:
        key = canonical_header_key(name.decode("utf-8", "replace"))
        if key not in _DROPPED_HEADERS:
            values = header_map.get(key)
            if values is None:
                header_map[key] = [value.decode("utf-8", "replace")]
            else:
                values.append(value.decode("utf-8", "replace"))
    return header_map


def build_context_request(*, method: str, url: str, raw_query: str, headers: list[tuple[str, str]] | dict[str, list[str]],
                          remote: str, kind: Kind, route: str) -> dict[str, Any]:
    """``context.request`` (§3.3) as plain data. ``raw_query`` has had its ``secret`` removed
    (the call pipeline does it once); ``webhookUrl`` is the route for endpoints and ``url``
    without its query for webhooks. ``headers``: the pairs, or their ``header_map`` already made."""
    header_map = headers if type(headers) is dict else _header_map(headers)  # type: ignore[arg-type]
    return {
        "remoteIPAddress": remote,
        "requestHeaders": {name: list(values) for name, values in header_map.items()},
        "webhookUrl": route if kind == "endpoint" else url.split("#", 1)[0].split("?", 1)[0],
        "httpMethod": method,
        "rawQueryString": raw_query or None,
        "httpReferrer": _first(header_map, "Referer"),
        "httpUserAgent": _first(header_map, "User-Agent"),
        "service": None,
        "action": None,
    }


def build_argument(*, method: str, raw_query: str, headers: list[tuple[str, str]] | dict[str, list[str]], body: bytes,
                   kind: Kind, service_type: str) -> dict[str, Any] | bytes:
    """The function's first argument as plain data (§3.1, §3.2), from a query whose ``secret``
    was removed:

    * endpoints and ``http`` webhooks: ``{"query": {key: first value}, "headers":
      {Canonical-Name: [values]}, "body": bytes | None}``; a form body's fields join ``query``
      for POST/PUT/PATCH, the URL query winning a clash; a zero-length body is None;
    * ``twilio`` webhooks: ``{field: first value}`` parsed from the body as a form;
    * ``github`` webhooks: the raw body bytes, which the engine parses as the JSON event.
    """
    if kind == "webhook" and service_type == "github":
        return body
    if kind == "webhook" and service_type == "twilio":
        return _first_values(_parse_pairs(body))
    header_map = headers if type(headers) is dict else _header_map(headers)  # type: ignore[arg-type]
    query = _first_values(parse_query(raw_query))
    if method in _FORM_METHODS and body and _media_type(_first(header_map, "Content-Type")) == _FORM_TYPE:
        for key, value in _first_values(_parse_pairs(body)).items():
            query.setdefault(key, value)
    return {"query": query, "headers": header_map, "body": body or None}


def _parse_pairs(raw: bytes) -> list[tuple[str, str]]:
    pairs = []
    for segment in raw.split(b"&"):
        pair = _parse_pair(segment)
        if pair is not None:
            pairs.append(pair)
    return pairs


def _parse_pair(segment: bytes) -> tuple[str, str] | None:
    if not segment or b";" in segment:
        return None
    key, _, value = segment.partition(b"=")
    decoded_key, decoded_value = _unescape(key), _unescape(value)
    if decoded_key is None or decoded_value is None:
        return None
    return decoded_key, decoded_value


def _unescape(part: bytes) -> str | None:
    """Go's ``QueryUnescape``: None when a ``%`` is not followed by two hex digits."""
    at = part.find(b"%")
    while at != -1:
        if at + 2 >= len(part) or part[at + 1] not in _HEX or part[at + 2] not in _HEX:
            return None
        at = part.find(b"%", at + 3)
    return unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8", "replace")


def _first_values(pairs: list[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in pairs:
        values.setdefault(key, value)
    return values


def _header_map(headers: list[tuple[str, str]]) -> dict[str, list[str]]:
    header_map: dict[str, list[str]] = {}
    for name, value in headers:
        key = canonical_header_key(name)
        if key not in _DROPPED_HEADERS:
            header_map.setdefault(key, []).append(value)
    return header_map


def _first(header_map: dict[str, list[str]], name: str) -> str | None:
    values = header_map.get(name)
    return values[0] if values else None


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()
