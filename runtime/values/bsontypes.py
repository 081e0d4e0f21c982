"""The BSON value types guest code sees: facades of our own (contract §8.4).

Owns: the value classes ``ObjectId``, ``Binary``, ``Long``, ``Decimal128``, ``BSONRegExp``,
``Timestamp``, ``MinKey`` and ``MaxKey`` with the App Services methods and nothing else; the
frozen ``BSON`` namespace of constructors; ``utf8()``, the one way a guest string becomes
bytes; and the ObjectId generator's per-call state (``reset_object_ids``). Every constructor
checks its arguments and names itself and what it allows when it refuses one. Must not do I/O,
and must not import from ``runtime`` but ``runtime.values.shown`` (``runtime.values.ejson`` and
``runtime.values.crypto`` import this module).

Why facades: guest code must see the documented BSON API only. pymongo's classes carry public
methods that are not App Services API and reach further than their names suggest
(``Binary.as_vector`` imports numpy when it is installed and returns an ndarray; a ``Regex``
built with integer flags compiles with ``re.DEBUG`` and dumps to stderr), and a class handed
out is a way to everything its methods reach. So no pymongo object or class is reachable from
a value: where one is needed (Decimal128's arithmetic and text form) it sits in an underscore
slot, which RestrictedPython refuses to read. ``Binary`` is a ``bytes`` subclass and ``Long``
an ``int`` subclass, so the builtin methods of bytes and int come with them, as they come with
any bytes or int value. Guest code cannot reach names starting with ``_``, so everything public
here is App Services API (camelCase), a read-only property, or a plain function.

Public members, each a reviewed exposure with an attack in tests/fixtures/hostile/:

| value | members |
| --- | --- |
| ``ObjectId`` | ``toHexString()`` ``toString()`` ``equals(other)`` ``getTimestamp()`` |
| ``Binary`` | ``text()`` ``toHex()`` ``toBase64()`` ``subtype`` (and the bytes methods) |
| ``Long`` | ``toNumber()`` ``toString()`` (and the int methods) |
| ``Decimal128`` | ``toString()`` |
| ``BSONRegExp`` | ``pattern`` ``options`` ``try_compile()`` |
| ``Timestamp`` | ``t`` ``i`` |
| ``MinKey``, ``MaxKey`` | none |
"""

from __future__ import annotations

import base64
import binascii
import datetime
import os
import re
import time
import warnings
from dataclasses import dataclass
from typing import Any

import bson.decimal128

from runtime.values.shown import quoted

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
REGEX_OPTIONS = "ilmsux"  # the BSON regular-expression options, in their canonical order
# The options try_compile() turns into Python flags. "l" (locale-dependent \w) has no meaning
# for a str pattern in Python; there is no way to ask for any other flag (re.DEBUG…).
_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "u": re.UNICODE, "x": re.VERBOSE}

_SURROGATE = re.compile("[\ud800-\udfff]")
_HEX24 = re.compile(r"[0-9a-fA-F]{24}\Z")
_INTEGER = re.compile(r"[+-]?[0-9]+\Z")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*\Z")
_EPOCH_UTC = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def utf8(text: str) -> bytes:
    """``text`` as UTF-8; a lone surrogate becomes U+FFFD, as JavaScript's encoders do."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text).encode("utf-8")


def _kind(value: Any) -> str:
    return type(value).__name__


class _ReadOnly:
    """Values take no attribute writes (guest writes are refused before this, by the write guard)."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError(f"a BSON.{type(self).__name__} value is read-only")

    __delattr__ = __setattr__  # type: ignore[assignment]


# --- ObjectId --------------------------------------------------------------------------------

class _ObjectIdSource:
    """Where new ObjectIds come from: 4 bytes of time, 5 random bytes, a 3-byte counter.

    Unlike pymongo's process-wide counter and process id bytes, the random bytes and the
    counter's start are drawn again for every call (``reset_object_ids``), so the ObjectIds a
    call makes say nothing about how many other calls in the same worker made, or that they
    ran in the same worker. Within a call the counter keeps them unique; across calls two ids
    collide only if 40 random bits do, in the same second."""

    __slots__ = ("random", "counter", "used")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        drawn = os.urandom(8)
        self.random, self.counter = drawn[:5], int.from_bytes(drawn[5:], "big")
        self.used = False

    def next(self) -> bytes:
        self.used = True
        self.counter = (self.counter + 1) & 0xFFFFFF
        return (int(time.time()) & 0xFFFFFFFF).to_bytes(4, "big") + self.random + self.counter.to_bytes(3, "big")


_OBJECT_IDS = _ObjectIdSource()


def reset_object_ids() -> None:
    """New random bytes and counter for the ObjectIds of the next call (see ``_ObjectIdSource``),
    when this call made any (one that made none left nothing to learn from)."""
    if _OBJECT_IDS.used:
        _OBJECT_IDS.reset()


class ObjectId(_ReadOnly):
    """``BSON.ObjectId`` values: 12 bytes, written as 24 lowercase hex digits."""

    __slots__ = ("_id",)

    def __init__(self, oid: bytes) -> None:  # host side only: guest code calls BSON.ObjectId
        if type(oid) is not bytes or len(oid) != 12:
            raise TypeError("ObjectId: expected 12 bytes")
        object.__setattr__(self, "_id", oid)

    def toHexString(self) -> str:  # noqa: N802 - App Services name
        return self._id.hex()

    def toString(self) -> str:  # noqa: N802 - App Services name
        return self._id.hex()

    def equals(self, other: Any) -> bool:
        """True for the same ObjectId, or its 24 hex digits in either case, as js-bson's ``equals``."""
        if type(other) is ObjectId:
            return other._id == self._id
        return type(other) is str and _HEX24.match(other) is not None and bytes.fromhex(other) == self._id

    def getTimestamp(self) -> datetime.datetime:  # noqa: N802 - App Services name
        """When it was made, to the second, as a UTC datetime (a JavaScript Date in App Services)."""
        return _EPOCH_UTC + datetime.timedelta(seconds=int.from_bytes(self._id[:4], "big"))

    def __str__(self) -> str:
        return self._id.hex()

    def __repr__(self) -> str:
        return f'ObjectId("{self._id.hex()}")'

    def __eq__(self, other: object) -> bool:
        return type(other) is ObjectId and other._id == self._id

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self._id)

    def __reduce__(self) -> tuple[Any, ...]:
        return ObjectId, (self._id,)


# --- Binary ----------------------------------------------------------------------------------

class Binary(bytes):
    """``BSON.Binary``: bytes with a BSON subtype, and the App Services methods.

    A ``bytes`` subclass (so ``utils.crypto``, ``response.setBody`` and ``len`` take it as it
    is); equal only to a Binary of the same bytes and subtype, as BSON compares them."""

    def __new__(cls, data: bytes | bytearray | memoryview | str, subtype: int = 0) -> Binary:
        if type(data) is str:
            data = utf8(data)
        elif not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"BSON.Binary: data must be a string or bytes, got '{_kind(data)}'")
        if type(subtype) is not int or not 0 <= subtype <= 255:
            raise ValueError(f"BSON.Binary: subtype must be an integer from 0 to 255, got {subtype!r}")
        self = super().__new__(cls, data)
        object.__setattr__(self, "_subtype", subtype)
        return self

    @property
    def subtype(self) -> int:
        return self._subtype  # type: ignore[attr-defined,no-any-return]

    def text(self) -> str:
        """The bytes decoded as UTF-8; invalid sequences become U+FFFD."""
        return bytes(self).decode("utf-8", errors="replace")

    def toHex(self) -> str:  # noqa: N802 - App Services name
        return bytes(self).hex()

    def toBase64(self) -> str:  # noqa: N802 - App Services name
        return base64.b64encode(self).decode("ascii")

    @staticmethod
    def _from_text(text: str) -> Binary:
        if type(text) is not str:
            raise TypeError(f"BSON.Binary.fromText: expected a string, got '{_kind(text)}'")
        return Binary(utf8(text), 0)

    @staticmethod
    def _from_hex(text: str) -> Binary:
        if type(text) is not str:
            raise TypeError(f"BSON.Binary.fromHex: expected a string, got '{_kind(text)}'")
        if not _HEX.match(text):
            raise ValueError(f"BSON.Binary.fromHex: {quoted(text)} is not an even-length string of hex digits")
        return Binary(bytes.fromhex(text), 0)

    @staticmethod
    def _from_base64(text: str) -> Binary:
        if type(text) is not str:
            raise TypeError(f"BSON.Binary.fromBase64: expected a string, got '{_kind(text)}'")
        try:
            return Binary(base64.b64decode(text.encode("ascii"), validate=True), 0)
        except (UnicodeEncodeError, binascii.Error):
            raise ValueError(f"BSON.Binary.fromBase64: {quoted(text)} is not padded standard base64") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError("a BSON.Binary value is read-only")

    __delattr__ = __setattr__  # type: ignore[assignment]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Binary):
            return self._subtype == other._subtype and bytes.__eq__(self, other)  # type: ignore[attr-defined]
        return False

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return bytes.__hash__(self) ^ hash(self._subtype)  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"Binary({bytes(self)!r}, {self._subtype})"  # type: ignore[attr-defined]

    def __reduce__(self) -> tuple[Any, ...]:
        return Binary, (bytes(self), self._subtype)  # type: ignore[attr-defined]


# --- Long, Decimal128 ------------------------------------------------------------------------

class Long(int):
    """``BSON.Long`` values: a 64-bit integer that serialises as ``$numberLong`` whatever its size.
    Arithmetic gives plain ints."""

    __slots__ = ()

    def __new__(cls, value: int = 0) -> Long:
        """Host side (and ``int.from_bytes`` on a value, which calls it): 64 bits or nothing."""
        number = int.__new__(cls, value)
        if not INT64_MIN <= number <= INT64_MAX:
            raise ValueError(f"BSON.Long: {int(number)} is outside the range {INT64_MIN} to {INT64_MAX}")
        return number

    def toNumber(self) -> int:  # noqa: N802 - App Services name
        return int(self)

    def toString(self) -> str:  # noqa: N802 - App Services name
        return int.__repr__(self)

    __str__ = int.__repr__

    def __repr__(self) -> str:
        return f"Long({int.__repr__(self)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return Long, (int(self),)


class Decimal128(_ReadOnly):
    """``BSON.Decimal128`` values: an IEEE 754-2008 128-bit decimal; its text is its value."""

    __slots__ = ("_value",)

    def __init__(self, value: bson.decimal128.Decimal128) -> None:  # host side only
        if type(value) is not bson.decimal128.Decimal128:
            raise TypeError("Decimal128: expected a bson Decimal128")
        object.__setattr__(self, "_value", value)

    def toString(self) -> str:  # noqa: N802 - App Services name
        return str(self._value)

    def __str__(self) -> str:
        return str(self._value)

    def __repr__(self) -> str:
        return f'Decimal128("{self._value}")'

    def __eq__(self, other: object) -> bool:
        return type(other) is Decimal128 and other._value == self._value

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return hash(self._value.bid)

    def __reduce__(self) -> tuple[Any, ...]:
        return _decimal128_from_text, (str(self._value),)


def _decimal128_from_text(text: str) -> Decimal128:
    return Decimal128(bson.decimal128.Decimal128(text))


# --- BSONRegExp --------------------------------------------------------------------------------

def _int_argument(name: str, value: Any, low: int, high: int) -> int:
    """An integer argument: an int, an integral float or a decimal string, within [low, high]."""
    shown = quoted(value) if type(value) is str else repr(value)
    if type(value) is int or type(value) is Long or type(value) is float and value.is_integer():
        number = int(value)
    elif type(value) is str and _INTEGER.match(value.strip()):
        digits = value.strip().lstrip("+-").lstrip("0")
        number = int(value) if len(digits) <= 20 else high + 1  # more digits: out of range, and slow to convert
    elif type(value) in (float, str):
        raise ValueError(f"{name}: {shown} is not an integer")
    else:
        raise TypeError(f"{name}: expected an integer, an integral float or a decimal string, got '{_kind(value)}'")
    if not low <= number <= high:
        raise ValueError(f"{name}: {shown if type(value) is str else number} is outside the range {low} to {high}")
    return number


from runtime.values.bson_rare import BSONRegExp, MaxKey, MinKey, Timestamp, regex_options  # noqa: E402,F401 - re-exported
from runtime.values.bson_namespace import BSON, BSONNamespace  # noqa: E402,F401 - the guest's namespace, re-exported
