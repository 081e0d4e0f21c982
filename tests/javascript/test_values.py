"""BSON values and EJSON in JavaScript: every type made in JS, returned, sent in and sent back,
serialised by the same Python functions as the Python engine's results (contract §4.3, §8.4)."""

from __future__ import annotations

import datetime
import json

import bson
import pytest

from runtime.values import ejson
from runtime.values.bsontypes import BSON, Binary
from runtime.worker.engines.javascript import JavaScriptError
from tests.javascript.harness import StandInHost, run, run_python

# (JavaScript expression, canonical EJSON, JSON)
TYPES = [
    ('"text"', '"text"', '"text"'),
    ("true", "true", "true"),
    ("null", "null", "null"),
    ("42", '{"$numberInt":"42"}', "42"),
    ("-2147483648", '{"$numberInt":"-2147483648"}', "-2147483648"),
    ("2147483648", '{"$numberLong":"2147483648"}', "2147483648"),
    ("10.5", '{"$numberDouble":"10.5"}', "10.5"),
    ("1e-7", '{"$numberDouble":"1e-07"}', "1e-7"),
    ("-0", '{"$numberDouble":"-0.0"}', "-0"),
    ("BSON.Int32(7)", '{"$numberInt":"7"}', "7"),
    ("new BSON.Double(3)", '{"$numberDouble":"3.0"}', "3"),
    ('BSON.Long.fromString("9223372036854775807")', '{"$numberLong":"9223372036854775807"}', "9223372036854775807"),
    ("BSON.Long.fromNumber(42)", '{"$numberLong":"42"}', "42"),
    ("new BSON.Long(1, 1)", '{"$numberLong":"4294967297"}', "4294967297"),
    ('BSON.Decimal128.fromString("9823.1297")', '{"$numberDecimal":"9823.1297"}', '"9823.1297"'),
    ("new Date(1641954803067)", '{"$date":{"$numberLong":"1641954803067"}}', '"2022-01-12T02:33:23.067Z"'),
    ('BSON.ObjectId("5d505646cf6d4fe581014ab2")', '{"$oid":"5d505646cf6d4fe581014ab2"}', '"5d505646cf6d4fe581014ab2"'),
    ('new BSON.ObjectId("5d505646cf6d4fe581014ab2")', '{"$oid":"5d505646cf6d4fe581014ab2"}', '"5d505646cf6d4fe581014ab2"'),
    ('BSON.Binary.fromText("hi")', '{"$binary":{"base64":"aGk=","subType":"00"}}', '{"Subtype":0,"Data":"aGk="}'),
    ('new BSON.Binary([1, 2, 255], 5)', '{"$binary":{"base64":"AQL/","subType":"05"}}', '{"Subtype":5,"Data":"AQL/"}'),
    ('BSON.BSONRegExp("^H", "i")', '{"$regularExpression":{"pattern":"^H","options":"i"}}', '{"Pattern":"^H","Options":"i"}'),
    ("/^H/im", '{"$regularExpression":{"pattern":"^H","options":"im"}}', '{"Pattern":"^H","Options":"im"}'),
    ("BSON.Timestamp(1565545664, 1)", '{"$timestamp":{"t":1565545664,"i":1}}', '{"T":1565545664,"I":1}'),
    ("new BSON.MinKey()", '{"$minKey":1}', "{}"),
    ("BSON.MaxKey()", '{"$maxKey":1}', "{}"),
    ("[1, 'a', [null]]", '[{"$numberInt":"1"},"a",[null]]', '[1,"a",[null]]'),
    ("{b: 1, a: {c: undefined, d: 2}}", '{"b":{"$numberInt":"1"},"a":{"d":{"$numberInt":"2"}}}', '{"b":1,"a":{"d":2}}'),
]


@pytest.mark.parametrize(("expression", "canonical", "as_json"), TYPES)
def test_each_type_made_in_javascript_serialises_as_the_contract_says(expression: str, canonical: str, as_json: str) -> None:
    ran = run(f"exports = () => ({expression})")
    assert ran.value("EJSON").decode() == canonical
    assert ran.value("JSON").decode() == as_json


# JavaScript has one number type: values crossing in are read relaxed (as js-bson's EJSON.parse
# does by default), so an integral double or a small int64 arrives as a plain number and goes
# back as $numberInt. A Long beyond 2**53 stays a BSON.Long.
NUMBER_NARROWED = {'{"$numberDouble":"3.0"}': '{"$numberInt":"3"}', '{"$numberLong":"42"}': '{"$numberInt":"42"}',
                   '{"$numberLong":"2147483648"}': '{"$numberLong":"2147483648"}'}


@pytest.mark.parametrize(("expression", "canonical", "as_json"), TYPES)
def test_each_type_survives_the_way_in_and_back(expression: str, canonical: str, as_json: str) -> None:
    """A value crossing into JavaScript (a service answer) and back keeps its canonical EJSON."""
    host = StandInHost(answers={"functions/execute": lambda args: canonical})
    ran = run('exports = () => context.functions.execute("py")', host=host)
    assert ran.value("EJSON").decode() == NUMBER_NARROWED.get(canonical, canonical)


def test_types_keep_their_classes_inside_javascript() -> None:
    source = """exports = () => {
      const v = EJSON.parse(EJSON.stringify({o: BSON.ObjectId(), b: BSON.Binary.fromText("x"), d: new Date(5),
        l: BSON.Long.fromString("9007199254740993"), dec: BSON.Decimal128.fromString("1.5"), r: BSON.BSONRegExp("a"),
        t: BSON.Timestamp(1, 2), mi: BSON.MinKey(), ma: BSON.MaxKey()}));
      return [v.o instanceof BSON.ObjectId, v.b instanceof BSON.Binary, v.d instanceof Date, v.l instanceof BSON.Long,
              v.dec instanceof BSON.Decimal128, v.r instanceof BSON.BSONRegExp, v.t instanceof BSON.Timestamp,
              v.mi instanceof BSON.MinKey, v.ma instanceof BSON.MaxKey, v.l.toString(), v.d.getTime()];
    }"""
    assert run(source).json() == [True] * 9 + ["9007199254740993", 5]


def test_python_values_arrive_as_their_javascript_types() -> None:
    value = {"oid": bson.ObjectId("5d505646cf6d4fe581014ab2"), "bin": Binary(b"ab", 4), "date": datetime.datetime(2022, 1, 12, 2, 33, 23, 67000, tzinfo=datetime.timezone.utc),
             "long": bson.Int64(5), "dec": BSON.Decimal128.fromString("2.50")}
    host = StandInHost(answers={"functions/execute": lambda args: ejson.to_canonical(value)})
    source = """exports = () => { const v = context.functions.execute("py");
      return [v.oid.toHexString(), v.bin.subType, v.bin.text(), v.date.toISOString(), v.long, v.dec.toString()] }"""
    assert run(source, host=host).json() == ["5d505646cf6d4fe581014ab2", 4, "ab", "2022-01-12T02:33:23.067Z", 5, "2.50"]


def test_objectid_methods() -> None:
    source = """exports = () => { const a = BSON.ObjectId("5d505646cf6d4fe581014ab2"), b = new BSON.ObjectId(a), c = BSON.ObjectId();
      return [a.toHexString(), a.toString(), String(a), a.equals(b), a.equals("5D505646CF6D4FE581014AB2"), a.equals(c),
              a.getTimestamp().toISOString(), /^[0-9a-f]{24}$/.test(c.toHexString()), c.getTimestamp() <= new Date()] }"""
    assert run(source).json() == ["5d505646cf6d4fe581014ab2"] * 3 + [True, True, False, "2019-08-11T17:54:14.000Z", True, True]


def test_binary_constructors_and_methods() -> None:
    source = """exports = () => [BSON.Binary.fromHex("00ff").toBase64(), BSON.Binary.fromBase64("AP8=").toHex(),
      BSON.Binary.fromText("é").toHex(), BSON.Binary.fromHex("c3a9").text(), BSON.Binary.fromHex("ff").text(), BSON.Binary.fromText("abc").length()]"""
    assert run(source).json() == ["AP8=", "00ff", "c3a9", "é", "\ufffd", 3]


@pytest.mark.parametrize(("expression", "message"), [
    ('BSON.Binary.fromHex("abc")', "Error: BSON.Binary.fromHex: 'abc' is not an even-length string of hex digits"),
    ('BSON.Binary.fromBase64("a")', "Error: BSON.Binary.fromBase64: 'a' is not padded standard base64"),
    ('BSON.Decimal128.fromString("x")', "Error: BSON.Decimal128: 'x' is not a decimal number within Decimal128's range"),
    ('BSON.ObjectId("xyz")', 'TypeError: BSON.ObjectId: "xyz" is not 24 hex digits; allowed: a 24-digit hex string, an ObjectId or nothing'),
    ('BSON.Long.fromString("1e3")', 'TypeError: BSON.Long.fromString: "1e3" is not a decimal integer'),
    ('BSON.Long.fromString("9223372036854775808")', 'RangeError: BSON.Long.fromString: "9223372036854775808" is outside the 64-bit range'),
    ("BSON.Int32(2147483648)", "TypeError: BSON.Int32: 2147483648 is not a 32-bit integer"),
    ('BSON.BSONRegExp("a", "g")', 'RangeError: BSON.BSONRegExp: option "g" is not one of ilmsux'),
])
def test_bad_bson_arguments_are_errors_naming_the_constructor(expression: str, message: str) -> None:
    with pytest.raises(JavaScriptError) as info:
        run(f"exports = () => {expression}")
    assert info.value.text == message


def test_long_parts() -> None:
    source = "exports = () => { const l = BSON.Long.fromNumber(-2); return [l.low, l.high, l.toNumber(), l.toString(), new BSON.Long(-1, 0x7fffffff).toString()] }"
    assert run(source).json() == [-2, -1, -2, "-2", "9223372036854775807"]


def test_ejson_stringify_canonical_and_relaxed_and_parse() -> None:
    source = """exports = () => {
      const v = {n: 1, f: 1.5, big: 2 ** 40, d: new Date(0), o: BSON.ObjectId("5d505646cf6d4fe581014ab2")};
      return [EJSON.stringify(v), EJSON.stringify(v, {relaxed: true}), EJSON.stringify(v, null, null, {relaxed: false}),
              EJSON.parse('{"a": {"$numberLong": "5"}, "d": {"$date": "2020-01-01T00:00:00Z"}}').a,
              EJSON.parse('{"d": {"$date": "2020-01-01T00:00:00Z"}}').d.getTime()];
    }"""
    canonical = ('{"n":{"$numberInt":"1"},"f":{"$numberDouble":"1.5"},"big":{"$numberLong":"1099511627776"},'
                 '"d":{"$date":{"$numberLong":"0"}},"o":{"$oid":"5d505646cf6d4fe581014ab2"}}')
    relaxed = '{"n":1,"f":1.5,"big":1099511627776,"d":{"$date":"1970-01-01T00:00:00Z"},"o":{"$oid":"5d505646cf6d4fe581014ab2"}}'
    assert run(source).json() == [canonical, relaxed, canonical, 5, 1577836800000]


def test_ejson_stringify_matches_the_python_engines_for_the_same_value() -> None:
    js = run('exports = () => EJSON.stringify({a: [1, 2.5, "x", null, true], b: {c: BSON.ObjectId("5d505646cf6d4fe581014ab2")}})').json()
    py = run_python('def exports(payload, response):\n    return EJSON.stringify({"a": [1, 2.5, "x", None, True], "b": {"c": BSON.ObjectId("5d505646cf6d4fe581014ab2")}})\n').json()
    assert js == py


def test_ejson_stringify_options_are_checked() -> None:
    with pytest.raises(JavaScriptError, match="unknown option \"pretty\""):
        run("exports = () => EJSON.stringify({}, {pretty: true})")


def test_returned_values_equal_the_python_engines_for_equivalent_code() -> None:
    js = run('exports = () => ({i: 1, l: 3000000000, f: 0.1, s: "é", n: null, a: [true, false], d: new Date(86400000)})')
    py = run_python("import_free = 1\ndef exports(payload, response):\n    return {'i': 1, 'l': 3000000000, 'f': 0.1, 's': 'é', 'n': None,"
                    " 'a': [True, False], 'd': EJSON.parse('{\"$date\": {\"$numberLong\": \"86400000\"}}')}\n")
    for fmt in ("EJSON", "JSON"):
        assert js.value(fmt) == py.value(fmt)


def test_undefined_is_no_value_and_null_is_null() -> None:
    assert run("exports = () => undefined").value() is None
    assert run("exports = () => {}").value() is None
    assert run("exports = () => null").value() == b"null"


def test_nesting_over_100_levels_is_an_error_naming_the_limit() -> None:
    with pytest.raises(JavaScriptError) as info:
        run("exports = () => { let v = {}; for (let i = 0; i < 150; i++) v = {v}; return v }")
    assert info.value.text == "RangeError: EJSON: cannot serialise a value nested more than 100 levels deep (or a cycle)"


def test_a_cycle_is_the_same_error() -> None:
    with pytest.raises(JavaScriptError, match="or a cycle"):
        run("exports = () => { const a = {}; a.a = a; return a }")


def test_bigint_is_refused_naming_the_alternative() -> None:
    with pytest.raises(JavaScriptError, match="use BSON.Long"):
        run("exports = () => 1n")


def test_nan_is_canonical_but_not_json() -> None:
    ran = run("exports = () => NaN")
    assert ran.value("EJSON") == b'{"$numberDouble":"NaN"}'
    with pytest.raises(ValueError):
        ran.value("JSON")
    assert json.loads(run("exports = () => [Infinity, -Infinity]").value("EJSON")) == [{"$numberDouble": "Infinity"}, {"$numberDouble": "-Infinity"}]


FLOATS = [0.5, -0.5, 1e-7, 1.5e-7, 0.0001, 0.00001, 123456.789, 1.7976931348623157e308, 5e-324, 0.1 + 0.2, -0.0, 1e15 + 0.5, 2.5e-5]


def test_ejson_stringify_writes_doubles_as_the_python_engine_does() -> None:
    from runtime.values import ejson as py_ejson
    literal = "[" + ",".join("-0" if str(f) == "-0.0" else repr(f) for f in FLOATS) + "]"
    js = run(f"exports = () => [EJSON.stringify({literal}), EJSON.stringify({literal}, {{relaxed: true}})]").json()
    assert js == [py_ejson.to_canonical(FLOATS), py_ejson.to_relaxed(FLOATS)]
