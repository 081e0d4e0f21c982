"""The BSON value types guest code sees, as plain Python (contract §8.4).

Owns: ``Binary`` (pymongo's ``bson.binary.Binary`` plus the App Services methods ``text()``,
``toHex()``, ``toBase64()`` and ``fromText``/``fromHex``/``fromBase64``), the frozen ``BSON``
namespace of constructors, and ``utf8()``, the one way a guest string becomes bytes. Every
constructor checks its arguments and names itself and what it allows when it refuses one.
Must not do I/O, and must not import from ``runtime`` but ``runtime.values.shown``
(``runtime.values.ejson`` and ``runtime.values.crypto`` import this module). Guest code cannot reach names starting with ``_``,
so everything public here is camelCase App Services API or a plain function.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

import bson.binary
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.objectid import ObjectId
from bson.regex import Regex
from bson.timestamp import Timestamp

from runtime.values.shown import quoted

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
REGEX_OPTIONS = "ilmsux"  # the BSON regular-expression options, in their canonical order

_SURROGATE = re.compile("[\ud800-\udfff]")
_HEX24 = re.compile(r"[0-9a-fA-F]{24}\Z")
_INTEGER = re.compile(r"[+-]?[0-9]+\Z")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*\Z")


def utf8(text: str) -> bytes:
    """``text`` as UTF-8; a lone surrogate becomes U+FFFD, as JavaScript's encoders do."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text).encode("utf-8")


def _kind(value: Any) -> str:
    return type(value).__name__


class Binary(bson.binary.Binary):
    """``BSON.Binary``: bytes with a BSON subtype, and the App Services methods."""

    def __new__(cls, data: bytes | bytearray | memoryview | str, subtype: int = 0) -> Binary:
        if type(data) is str:
            data = utf8(data)
        elif not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"BSON.Binary: data must be a string or bytes, got '{_kind(data)}'")
        if type(subtype) is not int or not 0 <= subtype <= 255:
            raise ValueError(f"BSON.Binary: subtype must be an integer from 0 to 255, got {subtype!r}")
        return super().__new__(cls, data, subtype)

    def text(self) -> str:
        """The bytes decoded as UTF-8; invalid sequences become U+FFFD."""
        return bytes(self).decode("utf-8", errors="replace")

    def toHex(self) -> str:  # noqa: N802 - App Services name
        return bytes(self).hex()

    def toBase64(self) -> str:  # noqa: N802 - App Services name
        return base64.b64encode(self).decode("ascii")

    @classmethod
    def fromText(cls, text: str) -> Binary:  # noqa: N802 - App Services name
        if type(text) is not str:
            raise TypeError(f"BSON.Binary.fromText: expected a string, got '{_kind(text)}'")
        return cls(utf8(text), 0)

    @classmethod
    def fromHex(cls, text: str) -> Binary:  # noqa: N802 - App Services name
        if type(text) is not str:
            raise TypeError(f"BSON.Binary.fromHex: expected a string, got '{_kind(text)}'")
        if not _HEX.match(text):
            raise ValueError(f"BSON.Binary.fromHex: {quoted(text)} is not an even-length string of hex digits")
        return cls(bytes.fromhex(text), 0)

    @classmethod
    def fromBase64(cls, text: str) -> Binary:  # noqa: N802 - App Services name
        if type(text) is not str:
            raise TypeError(f"BSON.Binary.fromBase64: expected a string, got '{_kind(text)}'")
        try:
            return cls(base64.b64decode(text.encode("ascii"), validate=True), 0)
        except (UnicodeEncodeError, binascii.Error):
            raise ValueError(f"BSON.Binary.fromBase64: {quoted(text)} is not padded standard base64") from None


def _int_argument(name: str, value: Any, low: int, high: int) -> int:
    """An integer argument: an int, an integral float or a decimal string, within [low, high]."""
    shown = quoted(value) if type(value) is str else repr(value)
    if type(value) is int or type(value) is Int64 or type(value) is float and value.is_integer():
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


class _Constructor:
    """A frozen, callable constructor; ``isinstance(x, BSON.ObjectId)`` asks ``instance_type``."""

    __slots__ = ()
    instance_type: type | tuple[type, ...] = ()

    def __instancecheck__(self, instance: Any) -> bool:
        return isinstance(instance, self.instance_type)

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError(f"{self!r} is read-only")

    __delattr__ = __setattr__  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"[function BSON.{type(self).__name__.lstrip('_')}]"


class _ObjectId(_Constructor):
    instance_type = ObjectId

    def __call__(self, value: str | ObjectId | None = None) -> ObjectId:
        if value is None:
            return ObjectId()
        if type(value) is ObjectId:
            return ObjectId(value.binary)
        if type(value) is not str:
            raise TypeError(f"BSON.ObjectId: expected a 24-character hex string, got '{_kind(value)}'")
        if not _HEX24.match(value):
            raise ValueError(f"BSON.ObjectId: {quoted(value)} is not a 24-character hex string")
        return ObjectId(value)


class _Binary(_Constructor):
    instance_type = bson.binary.Binary

    def __call__(self, data: bytes | str, subtype: int = 0) -> Binary:
        return Binary(data, subtype)

    def fromText(self, text: str) -> Binary:  # noqa: N802 - App Services name
        return Binary.fromText(text)

    def fromHex(self, text: str) -> Binary:  # noqa: N802 - App Services name
        return Binary.fromHex(text)

    def fromBase64(self, text: str) -> Binary:  # noqa: N802 - App Services name
        return Binary.fromBase64(text)


class _Int32(_Constructor):
    def __call__(self, value: int | float | str) -> int:
        return _int_argument("BSON.Int32", value, INT32_MIN, INT32_MAX)


class _Long(_Constructor):
    instance_type = Int64

    def __call__(self, low: int | float | str, high: int | None = None) -> Int64:
        """``Long(value)``, or ``Long(low, high)`` from two 32-bit halves as JavaScript's ``Long``."""
        if high is None:
            return Int64(_int_argument("BSON.Long", low, INT64_MIN, INT64_MAX))
        low_bits = _int_argument("BSON.Long (low bits)", low, INT32_MIN, 2**32 - 1) & 0xFFFFFFFF
        high_bits = _int_argument("BSON.Long (high bits)", high, INT32_MIN, 2**32 - 1) & 0xFFFFFFFF
        value = (high_bits << 32) | low_bits
        return Int64(value - 2**64 if value > INT64_MAX else value)

    def fromString(self, text: str) -> Int64:  # noqa: N802 - App Services name
        if type(text) is not str:
            raise TypeError(f"BSON.Long.fromString: expected a string, got '{_kind(text)}'")
        return Int64(_int_argument("BSON.Long.fromString", text, INT64_MIN, INT64_MAX))


class _Double(_Constructor):
    def __call__(self, value: int | float | str) -> float:
        if type(value) in (int, Int64, float):
            return float(value)
        if type(value) is str:
            try:
                return float(value)
            except ValueError:
                raise ValueError(f"BSON.Double: {quoted(value)} is not a number") from None
        raise TypeError(f"BSON.Double: expected a number or a numeric string, got '{_kind(value)}'")


class _Decimal128(_Constructor):
    instance_type = Decimal128

    def __call__(self, value: str | int) -> Decimal128:
        if type(value) in (int, Int64):
            return self.fromString(str(value))
        if type(value) is not str:
            raise TypeError(f"BSON.Decimal128: expected a decimal string or an integer, got '{_kind(value)}'")
        return self.fromString(value)

    def fromString(self, text: str) -> Decimal128:  # noqa: N802 - App Services name
        if type(text) is not str:
            raise TypeError(f"BSON.Decimal128.fromString: expected a string, got '{_kind(text)}'")
        try:
            return Decimal128(text)
        except (ArithmeticError, ValueError):
            raise ValueError(f"BSON.Decimal128: {quoted(text)} is not a decimal number within Decimal128's range") from None


class _BSONRegExp(_Constructor):
    instance_type = Regex

    def __call__(self, pattern: str, options: str = "") -> Regex:
        if type(pattern) is not str:
            raise TypeError(f"BSON.BSONRegExp: the pattern must be a string, got '{_kind(pattern)}'")
        if type(options) is not str:
            raise TypeError(f"BSON.BSONRegExp: the options must be a string, got '{_kind(options)}'")
        for option in options:
            if option not in REGEX_OPTIONS:
                raise ValueError(f"BSON.BSONRegExp: option {option!r} is not one of {', '.join(REGEX_OPTIONS)}")
        return Regex(pattern, "".join(sorted(set(options))))


class _MinKey(_Constructor):
    instance_type = MinKey

    def __call__(self) -> MinKey:
        return MinKey()


class _MaxKey(_Constructor):
    instance_type = MaxKey

    def __call__(self) -> MaxKey:
        return MaxKey()


class _Timestamp(_Constructor):
    instance_type = Timestamp

    def __call__(self, t: int, i: int) -> Timestamp:
        seconds = _int_argument("BSON.Timestamp (t)", t, 0, 2**32 - 1)
        increment = _int_argument("BSON.Timestamp (i)", i, 0, 2**32 - 1)
        return Timestamp(seconds, increment)


@dataclass(frozen=True)
class BSONNamespace:
    """The guest's ``BSON`` global: constructors only, nothing to change."""

    ObjectId: _ObjectId
    Binary: _Binary
    Int32: _Int32
    Long: _Long
    Double: _Double
    Decimal128: _Decimal128
    BSONRegExp: _BSONRegExp
    MinKey: _MinKey
    MaxKey: _MaxKey
    Timestamp: _Timestamp

    def __repr__(self) -> str:
        return "[object BSON]"


BSON = BSONNamespace(
    ObjectId=_ObjectId(), Binary=_Binary(), Int32=_Int32(), Long=_Long(), Double=_Double(),
    Decimal128=_Decimal128(), BSONRegExp=_BSONRegExp(), MinKey=_MinKey(), MaxKey=_MaxKey(),
    Timestamp=_Timestamp(),
)
