"""The requests ``atlas-fn diff`` sends: read from ``--request FILE`` or made one per webhook,
and signed for each side.

Owns: ``DiffRequest``, reading and checking the request file (every misfit names the file, the
JSON path, the value and what is allowed), the default request of a webhook, and signing a
request the way each side's contract requires (``?secret=`` or the signature header of the raw
body). Must not send anything, or show a secret: ``shown_query`` replaces a ``secret`` value
with ``<secret>``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from runtime.app.model import Webhook
from runtime.contract import validation
from runtime.contract.request import strip_secret
from runtime.errors import DiffInputError
from runtime.tools.comparison import show_json
from runtime.values import crypto
from runtime.values.shown import json_path

_BODY_METHODS = ("POST", "PUT", "PATCH")


@dataclass(frozen=True)
class DiffRequest:
    method: str | None  # None: the webhook's own method (ANY → POST)
    raw_query: str = ""  # without "?"
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    webhook: str | None = None  # "<svc>/<name>": only this webhook; None: every one


_REQUEST_KEYS = ("method", "query", "headers", "body", "webhook")


def load_requests(path: Path) -> list[DiffRequest]:
    """The ``--request`` file: a JSON array of ``{method?, query?, headers?, body?, webhook?}``.
    ``query`` is an object (string or array-of-strings values) or a raw query string;
    ``headers`` an object (string or array values) or ``[name, value]`` pairs; ``body`` text
    (sent as UTF-8), ``{"base64": "..."}`` or null (no body)."""
    try:
        data = json.loads(path.read_bytes())
    except OSError as error:
        raise DiffInputError(f"{path}: cannot be read: {error.strerror or error}") from None
    except ValueError as error:
        raise DiffInputError(f"{path}: invalid JSON: {error}") from None
    if not isinstance(data, list) or not data:
        raise DiffInputError(f"{path}: $: expected a non-empty JSON array of requests")
    return [_request(path, json_path("$", index), item) for index, item in enumerate(data)]


def _request(path: Path, where: str, item: Any) -> DiffRequest:
    def bad(key: str, allowed: str) -> DiffInputError:
        return DiffInputError(f"{path}: {json_path(where, key)}: {show_json(item.get(key), 60)} is not allowed; allowed: {allowed}")

    if not isinstance(item, dict):
        raise DiffInputError(f"{path}: {where}: expected an object {{method, query, headers, body}}")
    unknown = sorted(set(item) - set(_REQUEST_KEYS))
    if unknown:
        raise DiffInputError(f"{path}: {where}: unknown key {unknown[0]!r}; allowed: {', '.join(_REQUEST_KEYS)}")
    method = item.get("method")
    if method is not None and (not isinstance(method, str) or not re.fullmatch(r"[A-Z]+", method)):
        raise bad("method", "an upper-case HTTP method such as GET or POST")
    query = item.get("query")
    if query is None:
        raw_query = ""
    elif isinstance(query, str):
        raw_query = query.removeprefix("?")
    elif isinstance(query, dict) and all(_strings(value) for value in query.values()):
        raw_query = urlencode([(key, value) for key, values in query.items()
                               for value in ([values] if isinstance(values, str) else values)])
    else:
        raise bad("query", "a query string, or an object of strings or arrays of strings")
    headers = _headers(item.get("headers"))
    if headers is None:
        raise bad("headers", "an object of strings or arrays of strings, or an array of [name, value] pairs")
    body = _body(item.get("body"))
    if body is False:
        raise bad("body", 'text, {"base64": "<standard base64>"} or null')
    webhook = item.get("webhook")
    if webhook is not None and (not isinstance(webhook, str) or webhook.count("/") != 1):
        raise bad("webhook", '"<service>/<webhook>"')
    return DiffRequest(method, raw_query, headers, body, webhook)  # type: ignore[arg-type]


def _strings(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))


def _headers(value: Any) -> tuple[tuple[str, str], ...] | None:
    if value is None:
        return ()
    if isinstance(value, dict) and all(_strings(v) for v in value.values()):
        return tuple((k, v) for k, values in value.items() for v in ([values] if isinstance(values, str) else values))
    if isinstance(value, list) and all(isinstance(p, list) and len(p) == 2 and _strings(p) for p in value):
        return tuple((name, v) for name, v in value)
    return None


def _body(value: Any) -> bytes | None | bool:
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, dict) and set(value) == {"base64"} and isinstance(value["base64"], str):
        try:
            return base64.b64decode(value["base64"], validate=True)
        except (binascii.Error, ValueError):
            return False
    return False


DEFAULT_BODY = b'{"message":"Hello from atlas-fn diff"}'
TWILIO_BODY = b"From=%2B15005550006&To=%2B15005550001&Body=Hello+from+atlas-fn+diff"


def default_request(webhook: Webhook) -> DiffRequest:
    method = "POST" if webhook.http_method == "ANY" or webhook.service_type != "http" else webhook.http_method
    if method not in _BODY_METHODS:
        return DiffRequest(method, "source=atlas-fn-diff")
    if webhook.service_type == "twilio":
        return DiffRequest(method, "source=atlas-fn-diff", (("Content-Type", "application/x-www-form-urlencoded"),), TWILIO_BODY)
    return DiffRequest(method, "source=atlas-fn-diff", (("Content-Type", "application/json"),), DEFAULT_BODY)


def method_of(request: DiffRequest, webhook: Webhook) -> str:
    return request.method or default_request(webhook).method or "POST"


def signed(request: DiffRequest, kind: str, service_type: str, validation_method: str, secret: str,
           body: bytes) -> tuple[str, list[tuple[str, str]]]:  # fmt: skip
    """``(raw query, headers)`` to send to one side, signed as that side's contract requires:
    ``?secret=`` appended (any given one replaced), or the signature header of the raw body."""
    method = validation.effective_method(service_type, validation_method, secret)
    raw_query, headers = request.raw_query, list(request.headers)
    if method == validation.SECRET_AS_QUERY_PARAM:
        kept = strip_secret(raw_query)[0] or ""
        raw_query = (kept + "&" if kept else "") + urlencode([("secret", secret)])
        return raw_query, headers
    header = {validation.VERIFY_PAYLOAD: validation.ENDPOINT_SIGNATURE_HEADER if kind == "endpoint"
              else validation.WEBHOOK_SIGNATURE_HEADER,
              validation.GITHUB_SIGNATURE: validation.GITHUB_SHA256_HEADER}.get(method)
    if header is not None:
        headers = [(name, value) for name, value in headers if name.lower() != header.lower()]
        headers.append((header, crypto.signature(secret, body)))
    return raw_query, headers


def shown_query(raw_query: str) -> str:
    """A query for the report: a ``secret`` pair's value replaced by ``<secret>``."""
    kept, secret = strip_secret(raw_query)
    if secret is None:
        return raw_query
    return ((kept or "") + "&" if kept else "") + "secret=<secret>"
