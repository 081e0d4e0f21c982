"""Data-rule expressions on can_evaluate's evaluator (issue 13 §3): the expansions, operators and
decisions of runtime.contract.data_rules over plain values."""

from __future__ import annotations

import pytest

from runtime.contract import data_rules as rules
from runtime.errors import UnsupportedRule

USER = {"id": "u1", "type": "normal", "data": {"email": "a@b.c", "groups": ["red", "blue"]},
        "identities": [{"id": "i1", "provider_type": "local-userpass"}]}
REQUEST = {"httpMethod": "GET", "requestHeaders": {"X-Team": ["blue"]}, "remoteIPAddress": "10.0.0.1"}


def holds(expression: object, document: object = None) -> bool:
    problems: list[tuple[str, str]] = []
    rule = rules.expression(expression, "$", problems)
    assert problems == []
    return rule.holds_in({"user": USER, "request": REQUEST, "root": document or {}, "this": document or {}})


@pytest.mark.parametrize(("expression", "document", "expected"), [
    ({}, None, True), (True, None, True), (False, None, False), ("%%true", None, True), ("%%false", None, False),
    ({"owner_id": "%%user.id"}, {"owner_id": "u1"}, True),
    ({"owner_id": "%%user.id"}, {"owner_id": "u2"}, False),
    ({"%%user.id": "%%root.owner_id"}, {"owner_id": "u1"}, True),
    ({"%%this.owner_id": "%%user.id"}, {"owner_id": "u1"}, True),
    ({"%%user.data.groups": "blue"}, None, True),  # any element of an array
    ({"tags": {"$in": "%%user.data.groups"}}, {"tags": ["green", "red"]}, True),
    ({"tags": {"$in": "%%user.data.groups"}}, {"tags": ["green"]}, False),
    ({"%%user.identities.provider_type": "local-userpass"}, None, True),
    ({"%%user.data.phone": {"$exists": False}}, None, True),
    ({"%%request.httpMethod": "GET"}, None, True),
    ({"%%request.requestHeaders.x-team": "blue"}, None, True),
    ({"public": True}, {"public": True}, True),
    ({"public": True}, {"public": 1}, False),  # a boolean never equals a number
    ({"count": 2}, {"count": 2.0}, True),
    ({"count": {"$nin": [1, 2]}}, {"count": 3}, True),
    ({"a.b": 1}, {"a": {"b": 1}}, True),
    ({"$or": [{"owner_id": "%%user.id"}, {"public": True}]}, {"owner_id": "x", "public": True}, True),
    ({"$or": [{"owner_id": "%%user.id"}, {"public": True}]}, {"owner_id": "x", "public": False}, False),
    ({"$and": [{"owner_id": "%%user.id"}, False]}, {"owner_id": "u1"}, False),
    ({"secret": {"$ne": "%%true"}}, {"secret": True}, False),
])
def test_expressions(expression: object, document: object, expected: bool) -> None:
    assert holds(expression, document) is expected


def test_what_the_evaluator_cannot_handle_is_reported_with_its_path() -> None:
    with pytest.raises(UnsupportedRule) as caught:
        rules.compile_policy([{"name": "r", "apply_when": {"%%values.x": 1, "n": {"$gt": 1, "$lt": 3}},
                               "read": {"%function": {}}, "fields": {"f": {"read": "yes"}},
                               "document_filters": {"read": {"owner": "%%root.x"}}}], [], "f.json")
    problems = dict(caught.value.problems)
    assert problems['$.roles[0].apply_when["%%values.x"]'].startswith('the expansion "%%values.x" is not supported')
    assert problems["$.roles[0].apply_when.n"].startswith('the operator object ("$gt", "$lt") is not supported')
    assert problems['$.roles[0].read["%function"]'].startswith('the expression operator "%function" is not supported')
    assert problems["$.roles[0].fields.f.read"].startswith("a JSON string (value not shown) is not a rule expression")
    assert problems["$.roles[0].document_filters.read.owner"].startswith('"%%root.x" is not supported in a document filter')


def test_roles_permissions_and_fields() -> None:
    policy = rules.compile_policy([
        {"name": "owner", "apply_when": {"owner_id": "%%user.id"}, "read": True, "write": True},
        {"name": "viewer", "apply_when": {}, "fields": {"name": {"read": True}, "salary": {"read": False}},
         "additional_fields": {"write": {"%%user.data.email": {"$exists": True}}}},
    ], [], "f.json")
    mine = {"_id": 1, "owner_id": "u1", "salary": 9}
    other = {"_id": 2, "owner_id": "u2", "name": "n", "salary": 9, "note": "x"}
    scope = {"user": USER, "request": REQUEST}
    role = rules.role_for(policy, {**scope, "root": mine})
    assert role is not None and role.name == "owner" and rules.permits(role, "read", {**scope, "root": mine})
    here = {**scope, "root": other}
    role = rules.role_for(policy, here)
    assert role is not None and role.name == "viewer" and not rules.permits(role, "read", here)
    assert rules.visible(role, other, here) == {"_id": 2, "name": "n", "owner_id": "u2", "note": "x"}  # additional: writable
    assert rules.may_write_fields(role, {"note"}, here) and not rules.may_write_fields(role, {"salary"}, here)
    assert not rules.permits(role, "delete", here) and rules.permits(None, "read", here) is False
    assert rules.expand({"owner_id": "%%user.id", "$or": [{"x": "%%true"}]}, scope) == {"owner_id": "u1", "$or": [{"x": True}]}
