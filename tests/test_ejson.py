"""runtime.values.ejson: canonical/relaxed EJSON, App Services' JSON, EJSON.stringify and EJSON.parse (contract §4.3, §8.4, §9)."""

from __future__ import annotations

import collections
import datetime
import decimal
import math
import uuid
from typing import Any

import bson.binary
import pytest
from bson import json_util
from bson.code import Code
from bson.dbref import DBRef
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.max_key import MaxKey
from bson.min_key import MinKey
from bson.objectid import ObjectId
from bson.regex import Regex
from bson.timestamp import Timestamp
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.values import ejson, ejson_parse
from runtime.values import bsontypes
from runtime.values.bsontypes import BSON, Binary


def pymongo_value(value: Any) -> Any:
    """The oracle's input: json_util knows pymongo's classes only, not the guest's values."""
    kind = type(value)
    if kind is dict:
        return {key: pymongo_value(item) for key, item in value.items()}
    if kind in (list, tuple):
        return kind(pymongo_value(item) for item in value)
    return {
        bsontypes.Long: lambda v: Int64(v), bsontypes.Binary: lambda v: bson.binary.Binary(bytes(v), v.subtype),
        bsontypes.BSONRegExp: lambda v: Regex(v.pattern, v.options), bsontypes.ObjectId: lambda v: ObjectId(v.toString()),
        bsontypes.Decimal128: lambda v: Decimal128(v.toString()), bsontypes.Timestamp: lambda v: Timestamp(v.t, v.i),
        bsontypes.MinKey: lambda v: MinKey(), bsontypes.MaxKey: lambda v: MaxKey(),
    }.get(kind, lambda v: v)(value)


def guest_value(value: Any) -> Any:
    """What EJSON.parse gives back for a value: the guest's BSON values for pymongo's."""
    kind = type(value)
    if kind is dict:
        return {key: guest_value(item) for key, item in value.items()}
    if kind in (list, tuple):
        return [guest_value(item) for item in value]
    if kind is Binary:
        return value
    return ejson_parse._FACADES.get(kind, lambda v: v)(value)

UTC = datetime.timezone.utc


def utc(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


# --- known-answer vectors (contract §9) ----------------------------------------------------

def test_vector_14_webhook_return_value() -> None:
    """§9 #14: a webhook returning {Processed: 900} sends canonical EJSON with $numberInt (§4.3)."""
    assert ejson.to_canonical({"Processed": 900}) == '{"Processed":{"$numberInt":"900"}}'


def test_vector_15_double_and_date() -> None:
    """§9 #15: {pi: 3.14159, today: new Date(1652297239913)} (§4.3)."""
    today = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=1652297239913)
    assert ejson.to_canonical({"pi": 3.14159, "today": today}) == \
        '{"pi":{"$numberDouble":"3.14159"},"today":{"$date":{"$numberLong":"1652297239913"}}}'


def test_vector_16_stringify_int_and_date() -> None:
    """§9 #16: EJSON.stringify({answer: 42, submittedAt: new Date("2020-03-02T16:46:47.977Z")}) (§4.3 Decision)."""
    value = {"answer": 42, "submittedAt": utc(2020, 3, 2, 16, 46, 47, 977000)}
    expected = '{"answer":{"$numberInt":"42"},"submittedAt":{"$date":{"$numberLong":"1583167607977"}}}'
    assert ejson.stringify(value) == expected
    assert ejson.to_canonical(value) == expected


def test_vector_17_integer_past_int32() -> None:
    """§9 #17: {n: 2147483648} is a $numberLong (§4.3 Decision)."""
    assert ejson.to_canonical({"n": 2147483648}) == '{"n":{"$numberLong":"2147483648"}}'


def test_vector_18_date_as_ejson_and_json() -> None:
    """§9 #18: 2023-05-05T01:02:03.456Z as EJSON; §4.3 TEST gives the same date as JSON."""
    date = utc(2023, 5, 5, 1, 2, 3, 456000)
    assert ejson.to_canonical(date) == '{"$date":{"$numberLong":"1683248523456"}}'
    assert ejson.to_canonical(date.replace(tzinfo=None)) == '{"$date":{"$numberLong":"1683248523456"}}'
    assert ejson.to_json({"date": date}) == '{"date":"2023-05-05T01:02:03.456Z"}'


# --- the §4.3 type table, one row each: (value, canonical EJSON, JSON) ----------------------

OID = "5d505646cf6d4fe581014ab2"
TYPE_TABLE: list[tuple[str, Any, str, str]] = [
    ("string", "héllo \"x\"\n", '"héllo \\"x\\"\\n"', '"héllo \\"x\\"\\n"'),
    ("true", True, "true", "true"),
    ("false", False, "false", "false"),
    ("null", None, "null", "null"),
    ("int32", 42, '{"$numberInt":"42"}', "42"),
    ("int32 min", -2147483648, '{"$numberInt":"-2147483648"}', "-2147483648"),
    ("int32 max", 2147483647, '{"$numberInt":"2147483647"}', "2147483647"),
    ("BSON.Int32", BSON.Int32(42), '{"$numberInt":"42"}', "42"),
    ("beyond int32", 2147483648, '{"$numberLong":"2147483648"}', "2147483648"),
    ("below int32", -2147483649, '{"$numberLong":"-2147483649"}', "-2147483649"),
    ("int64 max", 2**63 - 1, '{"$numberLong":"9223372036854775807"}', "9223372036854775807"),
    ("BSON.Long", BSON.Long(42), '{"$numberLong":"42"}', "42"),
    ("double", 10.5, '{"$numberDouble":"10.5"}', "10.5"),
    ("BSON.Double", BSON.Double(10.5), '{"$numberDouble":"10.5"}', "10.5"),
    ("Decimal128", Decimal128("9823.1297"), '{"$numberDecimal":"9823.1297"}', '"9823.1297"'),
    ("Date", utc(2022, 1, 12, 2, 33, 23, 67000), '{"$date":{"$numberLong":"1641954803067"}}',
     '"2022-01-12T02:33:23.067Z"'),
    ("ObjectId", ObjectId(OID), '{"$oid":"5d505646cf6d4fe581014ab2"}', '"5d505646cf6d4fe581014ab2"'),
    ("Binary", Binary(b"hello", 5), '{"$binary":{"base64":"aGVsbG8=","subType":"05"}}',
     '{"Subtype":5,"Data":"aGVsbG8="}'),
    ("pymongo Binary", bson.binary.Binary(b"\xff", 0x80), '{"$binary":{"base64":"/w==","subType":"80"}}',
     '{"Subtype":128,"Data":"/w=="}'),
    ("bytes", b"hi", '{"$binary":{"base64":"aGk=","subType":"00"}}', '{"Subtype":0,"Data":"aGk="}'),
    ("BSONRegExp", BSON.BSONRegExp("^H", "i"), '{"$regularExpression":{"pattern":"^H","options":"i"}}',
     '{"Pattern":"^H","Options":"i"}'),
    ("Timestamp", Timestamp(1565545664, 1), '{"$timestamp":{"t":1565545664,"i":1}}', '{"T":1565545664,"I":1}'),
    ("MinKey", MinKey(), '{"$minKey":1}', "{}"),
    ("MaxKey", MaxKey(), '{"$maxKey":1}', "{}"),
    ("BSON.Decimal128", BSON.Decimal128("9823.1297"), '{"$numberDecimal":"9823.1297"}', '"9823.1297"'),
    ("BSON.ObjectId", BSON.ObjectId(OID), '{"$oid":"5d505646cf6d4fe581014ab2"}', '"5d505646cf6d4fe581014ab2"'),
    ("BSON.Timestamp", BSON.Timestamp(1565545664, 1), '{"$timestamp":{"t":1565545664,"i":1}}', '{"T":1565545664,"I":1}'),
    ("BSON.MinKey", BSON.MinKey(), '{"$minKey":1}', "{}"),
    ("BSON.MaxKey", BSON.MaxKey(), '{"$maxKey":1}', "{}"),
    ("BSON.BSONRegExp all options", BSON.BSONRegExp("a", "xusmli"), '{"$regularExpression":{"pattern":"a","options":"ilmsux"}}',
     '{"Pattern":"a","Options":"ilmsux"}'),
    ("object", {"b": 1, "a": [True]}, '{"b":{"$numberInt":"1"},"a":[true]}', '{"b":1,"a":[true]}'),
    ("array", [1, "x", None], '[{"$numberInt":"1"},"x",null]', '[1,"x",null]'),
    ("tuple", (1, 2), '[{"$numberInt":"1"},{"$numberInt":"2"}]', "[1,2]"),
    ("empty", {"o": {}, "a": [], "t": ()}, '{"o":{},"a":[],"t":[]}', '{"o":{},"a":[],"t":[]}'),
]


@pytest.mark.parametrize(("row", "value", "canonical", "as_json"), TYPE_TABLE, ids=[row[0] for row in TYPE_TABLE])
def test_type_table_canonical(row: str, value: Any, canonical: str, as_json: str) -> None:
    assert ejson.to_canonical(value) == canonical
    assert ejson.to_canonical({"v": value}) == '{"v":' + canonical + "}"


@pytest.mark.parametrize(("row", "value", "canonical", "as_json"), TYPE_TABLE, ids=[row[0] for row in TYPE_TABLE])
def test_type_table_json(row: str, value: Any, canonical: str, as_json: str) -> None:
    assert ejson.to_json(value) == as_json
    assert ejson.to_json([value]) == "[" + as_json + "]"


@pytest.mark.parametrize(("row", "value", "canonical", "as_json"), TYPE_TABLE, ids=[row[0] for row in TYPE_TABLE])
def test_type_table_matches_json_util(row: str, value: Any, canonical: str, as_json: str) -> None:
    assert canonical == json_util.dumps(pymongo_value(value), json_options=json_util.CANONICAL_JSON_OPTIONS,
                                        separators=(",", ":"), ensure_ascii=False)


def test_insertion_order_is_kept() -> None:
    value = {"z": 1, "a": 2, "m": {"y": 1, "b": 2}}
    assert ejson.to_json(value) == '{"z":1,"a":2,"m":{"y":1,"b":2}}'


def test_bool_is_not_an_integer() -> None:
    assert ejson.to_canonical([True, 1, False, 0]) == '[true,{"$numberInt":"1"},false,{"$numberInt":"0"}]'
    assert ejson.to_relaxed([True, 1]) == "[true,1]"


# --- numbers ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("value", "canonical", "relaxed"),
    [
        (-0.0, '{"$numberDouble":"-0.0"}', "-0.0"),
        (float("nan"), '{"$numberDouble":"NaN"}', '{"$numberDouble":"NaN"}'),
        (float("inf"), '{"$numberDouble":"Infinity"}', '{"$numberDouble":"Infinity"}'),
        (float("-inf"), '{"$numberDouble":"-Infinity"}', '{"$numberDouble":"-Infinity"}'),
        (1.0, '{"$numberDouble":"1.0"}', "1.0"),
        (1e21, '{"$numberDouble":"1e+21"}', "1e+21"),
        (1e-7, '{"$numberDouble":"1e-07"}', "1e-07"),
    ],
)
def test_special_doubles(value: float, canonical: str, relaxed: str) -> None:
    """INF (js-bson) §4.3: -0, NaN and ±Infinity are $numberDouble strings in canonical EJSON."""
    assert ejson.to_canonical(value) == canonical
    assert ejson.to_relaxed(value) == relaxed


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (10.5, "10.5"), (1.0, "1"), (-0.0, "-0"), (0.0, "0"), (100.0, "100"), (3.14159, "3.14159"),
        (1e20, "100000000000000000000"), (1e21, "1e+21"), (1.5e300, "1.5e+300"), (1e16, "10000000000000000"),
        (123456789.125, "123456789.125"), (0.000001, "0.000001"), (2.5e-5, "0.000025"), (1e-7, "1e-7"),
        (-1.5e-7, "-1.5e-7"), (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
    ],
)
def test_json_numbers_are_written_as_go_writes_them(value: float, text: str) -> None:
    """§4.3: the JSON column comes from Go's encoding/json, which formats floats as ES6 does."""
    assert ejson.to_json(value) == text
    assert float(text) == value


def test_relaxed_integers_are_plain_numbers() -> None:
    """§10: relaxed Int64 is a plain number (extended-json spec)."""
    assert ejson.to_relaxed({"a": 42, "b": Int64(42), "c": 2**40}) == '{"a":42,"b":42,"c":1099511627776}'


# --- dates -----------------------------------------------------------------------------------

def test_naive_dates_are_utc_and_offsets_are_applied() -> None:
    plus_two = datetime.timezone(datetime.timedelta(hours=2))
    local = datetime.datetime(2023, 5, 5, 3, 2, 3, 456000, tzinfo=plus_two)
    for value in (local, datetime.datetime(2023, 5, 5, 1, 2, 3, 456000)):
        assert ejson.to_canonical(value) == '{"$date":{"$numberLong":"1683248523456"}}'
        assert ejson.to_relaxed(value) == '{"$date":"2023-05-05T01:02:03.456Z"}'
        assert ejson.to_json(value) == '"2023-05-05T01:02:03.456Z"'


def test_dates_are_truncated_to_milliseconds() -> None:
    value = datetime.datetime(1969, 12, 31, 23, 59, 59, 999999)
    assert ejson.to_canonical(value) == '{"$date":{"$numberLong":"-1"}}'
    assert ejson.to_json(value) == '"1969-12-31T23:59:59.999Z"'
    assert ejson.to_json(datetime.datetime(2023, 1, 1, 0, 0, 0, 1999)) == '"2023-01-01T00:00:00.001Z"'


@pytest.mark.parametrize(
    ("value", "relaxed", "as_json"),
    [
        (datetime.datetime(1970, 1, 1), '{"$date":"1970-01-01T00:00:00Z"}', '"1970-01-01T00:00:00.000Z"'),
        (datetime.datetime(1969, 12, 31, 23, 59, 59), '{"$date":{"$numberLong":"-1000"}}', '"1969-12-31T23:59:59.000Z"'),
        (datetime.datetime(1, 1, 1), '{"$date":{"$numberLong":"-62135596800000"}}', '"0001-01-01T00:00:00.000Z"'),
        (datetime.datetime(9999, 12, 31, 23, 59, 59, 999000), '{"$date":"9999-12-31T23:59:59.999Z"}',
         '"9999-12-31T23:59:59.999Z"'),
    ],
)
def test_relaxed_and_json_dates_at_the_edges(value: datetime.datetime, relaxed: str, as_json: str) -> None:
    assert ejson.to_relaxed(value) == relaxed
    assert ejson.to_json(value) == as_json
    assert relaxed == json_util.dumps(value, json_options=json_util.RELAXED_JSON_OPTIONS, separators=(",", ":"))


def test_date_outside_years_1_to_9999_in_utc_is_refused_as_json() -> None:
    east = datetime.timezone(datetime.timedelta(hours=5))
    value = datetime.datetime(1, 1, 1, 1, 0, tzinfo=east)  # 0000-12-31T20:00Z
    assert ejson.to_canonical(value) == '{"$date":{"$numberLong":"-62135611200000"}}'
    with pytest.raises(ValueError) as caught:
        ejson.to_json({"when": value})
    assert str(caught.value) == "cannot serialise a date outside the years 1 to 9999 to JSON at $.when"


# --- strings ---------------------------------------------------------------------------------

def test_text_is_utf8_with_json_escapes() -> None:
    value = {"é": "日本\u2028\x00\x1f\"\\/"}
    assert ejson.to_canonical(value) == '{"é":"日本\u2028\\u0000\\u001f\\"\\\\/"}'
    assert ejson.to_json(value) == ejson.to_canonical(value)


def test_lone_surrogates_fall_back_to_ascii_escapes() -> None:
    """Decision: the output always encodes as UTF-8, so a lone surrogate makes it all \\u escapes."""
    text = ejson.to_canonical({"k\ud800": ["é\udfff", BSON.BSONRegExp("\ud83d")]})
    assert text == '{"k\\ud800":["\\u00e9\\udfff",{"$regularExpression":{"pattern":"\\ud83d","options":""}}]}'
    text.encode("utf-8")
    assert ejson.parse(text) == {"k\ud800": ["é\udfff", BSON.BSONRegExp("\ud83d")]}


# --- exact types, errors -----------------------------------------------------------------------

class MyDict(dict):  # type: ignore[type-arg]
    def items(self) -> Any:  # never called: the serialisers read dict.items
        raise AssertionError("a subclass method ran")


class MyInt(int):
    pass


class MyStr(str):
    pass


@pytest.mark.parametrize(
    "value",
    [MyDict(a=1), MyInt(1), MyStr("x"), collections.OrderedDict(a=1), {1, 2}, frozenset(), bytearray(b"x"),
     uuid.UUID(int=1), Code("x"), DBRef("c", 1), datetime.date(2020, 1, 1), decimal.Decimal("1.5"), object(),
     complex(1, 2), range(3), len],
    ids=lambda value: type(value).__name__,
)
def test_only_exact_types_are_serialised(value: Any) -> None:
    for function, fmt in ((ejson.to_canonical, "EJSON"), (ejson.to_relaxed, "EJSON"), (ejson.to_json, "JSON")):
        with pytest.raises(TypeError) as caught:
            function(value)
        assert str(caught.value) == f"cannot serialise a value of type '{type(value).__name__}' to {fmt}"


def test_type_error_names_the_path_but_never_the_value() -> None:
    class Secretive:
        def __repr__(self) -> str:
            raise AssertionError("repr was called")

    with pytest.raises(TypeError) as caught:
        ejson.to_canonical({"a": [1, {"weird key": {"b": Secretive()}}]})
    assert str(caught.value) == "cannot serialise a value of type 'Secretive' to EJSON at $.a[1][\"weird key\"].b"


def test_keys_must_be_strings() -> None:
    with pytest.raises(TypeError) as caught:
        ejson.to_canonical({"outer": {1: "x"}})
    assert str(caught.value) == "cannot serialise a dict key of type 'int' to EJSON at $.outer: keys must be strings"
    with pytest.raises(TypeError) as caught:
        ejson.to_json({MyStr("k"): 1})
    assert str(caught.value) == "cannot serialise a dict key of type 'MyStr' to JSON: keys must be strings"


def nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def test_nesting_cap() -> None:
    assert ejson.to_json(nested(100)) == "[" * 100 + "1" + "]" * 100
    for function, fmt in ((ejson.to_canonical, "EJSON"), (ejson.to_json, "JSON")):
        with pytest.raises(ValueError) as caught:
            function(nested(101))
        assert str(caught.value) == f"cannot serialise a value nested more than 100 levels deep to {fmt}"
    assert ejson.to_json(nested(3), max_depth=3) == "[[[1]]]"
    with pytest.raises(ValueError, match="nested more than 2 levels deep to JSON"):
        ejson.to_json({"a": {"b": {}}}, max_depth=2)


def test_cycles_are_detected() -> None:
    loop: dict[str, Any] = {"a": 1}
    loop["self"] = loop
    ring: list[Any] = [[]]
    ring[0].append(ring)
    for value in (loop, ring, [loop]):
        with pytest.raises(ValueError) as caught:
            ejson.to_canonical(value)
        assert str(caught.value) == "cannot serialise a circular structure to EJSON"


def test_shared_but_acyclic_values_are_fine() -> None:
    shared = [1]
    assert ejson.to_json({"a": shared, "b": shared}) == '{"a":[1],"b":[1]}'


def test_integers_beyond_64_bits_are_refused() -> None:
    for value, function, fmt in ((2**63, ejson.to_canonical, "EJSON"), (-(2**63) - 1, ejson.to_relaxed, "EJSON"),
                                 (2**64, ejson.to_json, "JSON"), (Int64(2**70), ejson.to_canonical, "EJSON")):
        with pytest.raises(ValueError) as caught:
            function({"n": value})
        assert str(caught.value) == f"cannot serialise an integer beyond the 64-bit range to {fmt} at $.n"


@pytest.mark.parametrize(("value", "name"), [(float("nan"), "NaN"), (float("inf"), "Infinity"), (-math.inf, "-Infinity")])
def test_json_refuses_nan_and_infinity(value: float, name: str) -> None:
    """Decision: Go's encoding/json cannot write these; EJSON can ($numberDouble)."""
    with pytest.raises(ValueError) as caught:
        ejson.to_json({"x": [value]})
    assert str(caught.value) == f"cannot serialise {name} to JSON at $.x[0]: JSON has no such number"
    with pytest.raises(ValueError) as caught:
        ejson.to_json(value)
    assert str(caught.value) == f"cannot serialise {name} to JSON: JSON has no such number"


# --- mapping types ---------------------------------------------------------------------------

def test_dict_subclass_per_call_reads_dict_items() -> None:
    value = {"outer": MyDict(z=1, a=[2])}
    assert ejson.to_canonical(value, mapping_types=(MyDict,)) == \
        '{"outer":{"z":{"$numberInt":"1"},"a":[{"$numberInt":"2"}]}}'
    with pytest.raises(TypeError, match="type 'MyDict' to EJSON at \\$.outer"):
        ejson.to_canonical(value)


def test_a_dict_subclass_that_declares_itself_an_object_is_taken_everywhere() -> None:
    class Marked(dict):  # type: ignore[type-arg]
        _ejson_object = True

    assert ejson.to_json(Marked(a=1)) == '{"a":1}'
    assert ejson.stringify(Marked(a=1), {"relaxed": True}) == '{"a":1}'


def test_importing_the_python_guest_changes_no_state_of_ejson() -> None:
    """House issue: ``ejson.mapping_types`` was changed by importing the guest module. The guest's
    AttrDict now declares itself; ejson has no process-wide registry left to change."""
    import runtime.worker.engines.python.guest as guest

    assert not hasattr(ejson, "mapping_types") and not hasattr(ejson, "register_mapping_type")
    assert ejson.to_json(guest.AttrDict(a=guest.AttrDict(b=1))) == '{"a":{"b":1}}'
    with pytest.raises(TypeError):
        ejson.to_json(MyDict(a=1))  # an undeclared subclass is still refused


# --- EJSON.stringify -------------------------------------------------------------------------

def test_stringify_is_canonical_unless_relaxed() -> None:
    value = {"n": 1, "d": utc(2023, 5, 5, 1, 2, 3, 456000)}
    assert ejson.stringify(value) == ejson.to_canonical(value)
    assert ejson.stringify(value, {"relaxed": False}) == ejson.to_canonical(value)
    assert ejson.stringify(value, {}) == ejson.to_canonical(value)
    assert ejson.stringify(value, {"relaxed": True}) == '{"n":1,"d":{"$date":"2023-05-05T01:02:03.456Z"}}'


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"space": 2}, "EJSON.stringify: unknown option 'space'; the only allowed option is 'relaxed'"),
        ({1: True}, "EJSON.stringify: unknown option of type 'int'; the only allowed option is 'relaxed'"),
        ({"relaxed": 1}, "EJSON.stringify: option 'relaxed' must be True or False, got 'int'"),
        ([("relaxed", True)], "EJSON.stringify: options must be a dict like {'relaxed': True}, got 'list'"),
    ],
)
def test_stringify_option_errors(options: Any, message: str) -> None:
    with pytest.raises(TypeError) as caught:
        ejson.stringify({}, options)
    assert str(caught.value) == message


# --- EJSON.parse ---------------------------------------------------------------------------------

def test_parse_canonical_relaxed_and_plain_json() -> None:
    text = ('{"i":{"$numberInt":"42"},"l":{"$numberLong":"42"},"d":{"$numberDouble":"-0.0"},'
            '"date":{"$date":{"$numberLong":"1683248523456"}},"iso":{"$date":"2023-05-05T03:02:03.456+02:00"},'
            '"plain":[1,2.5,"x",true,null,{}],"big":12345678901234567890}')
    value = ejson.parse(text)
    assert list(value) == ["i", "l", "d", "date", "iso", "plain", "big"]
    assert type(value["i"]) is int and value["i"] == 42
    assert type(value["l"]) is bsontypes.Long and value["l"] == 42
    assert math.copysign(1, value["d"]) == -1
    assert value["date"] == value["iso"] == utc(2023, 5, 5, 1, 2, 3, 456000)
    assert value["date"].tzinfo is UTC and value["iso"].tzinfo is UTC
    assert value["plain"] == [1, 2.5, "x", True, None, {}] and type(value["plain"][5]) is dict
    assert value["big"] == 12345678901234567890


def test_parse_binary_is_the_guest_binary() -> None:
    """§8.4: a parsed $binary answers .text(); subtype 0 too (json_util gives bare bytes)."""
    value = ejson.parse(b'[{"$binary":{"base64":"aGk=","subType":"00"}},{"$binary":{"base64":"aGk=","subType":"05"}},'
                        b'{"$uuid":"00000000-0000-0000-0000-000000000001"}]')
    assert [type(item) for item in value] == [Binary, Binary, Binary]
    assert value[0].text() == "hi" and value[0].subtype == 0 and value[1].subtype == 5
    assert value[2] == Binary(uuid.UUID(int=1).bytes, 4)


def test_parse_other_types() -> None:
    value = ejson.parse('{"o":{"$oid":"5d505646cf6d4fe581014ab2"},"m":{"$numberDecimal":"1.50"},'
                        '"r":{"$regularExpression":{"pattern":"^H","options":"mi"}},"q":{"$regex":"^a","$options":"i"},'
                        '"t":{"$timestamp":{"t":5,"i":6}},"lo":{"$minKey":1},"hi":{"$maxKey":1},'
                        '"ref":{"$ref":"c","$id":1},"u":{"$undefined":true},"s":{"$symbol":"sym"},"op":{"$gt":1}}')
    assert value == {"o": BSON.ObjectId(OID), "m": BSON.Decimal128("1.50"), "r": BSON.BSONRegExp("^H", "im"),
                     "q": BSON.BSONRegExp("^a", "i"), "t": BSON.Timestamp(5, 6), "lo": BSON.MinKey(), "hi": BSON.MaxKey(),
                     "ref": {"$ref": "c", "$id": 1}, "u": None, "s": "sym", "op": {"$gt": 1}}
    assert type(value["ref"]) is dict


def test_parse_duplicate_keys_keep_the_last_value_in_the_first_place() -> None:
    assert list(ejson.parse('{"a":1,"b":2,"a":3}').items()) == [("a", 3), ("b", 2)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "EJSON.parse: expecting value, at line 1 column 1"),
        ('{"a":', "EJSON.parse: expecting value, at line 1 column 6"),
        ('{"a" 1}', "EJSON.parse: expecting ':' delimiter, at line 1 column 6"),
        ("[1,2] x", "EJSON.parse: extra data, at line 1 column 7"),
        ('{\n  "a": "abc', "EJSON.parse: unterminated string, at line 2 column 8"),
        ("{'a': 1}", "EJSON.parse: expecting property name enclosed in double quotes, at line 1 column 2"),
        ("\ufeff{}", "EJSON.parse: expecting value, at line 1 column 1"),  # JSON.parse refuses a BOM too
        ('{"o":{"$oid":null}}', "EJSON.parse: invalid $oid value: expected a string, at line 1 column 6"),
        ('{"s":{"$symbol":1}}', "EJSON.parse: invalid $symbol value: expected a string, at line 1 column 6"),
        ('{"a":{"$numberLong":"x"}}', "EJSON.parse: invalid $numberLong value: 'x' is not an integer, at line 1 column 6"),
        ('[1,\n  {"$oid":"zz"}]', "EJSON.parse: invalid $oid value: 'zz' is not a valid ObjectId, it must be a "
                                 "12-byte input or a 24-character hex string, at line 2 column 3"),
        ('{"x":{"$numberDouble":"ten"}}',
         "EJSON.parse: invalid $numberDouble value: could not convert string to float: 'ten', at line 1 column 6"),
        ('{"n":{"$numberInt":"2147483648"}}', "EJSON.parse: invalid $numberInt value: beyond its range, at line 1 column 6"),
        ('{"n":{"$numberLong":"9223372036854775808"}}',
         "EJSON.parse: invalid $numberLong value: beyond its range, at line 1 column 6"),
        ('{"d":{"$date":{"$numberLong":"-62135596800001"}}}',
         "EJSON.parse: invalid $date value: beyond its range, at line 1 column 6"),
        ('{"d":{"$date":"yesterday"}}', "EJSON.parse: invalid $date value: time data 'yesterday' does not match "
                                        "format '%Y-%m-%dT%H:%M:%S', at line 1 column 6"),
        ('{"b":{"$binary":{"base64":"aGk=","subType":"00","x":1}}}',
         "EJSON.parse: invalid $binary value: $binary must include only \"base64\" and \"subType\" components: "
         "{'$binary': {'base64': 'aGk=', 'subType': '00', 'x': 1}}, at line 1 column 6"),
        ('[NaN]', 'EJSON.parse: NaN is not JSON; write {"$numberDouble":"NaN"}, at line 1 column 2'),
        ('{"x": -Infinity}', 'EJSON.parse: -Infinity is not JSON; write {"$numberDouble":"-Infinity"}, at line 1 column 7'),
        ('{"f":{"$code":"return 1"}}', "EJSON.parse: JavaScript code ($code) is not supported, at line 1 column 6"),
        ('{"p":{"$dbPointer":{}}}', "EJSON.parse: DBPointer ($dbPointer) is not supported, at line 1 column 6"),
        ("[" + "1" * 5000 + "]", "EJSON.parse: a number has too many digits, at line 1 column 2"),
        ("[" * 100000, "EJSON.parse: the input is nested too deeply"),
    ],
)
def test_parse_errors_say_what_and_where(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        ejson.parse(text)
    assert str(caught.value) == message


def test_parse_refuses_invalid_utf8_and_other_types() -> None:
    with pytest.raises(ValueError) as caught:
        ejson.parse(b'{"a":\n "\xff"}')
    assert str(caught.value) == "EJSON.parse: the input is not valid UTF-8, at line 2 column 3"
    with pytest.raises(TypeError) as caught:
        ejson.parse(42)  # type: ignore[arg-type]
    assert str(caught.value) == "EJSON.parse: expected a string or bytes, got 'int'"


def test_parse_accepts_a_binary_body() -> None:
    """§3.1: the request body is a BSON.Binary; guests parse it directly or via .text()."""
    body = BSON.Binary.fromText('{"message":"Hello!"}')
    assert ejson.parse(body) == ejson.parse(body.text()) == {"message": "Hello!"}


# --- round trips -----------------------------------------------------------------------------

ROUND_TRIP = [
    {"Processed": 900}, 2147483648, Int64(7), -0.0, 10.5, utc(2023, 5, 5, 1, 2, 3, 456000), utc(1, 1, 1),
    ObjectId(OID), Binary(b"\x00\xff", 5), Binary(b"x"), Decimal128("-1.50E+3"), Regex("^H", "imsx"),
    Timestamp(1565545664, 1), MinKey(), MaxKey(), "é\n", None, True, [], {},
    {"nested": [{"a": [None, {"b": Decimal128("NaN")}]}], "$gt": 1},
]


@pytest.mark.parametrize("value", ROUND_TRIP, ids=lambda value: type(value).__name__)
def test_parse_inverts_to_canonical(value: Any) -> None:
    assert ejson.parse(ejson.to_canonical(value)) == guest_value(value)
    assert ejson.parse(ejson.stringify(value)) == guest_value(value)
    assert ejson.to_canonical(guest_value(value)) == ejson.to_canonical(value)


def test_nan_round_trips() -> None:
    assert math.isnan(ejson.parse(ejson.to_canonical(float("nan"))))
    assert ejson.parse(ejson.to_relaxed([math.inf])) == [math.inf]


# --- properties: equal to json_util, and parse inverts it -------------------------------------

MS_DATES = st.datetimes(min_value=datetime.datetime(1, 1, 1), max_value=datetime.datetime(9999, 12, 31, 23, 59, 59)) \
    .map(lambda value: value.replace(microsecond=value.microsecond // 1000 * 1000))
LEAVES = st.one_of(
    st.none(), st.booleans(), st.text(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False), st.integers(min_value=-(2**63), max_value=2**63 - 1).map(Int64),
    MS_DATES.map(lambda value: value.replace(tzinfo=UTC)), st.binary(min_size=12, max_size=12).map(ObjectId),
    st.tuples(st.binary(), st.sampled_from([0, 1, 2, 5, 6, 7, 8, 0x80, 0xFF])).map(lambda pair: Binary(*pair)),
    st.sampled_from(["0", "-1.50", "9823.1297", "1E+6144", "-Infinity", "1E-6176"])
    .map(Decimal128),
    st.tuples(st.text(), st.sets(st.sampled_from("imsux")).map("".join)).map(lambda pair: Regex(*pair)),
    st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)).map(lambda pair: Timestamp(*pair)),
    st.just(MinKey()), st.just(MaxKey()),
)
KEYS = st.text().filter(lambda key: not key.startswith("$"))  # a "$oid" key is EJSON's own ambiguity
VALUES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
                      max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(VALUES)
def test_property_canonical_equals_json_util_and_round_trips(value: Any) -> None:
    text = ejson.to_canonical(value)
    expected = json_util.dumps(pymongo_value(value), json_options=json_util.CANONICAL_JSON_OPTIONS, separators=(",", ":"),
                               ensure_ascii=False)
    if expected.isascii() or not any(0xD800 <= ord(c) <= 0xDFFF for c in expected):
        assert text == expected
    else:
        assert json_util.loads(text) == json_util.loads(expected)
    assert ejson.parse(text) == guest_value(value)
    assert ejson.to_canonical(guest_value(value)) == text  # the guest's values write as pymongo's do


@settings(max_examples=200, deadline=None)
@given(VALUES)
def test_property_relaxed_equals_json_util(value: Any) -> None:
    expected = json_util.dumps(pymongo_value(value), json_options=json_util.RELAXED_JSON_OPTIONS, separators=(",", ":"),
                               ensure_ascii=False)
    if not any(0xD800 <= ord(c) <= 0xDFFF for c in expected):
        assert ejson.to_relaxed(value) == expected


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_property_json_numbers_read_back_exactly(value: float) -> None:
    assert float(ejson.to_json(value)) == value
