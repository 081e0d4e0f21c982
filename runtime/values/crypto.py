"""The ``utils.crypto`` primitives guest code calls, and the request signature (contract §8.3, §2.3).

Owns: ``hmac`` (``utils.crypto.hmac``), ``hash`` (``utils.crypto.hash``, which answers a
``BSON.Binary``) and ``signature``, the ``sha256=<hex>`` value of ``Endpoint-Signature`` and
``X-Hook-Signature`` used by the request validator and ``atlas-fn sign``. Strings are hashed as
UTF-8; arguments are checked, and a refusal names the function and what it allows. Must not do
I/O, compare signatures (the validator does, in constant time) or implement ``encrypt``,
``decrypt``, ``sign``, ``verify`` (``runtime.values.cipher``) or ``utils.jwt``
(``runtime.values.jwt``): no AES or RSA dependency here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac as _hmac

from runtime.values.bsontypes import Binary, utf8
from runtime.values.shown import quoted

HMAC_HASHES = ("sha1", "sha256", "sha512")
HMAC_OUTPUTS = ("hex", "base64")
HASH_ALGORITHMS = ("sha1", "sha256", "md5")


def _bytes(function: str, name: str, value: str | bytes) -> bytes:
    """A guest argument as bytes: a string as UTF-8, bytes or a BSON.Binary as they are."""
    if type(value) is str:
        return utf8(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    raise TypeError(f"{function}: {name} must be a string or a BSON.Binary, got '{type(value).__name__}'")


def _choice(function: str, name: str, value: str, allowed: tuple[str, ...]) -> str:
    expected = f"{function}: {name} must be one of {', '.join(map(repr, allowed))}"
    if type(value) is not str:
        raise TypeError(f"{expected}, got a value of type '{type(value).__name__}'")
    if value not in allowed:
        raise ValueError(f"{expected}, got {quoted(value)}")
    return value


def hmac(input: str | bytes, secret: str | bytes, hash: str = "sha256", output: str = "hex") -> str:  # noqa: A002
    """``utils.crypto.hmac(input, secret, hash, output)``: the HMAC of ``input`` keyed with ``secret``."""
    function = "utils.crypto.hmac"
    message, key = _bytes(function, "input", input), _bytes(function, "secret", secret)
    digest = _hmac.new(key, message, _choice(function, "hash", hash, HMAC_HASHES)).digest()
    if _choice(function, "output", output, HMAC_OUTPUTS) == "hex":
        return digest.hex()
    return base64.b64encode(digest).decode("ascii")


def hash(algorithm: str, data: str | bytes) -> Binary:  # noqa: A001 - the App Services name
    """``utils.crypto.hash(algorithm, data)``: the digest as a ``BSON.Binary`` of subtype 0."""
    function = "utils.crypto.hash"
    name = _choice(function, "the algorithm", algorithm, HASH_ALGORITHMS)
    return Binary(hashlib.new(name, _bytes(function, "data", data)).digest(), 0)


def signature(secret: str | bytes, body: bytes) -> str:
    """``sha256=`` + lowercase hex HMAC-SHA256 of the raw body, keyed with the secret (§2.3)."""
    if not isinstance(body, (bytes, bytearray)):
        raise TypeError(f"signature: the body must be the raw bytes, got '{type(body).__name__}'")
    key = _bytes("signature", "the secret", secret)
    return "sha256=" + _hmac.new(key, bytes(body), hashlib.sha256).hexdigest()
