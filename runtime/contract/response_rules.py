"""Which response is sent: the §4.2 rule table and the §4.3 format and Content-Type decisions.

Owns: turning what the function did (setters touched, status, setBody bytes, return value)
into a status and body bytes, choosing JSON or EJSON for an endpoint's return value, and
picking the default Content-Type. Must not: serialise values itself (the caller passes a
lazy ``result``), see aiohttp objects, or do I/O.
"""

from __future__ import annotations

from typing import Callable, Literal

from runtime.contract.call_spec import Kind

JSON_CONTENT_TYPE = "application/json"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"
BINARY_CONTENT_TYPE = "application/octet-stream"


def decide(
    *,
    kind: Kind,
    touched: bool,
    status: int | None,
    body: bytes | None,
    respond_result: bool,
    result: Callable[[], bytes | None],
    head: bool,
) -> tuple[int, bytes | None]:
    """The §4.2 table, first match wins. Returns ``(status, body)``; body None means none is sent.

    ``body`` is what ``setBody`` stored (None when it was never called; ``b""`` for
    ``setBody()``); ``result()`` serialises the return value and is called only when the row
    sends it (None: the function returned undefined/None, sent as an empty 200, §4.3).
    HEAD and statuses that forbid a body (1xx, 204, 304, as Go's server) carry none; then
    ``result`` is not called. An empty body is returned as None.
    """
    set_status = 200 if status is None else status  # `status ?? 200`
    sends_result = False
    if kind == "webhook":
        if touched:
            code, chosen = set_status, body
        elif respond_result:
            code, chosen, sends_result = 200, None, True
        else:
            code, chosen = 200, None
    elif touched:
        if body is not None:
            code, chosen = set_status, body
        else:
            code, chosen, sends_result = set_status, None, respond_result
    elif respond_result:
        code, chosen, sends_result = 200, None, True
    else:
        code, chosen = 204, None
    if head or not _body_allowed(code):
        return code, None
    if sends_result:
        chosen = result()
    return code, chosen or None


def content_type(body_set_by_setBody: bool, body: bytes | None, headers_have_content_type: bool) -> str | None:
    """The Content-Type to add (§4.3), or None to add none: a handler-set one is kept, an empty
    body (also 204 and HEAD, whose body ``decide`` drops) gets none, a serialised value is JSON
    (EJSON too), and a ``setBody`` body is UTF-8 text or octet-stream."""
    if headers_have_content_type or not body:
        return None
    if not body_set_by_setBody:
        return JSON_CONTENT_TYPE
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return BINARY_CONTENT_TYPE
    return TEXT_CONTENT_TYPE


def response_format(accept: str | None, return_type: str) -> Literal["JSON", "EJSON"]:
    """An endpoint's serialisation (§4.3): ``Accept: application/json`` or ``application/ejson``
    overrides ``return_type``; a missing or invalid ``return_type`` means JSON. When the Accept
    header names both, the higher q-value wins, then the first listed; q=0 excludes a type."""
    best: tuple[float, str] | None = None
    for media_range in (accept or "").split(","):
        media_type, *params = (part.strip() for part in media_range.split(";"))
        fmt = _ACCEPT_FORMATS.get(media_type.lower())
        if fmt is None:
            continue
        quality = _quality(params)
        if quality > 0 and (best is None or quality > best[0]):
            best = (quality, fmt)
    if best is not None:
        return "EJSON" if best[1] == "EJSON" else "JSON"
    return "EJSON" if return_type == "EJSON" else "JSON"


_ACCEPT_FORMATS = {"application/json": "JSON", "application/ejson": "EJSON"}


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value.strip()), 0.0), 1.0)
            except ValueError:
                return 1.0
    return 1.0


def _body_allowed(status: int) -> bool:
    """Go's ``bodyAllowedForStatus``."""
    return not (100 <= status <= 199 or status in (204, 304))
