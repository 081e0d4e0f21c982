"""Where a request carries a secret: the proof its route's validation asks for, and credentials.

Owns: ``signed`` (a request's query and headers with the proof ``spec.validation`` asks for,
made with the route's own secret: the ``secret`` query parameter, or the HMAC-SHA256 signature
header of §2.3 / §2.5), and ``redacted_query`` / ``redacted_headers`` (the same places and the
credential headers, their values replaced by ``REDACTED``, for what atlas-fn writes to disk).
``atlas-fn invoke --sign`` and ``atlas-fn replay`` sign with it; ``atlas-fn serve --record``
redacts with it. Must not do I/O, or put a secret into anything but the request it signs.
"""

from __future__ import annotations

from typing import Sequence
from urllib.parse import quote

from runtime.contract import credentials, validation
from runtime.contract.call_spec import CallSpec
from runtime.contract.request import parse_query
from runtime.values import crypto

REDACTED = "REDACTED"
SECRET_PARAMETER = "secret"  # contract §2.2
# Header names (lower case) whose values a recording never holds: the signatures of §2.3 and
# §2.5, a caller's credentials (§2.7, runtime.contract.credentials) and other usual credential headers.
SECRET_HEADERS = frozenset(name.lower() for name in (
    validation.WEBHOOK_SIGNATURE_HEADER, validation.ENDPOINT_SIGNATURE_HEADER, validation.GITHUB_SHA256_HEADER,
    validation.GITHUB_SHA1_HEADER, *credentials.HEADERS, "Proxy-Authorization", "api-key", "X-API-Key"))


def proof_header(spec: CallSpec) -> str | None:
    """The header ``spec``'s validation reads its signature from, or None (§2.3, §2.5)."""
    if spec.validation == validation.VERIFY_PAYLOAD:
        return validation.ENDPOINT_SIGNATURE_HEADER if spec.kind == "endpoint" else validation.WEBHOOK_SIGNATURE_HEADER
    if spec.validation == validation.GITHUB_SIGNATURE:
        return validation.GITHUB_SHA256_HEADER
    return None


def signed(spec: CallSpec, body: bytes, raw_query: str,
           headers: Sequence[tuple[str, str]]) -> tuple[str, list[tuple[str, str]]]:
    """``(raw_query, headers)`` carrying the proof of ``spec``: a ``secret`` parameter (its value
    replaced where it stands, else appended) or the signature header of ``body`` (any earlier
    one replaced). A route without validation is returned as it is."""
    out = list(headers)
    if spec.validation == validation.SECRET_AS_QUERY_PARAM:
        return _with_secret(raw_query, quote(spec.secret, safe="")), out
    header = proof_header(spec)
    if header is None:
        return raw_query, out
    out = [(name, value) for name, value in out if name.lower() not in (header.lower(), validation.GITHUB_SHA1_HEADER.lower())]
    out.append((header, crypto.signature(spec.secret, body)))
    return raw_query, out


def redacted_query(raw_query: str) -> str:
    """The query as received, with the value of every ``secret`` parameter replaced."""
    return _with_secret(raw_query, REDACTED, append=False)


def redacted_headers(headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, REDACTED if name.lower() in SECRET_HEADERS else value) for name, value in headers]


def _with_secret(raw_query: str, value: str, append: bool = True) -> str:
    segments = raw_query.split("&") if raw_query else []
    found = False
    for index, segment in enumerate(segments):
        pairs = parse_query(segment)
        if pairs and pairs[0][0] == SECRET_PARAMETER:
            segments[index] = f"{segment.partition('=')[0]}={value}"
            found = True
    if not found and append:
        segments.append(f"{SECRET_PARAMETER}={value}")
    return "&".join(segments)
