"""Request validation: NO_VALIDATION, SECRET_AS_QUERY_PARAM, VERIFY_PAYLOAD, GitHub (contract §2).

Owns: deciding, from the RAW body bytes, the ``secret`` query value and the request headers,
whether a request may reach its function; the log detail and the caller-facing 401 message.
Must not: re-serialise or parse the body, do I/O, or put a secret or an expected signature
into any string it returns or raises. Every comparison runs in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import string
from dataclasses import dataclass
from typing import Mapping

from runtime.contract.call_spec import Kind
from runtime.errors import AuthFailed

NO_VALIDATION = "NO_VALIDATION"
SECRET_AS_QUERY_PARAM = "SECRET_AS_QUERY_PARAM"
VERIFY_PAYLOAD = "VERIFY_PAYLOAD"
GITHUB_SIGNATURE = "GITHUB_SIGNATURE"  # atlas-fn's label for the §2.5 GitHub check

WEBHOOK_SIGNATURE_HEADER = "X-Hook-Signature"  # contract §2.3
ENDPOINT_SIGNATURE_HEADER = "Endpoint-Signature"
GITHUB_SHA256_HEADER = "X-Hub-Signature-256"  # contract §2.5
GITHUB_SHA1_HEADER = "X-Hub-Signature"

_HEX = frozenset(string.hexdigits)


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check. ``detail`` goes to the request log; it never holds a secret."""

    ok: bool
    method: str
    detail: str


# The verdicts of requests that pass, made once (a frozen dataclass costs about 1 µs to build;
# these are the same values every time)
_PASSED_NO_VALIDATION = Verdict(True, NO_VALIDATION, "no validation")
_PASSED_SECRET = Verdict(True, SECRET_AS_QUERY_PARAM, "secret matches")
_PASSED_SIGNATURE = {method: Verdict(True, method, "signature matches") for method in (VERIFY_PAYLOAD, GITHUB_SIGNATURE)}


def effective_method(service_type: str, validation_method: str, secret: str) -> str:
    """The check that actually runs: GitHub and Twilio ignore ``validation_method`` (§2.5);
    an empty ``validation_method`` means NO_VALIDATION (§2.1)."""
    if service_type == "github":
        return GITHUB_SIGNATURE if secret else NO_VALIDATION
    if service_type == "twilio" or not validation_method:
        return NO_VALIDATION
    return validation_method


def check(
    kind: Kind,
    service_type: str,
    validation_method: str,
    secret: str,
    *,
    body: bytes,
    query_secret: str | None,
    headers: Mapping[str, str],
) -> Verdict:
    """Validate one request. ``headers`` maps lower-cased names to their first value;
    ``query_secret`` is the first ``secret`` value of the URL query, or None (§2.2)."""
    return verify(effective_method(service_type, validation_method, secret), kind, secret,
                  body=body, query_secret=query_secret, headers=headers)


def verify(method: str, kind: Kind, secret: str, *, body: bytes, query_secret: str | None,
           headers: Mapping[str, str]) -> Verdict:
    """``check`` for a method already made effective (a call spec's, decided at start-up)."""
    if method == NO_VALIDATION:
        return _PASSED_NO_VALIDATION
    if method == SECRET_AS_QUERY_PARAM:
        return _check_query_secret(secret, query_secret)
    if method == VERIFY_PAYLOAD:
        header = ENDPOINT_SIGNATURE_HEADER if kind == "endpoint" else WEBHOOK_SIGNATURE_HEADER
        return _check_signature(method, header, "sha256", secret, body, headers.get(header.lower()))
    if method == GITHUB_SIGNATURE:
        sha256 = headers.get(GITHUB_SHA256_HEADER.lower())
        if sha256 is not None:
            return _check_signature(method, GITHUB_SHA256_HEADER, "sha256", secret, body, sha256)
        sha1 = headers.get(GITHUB_SHA1_HEADER.lower())
        if sha1 is not None:
            return _check_signature(method, GITHUB_SHA1_HEADER, "sha1", secret, body, sha1)
        return Verdict(False, method, f"{GITHUB_SHA256_HEADER} and {GITHUB_SHA1_HEADER} headers missing")
    return Verdict(False, method, f"unknown validation method {method!r}")  # fail closed


def failure(verdict: Verdict) -> AuthFailed:
    """The ``AuthFailed`` (401, contract §2.4) a failed verdict is answered with."""
    return AuthFailed(_caller_message(verdict.detail))


def _check_query_secret(secret: str, query_secret: str | None) -> Verdict:
    if query_secret is None:
        return Verdict(False, SECRET_AS_QUERY_PARAM, "secret query parameter missing")
    if hmac.compare_digest(query_secret.encode("utf-8"), secret.encode("utf-8")):
        return _PASSED_SECRET
    return Verdict(False, SECRET_AS_QUERY_PARAM, "secret mismatch")


_HEX_LENGTHS = {"sha256": 64, "sha1": 40}


def _check_signature(
    method: str, header: str, algorithm: str, secret: str, body: bytes, value: str | None
) -> Verdict:
    if value is None:
        return Verdict(False, method, f"{header} header missing")
    prefix = algorithm + "="
    hex_length = _HEX_LENGTHS[algorithm]
    if value.startswith(":" + prefix):
        return Verdict(
            False, method, f"{header} header starts with ':{prefix}' (a stray ':'); expected '{prefix}<hex>'"
        )
    if not value.startswith(prefix):
        return Verdict(False, method, f"{header} header does not start with '{prefix}'")
    given = value[len(prefix):]
    if not _HEX.issuperset(given):
        return Verdict(False, method, f"{header} header is not hexadecimal after '{prefix}'")
    if len(given) != hex_length:
        detail = f"{header} header has {len(given)} hex digits after '{prefix}'; expected {hex_length}"
        return Verdict(False, method, detail)
    expected = _hmac_hex(secret, body, algorithm)
    if hmac.compare_digest(given.lower().encode("ascii"), expected.encode("ascii")):
        return _PASSED_SIGNATURE[method]
    return Verdict(False, method, "signature mismatch")


# RFC 2104 HMAC from a secret's padded inner and outer hash states, made once per secret and
# copied per request: 1.9 µs against hmac.digest's 4.9 for a 200-byte body (hmac.digest sets the
# key up again on every call). The states hold the secret: they live in this dict only, never in
# a string; the dict is bounded (a reload or a tool may bring new secrets).
_PADDED: dict[tuple[str, str], tuple["hashlib._Hash", "hashlib._Hash"]] = {}
_PADDED_MAX = 1024
_INNER_PAD = bytes(b ^ 0x36 for b in range(256))
_OUTER_PAD = bytes(b ^ 0x5C for b in range(256))


def _hmac_hex(secret: str, body: bytes, algorithm: str) -> str:
    """``hmac.digest(secret.encode("utf-8"), body, algorithm).hex()``, faster for a secret seen before."""
    padded = _PADDED.get((algorithm, secret))
    if padded is None:
        padded = _pad(secret, algorithm)
    inner = padded[0].copy()
    inner.update(body)
    outer = padded[1].copy()
    outer.update(inner.digest())
    return outer.hexdigest()


def _pad(secret: str, algorithm: str) -> tuple["hashlib._Hash", "hashlib._Hash"]:
    new = getattr(hashlib, algorithm)
    key = secret.encode("utf-8")
    block = new().block_size
    if len(key) > block:
        key = new(key).digest()
    key = key.ljust(block, b"\0")
    padded = (new(key.translate(_INNER_PAD)), new(key.translate(_OUTER_PAD)))
    if len(_PADDED) >= _PADDED_MAX:
        _PADDED.clear()
    _PADDED[(algorithm, secret)] = padded
    return padded


_CALLER_MESSAGES = {
    "signature mismatch": "request signature did not match",
    "secret query parameter missing": "missing secret query parameter",
    "secret mismatch": "secret query parameter did not match",
}


def _caller_message(detail: str) -> str:
    if detail in _CALLER_MESSAGES:
        return _CALLER_MESSAGES[detail]
    if detail.endswith(" headers missing"):  # GitHub: neither header
        return f"missing {GITHUB_SHA256_HEADER} or {GITHUB_SHA1_HEADER} header"
    if detail.endswith(" header missing"):
        return "missing " + detail.removesuffix(" missing")
    if detail.startswith("unknown validation method"):
        return "request validation is misconfigured on this server"
    return "malformed request signature: " + detail
