"""runtime.contract.can_evaluate: the supported ``can_evaluate`` subset, its MongoDB-like semantics over
``context.request``, and its startup errors (contract §2.6, §3.3, §5)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.contract.can_evaluate import (
    ALWAYS,
    NEVER,
    STRING_FIELDS,
    Rule,
    UnsupportedRule,
    combine,
    compile_rule,
)
from tests.payloads import build_payload

WHERE = "$.can_evaluate"
ALLOWED_KEYS = (
    "a key %%request.<field>, <field> one of remoteIPAddress, requestHeaders.<name>, headers.<name>, webhookUrl,"
    " httpMethod, rawQueryString, httpReferrer, httpUserAgent, service, action"
)
ALLOWED_FIELDS = ALLOWED_KEYS.split("one of ", 1)[1]
ONE_OPERATOR = "an object with exactly one of $eq, $ne, $in, $nin, $exists"
OPERATOR_NAMES = "$eq, $ne, $in, $nin, $exists"


def context(headers: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """A context.request dict shaped like runtime.contract.request's (§3.3), with ``fields`` replaced."""
    base: dict[str, Any] = {
        "remoteIPAddress": "203.0.113.7",
        "requestHeaders": {"User-Agent": ["curl/8.5.0"], "Accept": ["*/*"]} if headers is None else headers,
        "webhookUrl": "/hello/latest",
        "httpMethod": "GET",
        "rawQueryString": "a=1",
        "httpReferrer": None,
        "httpUserAgent": "curl/8.5.0",
        "service": None,
        "action": None,
    }
    base.update(fields)
    return base


def allows(expression: Any, request: Any) -> bool:
    return compile_rule(expression, WHERE).allows(request)


def problems(expression: Any, where: str = WHERE) -> list[str]:
    with pytest.raises(UnsupportedRule) as caught:
        compile_rule(expression, where)
    return caught.value.messages


# --- {}, true, false (§2.6) -----------------------------------------------------------------------


@pytest.mark.parametrize("expression", [{}, True])
def test_empty_object_and_true_allow_every_request_and_are_always(expression: Any) -> None:  # §2.6 "`{}` allows"
    rule = compile_rule(expression, WHERE)
    assert rule.always and not rule.never
    assert rule.allows(context()) and rule.allows({}) and rule.allows({"httpMethod": 5})


def test_false_refuses_every_request() -> None:  # §2.6: an expression is a boolean or an object
    rule = compile_rule(False, WHERE)
    assert rule.never and not rule.always
    assert not rule.allows(context()) and not rule.allows({})


def test_a_rule_with_a_field_is_not_always() -> None:
    assert not compile_rule({"%%request.httpMethod": "GET"}, WHERE).always


# --- every string field, every form (§2.6 Decision, §3.3 fields) ---------------------------------

STRING_FORMS: list[tuple[str, Any, Any, bool]] = [
    # (name, value in the rule, value in the request, allowed?)
    ("literal equal", "v1", "v1", True),
    ("literal other", "v1", "v2", False),
    ("literal, field absent", "v1", None, False),
    ("literal is case-sensitive", "v1", "V1", False),
    ("null, field absent", None, None, True),
    ("null, field present", None, "v1", False),
    ("$eq equal", {"$eq": "v1"}, "v1", True),
    ("$eq other", {"$eq": "v1"}, "v2", False),
    ("$eq null, field absent", {"$eq": None}, None, True),
    ("$ne other", {"$ne": "v1"}, "v2", True),
    ("$ne equal", {"$ne": "v1"}, "v1", False),
    ("$ne, field absent", {"$ne": "v1"}, None, True),
    ("$ne null, field present", {"$ne": None}, "v1", True),
    ("$ne null, field absent", {"$ne": None}, None, False),
    ("$in listed", {"$in": ["v0", "v1"]}, "v1", True),
    ("$in not listed", {"$in": ["v0", "v1"]}, "v2", False),
    ("$in, field absent", {"$in": ["v0"]}, None, False),
    ("$in null, field absent", {"$in": ["v0", None]}, None, True),
    ("$in empty", {"$in": []}, "v1", False),
    ("$nin not listed", {"$nin": ["v0", "v1"]}, "v2", True),
    ("$nin listed", {"$nin": ["v0", "v1"]}, "v0", False),
    ("$nin, field absent", {"$nin": ["v0"]}, None, True),
    ("$nin null, field absent", {"$nin": [None]}, None, False),
    ("$nin empty", {"$nin": []}, "v1", True),
    ("$exists true, present", {"$exists": True}, "v1", True),
    ("$exists true, empty string is present", {"$exists": True}, "", True),
    ("$exists true, absent", {"$exists": True}, None, False),
    ("$exists false, absent", {"$exists": False}, None, True),
    ("$exists false, present", {"$exists": False}, "v1", False),
]


@pytest.mark.parametrize("field", STRING_FIELDS)
@pytest.mark.parametrize(("rule_value", "request_value", "expected"), [f[1:] for f in STRING_FORMS],
                         ids=[f[0] for f in STRING_FORMS])  # fmt: skip
def test_string_field_forms(field: str, rule_value: Any, request_value: Any, expected: bool) -> None:  # §2.6, §3.3
    assert allows({f"%%request.{field}": rule_value}, context(**{field: request_value})) is expected


@pytest.mark.parametrize("field", STRING_FIELDS)
def test_a_missing_key_is_an_absent_field(field: str) -> None:  # §3.3: undefined fields
    request = context()
    del request[field]
    assert allows({f"%%request.{field}": None}, request)
    assert allows({f"%%request.{field}": {"$exists": False}}, request)
    assert not allows({f"%%request.{field}": "x"}, request)
    assert allows({f"%%request.{field}": {"$nin": ["x"]}}, request)


def test_fields_are_anded() -> None:  # §2.6 "an object with ANDed fields"
    rule = compile_rule({"%%request.httpMethod": "POST", "%%request.webhookUrl": {"$in": ["/a", "/b"]}}, WHERE)
    assert rule.allows(context(httpMethod="POST", webhookUrl="/b"))
    assert not rule.allows(context(httpMethod="GET", webhookUrl="/b"))
    assert not rule.allows(context(httpMethod="POST", webhookUrl="/c"))
    assert not rule.allows(context(httpMethod="GET", webhookUrl="/c"))


# --- headers (§2.6 INF, §3.1 shape) -----------------------------------------------------------------


@pytest.mark.parametrize("key", [
    "%%request.headers.x-secret-key", "%%request.headers.X-SECRET-KEY", "%%request.headers.X-Secret-Key",
    "%%request.requestHeaders.x-secret-key", "%%request.requestHeaders.X-Secret-Key",
])  # fmt: skip
def test_header_names_match_case_insensitively_and_headers_is_requestHeaders(key: str) -> None:  # §2.6 INF
    assert allows({key: "my-secret"}, context({"X-Secret-Key": ["my-secret"]}))
    assert allows({key: "my-secret"}, context({"x-secret-key": ["my-secret"]}))  # a hand-built, non-canonical dict
    assert not allows({key: "my-secret"}, context({"X-Secret-Key": ["other"]}))
    assert not allows({key: "my-secret"}, context({"X-Secret-Key-2": ["my-secret"]}))


HEADER_FORMS: list[tuple[str, Any, Any, bool]] = [
    # (name, value in the rule, the header's list in the request (None: absent), allowed?)
    ("literal, any element (first)", "a", ["a", "b"], True),
    ("literal, any element (last)", "b", ["a", "b"], True),
    ("literal, no element", "c", ["a", "b"], False),
    ("literal, absent", "a", None, False),
    ("array literal, whole list", ["a", "b"], ["a", "b"], True),
    ("array literal, order matters", ["b", "a"], ["a", "b"], False),
    ("array literal, prefix", ["a"], ["a", "b"], False),
    ("array literal, one value", ["a"], ["a"], True),
    ("array literal, absent", ["a"], None, False),
    ("null, absent", None, None, True),
    ("null, present", None, ["a"], False),
    ("$eq any element", {"$eq": "b"}, ["a", "b"], True),
    ("$eq whole list", {"$eq": ["a", "b"]}, ["a", "b"], True),
    ("$ne, an element equals", {"$ne": "b"}, ["a", "b"], False),
    ("$ne, no element equals", {"$ne": "c"}, ["a", "b"], True),
    ("$ne whole list", {"$ne": ["a", "b"]}, ["a", "b"], False),
    ("$ne, absent", {"$ne": "a"}, None, True),
    ("$in, an element listed", {"$in": ["x", "b"]}, ["a", "b"], True),
    ("$in, no element listed", {"$in": ["x", "y"]}, ["a", "b"], False),
    ("$in, whole list listed", {"$in": ["x", ["a", "b"]]}, ["a", "b"], True),
    ("$in, null listed, absent", {"$in": ["x", None]}, None, True),
    ("$nin, an element listed", {"$nin": ["x", "a"]}, ["a", "b"], False),
    ("$nin, no element listed", {"$nin": ["x", "y"]}, ["a", "b"], True),
    ("$nin, absent", {"$nin": ["x"]}, None, True),
    ("$exists true, present", {"$exists": True}, ["a"], True),
    ("$exists true, absent", {"$exists": True}, None, False),
    ("$exists false, absent", {"$exists": False}, None, True),
    ("$exists false, present", {"$exists": False}, ["a"], False),
]


@pytest.mark.parametrize(("rule_value", "header_values", "expected"), [f[1:] for f in HEADER_FORMS],
                         ids=[f[0] for f in HEADER_FORMS])  # fmt: skip
def test_header_forms(rule_value: Any, header_values: Any, expected: bool) -> None:  # §2.6 INF: any element
    headers = {"Accept": ["*/*"]} if header_values is None else {"Accept": ["*/*"], "X-Tag": header_values}
    assert allows({"%%request.headers.x-tag": rule_value}, context(headers)) is expected


def test_header_values_join_when_a_hand_built_dict_repeats_a_name_in_another_case() -> None:  # §2.6 INF
    request = context({"X-Tag": ["a"], "x-tag": ["b", "c"], "X-TAG": "d"})
    for value in ("a", "b", "c", "d"):
        assert allows({"%%request.headers.x-tag": value}, request)
    assert allows({"%%request.headers.x-tag": ["a", "b", "c", "d"]}, request)
    assert not allows({"%%request.headers.x-tag": {"$nin": ["d"]}}, request)


def test_a_header_with_a_null_value_is_absent_and_a_bare_string_value_compares_as_itself() -> None:
    assert allows({"%%request.headers.x-tag": None}, context({"X-Tag": None}))
    assert allows({"%%request.headers.x-tag": "a"}, context({"X-Tag": "a"}))


def test_header_case_folding_is_ascii_only() -> None:  # Go's canonicalisation is ASCII-only (§3.1)
    kelvin = "\u212a"  # KELVIN SIGN, whose str.lower() is ASCII "k"
    assert not allows({"%%request.headers.k-id": "1"}, context({f"{kelvin}-Id": ["1"]}))
    assert allows({"%%request.headers.k-id": "1"}, context({"K-Id": ["1"]}))


def test_missing_or_odd_requestHeaders_mean_every_header_is_absent() -> None:
    for headers in (None, [], "X-Tag: a", 7, {1: ["a"], ("x-tag",): ["a"]}):
        request = context()
        request["requestHeaders"] = headers
        assert allows({"%%request.headers.x-tag": None}, request)
        assert not allows({"%%request.headers.x-tag": {"$exists": True}}, request)


# --- the contract's examples, through runtime.contract.request (§2.6, §7.2) ---------------------------------


def built(headers: list[tuple[str, str]], remote: str = "198.51.100.1", query: str = "") -> dict[str, Any]:
    _, context_request = build_payload(
        method="POST", url="http://localhost:8080/app/x/endpoint/eggcorn", raw_query=query, headers=headers,
        body=b"", remote=remote, kind="endpoint", service_type="http", route_or_url="/eggcorn",
    )  # fmt: skip
    return context_request


def test_spec_example_remote_ip_nin() -> None:  # §2.6 [OBS], §7.2 makesitgo/pushpull manifest
    rule = compile_rule({"%%request.remoteIPAddress": {"$nin": ["218.3.246.114", "63.76.252.182"]}}, "$[0].can_evaluate")
    assert rule.allows(built([], remote="198.51.100.1"))
    assert not rule.allows(built([], remote="218.3.246.114"))
    assert not rule.allows(built([], remote="63.76.252.182"))


def test_spec_example_secret_header() -> None:  # §2.6 [DOC]
    rule = compile_rule({"%%request.headers.x-secret-key": "my-secret"}, WHERE)
    assert rule.allows(built([("x-secret-key", "my-secret")]))
    assert rule.allows(built([("X-SECRET-KEY", "other"), ("X-Secret-Key", "my-secret")]))  # any element
    assert not rule.allows(built([("x-secret-key", "My-Secret")]))  # values are case-sensitive
    assert not rule.allows(built([]))
    assert not rule.allows(built([], query="x-secret-key=my-secret"))  # the query is not a header


def test_other_fields_through_runtime_request() -> None:  # §3.3
    request = built([("User-Agent", "curl/8.5.0"), ("Referer", "https://example.com/")], query="a=1&secret=s")
    assert allows({
        "%%request.httpMethod": "POST", "%%request.webhookUrl": "/eggcorn", "%%request.rawQueryString": "a=1",
        "%%request.httpUserAgent": {"$in": ["curl/8.5.0"]}, "%%request.httpReferrer": {"$exists": True},
        "%%request.service": None, "%%request.action": {"$exists": False},
    }, request)  # fmt: skip


# --- combine (§2.6: the endpoint's and its function's rule) -------------------------------------


def test_combine_ands_rules() -> None:
    method = compile_rule({"%%request.httpMethod": "POST"}, WHERE)
    secret = compile_rule({"%%request.headers.x-secret-key": "my-secret"}, "$[0].can_evaluate")
    both = combine(method, secret)
    assert both.allows(context({"X-Secret-Key": ["my-secret"]}, httpMethod="POST"))
    assert not both.allows(context({"X-Secret-Key": ["my-secret"]}, httpMethod="GET"))
    assert not both.allows(context({}, httpMethod="POST"))
    assert both.checks == method.checks + secret.checks


def test_combine_skips_always_and_false_wins() -> None:
    method = compile_rule({"%%request.httpMethod": "POST"}, WHERE)
    assert combine().always and combine(ALWAYS, compile_rule({}, WHERE)).always
    assert combine(ALWAYS, method, compile_rule(True, WHERE)) == method
    assert combine(method, NEVER).never and not combine(method, NEVER).allows(context(httpMethod="POST"))
    assert combine(method, method).checks == method.checks  # a rule written in both places counts once


# --- the Rule value -------------------------------------------------------------------------------


def test_rules_are_frozen_equal_and_hashable() -> None:
    expression = {"%%request.headers.X-Tag": {"$in": ["b", "a", ["a"]]}}
    one, two = compile_rule(expression, WHERE), compile_rule(expression, "$[3].can_evaluate")
    assert one == two and hash(one) == hash(two)
    same = compile_rule({"%%request.requestHeaders.x-tag": {"$in": ["a", ["a"], "b"]}}, WHERE)
    assert same == one and combine(one, same).checks == one.checks  # compared by meaning, not spelling
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.never = True  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.checks[0].key = "httpMethod"  # type: ignore[misc]


def test_a_rules_repr_shows_no_operand() -> None:  # operands may be shared secrets (§2.6 example)
    rule = compile_rule({"%%request.headers.x-secret-key": "my-secret"}, WHERE)
    assert "my-secret" not in repr(rule)
    assert "headers.x-secret-key" in repr(rule)


def test_allows_treats_a_non_mapping_as_an_empty_request() -> None:
    for odd in (None, [], "GET", 3):
        assert allows({"%%request.httpMethod": None}, odd)
        assert not allows({"%%request.httpMethod": "GET"}, odd)


# --- unsupported expressions: startup errors (§2.6 Decision) ---------------------------------------

UNSUPPORTED: list[tuple[str, Any, list[str]]] = [
    ("top-level string", "true", [
        f"{WHERE}: a JSON string (value not shown) is not a rule expression; allowed: a JSON object, true, false"]),
    ("top-level null", None, [f"{WHERE}: null is not a rule expression; allowed: a JSON object, true, false"]),
    ("top-level array", [], [
        f"{WHERE}: a JSON array (value not shown) is not a rule expression; allowed: a JSON object, true, false"]),
    ("top-level number", 1, [
        f"{WHERE}: a JSON number (value not shown) is not a rule expression; allowed: a JSON object, true, false"]),
    ("%%user", {"%%user.id": "62448086e2817063364f6043"}, [
        f'{WHERE}["%%user.id"]: the expansion "%%user.id" is not supported; allowed: {ALLOWED_KEYS}']),
    ("%%values", {"%%values.allowed": True}, [
        f'{WHERE}["%%values.allowed"]: the expansion "%%values.allowed" is not supported; allowed: {ALLOWED_KEYS}']),
    ("%%true", {"%%true": True}, [
        f'{WHERE}["%%true"]: the expansion "%%true" is not supported; allowed: {ALLOWED_KEYS}']),
    ("%or", {"%or": [{"%%request.httpMethod": "GET"}]}, [
        f'{WHERE}["%or"]: the expression operator "%or" is not supported; allowed: {ALLOWED_KEYS}']),
    ("%function", {"%function": {"name": "isAllowed"}}, [
        f'{WHERE}["%function"]: the expression operator "%function" is not supported; allowed: {ALLOWED_KEYS}']),
    ("$or", {"$or": [{"%%request.httpMethod": "GET"}]}, [
        f'{WHERE}["$or"]: the operator "$or" is not supported; allowed: {ALLOWED_KEYS}']),
    ("document field", {"owner_id": "x"}, [
        f'{WHERE}.owner_id: the document field "owner_id" is not supported; allowed: {ALLOWED_KEYS}']),
    ("%%request alone", {"%%request": {"httpMethod": "GET"}}, [
        f'{WHERE}["%%request"]: "%%request" names no field; allowed: {ALLOWED_KEYS}']),
    ("%%request. with a missing dot", {"%%requestHeaders.x": "a"}, [
        f'{WHERE}["%%requestHeaders.x"]: the expansion "%%requestHeaders.x" is not supported; allowed: {ALLOWED_KEYS}']),
    ("body", {"%%request.body": "x"}, [
        f'{WHERE}["%%request.body"]: "body" is not a context.request field; allowed: {ALLOWED_FIELDS}']),
    ("field names are case-sensitive", {"%%request.HTTPMethod": "GET"}, [
        f'{WHERE}["%%request.HTTPMethod"]: "HTTPMethod" is not a context.request field; allowed: {ALLOWED_FIELDS}']),
    ("%%request. with no field", {"%%request.": "x"}, [
        f'{WHERE}["%%request."]: "" is not a context.request field; allowed: {ALLOWED_FIELDS}']),
    ("headers without a name", {"%%request.headers": {"X-Tag": ["a"]}}, [
        f'{WHERE}["%%request.headers"]: "%%request.headers" names no header; allowed: %%request.headers.<name>']),
    ("requestHeaders. without a name", {"%%request.requestHeaders.": "a"}, [
        f'{WHERE}["%%request.requestHeaders."]: "%%request.requestHeaders." names no header;'
        " allowed: %%request.requestHeaders.<name>"]),
    ("header name with a space", {"%%request.headers.x-secret-key ": "a"}, [
        f'{WHERE}["%%request.headers.x-secret-key "]: "x-secret-key " is not a header name;'
        " allowed: a name of letters, digits and !#$%&'*+-.^_`|~"]),
    ("header name with a colon", {"%%request.headers.x:y": "a"}, [
        f'{WHERE}["%%request.headers.x:y"]: "x:y" is not a header name;'
        " allowed: a name of letters, digits and !#$%&'*+-.^_`|~"]),
    ("a string field's sub-field", {"%%request.httpMethod.verb": "GET"}, [
        f'{WHERE}["%%request.httpMethod.verb"]: httpMethod is a string and has no field "verb";'
        " allowed: %%request.httpMethod"]),
    ("$gt", {"%%request.httpMethod": {"$gt": "A"}}, [
        f'{WHERE}["%%request.httpMethod"]["$gt"]: the operator "$gt" is not supported; allowed: {OPERATOR_NAMES}']),
    ("$regex", {"%%request.httpUserAgent": {"$regex": "^curl"}}, [
        f'{WHERE}["%%request.httpUserAgent"]["$regex"]: the operator "$regex" is not supported;'
        f" allowed: {OPERATOR_NAMES}"]),
    ("$not", {"%%request.httpMethod": {"$not": {"$eq": "GET"}}}, [
        f'{WHERE}["%%request.httpMethod"]["$not"]: the operator "$not" is not supported; allowed: {OPERATOR_NAMES}']),
    ("%function as a value", {"%%request.httpMethod": {"%function": {"name": "f"}}}, [
        f'{WHERE}["%%request.httpMethod"]["%function"]: the expression operator "%function" is not supported;'
        f" allowed: {OPERATOR_NAMES}"]),
    ("%% key in a value", {"%%request.httpMethod": {"%%values.method": 1}}, [
        f'{WHERE}["%%request.httpMethod"]["%%values.method"]: the expansion "%%values.method" is not supported;'
        f" allowed: {OPERATOR_NAMES}"]),
    ("two operators", {"%%request.httpMethod": {"$ne": "GET", "$exists": True}}, [
        f'{WHERE}["%%request.httpMethod"]: an operator object with 2 keys ("$ne", "$exists") is not supported;'
        f" allowed: {ONE_OPERATOR}"]),
    ("an operator and a field", {"%%request.httpMethod": {"$eq": "GET", "verb": "GET"}}, [
        f'{WHERE}["%%request.httpMethod"]: an operator object with 2 keys ("$eq", "verb") is not supported;'
        f" allowed: {ONE_OPERATOR}"]),
    ("object literal", {"%%request.httpMethod": {"in": ["GET"]}}, [
        f'{WHERE}["%%request.httpMethod"]: an object with keys "in" can never equal httpMethod,'
        f" which is a string or absent; allowed: a string or null, or {ONE_OPERATOR}"]),
    ("empty object literal", {"%%request.headers.x-tag": {}}, [
        f'{WHERE}["%%request.headers.x-tag"]: an empty object can never equal headers.x-tag,'
        f" which is an array of strings or absent; allowed: a string, null or an array of strings, or {ONE_OPERATOR}"]),
    ("number literal", {"%%request.httpMethod": 5}, [
        f'{WHERE}["%%request.httpMethod"]: a JSON number (value not shown) can never equal httpMethod,'
        f" which is a string or absent; allowed: a string or null, or {ONE_OPERATOR}"]),
    ("boolean literal", {"%%request.httpReferrer": False}, [
        f'{WHERE}["%%request.httpReferrer"]: false can never equal httpReferrer,'
        f" which is a string or absent; allowed: a string or null, or {ONE_OPERATOR}"]),
    ("array literal on a string field", {"%%request.httpMethod": ["GET"]}, [
        f'{WHERE}["%%request.httpMethod"]: a JSON array (value not shown) can never equal httpMethod,'
        f" which is a string or absent; allowed: a string or null, or {ONE_OPERATOR}"]),
    ("an expansion as the value", {"%%request.headers.x-secret-key": "%%values.secretKey"}, [
        f'{WHERE}["%%request.headers.x-secret-key"]: "%%values.secretKey" is an expansion, which is not supported;'
        f" allowed: a string, null or an array of strings, or {ONE_OPERATOR}"]),
    ("%%true as the value", {"%%request.httpMethod": "%%true"}, [
        f'{WHERE}["%%request.httpMethod"]: "%%true" is an expansion, which is not supported;'
        f" allowed: a string or null, or {ONE_OPERATOR}"]),
    ("$eq object", {"%%request.httpMethod": {"$eq": {"verb": "GET"}}}, [
        f'{WHERE}["%%request.httpMethod"]["$eq"]: an object with keys "verb" can never equal httpMethod,'
        " which is a string or absent; allowed: a string or null"]),
    ("$ne number", {"%%request.headers.x-tag": {"$ne": 1}}, [
        f'{WHERE}["%%request.headers.x-tag"]["$ne"]: a JSON number (value not shown) can never equal headers.x-tag,'
        " which is an array of strings or absent; allowed: a string, null or an array of strings"]),
    ("$in a string", {"%%request.headers.x-secret-key": {"$in": "my-secret"}}, [
        f'{WHERE}["%%request.headers.x-secret-key"]["$in"]: a JSON string (value not shown) is not an array;'
        " allowed: an array of strings, nulls or arrays of strings"]),
    ("$nin an object", {"%%request.remoteIPAddress": {"$nin": {"ip": "1.2.3.4"}}}, [
        f'{WHERE}["%%request.remoteIPAddress"]["$nin"]: a JSON object (value not shown) is not an array;'
        " allowed: an array of strings or nulls"]),
    ("$in elements", {"%%request.remoteIPAddress": {"$in": ["1.2.3.4", 5, ["6"], "%%values.ip", True]}}, [
        f'{WHERE}["%%request.remoteIPAddress"]["$in"][1]: a JSON number (value not shown) can never equal'
        " remoteIPAddress, which is a string or absent; allowed: a string or null",
        f'{WHERE}["%%request.remoteIPAddress"]["$in"][2]: a JSON array (value not shown) can never equal'
        " remoteIPAddress, which is a string or absent; allowed: a string or null",
        f'{WHERE}["%%request.remoteIPAddress"]["$in"][3]: "%%values.ip" is an expansion, which is not supported;'
        " allowed: a string or null",
        f'{WHERE}["%%request.remoteIPAddress"]["$in"][4]: true can never equal'
        " remoteIPAddress, which is a string or absent; allowed: a string or null"]),
    ("header array elements", {"%%request.headers.x-tag": {"$nin": [["a", None, 1, "%%user.id"]]}}, [
        f'{WHERE}["%%request.headers.x-tag"]["$nin"][0][1]: null is not a header value; allowed: a string',
        f'{WHERE}["%%request.headers.x-tag"]["$nin"][0][2]: a JSON number (value not shown) is not a header value;'
        " allowed: a string",
        f'{WHERE}["%%request.headers.x-tag"]["$nin"][0][3]: "%%user.id" is an expansion, which is not supported;'
        " allowed: a string"]),
    ("header array literal element", {"%%request.headers.x-tag": ["a", {"b": 1}]}, [
        f'{WHERE}["%%request.headers.x-tag"][1]: a JSON object (value not shown) is not a header value;'
        " allowed: a string"]),
    ("$exists a string", {"%%request.httpReferrer": {"$exists": "yes"}}, [
        f'{WHERE}["%%request.httpReferrer"]["$exists"]: a JSON string (value not shown) is not a boolean;'
        " allowed: true, false"]),
    ("$exists 1", {"%%request.httpReferrer": {"$exists": 1}}, [
        f'{WHERE}["%%request.httpReferrer"]["$exists"]: a JSON number (value not shown) is not a boolean;'
        " allowed: true, false"]),
    ("$exists null", {"%%request.httpReferrer": {"$exists": None}}, [
        f'{WHERE}["%%request.httpReferrer"]["$exists"]: null is not a boolean; allowed: true, false']),
]


@pytest.mark.parametrize(("expression", "expected"), [u[1:] for u in UNSUPPORTED], ids=[u[0] for u in UNSUPPORTED])
def test_unsupported_forms_are_startup_errors(expression: Any, expected: list[str]) -> None:  # §2.6 Decision
    assert problems(expression) == expected


def test_every_problem_is_reported_in_order_and_good_fields_are_not() -> None:
    assert problems({
        "%%request.httpMethod": "GET",
        "%%user.id": "x",
        "%%request.body": "x",
        "%%request.headers.x-tag": {"$in": [1]},
        "%%request.remoteIPAddress": {"$nin": ["218.3.246.114"]},
    }) == [  # fmt: skip
        f'{WHERE}["%%user.id"]: the expansion "%%user.id" is not supported; allowed: {ALLOWED_KEYS}',
        f'{WHERE}["%%request.body"]: "body" is not a context.request field; allowed: {ALLOWED_FIELDS}',
        f'{WHERE}["%%request.headers.x-tag"]["$in"][0]: a JSON number (value not shown) can never equal'
        " headers.x-tag, which is an array of strings or absent; allowed: a string, null or an array of strings",
    ]


def test_a_bad_key_hides_its_values_problems() -> None:  # the value's rules depend on the field
    assert problems({"%%request.body": {"$gt": 5}}) == [
        f'{WHERE}["%%request.body"]: "body" is not a context.request field; allowed: {ALLOWED_FIELDS}'
    ]


def test_messages_start_with_where_as_given_and_problems_hold_the_paths() -> None:
    with pytest.raises(UnsupportedRule) as caught:
        compile_rule({"%%request.body": "x", "%%request.httpMethod": {"$gt": "A"}}, "$[4].can_evaluate")
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.problems == (
        ('$[4].can_evaluate["%%request.body"]', f'"body" is not a context.request field; allowed: {ALLOWED_FIELDS}'),
        ('$[4].can_evaluate["%%request.httpMethod"]["$gt"]',
         f'the operator "$gt" is not supported; allowed: {OPERATOR_NAMES}'),
    )  # fmt: skip
    assert error.messages == [f"{path}: {text}" for path, text in error.problems]
    assert str(error) == "\n".join(error.messages)
    assert problems(None, where="") == ["null is not a rule expression; allowed: a JSON object, true, false"]


def test_a_non_string_key_is_reported() -> None:  # only from Python callers; JSON keys are strings
    assert problems({1: "x"}) == [f"{WHERE}[1]: the key 1 is not a string; allowed: {ALLOWED_KEYS}"]


def test_no_message_shows_an_operand() -> None:  # operands may be shared secrets (§2.6 example, §2.4)
    with pytest.raises(UnsupportedRule) as caught:
        compile_rule({
            "%%request.headers.x-secret-key": {"$in": "my-secret"},
            "%%request.headers.x-other-key": {"$eq": {"secret": "my-secret2"}},
            "%%request.httpMethod": ["my-secret3"],
            "%%request.rawQueryString": 31337,
        }, WHERE)  # fmt: skip
    assert "my-secret" not in str(caught.value) and "31337" not in str(caught.value)
    assert len(caught.value.messages) == 4


# --- properties -----------------------------------------------------------------------------------

WORDS = ("a", "b", "GET", "")
HEADER_NAMES = ("x-tag", "X-Tag", "X-TAG", "accept")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=5) | st.sampled_from(WORDS),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)
header_maps = st.dictionaries(st.sampled_from(HEADER_NAMES) | st.text(max_size=6), json_values, max_size=5)
any_context = st.dictionaries(
    st.sampled_from((*STRING_FIELDS, "requestHeaders")) | st.text(max_size=6),
    json_values | header_maps,
    max_size=10,
)

words = st.sampled_from(WORDS)
header_arrays = st.lists(words, max_size=3)


@st.composite
def expressions(draw: st.DrawFn) -> dict[str, Any]:
    """Any supported expression with up to three fields (§2.6)."""
    expression: dict[str, Any] = {}
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            key = f"%%request.{draw(st.sampled_from(STRING_FIELDS))}"
            literal = st.none() | words
        else:
            alias = draw(st.sampled_from(("headers", "requestHeaders")))
            key = f"%%request.{alias}.{draw(st.sampled_from(('x-tag', 'X-Tag', 'x-TAG')))}"
            literal = st.none() | words | header_arrays
        value = draw(st.one_of(
            literal,
            st.builds(lambda op, v: {op: v}, st.sampled_from(("$eq", "$ne")), literal),
            st.builds(lambda op, v: {op: v}, st.sampled_from(("$in", "$nin")), st.lists(literal, max_size=3)),
            st.builds(lambda v: {"$exists": v}, st.booleans()),
        ))  # fmt: skip
        expression[key] = value
    return expression


@settings(max_examples=200)
@given(expressions(), any_context)
def test_allows_never_raises_on_any_context(expression: dict[str, Any], request: dict[str, Any]) -> None:
    assert compile_rule(expression, WHERE).allows(request) in (True, False)


# A reference evaluator written from the MongoDB rules, directly on the expression.


def _same(value: Any, literal: Any) -> bool:
    if literal is None:
        return value is None
    if isinstance(literal, str):
        return isinstance(value, str) and value == literal
    return (isinstance(value, (list, tuple)) and len(value) == len(literal)
            and all(_same(v, lit) for v, lit in zip(value, literal)))  # fmt: skip


def _eq(value: Any, literal: Any) -> bool:
    return _same(value, literal) or (isinstance(value, (list, tuple)) and any(_same(e, literal) for e in value))


def _reference(expression: dict[str, Any], request: dict[str, Any]) -> bool:
    for key, condition in expression.items():
        path = key.removeprefix("%%request.")
        if path.startswith(("headers.", "requestHeaders.")):
            name = path.split(".", 1)[1].lower()
            headers = request.get("requestHeaders")
            values = [v for k, v in headers.items() if k.lower() == name] if isinstance(headers, dict) else []
            value = values[0] if values else None
        else:
            value = request.get(path)
        if isinstance(condition, dict):
            ((op, operand),) = condition.items()
        else:
            op, operand = "$eq", condition
        result = {
            "$eq": lambda: _eq(value, operand),
            "$ne": lambda: not _eq(value, operand),
            "$in": lambda: any(_eq(value, item) for item in operand),
            "$nin": lambda: not any(_eq(value, item) for item in operand),
            "$exists": lambda: (value is not None) == operand,
        }[op]()
        if not result:
            return False
    return True


near_values = st.none() | words | st.lists(words | st.none() | header_arrays, max_size=3) | st.integers(0, 1)


@st.composite
def near_contexts(draw: st.DrawFn) -> dict[str, Any]:
    """Requests whose values often match the generated rules; header names unique ignoring case."""
    request = draw(st.dictionaries(st.sampled_from(STRING_FIELDS), near_values))
    if draw(st.booleans()):
        name = draw(st.sampled_from(("X-Tag", "x-tag", "X-TAG")))
        request["requestHeaders"] = {name: draw(near_values), "Accept": ["*/*"]}
    return request


@settings(max_examples=300)
@given(expressions(), near_contexts())
def test_allows_agrees_with_a_reference_evaluator(expression: dict[str, Any], request: dict[str, Any]) -> None:
    assert compile_rule(expression, WHERE).allows(request) is _reference(expression, request)


@given(expressions(), expressions(), near_contexts())
def test_combine_is_and(first: dict[str, Any], second: dict[str, Any], request: dict[str, Any]) -> None:
    a, b = compile_rule(first, WHERE), compile_rule(second, WHERE)
    assert combine(a, b).allows(request) is (a.allows(request) and b.allows(request))


@given(st.sampled_from(("$eq", "$in")), st.lists(st.none() | words | header_arrays, min_size=1, max_size=3),
       near_contexts())  # fmt: skip
def test_ne_and_nin_negate_eq_and_in(op: str, operands: list[Any], request: dict[str, Any]) -> None:
    operand: Any = operands if op == "$in" else operands[0]
    negated = {"$eq": "$ne", "$in": "$nin"}[op]
    key = "%%request.headers.x-tag"
    assert allows({key: {op: operand}}, request) is not allows({key: {negated: operand}}, request)


def test_nan_and_odd_values_in_the_request_compare_unequal() -> None:
    for odd in (math.nan, 0, 1.0, True, {"a": "a"}, {"GET": 1}, [["GET"]]):
        assert not allows({"%%request.httpMethod": "GET"}, context(httpMethod=odd))
        assert not allows({"%%request.httpMethod": {"$in": ["GET", None]}}, context(httpMethod=odd))
    assert allows({"%%request.headers.x-tag": ["a"]}, context({"X-Tag": [["a"], "b"]}))  # MongoDB: an element equals
