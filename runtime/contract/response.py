"""The App Services ``response`` object a function mutates (contract §4.1).

Owns: the state behind ``setStatusCode``, ``setBody``, ``setHeader`` and ``addHeader``, and
checking what guest code passes to them. Which status and body are finally sent is decided
by ``runtime.contract.response_rules``. Must not import the sandbox or any I/O.

Guest code sees only the four camelCase methods: the state lives in underscore slots, which
RestrictedPython refuses to read or write, and the object takes no attribute writes.

Every setter call is noted in order, as the guest made it (refused ones too), for the
inspector: ``noted_calls(response)`` writes them as text (``setStatusCode(201)``), at most ``MAX_CALLS``
of at most ``MAX_CALL_CHARS`` each; the arguments are kept as given and written only then.
"""

from __future__ import annotations

import re
from typing import Any

from runtime.values.bsontypes import ObjectId

from runtime.contract.http_token import ALLOWED_NAME, is_token
from runtime.values.shown import SHOWN_CHARS, shorten, show_value


# Python's http.client refuses an answer with "got more than 100 headers", counting the blank
# line that ends them: 99 header lines at most (curl and browsers accept more). The server adds
# up to five of its own: Date, Server, Content-Type, Content-Length, and Connection when it
# closes. What the function may add keeps the whole answer under 100 lines.
CLIENT_MAX_HEADER_LINES = 99
SERVER_HEADER_LINES = 5
MAX_HEADERS = CLIENT_MAX_HEADER_LINES - SERVER_HEADER_LINES
MAX_HEADER_BYTES = 16 * 1024
MAX_CALLS = 200  # setter calls noted per call (the reply carries them; the server checks the cap)
MAX_CALL_CHARS = 300  # one noted call as text
# Framing headers belong to the server: a function that could set them could split responses.
_RESERVED = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "trailer"})
# RFC 9110 §5.5: a field value holds no control character but HTAB. aiohttp refuses the others
# only when it writes the response, by dropping the connection: refuse them here, where the
# function gets an error it can read.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f]")


class Response:
    __slots__ = ("_status", "_body", "_headers", "_touched", "_header_bytes", "_calls", "_more_calls")

    def __init__(self) -> None:
        self._status: int | None = None
        self._body: bytes | None = None
        self._headers: list[tuple[str, str]] = []
        self._touched = False
        self._header_bytes = 0
        self._calls: list[tuple[str, tuple[Any, ...]]] = []
        self._more_calls = 0

    def _note(self, method: str, args: tuple[Any, ...]) -> None:
        if len(self._calls) < MAX_CALLS - 1:
            self._calls.append((method, args))
        else:
            self._more_calls += 1

    def setStatusCode(self, code: Any) -> "Response":  # noqa: N802 - App Services name
        self._note("setStatusCode", (code,))
        if type(code) is bool or not isinstance(code, int) or not 100 <= code <= 599:
            raise ValueError(f"response.setStatusCode: {_show(code)} is not an HTTP status code; allowed: an integer from 100 to 599")
        if code < 200:  # a 1xx cannot end a response: clients wait on; a final 101 even tunnels past proxies
            raise ValueError(f"response.setStatusCode: {code} is an informational status, which cannot end a response; allowed: 200 to 599")
        self._status = int(code)
        self._touched = True
        return self

    def setBody(self, body: Any = None) -> "Response":  # noqa: N802
        self._note("setBody", () if body is None else (body,))
        if body is None:
            data = b""
        elif isinstance(body, (bytes, bytearray)):  # BSON.Binary is a bytes subclass
            data = bytes(body)
        elif isinstance(body, str):
            data = body.encode("utf-8", "surrogatepass")
        elif isinstance(body, (bool, int, float, ObjectId)):
            data = _js_string(body).encode()
        else:
            raise TypeError(f"response.setBody: a value of type '{type(body).__name__}' cannot be a body; allowed: str, BSON.Binary, bytes, a number, a boolean or BSON.ObjectId")
        self._body = data
        self._touched = True
        return self

    def setHeader(self, name: Any, value: Any) -> "Response":  # noqa: N802
        self._note("setHeader", (name, value))
        name, value = check_header("setHeader", name, value)
        lowered = name.lower()
        kept = [(n, v) for n, v in self._headers if n.lower() != lowered]
        self._header_bytes -= sum(len(n) + len(v) for n, v in self._headers if n.lower() == lowered)
        self._headers = kept
        return self._append("setHeader", name, value)

    def addHeader(self, name: Any, value: Any) -> "Response":  # noqa: N802
        self._note("addHeader", (name, value))
        name, value = check_header("addHeader", name, value)
        return self._append("addHeader", name, value)

    def _append(self, method: str, name: str, value: str) -> "Response":
        if len(self._headers) >= MAX_HEADERS:
            raise ValueError(f"response.{method}: more than {MAX_HEADERS} headers; allowed: at most {MAX_HEADERS} header "
                             f"lines, so that with the server's own the answer stays under the "
                             f"{CLIENT_MAX_HEADER_LINES + 1} lines HTTP clients refuse")
        self._header_bytes += len(name) + len(value)
        if self._header_bytes > MAX_HEADER_BYTES:
            raise ValueError(f"response.{method}: headers exceed {MAX_HEADER_BYTES} bytes in all")
        self._headers.append((name, value))
        self._touched = True
        return self

    def state(self) -> tuple[bool, int | None, bytes | None, list[tuple[str, str]]]:
        """(touched, status, body, headers) for the response rules. Host side only."""
        return self._touched, self._status, self._body, list(self._headers)


def noted_calls(response: Response) -> tuple[str, ...]:
    """``response``'s setter calls in order, as text: ``setHeader('X-A', '1')``; bodies by their
    size and start. Host side only: a function, not a method, so guest code cannot reach it."""
    shown = []
    for method, args in response._calls:  # a loop with the one-argument case first: this runs for every call
        text = f"{method}({_show_argument(args[0])})" if len(args) == 1 else f"{method}({', '.join(map(_show_argument, args))})"
        shown.append(text if len(text) <= MAX_CALL_CHARS else shorten(text, MAX_CALL_CHARS))
    if response._more_calls:
        shown.append(f"... and {response._more_calls} more calls")
    return tuple(shown)


def check_header(method: str, name: Any, value: Any) -> tuple[str, str]:
    """A header as ``setHeader``/``addHeader`` accept it — and as the server accepts it from a
    worker, which it does not trust: a token name that is not the server's own, a one-line value."""
    if type(name) is not str or not is_token(name):
        raise ValueError(f"response.{method}: {_show(name)} is not a header name; allowed: {ALLOWED_NAME}")
    if name.lower() in _RESERVED:
        raise ValueError(f"response.{method}: the {name} header is set by the server")
    if isinstance(value, (bool, int, float)):
        value = _js_string(value)
    if type(value) is not str:
        raise TypeError(f"response.{method}: the value of {name} must be a string, not '{type(value).__name__}'")
    if "\r" in value or "\n" in value or "\x00" in value:
        raise ValueError(f"response.{method}: the value of {name} contains a line break or NUL")
    if _CONTROL.search(value):
        raise ValueError(f"response.{method}: the value of {name} contains a control character; allowed: tab, space and visible characters")
    return name, value


def _js_string(value: Any) -> str:
    """String(value) as JavaScript would write it, for the scalars real code passes."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _show_argument(value: Any) -> str:
    """One argument of a noted call: a string or Binary body by its size and start, a scalar as
    written, anything else by its type (a guest object's repr is never run)."""
    kind = type(value)
    if (kind is str and len(value) <= 80) or (kind is int and -10**30 < value < 10**30):  # the common cases, first
        text = repr(value)  # show_value(value), written out: this runs for every argument of every call
        return text if len(text) <= SHOWN_CHARS else shorten(text, SHOWN_CHARS)
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes> " + show_value(bytes(value[:80]))
    if isinstance(value, int) and not -10**30 < value < 10**30:  # repr of a huge int is slow, or refused
        return f"an integer of {value.bit_length()} bits"
    if isinstance(value, str) and len(value) > 80:
        return f"<{len(value)} characters> " + show_value(value)
    if value is None or isinstance(value, (str, int, float)) or type(value) is ObjectId:
        return show_value(value)
    return f"a value of type '{type(value).__name__}'"


def _show(value: Any) -> str:
    return show_value(value) if isinstance(value, (str, int, float, type(None))) else f"a value of type '{type(value).__name__}'"
