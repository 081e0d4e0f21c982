"""``BSON``: the constructors guest code calls (``BSON.ObjectId()``, ``BSON.Long.fromString`` …).

Owns: the ``BSON`` namespace of the guest API (contract §8.4) — each constructor checks what a
guest passes and makes one of the value classes of ``runtime.values.bsontypes``; none hands
out a class (red-team F8, F9). Must not do I/O or hand a guest pymongo's classes.
"""

from __future__ import annotations

import bson.decimal128
from dataclasses import dataclass
from typing import Any

from runtime.values.bsontypes import (BSONRegExp, Binary, Decimal128, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, Long, MaxKey, MinKey, ObjectId, REGEX_OPTIONS, Timestamp, _HEX24, _OBJECT_IDS, _int_argument, _kind, regex_options)
from runtime.values.shown import quoted


class _Constructor:
    """A frozen, callable constructor; ``isinstance(x, BSON.ObjectId)`` asks ``_instance_type``,
    which guest code cannot read (it starts with ``_``)."""

    __slots__ = ()
    _instance_type: type | tuple[type, ...] = ()

    def __instancecheck__(self, instance: Any) -> bool:
        return isinstance(instance, self._instance_type)

    def __getattr__(self, name: str) -> Any:  # only for names that do not exist
        available = sorted(n for n in dir(type(self)) if not n.startswith("_"))
        name_of = f"BSON.{type(self).__name__.lstrip('_')}"
        raise AttributeError(f"{name_of}.{name} does not exist; available: {', '.join(available) or 'nothing, call it'}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError(f"{self!r} is read-only")

    __delattr__ = __setattr__  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"[function BSON.{type(self).__name__.lstrip('_')}]"


class _ObjectId(_Constructor):
    _instance_type = ObjectId

    def __call__(self, value: str | ObjectId | None = None) -> ObjectId:
        if value is None:
            return ObjectId(_OBJECT_IDS.next())
        if type(value) is ObjectId:
            return value
        if type(value) is not str:
            raise TypeError(f"BSON.ObjectId: expected a 24-character hex string, got '{_kind(value)}'")
        if not _HEX24.match(value):
            raise ValueError(f"BSON.ObjectId: {quoted(value)} is not a 24-character hex string")
        return ObjectId(bytes.fromhex(value))


class _Binary(_Constructor):
    _instance_type = Binary

    def __call__(self, data: bytes | str, subtype: int = 0) -> Binary:
        return Binary(data, subtype)

    def fromText(self, text: str) -> Binary:  # noqa: N802 - App Services name
        return Binary._from_text(text)

    def fromHex(self, text: str) -> Binary:  # noqa: N802 - App Services name
        return Binary._from_hex(text)

    def fromBase64(self, text: str) -> Binary:  # noqa: N802 - App Services name
        return Binary._from_base64(text)


class _Int32(_Constructor):
    def __call__(self, value: int | float | str) -> int:
        return _int_argument("BSON.Int32", value, INT32_MIN, INT32_MAX)


class _Long(_Constructor):
    _instance_type = Long

    def __call__(self, low: int | float | str, high: int | None = None) -> Long:
        """``Long(value)``, or ``Long(low, high)`` from two 32-bit halves as JavaScript's ``Long``."""
        if high is None:
            return Long(_int_argument("BSON.Long", low, INT64_MIN, INT64_MAX))
        low_bits = _int_argument("BSON.Long (low bits)", low, INT32_MIN, 2**32 - 1) & 0xFFFFFFFF
        high_bits = _int_argument("BSON.Long (high bits)", high, INT32_MIN, 2**32 - 1) & 0xFFFFFFFF
        value = (high_bits << 32) | low_bits
        return Long(value - 2**64 if value > INT64_MAX else value)

    def fromString(self, text: str) -> Long:  # noqa: N802 - App Services name
        if type(text) is not str:
            raise TypeError(f"BSON.Long.fromString: expected a string, got '{_kind(text)}'")
        return Long(_int_argument("BSON.Long.fromString", text, INT64_MIN, INT64_MAX))


class _Double(_Constructor):
    def __call__(self, value: int | float | str) -> float:
        if type(value) in (int, Long, float):
            return float(value)
        if type(value) is str:
            try:
                return float(value)
            except ValueError:
                raise ValueError(f"BSON.Double: {quoted(value)} is not a number") from None
        raise TypeError(f"BSON.Double: expected a number or a numeric string, got '{_kind(value)}'")


class _Decimal128(_Constructor):
    _instance_type = Decimal128

    def __call__(self, value: str | int) -> Decimal128:
        if type(value) in (int, Long):
            return self.fromString(str(int(value)))
        if type(value) is not str:
            raise TypeError(f"BSON.Decimal128: expected a decimal string or an integer, got '{_kind(value)}'")
        return self.fromString(value)

    def fromString(self, text: str) -> Decimal128:  # noqa: N802 - App Services name
        if type(text) is not str:
            raise TypeError(f"BSON.Decimal128.fromString: expected a string, got '{_kind(text)}'")
        try:
            return Decimal128(bson.decimal128.Decimal128(text))
        except (ArithmeticError, ValueError):
            raise ValueError(f"BSON.Decimal128: {quoted(text)} is not a decimal number within Decimal128's range") from None


class _BSONRegExp(_Constructor):
    _instance_type = BSONRegExp

    def __call__(self, pattern: str, options: str = "") -> BSONRegExp:
        if type(pattern) is not str:
            raise TypeError(f"BSON.BSONRegExp: the pattern must be a string, got '{_kind(pattern)}'")
        if type(options) is not str:
            raise TypeError(f"BSON.BSONRegExp: the options must be a string of the letters {REGEX_OPTIONS}, "
                            f"got '{_kind(options)}'")
        return BSONRegExp(pattern, regex_options(options))


class _MinKey(_Constructor):
    _instance_type = MinKey

    def __call__(self) -> MinKey:
        return MinKey()


class _MaxKey(_Constructor):
    _instance_type = MaxKey

    def __call__(self) -> MaxKey:
        return MaxKey()


class _Timestamp(_Constructor):
    _instance_type = Timestamp

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
