"""Extended JSON: values to canonical EJSON, relaxed EJSON and App Services' JSON, and back (contract §4.3).

Owns: ``to_canonical``, ``to_relaxed``, ``to_json`` and guest ``EJSON.stringify``; ``parse``
(guest ``EJSON.parse``) is ``runtime.values.ejson_parse``'s, and is re-exported here.
Serialisers walk the value once and write the text themselves, byte for byte as ``bson.json_util``
for every type both handle, at under half its cost. Must not do I/O, import asyncio or aiohttp,
or import from ``runtime`` other than ``runtime.values`` (bsontypes, shown, ejson_parse).

Serialisers take exact types only: dict, list, tuple, str, int, float, bool, None, bytes,
datetime.datetime, the guest's BSON values (``runtime.values.bsontypes``: ObjectId, Binary, Long,
Decimal128, BSONRegExp, Timestamp, MinKey, MaxKey) and, for host code, pymongo's bson types of the
§4.3 table. ``parse`` returns the guest's BSON values, never a pymongo object. A dict
subclass is taken when its class says so (``_ejson_object = True``: the guest mappings of an
engine, declared once on the class, never by changing this module) or per call with
``mapping_types=(MyDict,)``. Its items are read with ``dict.items``, so no method of it runs. Nesting is capped at ``MAX_DEPTH``, which also finds cycles.

Decisions where the contract is silent:
- text is UTF-8, not ``\\u`` escapes, as Go writes it; a lone surrogate makes the whole output
  fall back to ASCII escapes, so it always encodes as UTF-8;
- integers beyond 64 bits and dates outside years 1-9999 are a ValueError;
- ``to_json`` refuses NaN and ±Infinity (Go's encoding/json fails on them), writes numbers as Go
  does (``1`` for 1.0, ``1e+21``, ``1e-7``) and dates always with milliseconds;
- relaxed dates in 1970-9999 are UTC ISO strings (no ``.000``), others ``$numberLong``.
"""

from __future__ import annotations

import base64
import datetime
import functools
import re
from decimal import Decimal
from json.encoder import encode_basestring, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any, Callable

import bson.binary
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.objectid import ObjectId
from bson.regex import Regex, str_flags_to_int
from bson.timestamp import Timestamp

from runtime.values import bsontypes
from runtime.values.bsontypes import INT64_MAX, INT64_MIN, Binary
from runtime.values.ejson_parse import EPOCH_UTC as _EPOCH_UTC
from runtime.values.ejson_parse import MAX_ISO_MS as _MAX_ISO_MS
from runtime.values.ejson_parse import MS as _MS
from runtime.values.ejson_parse import parse
from runtime.values.shown import json_path

__all__ = ["MAX_DEPTH", "parse", "stringify", "to_canonical", "to_json", "to_relaxed"]

MAX_DEPTH = 100
MappingTypes = tuple[type[dict[Any, Any]], ...]


# --- serialising ---------------------------------------------------------------------------

_EPOCH = datetime.datetime(1970, 1, 1)
_SURROGATE = re.compile("[\ud800-\udfff]")
_REGEX_FLAGS = tuple((option, str_flags_to_int(option)) for option in "ilmsux")


class _Failure(Exception):
    """Raised inside a walk; each container it unwinds through adds its key to ``path``."""

    def __init__(self, error: type[Exception], message: str, detail: str = "", *, here: bool = False,
                 deep: bool = False) -> None:
        self.error, self.message, self.detail, self.here, self.deep = error, message, detail, here, deep
        self.path: list[str | int] = []
        self.containers: list[int] = []

    def unwind(self, key: str | int, container: Any) -> None:
        if self.here:
            self.here = False  # raised for this container itself (a bad key): point at it
        else:
            self.path.append(key)
        self.containers.append(id(container))

    def public(self, fmt: str) -> Exception:
        if self.deep:  # the path is as long as the cap: name only the cap, or the cycle that hit it
            if len(set(self.containers)) < len(self.containers):
                return ValueError(f"cannot serialise a circular structure to {fmt}")
            return ValueError(f"{self.message} to {fmt}")
        where = functools.reduce(json_path, reversed(self.path), "$")
        detail = f": {self.detail}" if self.detail else ""
        return self.error(f"{self.message} to {fmt}" + (f" at {where}" if self.path else "") + detail)


def _int64(value: int) -> str:
    if INT64_MIN <= value <= INT64_MAX:
        return f"{value}"
    raise _Failure(ValueError, "cannot serialise an integer beyond the 64-bit range")


def _millis(value: datetime.datetime) -> int:
    try:
        return (value - (_EPOCH if value.tzinfo is None else _EPOCH_UTC)) // _MS
    except TypeError:  # a tzinfo whose utcoffset() is None: naive, by Python's rules
        return (value.replace(tzinfo=None) - _EPOCH) // _MS


def _iso(millis: int) -> str:
    try:
        return (_EPOCH + millis * _MS).isoformat(timespec="milliseconds")
    except OverflowError:
        raise _Failure(ValueError, "cannot serialise a date outside the years 1 to 9999") from None


def _double(value: float) -> str:
    if value - value == 0:
        return repr(value)
    return "NaN" if value != value else "Infinity" if value > 0 else "-Infinity"


def _go_number(value: float) -> str:
    """A float as Go's encoding/json writes it (ES6 number formatting)."""
    if value - value != 0:
        raise _Failure(ValueError, f"cannot serialise {_double(value)}", "JSON has no such number")
    text, size = repr(value), abs(value)
    if size < 1e21 and (size >= 1e-6 or size == 0):
        return format(Decimal(text), "f") if "e" in text else text[:-2] if text.endswith(".0") else text
    mantissa, exponent = text.split("e")
    return f"{mantissa}e-{exponent[2:]}" if exponent.startswith("-0") else text


def _regex(value: Regex[Any] | bsontypes.BSONRegExp) -> tuple[str, str]:
    if type(value) is bsontypes.BSONRegExp:
        pattern = value.pattern
        text = encode_basestring(pattern) if pattern.isascii() or not _SURROGATE.search(pattern) else encode_basestring_ascii(pattern)
        return text, value.options
    pattern, flags = value.pattern, value.flags
    if type(pattern) is bytes:
        pattern = pattern.decode("utf-8", errors="replace")
    if type(pattern) is not str or not isinstance(flags, int):
        raise _Failure(TypeError, "cannot serialise a BSONRegExp", "its pattern must be a string, its flags an int")
    text = encode_basestring(pattern) if pattern.isascii() or not _SURROGATE.search(pattern) else encode_basestring_ascii(pattern)
    return text, "".join(option for option, flag in _REGEX_FLAGS if flags & flag)


def _binary(value: bytes) -> tuple[str, int]:
    return base64.b64encode(value).decode("ascii"), value.subtype if isinstance(value, (Binary, bson.binary.Binary)) else 0


def _relaxed_date(value: datetime.datetime) -> str:
    millis = _millis(value)
    if not 0 <= millis <= _MAX_ISO_MS:
        return f'{{"$date":{{"$numberLong":"{millis}"}}}}'
    text = _iso(millis)
    return f'{{"$date":"{text[:-4] if millis % 1000 == 0 else text}Z"}}'


_Leaf = Callable[[Any], str]
_COMMON: dict[type, _Leaf] = {
    str: encode_basestring,
    bool: {True: "true", False: "false"}.__getitem__,
    type(None): {None: "null"}.__getitem__,
}
_CANONICAL: dict[type, _Leaf] = {
    **_COMMON,
    int: lambda v: f'{{"$numberInt":"{v}"}}' if -2147483648 <= v <= 2147483647 else f'{{"$numberLong":"{_int64(v)}"}}',
    Int64: lambda v: f'{{"$numberLong":"{_int64(v)}"}}',
    float: lambda v: f'{{"$numberDouble":"{v!r}"}}' if v - v == 0 else f'{{"$numberDouble":"{_double(v)}"}}',
    datetime.datetime: lambda v: f'{{"$date":{{"$numberLong":"{_millis(v)}"}}}}',
    ObjectId: lambda v: f'{{"$oid":"{v}"}}',
    bytes: lambda v: '{"$binary":{"base64":"%s","subType":"%02x"}}' % _binary(v),
    Decimal128: lambda v: f'{{"$numberDecimal":"{v}"}}',
    Regex: lambda v: '{"$regularExpression":{"pattern":%s,"options":"%s"}}' % _regex(v),
    Timestamp: lambda v: f'{{"$timestamp":{{"t":{v.time:d},"i":{v.inc:d}}}}}',
    bsontypes.Timestamp: lambda v: f'{{"$timestamp":{{"t":{v.t:d},"i":{v.i:d}}}}}',
    MinKey: lambda v: '{"$minKey":1}',
    MaxKey: lambda v: '{"$maxKey":1}',
}
_RELAXED: dict[type, _Leaf] = {
    **_CANONICAL,
    int: _int64,
    Int64: _int64,
    float: lambda v: repr(v) if v - v == 0 else f'{{"$numberDouble":"{_double(v)}"}}',
    datetime.datetime: _relaxed_date,
}
_JSON: dict[type, _Leaf] = {
    **_COMMON,
    int: _int64,
    Int64: _int64,
    float: _go_number,
    datetime.datetime: lambda v: f'"{_iso(_millis(v))}Z"',
    ObjectId: lambda v: f'"{v}"',
    bytes: lambda v: '{"Subtype":%d,"Data":"%s"}' % _binary(v)[::-1],
    Decimal128: lambda v: f'"{v}"',
    Regex: lambda v: '{"Pattern":%s,"Options":"%s"}' % _regex(v),
    Timestamp: lambda v: f'{{"T":{v.time:d},"I":{v.inc:d}}}',
    bsontypes.Timestamp: lambda v: f'{{"T":{v.t:d},"I":{v.i:d}}}',
    MinKey: lambda v: "{}",
    MaxKey: lambda v: "{}",
}
for _leaves in (_CANONICAL, _RELAXED, _JSON):  # the guest's values write as pymongo's do
    _leaves[bson.binary.Binary] = _leaves[Binary] = _leaves[bytes]
    _leaves[bsontypes.Long] = _leaves[Int64]
    _leaves[bsontypes.ObjectId] = _leaves[ObjectId]
    _leaves[bsontypes.Decimal128] = _leaves[Decimal128]
    _leaves[bsontypes.BSONRegExp] = _leaves[Regex]
    _leaves[bsontypes.MinKey] = _leaves[MinKey]
    _leaves[bsontypes.MaxKey] = _leaves[MaxKey]


def _walk(value: Any, leaves: dict[type, _Leaf], fmt: str, mappings: MappingTypes | None, max_depth: int) -> str:
    """One pass over ``value``, writing text; a failure unwinds collecting where it happened."""
    get, string, mappings = leaves.get, leaves[str], () if mappings is None else mappings
    depth = 0

    def walk(value: Any) -> str:  # containers, and whatever no leaf takes
        nonlocal depth
        kind = type(value)
        sequence = kind is list or kind is tuple
        if not (sequence or kind is dict or kind in mappings or (issubclass(kind, dict) and getattr(kind, "_ejson_object", False))):
            raise _Failure(TypeError, f"cannot serialise a value of type '{kind.__name__}'")
        depth += 1
        if depth > max_depth:
            raise _Failure(ValueError, f"cannot serialise a value nested more than {max_depth} levels deep", deep=True)
        parts: list[str] = []
        add, key = parts.append, None
        try:
            if sequence:
                for item in value:
                    add(get(type(item), walk)(item))
            else:
                for key, item in dict.items(value):
                    if type(key) is not str:
                        raise _Failure(TypeError, f"cannot serialise a dict key of type '{type(key).__name__}'",
                                       "keys must be strings", here=True)
                    add(f"{string(key)}:{get(type(item), walk)(item)}")
        except _Failure as failure:
            failure.unwind(len(parts) if key is None else key, value)
            raise
        depth -= 1
        return f"[{','.join(parts)}]" if sequence else f"{{{','.join(parts)}}}"

    try:
        text = get(type(value), walk)(value)
    except _Failure as failure:
        raise failure.public(fmt) from None
    finally:
        walk = None  # type: ignore[assignment]  # break walk -> cell -> walk, or each call leaves garbage
    if text.isascii() or string is encode_basestring_ascii or _SURROGATE.search(text) is None:
        return text
    return _walk(value, {**leaves, str: encode_basestring_ascii}, fmt, mappings, max_depth)  # rare: lone surrogates


def to_canonical(value: Any, *, mapping_types: MappingTypes | None = None, max_depth: int = MAX_DEPTH) -> str:
    """Canonical EJSON (§4.3): ``{"$numberInt":"42"}``, compact, keys in insertion order."""
    return _walk(value, _CANONICAL, "EJSON", mapping_types, max_depth)


def to_relaxed(value: Any, *, mapping_types: MappingTypes | None = None, max_depth: int = MAX_DEPTH) -> str:
    """Relaxed EJSON: plain numbers where JSON has them, ISO dates in 1970-9999, compact."""
    return _walk(value, _RELAXED, "EJSON", mapping_types, max_depth)


def to_json(value: Any, *, mapping_types: MappingTypes | None = None, max_depth: int = MAX_DEPTH) -> str:
    """The JSON column of §4.3: what an endpoint with return type JSON sends."""
    return _walk(value, _JSON, "JSON", mapping_types, max_depth)


def stringify(value: Any, options: dict[str, Any] | None = None) -> str:
    """Guest ``EJSON.stringify(value, {"relaxed": True})``: canonical unless ``relaxed`` is true."""
    relaxed = False
    if options is not None:
        if not isinstance(options, dict):
            raise TypeError(f"EJSON.stringify: options must be a dict like {{'relaxed': True}}, got '{type(options).__name__}'")
        for key, flag in dict.items(options):
            if key != "relaxed":
                shown = repr(key) if type(key) is str and len(key) <= 40 else f"of type '{type(key).__name__}'"
                raise TypeError(f"EJSON.stringify: unknown option {shown}; the only allowed option is 'relaxed'")
            if type(flag) is not bool:
                raise TypeError(f"EJSON.stringify: option 'relaxed' must be True or False, got '{type(flag).__name__}'")
            relaxed = flag
    return to_relaxed(value) if relaxed else to_canonical(value)
