"""``utils``: the table of the guest's ``utils.crypto`` and ``utils.jwt`` functions.

Owns: ``UTILS``, namespace → {name → the pure function that does it} (contract §8.3,
context-services.md §8.3), the one list both engines expose: the Python guest builds its
``utils`` namespaces from it, the JavaScript bridge registers one ``utils.<namespace>.<name>``
operation per entry and the prelude builds its ``utils`` object from the names. Must not hold a
function with I/O or state: each entry takes plain values and returns one.
"""

from __future__ import annotations

from typing import Any, Callable

from runtime.values import cipher, crypto, jwt

UTILS: dict[str, dict[str, Callable[..., Any]]] = {
    "crypto": {"hmac": crypto.hmac, "hash": crypto.hash, "encrypt": cipher.encrypt, "decrypt": cipher.decrypt,
               "sign": cipher.sign, "verify": cipher.verify},
    "jwt": {"encode": jwt.encode, "decode": jwt.decode},
}
