"""``utils.crypto.encrypt``/``decrypt`` (AES-GCM) and ``sign``/``verify`` (RSA), contract §8.3.

Owns: the four functions guest code calls, with App Services' argument order and checks:

* ``encrypt("aes", message, key)`` → ``BSON.Binary`` of nonce (12 bytes) ‖ ciphertext ‖ tag
  (16 bytes); the key is the string's raw bytes, 16, 24 or 32 of them (§9 #9);
* ``decrypt("aes", binary, key)`` → ``BSON.Binary`` of the plaintext; a wrong key or altered
  data is a ValueError;
* ``sign("rsa", message, privateKeyPem, scheme="pss")`` → ``BSON.Binary`` signature over
  SHA-256, ``scheme`` ``"pss"`` (salt as long as possible, MGF1-SHA256) or ``"pkcs1v15"``;
* ``verify("rsa", message, publicKeyPem, signature, scheme="pss")`` → bool.

Keys are PEM, PKCS#1 (``RSA PRIVATE KEY``/``RSA PUBLIC KEY``) or PKCS#8/SPKI. Every primitive
is ``cryptography``'s. Must not do I/O or import asyncio; refusals name the function, the
argument and what is allowed.
"""

from __future__ import annotations

import os
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from runtime.values.bsontypes import Binary, utf8

NONCE_BYTES, TAG_BYTES = 12, 16
AES_KEY_BYTES = (16, 24, 32)
SCHEMES = ("pss", "pkcs1v15")
MAX_PEM_CHARS = 64 * 1024


def _bytes(function: str, name: str, value: Any) -> bytes:
    if type(value) is str:
        return utf8(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    raise TypeError(f"{function}: {name} must be a string or a BSON.Binary, got '{type(value).__name__}'")


def _method(function: str, value: Any, allowed: str) -> None:
    if value != allowed or type(value) is not str:
        shown = repr(value)[:40] if type(value) is str else f"a value of type '{type(value).__name__}'"
        raise ValueError(f"{function}: the encryption type must be {allowed!r}, got {shown}")


def _aes_key(function: str, key: Any) -> bytes:
    raw = _bytes(function, "the key", key)
    if len(raw) not in AES_KEY_BYTES:
        raise ValueError(f"{function}: the key must be 16, 24 or 32 bytes, got {len(raw)}")
    return raw


def encrypt(encryption_type: str, message: str | bytes, key: str | bytes) -> Binary:
    function = "utils.crypto.encrypt"
    _method(function, encryption_type, "aes")
    aes = AESGCM(_aes_key(function, key))
    nonce = os.urandom(NONCE_BYTES)
    return Binary(nonce + aes.encrypt(nonce, _bytes(function, "the message", message), None), 0)


def decrypt(encryption_type: str, data: str | bytes, key: str | bytes) -> Binary:
    function = "utils.crypto.decrypt"
    _method(function, encryption_type, "aes")
    aes = AESGCM(_aes_key(function, key))
    raw = _bytes(function, "the data", data)
    if len(raw) < NONCE_BYTES + TAG_BYTES:
        raise ValueError(f"{function}: the data is {len(raw)} bytes, shorter than a nonce and a tag "
                         f"({NONCE_BYTES + TAG_BYTES} bytes)")
    try:
        return Binary(aes.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], None), 0)
    except InvalidTag:
        raise ValueError(f"{function}: the data does not decrypt with this key (wrong key, or altered data)") from None


def _scheme(function: str, scheme: Any) -> padding.AsymmetricPadding:
    if scheme not in SCHEMES or type(scheme) is not str:
        raise ValueError(f"{function}: the signature scheme must be one of 'pss', 'pkcs1v15', got {str(scheme)[:40]!r}")
    if scheme == "pss":
        return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH)
    return padding.PKCS1v15()


def _pem(function: str, name: str, value: Any) -> bytes:
    if type(value) is not str:
        raise TypeError(f"{function}: {name} must be a PEM string, got '{type(value).__name__}'")
    if len(value) > MAX_PEM_CHARS:
        raise ValueError(f"{function}: {name} is longer than {MAX_PEM_CHARS} characters")
    return utf8(value)


def private_key(function: str, pem: Any, kind: type = rsa.RSAPrivateKey) -> Any:
    text = _pem(function, "the private key", pem)
    try:
        key = serialization.load_pem_private_key(text, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ValueError(f"{function}: the private key is not an unencrypted PEM private key") from None
    if not isinstance(key, kind):
        raise ValueError(f"{function}: the private key is not {_KIND_NAMES.get(kind, 'of the right kind')}")
    return key


def public_key(function: str, pem: Any, kind: type = rsa.RSAPublicKey) -> Any:
    text = _pem(function, "the public key", pem)
    try:
        key = serialization.load_pem_public_key(text)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ValueError(f"{function}: the public key is not a PEM public key") from None
    if not isinstance(key, kind):
        raise ValueError(f"{function}: the public key is not {_KIND_NAMES.get(kind, 'of the right kind')}")
    return key


_KIND_NAMES = {rsa.RSAPrivateKey: "an RSA key", rsa.RSAPublicKey: "an RSA key"}


def sign(encryption_type: str, message: str | bytes, private_key_pem: str, scheme: str = "pss") -> Binary:
    function = "utils.crypto.sign"
    _method(function, encryption_type, "rsa")
    key = private_key(function, private_key_pem)
    return Binary(key.sign(_bytes(function, "the message", message), _scheme(function, scheme), hashes.SHA256()), 0)


def verify(encryption_type: str, message: str | bytes, public_key_pem: str, signature: str | bytes,
           scheme: str = "pss") -> bool:
    function = "utils.crypto.verify"
    _method(function, encryption_type, "rsa")
    key = public_key(function, public_key_pem)
    chosen = _scheme(function, scheme)
    if scheme == "pss":
        chosen = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
    try:
        key.verify(_bytes(function, "the signature", signature), _bytes(function, "the message", message), chosen,
                   hashes.SHA256())
    except InvalidSignature:
        return False
    return True
