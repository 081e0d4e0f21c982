"""runtime.values.bsontypes: BSON.Binary and the BSON namespace guest code sees (contract §8.4, §9)."""

from __future__ import annotations

import copy
import dataclasses
import datetime
import pickle
import re
import sys
from typing import Any, Callable

import bson
import pytest

from runtime.values import bsontypes
from runtime.values.bsontypes import BSON, Binary, Long, utf8


# --- known-answer vectors (contract §9) ----------------------------------------------------

def test_vector_19_binary_from_base64_text() -> None:
    """§9 #19: BSON.Binary.fromBase64("VGVzdCBtZXNzYWdlIHBsZWFzZSBpZ25vcmU=").text() (§8.4)."""
    binary = BSON.Binary.fromBase64("VGVzdCBtZXNzYWdlIHBsZWFzZSBpZ25vcmU=")
    assert binary.text() == "Test message please ignore"
    assert binary.toHex() == "54657374206d65737361676520706c656173652069676e6f7265"
    assert BSON.Binary.fromHex("54657374206d65737361676520706c656173652069676e6f7265") == binary


def test_vector_20_long_from_low_and_high_bits() -> None:
    """§9 #20: BSON.Long(600206158, 342) is 1469479021390 (§8.4)."""
    value = BSON.Long(600206158, 342)
    assert type(value) is Long and value == 1469479021390


# --- Binary ----------------------------------------------------------------------------------

def test_binary_is_bytes_with_a_subtype_and_the_app_services_methods() -> None:
    binary = BSON.Binary.fromText("héllo")
    assert isinstance(binary, bytes) and binary.subtype == 0
    assert bytes(binary) == "héllo".encode()
    assert binary.text() == "héllo"
    assert binary.toHex() == "68c3a96c6c6f"
    assert binary.toBase64() == "aMOpbGxv"
    assert BSON.Binary.fromBase64(binary.toBase64()) == binary
    assert BSON.Binary.fromHex(binary.toHex().upper()) == binary


def test_binary_constructor_takes_bytes_or_text_and_a_subtype() -> None:
    assert BSON.Binary(b"\x00\x01", 5) == Binary(b"\x00\x01", 5)
    assert BSON.Binary(b"\x00\x01", 5).subtype == 5
    assert BSON.Binary("é") == Binary(b"\xc3\xa9", 0)
    assert type(BSON.Binary(bytearray(b"x"))) is Binary
    assert Binary(b"x", 0) != Binary(b"x", 5)


def test_text_replaces_invalid_utf8() -> None:
    assert Binary(b"a\xffb").text() == "a\ufffdb"


def test_empty_binary() -> None:
    empty = BSON.Binary.fromBase64("")
    assert empty == Binary(b"") and empty.text() == "" and empty.toHex() == "" and empty.toBase64() == ""


def test_lone_surrogate_becomes_replacement_character() -> None:
    assert utf8("a\ud800b") == "a\ufffdb".encode()
    assert BSON.Binary.fromText("\udfff").text() == "\ufffd"


def test_binary_survives_pickle_and_copy() -> None:
    binary = Binary(b"abc", 5)
    for clone in (pickle.loads(pickle.dumps(binary)), copy.copy(binary), copy.deepcopy(binary)):
        assert type(clone) is Binary and clone == binary and clone.subtype == 5


@pytest.mark.parametrize("value", [BSON.ObjectId(), BSON.Long(5), BSON.Decimal128("1.50"), BSON.BSONRegExp("a", "i"),
                                   BSON.Timestamp(1, 2), BSON.MinKey(), BSON.MaxKey()], ids=repr)
def test_values_survive_pickle_and_copy(value: Any) -> None:
    for clone in (pickle.loads(pickle.dumps(value)), copy.copy(value), copy.deepcopy(value)):
        assert type(clone) is type(value) and clone == value


def test_binary_public_api() -> None:
    public = {name for name in dir(Binary) if not name.startswith("_")} - set(dir(bytes))
    assert public == {"text", "toHex", "toBase64", "subtype"}


def test_a_binary_equals_only_a_binary_of_the_same_bytes_and_subtype() -> None:
    assert Binary(b"x", 5) == Binary(b"x", 5) and hash(Binary(b"x", 5)) == hash(Binary(b"x", 5))
    assert Binary(b"x", 5) != Binary(b"x", 0) and Binary(b"x") != b"x"
    with pytest.raises(TypeError, match="a BSON.Binary value is read-only"):
        Binary(b"x").subtype = 4  # type: ignore[misc]


# --- the BSON namespace ---------------------------------------------------------------------

def test_objectid_new_and_from_hex() -> None:
    fresh = BSON.ObjectId()
    assert type(fresh) is bsontypes.ObjectId and fresh != BSON.ObjectId()
    known = BSON.ObjectId("5d505646cf6d4fe581014ab2")
    assert BSON.ObjectId("5D505646CF6D4FE581014AB2") == known and hash(known) == hash(BSON.ObjectId(known.toString()))
    assert BSON.ObjectId(fresh) == fresh
    assert known.toHexString() == known.toString() == str(known) == "5d505646cf6d4fe581014ab2"
    assert repr(known) == 'ObjectId("5d505646cf6d4fe581014ab2")'
    assert known.equals(BSON.ObjectId("5d505646cf6d4fe581014ab2")) and known.equals("5D505646CF6D4FE581014AB2")
    assert not known.equals(fresh) and not known.equals("nope") and not known.equals(None)
    assert known.getTimestamp() == bson.ObjectId("5d505646cf6d4fe581014ab2").generation_time  # pymongo as the oracle
    assert known.getTimestamp() == datetime.datetime(2019, 8, 11, 17, 54, 14, tzinfo=datetime.timezone.utc)


def test_objectids_of_one_call_count_up_and_the_next_call_draws_new_random_bytes() -> None:
    """Red-team finding (side channel): pymongo's process-wide counter told a call how many
    ObjectIds earlier calls in its worker had made, and its 5 process bytes which worker it was."""
    first, second = BSON.ObjectId().toString(), BSON.ObjectId().toString()
    assert first[8:18] == second[8:18] and int(second[18:], 16) == (int(first[18:], 16) + 1) % (1 << 24)
    bsontypes.reset_object_ids()
    third = BSON.ObjectId().toString()
    assert third[8:18] != first[8:18]


def test_int32_double_long_decimal() -> None:
    assert BSON.Int32(42) == 42 and type(BSON.Int32(42)) is int
    assert BSON.Int32(-2147483648) == -(2**31) and BSON.Int32(2147483647) == 2**31 - 1
    assert BSON.Int32(42.0) == 42 and BSON.Int32("42") == 42
    assert BSON.Double(1) == 1.0 and type(BSON.Double(1)) is float
    assert BSON.Double("10.5") == 10.5
    assert BSON.Long(5) == 5 and type(BSON.Long(5)) is Long and type(BSON.Long(5) + 1) is int
    assert BSON.Long(2**63 - 1) == 2**63 - 1
    assert BSON.Long.fromString("-9223372036854775808") == -(2**63)
    assert BSON.Long(0xFFFFFFFF, 0x7FFFFFFF) == 2**63 - 1
    assert BSON.Long(0, -2147483648) == -(2**63)
    assert BSON.Long(-1, -1) == -1  # both halves as signed 32-bit numbers, as JavaScript passes them
    assert BSON.Decimal128.fromString("9823.1297").toString() == "9823.1297"
    assert BSON.Decimal128("1.5") == BSON.Decimal128.fromString("1.5") and str(BSON.Decimal128(7)) == "7"
    assert BSON.Decimal128("1.5") != BSON.Decimal128("1.50") and repr(BSON.Decimal128("1.50")) == 'Decimal128("1.50")'
    assert BSON.Long(-5).toNumber() == -5 and BSON.Long(2**40).toString() == "1099511627776"
    assert str(BSON.Long(7)) == f"{BSON.Long(7)}" == "7" and repr(BSON.Long(7)) == "Long(7)"


def test_regexp_minkey_maxkey_timestamp() -> None:
    regex = BSON.BSONRegExp("^H", "mii")
    assert type(regex) is bsontypes.BSONRegExp and (regex.pattern, regex.options) == ("^H", "im")
    assert BSON.BSONRegExp("x") == BSON.BSONRegExp("x", "") != regex
    assert regex.try_compile().search("x\nh").group(0) == "h"
    assert type(BSON.MinKey()) is bsontypes.MinKey and type(BSON.MaxKey()) is bsontypes.MaxKey
    assert BSON.MinKey() == BSON.MinKey() != BSON.MaxKey()
    stamp = BSON.Timestamp(1565545664, 1)
    assert stamp == BSON.Timestamp(1565545664, 1) and (stamp.t, stamp.i) == (1565545664, 1)


def test_isinstance_against_the_constructors() -> None:
    assert isinstance(BSON.ObjectId(), BSON.ObjectId)
    assert isinstance(Binary(b""), BSON.Binary) and not isinstance(b"", BSON.Binary)
    assert isinstance(BSON.Long(1), BSON.Long) and not isinstance(1, BSON.Long)
    assert isinstance(BSON.Decimal128("1"), BSON.Decimal128)
    assert isinstance(BSON.BSONRegExp("a"), BSON.BSONRegExp)
    assert isinstance(BSON.MinKey(), BSON.MinKey) and not isinstance(BSON.MaxKey(), BSON.MinKey)
    assert isinstance(BSON.Timestamp(1, 1), BSON.Timestamp)
    assert not isinstance(1, BSON.Int32) and not isinstance(1.0, BSON.Double)


def test_namespace_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        BSON.ObjectId = None  # type: ignore[misc]
    with pytest.raises(TypeError, match="read-only"):
        BSON.Binary.fromText = None  # type: ignore[method-assign]
    with pytest.raises(TypeError, match="read-only"):
        BSON.Long.extra = 1  # type: ignore[attr-defined]
    assert repr(BSON) == "[object BSON]" and repr(BSON.ObjectId) == "[function BSON.ObjectId]"


def test_namespace_exposes_no_underscore_names_of_its_own() -> None:
    fields = [field.name for field in dataclasses.fields(BSON)]
    assert fields == ["ObjectId", "Binary", "Int32", "Long", "Double", "Decimal128", "BSONRegExp",
                      "MinKey", "MaxKey", "Timestamp"]


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: BSON.ObjectId("12"), ValueError, "BSON.ObjectId: '12' is not a 24-character hex string"),
        (lambda: BSON.ObjectId("z" * 24), ValueError, f"BSON.ObjectId: {'z' * 24!r} is not a 24-character hex string"),
        (lambda: BSON.ObjectId("a" * 50), ValueError, f"BSON.ObjectId: {'a' * 40!r}… is not a 24-character hex string"),
        (lambda: BSON.ObjectId(12), TypeError, "BSON.ObjectId: expected a 24-character hex string, got 'int'"),
        (lambda: BSON.Binary(5), TypeError, "BSON.Binary: data must be a string or bytes, got 'int'"),
        (lambda: BSON.Binary(b"", 256), ValueError, "BSON.Binary: subtype must be an integer from 0 to 255, got 256"),
        (lambda: BSON.Binary(b"", True), ValueError, "BSON.Binary: subtype must be an integer from 0 to 255, got True"),
        (lambda: BSON.Binary.fromHex("abc"), ValueError,
         "BSON.Binary.fromHex: 'abc' is not an even-length string of hex digits"),
        (lambda: BSON.Binary.fromHex("zz"), ValueError,
         "BSON.Binary.fromHex: 'zz' is not an even-length string of hex digits"),
        (lambda: BSON.Binary.fromHex("7265="), ValueError,
         "BSON.Binary.fromHex: '7265=' is not an even-length string of hex digits"),
        (lambda: BSON.Binary.fromHex(b"ab"), TypeError, "BSON.Binary.fromHex: expected a string, got 'bytes'"),
        (lambda: BSON.Binary.fromBase64("VGVzdA"), ValueError,
         "BSON.Binary.fromBase64: 'VGVzdA' is not padded standard base64"),
        (lambda: BSON.Binary.fromBase64("a-b_"), ValueError,
         "BSON.Binary.fromBase64: 'a-b_' is not padded standard base64"),
        (lambda: BSON.Binary.fromBase64("é"), ValueError, "BSON.Binary.fromBase64: 'é' is not padded standard base64"),
        (lambda: BSON.Binary.fromText(None), TypeError, "BSON.Binary.fromText: expected a string, got 'NoneType'"),
        (lambda: BSON.Int32(2**31), ValueError, "BSON.Int32: 2147483648 is outside the range -2147483648 to 2147483647"),
        (lambda: BSON.Int32(1.5), ValueError, "BSON.Int32: 1.5 is not an integer"),
        (lambda: BSON.Int32("4x"), ValueError, "BSON.Int32: '4x' is not an integer"),
        (lambda: BSON.Int32(True), TypeError,
         "BSON.Int32: expected an integer, an integral float or a decimal string, got 'bool'"),
        (lambda: BSON.Long(2**63), ValueError,
         "BSON.Long: 9223372036854775808 is outside the range -9223372036854775808 to 9223372036854775807"),
        (lambda: BSON.Long(2**32, 0), ValueError,
         "BSON.Long (low bits): 4294967296 is outside the range -2147483648 to 4294967295"),
        (lambda: BSON.Long.fromString("12abc"), ValueError, "BSON.Long.fromString: '12abc' is not an integer"),
        (lambda: BSON.Long.fromString("9" * 5000), ValueError,
         f"BSON.Long.fromString: {'9' * 40!r}… is outside the range -9223372036854775808 to 9223372036854775807"),
        (lambda: BSON.Long.fromString("9223372036854775808"), ValueError,
         "BSON.Long.fromString: '9223372036854775808' is outside the range -9223372036854775808 to 9223372036854775807"),
        (lambda: BSON.Long.fromString(12), TypeError, "BSON.Long.fromString: expected a string, got 'int'"),
        (lambda: BSON.Double("ten"), ValueError, "BSON.Double: 'ten' is not a number"),
        (lambda: BSON.Double(None), TypeError, "BSON.Double: expected a number or a numeric string, got 'NoneType'"),
        (lambda: BSON.Decimal128.fromString("abc"), ValueError,
         "BSON.Decimal128: 'abc' is not a decimal number within Decimal128's range"),
        (lambda: BSON.Decimal128.fromString("1e9999"), ValueError,
         "BSON.Decimal128: '1e9999' is not a decimal number within Decimal128's range"),
        (lambda: BSON.Decimal128(1.5), TypeError, "BSON.Decimal128: expected a decimal string or an integer, got 'float'"),
        (lambda: BSON.BSONRegExp("a", "g"), ValueError, "BSON.BSONRegExp: option 'g' is not one of i, l, m, s, u, x"),
        (lambda: BSON.BSONRegExp(1), TypeError, "BSON.BSONRegExp: the pattern must be a string, got 'int'"),
        (lambda: BSON.Timestamp(-1, 0), ValueError, "BSON.Timestamp (t): -1 is outside the range 0 to 4294967295"),
        (lambda: BSON.Timestamp(1, 2**32), ValueError,
         "BSON.Timestamp (i): 4294967296 is outside the range 0 to 4294967295"),
    ],
)
def test_refusals_name_the_function_and_what_is_allowed(call: Callable[[], Any], error: type[Exception],
                                                        message: str) -> None:
    with pytest.raises(error) as caught:
        call()
    assert str(caught.value) == message


@pytest.mark.parametrize(("constructor", "available"), [
    (BSON.ObjectId, "nothing, call it"), (BSON.Binary, "fromBase64, fromHex, fromText"), (BSON.Long, "fromString"),
    (BSON.Decimal128, "fromString"), (BSON.BSONRegExp, "nothing, call it"), (BSON.Timestamp, "nothing, call it"),
])
def test_no_constructor_hands_out_a_class(constructor: Any, available: str) -> None:
    """Red-team findings F8/F9: instance_type was pymongo's class (Regex(p, 128) compiled with re.DEBUG)."""
    with pytest.raises(AttributeError) as raised:
        constructor.instance_type  # noqa: B018
    assert str(raised.value) == f"{constructor!r}"[10:-1] + f".instance_type does not exist; available: {available}"


def test_regex_options_are_the_documented_string_only() -> None:
    with pytest.raises(TypeError) as raised:
        BSON.BSONRegExp("a", 128)  # type: ignore[arg-type]
    assert str(raised.value) == "BSON.BSONRegExp: the options must be a string of the letters ilmsux, got 'int'"
    with pytest.raises(ValueError) as raised:
        BSON.BSONRegExp("a", "l").try_compile()
    assert str(raised.value) == "BSONRegExp.try_compile: option 'l' has no meaning for a Python pattern; allowed: i, m, s, u, x"
    assert BSON.BSONRegExp("a", "ixsmu").try_compile().flags == (re.I | re.X | re.S | re.M | re.U)


def test_try_compile_writes_nothing_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    """Red-team finding F8: re.DEBUG dumps and FutureWarnings (one per position) went to the worker's stderr."""
    import warnings
    re.purge()
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as a worker has it: shown once per place, on stderr
        warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: sys.stderr.write(
            warnings.formatwarning(message, category, filename, lineno, line))
        for n in range(20):
            BSON.BSONRegExp("[[a]" + "x" * n, "i").try_compile()
            BSON.BSONRegExp("a{1,2}?[[b]--[c]&&[d]" + "y" * n).try_compile()
    assert capfd.readouterr() == ("", "")


def test_a_long_is_64_bits_however_it_is_made() -> None:
    with pytest.raises(ValueError) as raised:
        BSON.Long(1).from_bytes(b"\x01" + b"\x00" * 8, "big")
    assert str(raised.value) == "BSON.Long: 18446744073709551616 is outside the range -9223372036854775808 to 9223372036854775807"
    assert type(BSON.Long(1).from_bytes(b"\x01\x00", "big")) is Long
