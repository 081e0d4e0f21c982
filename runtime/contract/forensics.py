"""Why a signature did not match: which byte forms of the body the signature would have fit.

Owns: ``signature_forensics`` for a request whose VERIFY_PAYLOAD or GitHub check failed: the
header that was expected, the shape of what it held (never its digits), and for each byte
form a sender commonly signs instead of the raw bytes (compact JSON, Python's ``json.dumps``
default, canonical and relaxed EJSON, with or without a final newline) whether the sent
signature is that form's. For the inspector page only (``runtime.http.inspector``), which
is served to the developer, never to the caller. Must not: return or raise the expected
signature or the secret in any string, do I/O, or decide whether the request passes
(``runtime.contract.validation`` does).
"""

from __future__ import annotations

import hmac
import json
import string
from typing import Any, Callable, Mapping

from runtime.contract import validation
from runtime.values import ejson
from runtime.values.ejson_parse import parse as parse_ejson

_HEX = frozenset(string.hexdigits)


def signature_forensics(method: str, kind: str, secret: str, body: bytes,
                        headers: Mapping[str, str]) -> dict[str, Any] | None:
    """For a signature check (``method`` VERIFY_PAYLOAD or GITHUB_SIGNATURE), a plain dict:
    ``header`` (expected name), ``held`` (what it held, described), ``forms``: a list of
    ``{"form", "matches"}`` (``matches`` None when the body has no such form, e.g. is not JSON).
    None for other methods. ``headers`` maps lower-cased names to their first value."""
    if method == validation.VERIFY_PAYLOAD:
        header = validation.ENDPOINT_SIGNATURE_HEADER if kind == "endpoint" else validation.WEBHOOK_SIGNATURE_HEADER
        algorithm = "sha256"
    elif method == validation.GITHUB_SIGNATURE:
        header, algorithm = validation.GITHUB_SHA256_HEADER, "sha256"
        if headers.get(header.lower()) is None and headers.get(validation.GITHUB_SHA1_HEADER.lower()) is not None:
            header, algorithm = validation.GITHUB_SHA1_HEADER, "sha1"
    else:
        return None
    value = headers.get(header.lower())
    given = _given_digest(value, algorithm)
    forms = []
    for name, make in _FORMS:
        try:
            candidate = make(body)
        except Exception:  # noqa: BLE001 - the body has no such form (not JSON, not UTF-8 …)
            candidate = None
        matches = None
        if candidate is not None:
            matches = given is not None and hmac.compare_digest(
                hmac.digest(secret.encode("utf-8"), candidate, algorithm).hex().encode(), given.encode())
        forms.append({"form": name, "matches": matches, "bytes": None if candidate is None else len(candidate)})
    return {"header": header, "held": describe_signature(value, algorithm), "algorithm": algorithm, "forms": forms}


def describe_signature(value: str | None, algorithm: str = "sha256") -> str:
    """What a signature header held, without its digits: ``'sha256=' and 64 hex digits``."""
    if value is None:
        return "nothing: the header was not sent"
    prefix = algorithm + "="
    if value.startswith(prefix):
        rest = value[len(prefix):]
        kind = "hex digits" if rest and _HEX.issuperset(rest) else "characters, not all hexadecimal"
        return f"'{prefix}' and {len(rest)} {kind} (masked)"
    return f"{len(value)} characters not starting with '{prefix}' (masked)"


def _given_digest(value: str | None, algorithm: str) -> str | None:
    prefix = algorithm + "="
    if value is None or not value.startswith(prefix):
        return None
    digest = value[len(prefix):].lower()
    return digest if digest and _HEX.issuperset(digest) else None


def _json(body: bytes) -> Any:
    return json.loads(body.decode("utf-8"))


def _strip_newline(body: bytes) -> bytes | None:
    return body.rstrip(b"\r\n") if body.endswith(b"\n") else None


_FORMS: tuple[tuple[str, Callable[[bytes], bytes | None]], ...] = (
    ("raw bytes, as sent", lambda body: body),
    ("raw bytes without the final newline", _strip_newline),
    ("raw bytes with a final newline", lambda body: None if body.endswith(b"\n") else body + b"\n"),
    ("compact JSON (JSON.stringify)", lambda body: json.dumps(_json(body), separators=(",", ":"),
                                                                ensure_ascii=False).encode("utf-8")),
    ("Python json.dumps default (', ' and ': ', ASCII)", lambda body: json.dumps(_json(body)).encode("utf-8")),
    ("canonical EJSON (EJSON.stringify)", lambda body: ejson.to_canonical(parse_ejson(body)).encode("utf-8")),
    ("relaxed EJSON", lambda body: ejson.to_relaxed(parse_ejson(body)).encode("utf-8")),
)
