"""Extended JSON text to values: guest ``EJSON.parse`` (contract §4.3).

Owns: ``parse`` — canonical, relaxed or plain JSON to values (Int64, Binary, UTC datetimes…),
``json`` with json_util's type hooks behind fast paths, every refusal a ValueError naming what
and where (line and column) — and the date range EJSON takes (``MAX_ISO_MS``), which the
serialisers of ``runtime.values.ejson`` share. Must not do I/O, import asyncio or aiohttp, or
import from ``runtime`` other than ``runtime.values.bsontypes``.

Decisions where the contract is silent: ``parse`` refuses ``NaN``/``Infinity`` literals,
``$code`` and ``$dbPointer``, integers beyond 64 bits and dates outside years 1-9999, and
leaves a ``{"$ref", "$id"}`` document a plain dict.
"""

from __future__ import annotations

import datetime
import functools
import json
import re
from json.decoder import JSONArray, JSONObject
from json.scanner import py_make_scanner  # type: ignore[attr-defined]
from typing import Any, Callable

import bson.binary
import bson.errors
from bson import json_util
from bson.int64 import Int64
from bson.decimal128 import Decimal128
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.objectid import ObjectId
from bson.regex import Regex, str_flags_to_int
from bson.timestamp import Timestamp

from runtime.values import bsontypes
from runtime.values.bsontypes import INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, Binary

EPOCH_UTC = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
MS = datetime.timedelta(milliseconds=1)
MAX_ISO_MS = 253402300799999  # 9999-12-31T23:59:59.999Z

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


_millis_value = _number(int, -62135596800000, MAX_ISO_MS)  # years 1 to 9999
_FAST: dict[tuple[str, type], Callable[[Any], Any]] = {  # the common one-key forms, read as json_util reads them
    ("$numberInt", str): _number(int, INT32_MIN, INT32_MAX), ("$numberLong", str): _number(bsontypes.Long, INT64_MIN, INT64_MAX),
    ("$numberDouble", str): float, ("$oid", str): lambda text: bsontypes.ObjectId(ObjectId(text).binary),
    ("$date", Int64): lambda millis: EPOCH_UTC + _millis_value(millis) * MS,
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
    if kind is Int64 and not INT64_MIN <= value <= INT64_MAX:  # from a non-string $numberLong
        raise _Invalid(f"invalid {key} value: beyond its range")
    facade = _FACADES.get(kind)
    return value if facade is None else facade(value)


def _options(flags: int) -> str:
    return "".join(option for option, flag in _REGEX_FLAGS if flags & flag)


_REGEX_FLAGS = tuple((option, str_flags_to_int(option)) for option in "ilmsux")
# json_util's values → the guest's BSON values (runtime.values.bsontypes): no pymongo object
# leaves parse. datetime.datetime, str, None and the numbers stay as they are.
_FACADES: dict[type, Callable[[Any], Any]] = {
    bytes: lambda value: Binary(value, 0),
    bson.binary.Binary: lambda value: Binary(bytes(value), value.subtype),
    Int64: lambda value: bsontypes.Long(value),
    ObjectId: lambda value: bsontypes.ObjectId(value.binary),
    Decimal128: bsontypes.Decimal128,
    Regex: lambda value: bsontypes.BSONRegExp(value.pattern if type(value.pattern) is str
                                              else bytes(value.pattern).decode("utf-8", "replace"), _options(value.flags)),
    Timestamp: lambda value: bsontypes.Timestamp(value.time, value.inc),
    MinKey: lambda value: bsontypes.MinKey(),
    MaxKey: lambda value: bsontypes.MaxKey(),
}


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
