"""Extended JSON: values to canonical EJSON, relaxed EJSON and App Services' JSON, and back (contract §4.3).

Owns: ``to_canonical``, ``to_relaxed``, ``to_json``, guest ``EJSON.stringify`` and ``EJSON.parse``.
Serialisers walk the value once and write the text themselves, byte for byte as ``bson.json_util``
for every type both handle, at under half its cost; ``parse`` is ``json`` with json_util's type
hooks behind fast paths. Must not do I/O, import asyncio or aiohttp, or import from ``runtime``
other than ``runtime.values.bsontypes`` and ``runtime.values.shown``.

Serialisers take exact types only: dict, list, tuple, str, int, float, bool, None, bytes,
datetime.datetime, ``runtime.values.bsontypes.Binary`` and the bson types of the §4.3 table. A dict
subclass is taken when its class says so (``_ejson_object = True``: the guest mappings of an
engine, declared once on the class, never by changing this module) or per call with
``mapping_types=(MyDict,)``. Its items are read with ``dict.items``, so no method of it runs. Nesting is capped at ``MAX_DEPTH``, which also finds cycles.

Decisions where the contract is silent:
- text is UTF-8, not ``\\u`` escapes, as Go writes it; a lone surrogate makes the whole output
  fall back to ASCII escapes, so it always encodes as UTF-8;
- integers beyond 64 bits and dates outside years 1-9999 are a ValueError;
- ``to_json`` refuses NaN and ±Infinity (Go's encoding/json fails on them), writes numbers as Go
  does (``1`` for 1.0, ``1e+21``, ``1e-7``) and dates always with milliseconds;
- relaxed dates in 1970-9999 are UTC ISO strings (no ``.000``), others ``$numberLong``;
- ``parse`` refuses ``NaN``/``Infinity`` literals, ``$code`` and ``$dbPointer``, and leaves a
  ``{"$ref", "$id"}`` document a plain dict.
"""

from __future__ import annotations

import base64
import datetime
import functools
import json
import re
from decimal import Decimal
from json.decoder import JSONArray, JSONObject
from json.encoder import encode_basestring, encode_basestring_ascii  # type: ignore[attr-defined]
from json.scanner import py_make_scanner  # type: ignore[attr-defined]
from typing import Any, Callable

import bson.binary
import bson.errors
from bson import json_util
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.objectid import ObjectId
from bson.regex import Regex, str_flags_to_int
from bson.timestamp import Timestamp

from runtime.values.bsontypes import INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, Binary
from runtime.values.shown import json_path

MAX_DEPTH = 100
MappingTypes = tuple[type[dict[Any, Any]], ...]


# --- serialising ---------------------------------------------------------------------------

_EPOCH = datetime.datetime(1970, 1, 1)
_EPOCH_UTC = _EPOCH.replace(tzinfo=datetime.timezone.utc)
_MS = datetime.timedelta(milliseconds=1)
_MAX_ISO_MS = 253402300799999  # 9999-12-31T23:59:59.999Z
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


def _regex(value: Regex[Any]) -> tuple[str, str]:
    pattern, flags = value.pattern, value.flags
    if type(pattern) is bytes:
        pattern = pattern.decode("utf-8", errors="replace")
    if type(pattern) is not str or not isinstance(flags, int):
        raise _Failure(TypeError, "cannot serialise a BSONRegExp", "its pattern must be a string, its flags an int")
    text = encode_basestring(pattern) if pattern.isascii() or not _SURROGATE.search(pattern) else encode_basestring_ascii(pattern)
    return text, "".join(option for option, flag in _REGEX_FLAGS if flags & flag)


def _binary(value: bytes) -> tuple[str, int]:
    return base64.b64encode(value).decode("ascii"), value.subtype if isinstance(value, bson.binary.Binary) else 0


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
    MinKey: lambda v: "{}",
    MaxKey: lambda v: "{}",
}
for _leaves in (_CANONICAL, _RELAXED, _JSON):
    _leaves[bson.binary.Binary] = _leaves[Binary] = _leaves[bytes]


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


# --- parsing -------------------------------------------------------------------------------

_TYPE_KEYS = frozenset(("$oid", "$ref", "$date", "$regex", "$minKey", "$maxKey", "$binary", "$code", "$uuid",
                        "$undefined", "$numberLong", "$timestamp", "$numberDecimal", "$dbPointer",
                        "$regularExpression", "$symbol", "$numberInt", "$numberDouble"))  # json_util's
_UNSUPPORTED = {"$code": "JavaScript code ($code)", "$dbPointer": "DBPointer ($dbPointer)"}
_OPTIONS = json_util.JSONOptions(tz_aware=True, tzinfo=datetime.timezone.utc, document_class=dict)


class _Invalid(ValueError):
    """JSON that is valid but not valid EJSON."""


def _number(kind: type, low: int, high: int) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            number = int(text)
        except ValueError:
            raise ValueError(f"{text[:40]!r} is not an integer") from None
        if not low <= number <= high:
            raise ValueError("beyond its range")
        return kind(number)
    return convert


_millis_value = _number(int, -62135596800000, _MAX_ISO_MS)  # years 1 to 9999
_FAST: dict[tuple[str, type], Callable[[Any], Any]] = {  # the common one-key forms, read as json_util reads them
    ("$numberInt", str): _number(int, INT32_MIN, INT32_MAX), ("$numberLong", str): _number(Int64, INT64_MIN, INT64_MAX),
    ("$numberDouble", str): float, ("$oid", str): ObjectId,
    ("$date", Int64): lambda millis: _EPOCH_UTC + _millis_value(millis) * _MS,
}


def _object(pairs: list[tuple[str, Any]], mapping: type[dict[str, Any]] = dict) -> Any:
    if len(pairs) == 1:
        key, value = pairs[0]
        fast = _FAST.get((key, type(value)))
        if fast is not None:
            try:
                return fast(value)
            except (ValueError, bson.errors.InvalidId) as exc:
                raise _Invalid(f"invalid {key} value: {exc}") from None
    document = mapping(pairs)
    if _TYPE_KEYS.isdisjoint(document):
        return document
    return _typed(next(name for name in document if name in _TYPE_KEYS), document)


def _typed(key: str, document: dict[str, Any]) -> Any:
    if key == "$ref":
        return document
    if key in _UNSUPPORTED:
        raise _Invalid(f"{_UNSUPPORTED[key]} is not supported")
    if key in ("$oid", "$symbol") and type(document[key]) is not str:  # json_util would make up a new ObjectId
        raise _Invalid(f"invalid {key} value: expected a string")
    try:
        value = json_util.object_hook(document, _OPTIONS)
    except Exception as exc:  # noqa: BLE001 - json_util raises TypeError, ValueError, InvalidId, OverflowError…
        detail = "beyond its range" if "out of range" in str(exc) else str(exc)
        raise _Invalid(f"invalid {key} value: {detail[:200]}") from None
    kind = type(value)
    if kind is bytes or kind is bson.binary.Binary:
        return Binary(value, value.subtype if kind is bson.binary.Binary else 0)
    if kind is Int64 and not INT64_MIN <= value <= INT64_MAX:  # from a non-string $numberLong
        raise _Invalid(f"invalid {key} value: beyond its range")
    return value


def _no_constant(name: str) -> Any:
    raise _Invalid(f"{name} is not JSON; write {{\"$numberDouble\":\"{name}\"}}")


_DECODER = json.JSONDecoder(object_pairs_hook=_object, parse_constant=_no_constant)
_DECODERS: dict[type, json.JSONDecoder] = {dict: _DECODER}


def _decoder(mapping: type[dict[str, Any]]) -> json.JSONDecoder:
    """A decoder whose plain objects are ``mapping`` instances (one per mapping type)."""
    decoder = _DECODERS.get(mapping)
    if decoder is None:
        hook = functools.partial(_object, mapping=mapping)
        decoder = _DECODERS[mapping] = json.JSONDecoder(object_pairs_hook=hook, parse_constant=_no_constant)
    return decoder


def _where(text: str, position: int) -> str:
    line, line_start = text.count("\n", 0, position) + 1, text.rfind("\n", 0, position)
    return f"line {line} column {position - line_start}"


def _locate(text: str) -> int | None:
    """Where parsing ``text`` fails for a reason other than syntax: pure Python, error path only."""
    found: list[int] = []

    def located(scan: Callable[[str, int], Any]) -> Callable[[str, int], Any]:
        def scan_at(string: str, index: int) -> Any:
            try:
                return scan(string, index)
            except (StopIteration, json.JSONDecodeError, RecursionError):
                raise
            except Exception:
                found.append(index)  # the innermost value fails first
                raise
        return scan_at

    decoder = json.JSONDecoder(object_pairs_hook=_object, parse_constant=_no_constant)
    decoder.parse_object = lambda pair, strict, scan, *rest: JSONObject(pair, strict, located(scan), *rest)  # type: ignore[attr-defined]
    decoder.parse_array = lambda pair, scan: JSONArray(pair, located(scan))  # type: ignore[attr-defined]
    decoder.scan_once = located(py_make_scanner(decoder))
    try:
        decoder.decode(text)
    except Exception:  # noqa: BLE001 - only the position matters here
        pass
    return found[0] if found else None


def parse(text: str | bytes, mapping: type[dict[str, Any]] = dict) -> Any:
    """Guest ``EJSON.parse``: canonical, relaxed or plain JSON to values (Int64, Binary, UTC
    datetimes…); plain objects become ``mapping`` instances (the sandbox passes its AttrDict)."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as exc:
            prefix = bytes(text[:exc.start]).decode("utf-8")
            raise ValueError(f"EJSON.parse: the input is not valid UTF-8, at {_where(prefix, len(prefix))}") from None
    elif type(text) is not str:
        raise TypeError(f"EJSON.parse: expected a string or bytes, got '{type(text).__name__}'")
    try:
        return _decoder(mapping).decode(text)
    except json.JSONDecodeError as exc:
        message = re.sub(r" (starting )?at$", "", exc.msg)
        raise ValueError(f"EJSON.parse: {message[:1].lower()}{message[1:]}, at {_where(text, exc.pos)}") from None
    except RecursionError:
        raise ValueError("EJSON.parse: the input is nested too deeply") from None
    except ValueError as exc:  # _Invalid, or an integer too long for int()
        position = _locate(text)
        what = exc if isinstance(exc, _Invalid) else "a number has too many digits"
        raise ValueError(f"EJSON.parse: {what}" + (f", at {_where(text, position)}" if position is not None else "")) from None
