"""``utils.jwt.encode`` and ``utils.jwt.decode`` (contract §8.3, vectors §9 #10–11).

Owns: compact JWS tokens signed with HS, RS, ES or PS at 256, 384 or 512, using
``cryptography`` (HMAC with ``hmac``/``hashlib``). ``encode(method, payload, secret,
customHeaderFields?)`` writes the header ``{"alg":…,"typ":"JWT"}`` (custom fields after it) and
the payload as compact JSON, and signs with the secret (HS: the string's bytes; others: a PEM
private key). ``decode(jwt, key, returnHeader=False, acceptedSigningMethods=None)`` checks the
signature with the key (HS: the secret; others: a PEM public key) and returns the payload, or
``{"header", "payload"}``.

Decisions where App Services is silent: ``alg: none`` is never accepted; the header's ``alg``
must be in ``acceptedSigningMethods`` when given (else any supported one); numbers in the
decoded payload are doubles, as App Services' Go runtime decodes them (contract §10); ``exp``
and ``nbf`` are checked when they are numbers, ``iat`` is not (§9 #10 has an ``iat`` in
milliseconds, far in the future, and is valid). Must not do I/O.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any, Callable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from runtime.values import ejson
from runtime.values.bsontypes import utf8
from runtime.values.cipher import private_key, public_key

METHODS = tuple(f"{family}{bits}" for family in ("HS", "RS", "ES", "PS") for bits in (256, 384, 512))
_HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
_HMAC = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}
_EC_BYTES = {"256": 32, "384": 48, "512": 66}
MAX_TOKEN_CHARS = 1024 * 1024


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(function: str, part: str, what: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (ValueError, TypeError):
        raise ValueError(f"{function}: the token's {what} is not base64url") from None


def _method(function: str, method: Any) -> str:
    if type(method) is not str or method not in METHODS:
        shown = repr(method)[:40] if type(method) is str else f"a value of type '{type(method).__name__}'"
        raise ValueError(f"{function}: the signing method must be one of {', '.join(METHODS)}, got {shown}")
    return method


def _secret(function: str, value: Any) -> bytes:
    if type(value) is str:
        return utf8(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    raise TypeError(f"{function}: the secret must be a string, got '{type(value).__name__}'")


def _signer(function: str, method: str, key: Any) -> Callable[[bytes], bytes]:
    family, bits = method[:2], method[2:]
    if family == "HS":
        secret = _secret(function, key)
        return lambda data: hmac.new(secret, data, _HMAC[bits]).digest()
    if family == "ES":
        private = private_key(function, key, ec.EllipticCurvePrivateKey)

        def es(data: bytes) -> bytes:
            r, s = decode_dss_signature(private.sign(data, ec.ECDSA(_HASHES[bits]())))
            size = _EC_BYTES[bits]
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")
        return es
    private = private_key(function, key, rsa.RSAPrivateKey)
    pad = padding.PKCS1v15() if family == "RS" else padding.PSS(mgf=padding.MGF1(_HASHES[bits]()),
                                                                salt_length=padding.PSS.DIGEST_LENGTH)
    return lambda data: private.sign(data, pad, _HASHES[bits]())


def _verifier(function: str, method: str, key: Any) -> Callable[[bytes, bytes], bool]:
    family, bits = method[:2], method[2:]
    if family == "HS":
        secret = _secret(function, key)
        return lambda data, sig: hmac.compare_digest(hmac.new(secret, data, _HMAC[bits]).digest(), sig)
    if family == "ES":
        public = public_key(function, key, ec.EllipticCurvePublicKey)
        size = _EC_BYTES[bits]

        def es(data: bytes, sig: bytes) -> bool:
            if len(sig) != 2 * size:
                return False
            der = encode_dss_signature(int.from_bytes(sig[:size], "big"), int.from_bytes(sig[size:], "big"))
            try:
                public.verify(der, data, ec.ECDSA(_HASHES[bits]()))
            except InvalidSignature:
                return False
            return True
        return es
    public = public_key(function, key, rsa.RSAPublicKey)
    pad = padding.PKCS1v15() if family == "RS" else padding.PSS(mgf=padding.MGF1(_HASHES[bits]()),
                                                                salt_length=padding.PSS.AUTO)

    def rs(data: bytes, sig: bytes) -> bool:
        try:
            public.verify(sig, data, pad, _HASHES[bits]())
        except InvalidSignature:
            return False
        return True
    return rs


def encode(method: str, payload: Any, secret: Any, custom_header_fields: Any = None) -> str:
    """``utils.jwt.encode``: the compact token (§9 #11)."""
    function = "utils.jwt.encode"
    method = _method(function, method)
    header: dict[str, Any] = {"alg": method, "typ": "JWT"}
    if custom_header_fields is not None:
        if not isinstance(custom_header_fields, dict):
            raise TypeError(f"{function}: customHeaderFields must be an object")
        header.update({k: v for k, v in custom_header_fields.items() if k != "alg"})
    if not isinstance(payload, dict):
        raise TypeError(f"{function}: the payload must be an object, got '{type(payload).__name__}'")
    signing_input = f"{_b64(utf8(ejson.to_json(header)))}.{_b64(utf8(ejson.to_json(payload)))}".encode("ascii")
    return f"{signing_input.decode('ascii')}.{_b64(_signer(function, method, secret)(signing_input))}"


def _json_object(function: str, raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8"), parse_int=float)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ValueError(f"{function}: the token's {what} is not JSON") from None
    if not isinstance(value, dict):
        raise ValueError(f"{function}: the token's {what} is not a JSON object")
    return value


def decode(token: Any, key: Any, return_header: Any = False, accepted_signing_methods: Any = None,
           *, now: Callable[[], float] = time.time) -> dict[str, Any]:
    """``utils.jwt.decode``: the payload (or ``{header, payload}``) of a token whose signature holds."""
    function = "utils.jwt.decode"
    if type(token) is not str:
        raise TypeError(f"{function}: the token must be a string, got '{type(token).__name__}'")
    if len(token) > MAX_TOKEN_CHARS:
        raise ValueError(f"{function}: the token is longer than {MAX_TOKEN_CHARS} characters")
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError(f"{function}: a token has three parts separated by '.', this one has {len(parts)}")
    header = _json_object(function, _unb64(function, parts[0], "header"), "header")
    payload = _json_object(function, _unb64(function, parts[1], "payload"), "payload")
    alg = header.get("alg")
    if accepted_signing_methods is not None:
        if not isinstance(accepted_signing_methods, (list, tuple)) or not all(type(m) is str for m in accepted_signing_methods):
            raise TypeError(f"{function}: acceptedSigningMethods must be an array of strings")
        if alg not in accepted_signing_methods:
            raise ValueError(f"{function}: the token is signed with {str(alg)[:20]!r}, which is not one of the "
                             f"accepted signing methods {list(accepted_signing_methods)[:12]}")
    if type(alg) is not str or alg not in METHODS:
        raise ValueError(f"{function}: the token's signing method {str(alg)[:20]!r} is not supported; "
                         f"supported: {', '.join(METHODS)}")
    signature = _unb64(function, parts[2], "signature")
    if not _verifier(function, alg, key)(f"{parts[0]}.{parts[1]}".encode("ascii"), signature):
        raise ValueError(f"{function}: signature is invalid")
    moment = now()
    exp, nbf = payload.get("exp"), payload.get("nbf")
    if isinstance(exp, float) and moment >= exp:
        raise ValueError(f"{function}: token is expired")
    if isinstance(nbf, float) and moment < nbf:
        raise ValueError(f"{function}: token is not valid yet")
    if return_header is True:
        return {"header": header, "payload": payload}
    return payload
