"""The response object from JavaScript: every row of the contract's response table (§4.2) and
the setters' rules (§4.1), compared with the Python engine running the equivalent code. The
JavaScript ``response`` calls ``runtime.contract.response.Response``'s setters, so the two can
only differ where JavaScript itself differs (String() of other values)."""

from __future__ import annotations

import pytest

from runtime.worker.engines.javascript import JavaScriptError
from tests.javascript.harness import decide, run, run_python

# (name, JavaScript body, Python body): each a function body over (payload, response)
SCENARIOS = [
    ("untouched", "return {a: 1}", "return {'a': 1}"),
    ("untouched-nothing", "", "pass"),
    ("status-only", "response.setStatusCode(201); return {a: 1}", "response.setStatusCode(201)\n    return {'a': 1}"),
    ("status-and-body", "response.setStatusCode(202).setBody('made'); return 'ignored'",
     "response.setStatusCode(202).setBody('made')\n    return 'ignored'"),
    ("body-only", "response.setBody('x'); return 1", "response.setBody('x')\n    return 1"),
    ("header-only", "response.setHeader('X-A', 'b'); return [1]", "response.setHeader('X-A', 'b')\n    return [1]"),
    ("headers-set-and-added", "response.addHeader('X-A', '1'); response.addHeader('X-A', '2'); response.setHeader('x-b', 'c'); response.setHeader('X-B', 'd')",
     "response.addHeader('X-A', '1')\n    response.addHeader('X-A', '2')\n    response.setHeader('x-b', 'c')\n    response.setHeader('X-B', 'd')"),
    ("empty-body", "response.setBody(); return 5", "response.setBody()\n    return 5"),
    ("binary-body", "response.setBody(BSON.Binary.fromHex('00ff')); return 5", "response.setBody(BSON.Binary.fromHex('00ff'))\n    return 5"),
    ("objectid-body", "response.setBody(BSON.ObjectId('5d505646cf6d4fe581014ab2'))", "response.setBody(BSON.ObjectId('5d505646cf6d4fe581014ab2'))"),
    ("number-body", "response.setBody(42)", "response.setBody(42)"),
    ("float-body", "response.setBody(1.5)", "response.setBody(1.5)"),
    ("bool-body", "response.setBody(true)", "response.setBody(True)"),
    ("status-number-header", "response.setHeader('X-N', 5); response.setStatusCode(404)", "response.setHeader('X-N', 5)\n    response.setStatusCode(404)"),
    ("string-result", "return 'Hello world'", "return 'Hello world'"),
    ("status-then-string", "response.setStatusCode(200); return 'Hello world'", "response.setStatusCode(200)\n    return 'Hello world'"),
]
CASES = [("webhook", True), ("webhook", False), ("endpoint", True), ("endpoint", False)]


def js_source(body: str) -> str:
    return "exports = function(payload, response) { " + body + " }"


def py_source(body: str) -> str:
    return "def exports(payload, response):\n    " + body + "\n"


@pytest.mark.parametrize(("name", "js", "py"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
@pytest.mark.parametrize(("kind", "respond_result"), CASES)
@pytest.mark.parametrize("fmt", ["EJSON", "JSON"])
@pytest.mark.parametrize("method", ["POST", "HEAD"])
def test_every_row_as_the_python_engine(name: str, js: str, py: str, kind: str, respond_result: bool, fmt: str, method: str) -> None:
    from_js = decide(run(js_source(js)), kind=kind, respond_result=respond_result, fmt=fmt, method=method)
    from_py = decide(run_python(py_source(py)), kind=kind, respond_result=respond_result, fmt=fmt, method=method)
    assert from_js == from_py


def test_the_table_rows_themselves() -> None:
    """Spot checks of §4.2 so the comparison above cannot agree on something wrong."""
    assert decide(run(js_source("return {a: 1}")), kind="webhook", respond_result=True) == (200, b'{"a":{"$numberInt":"1"}}', [])
    assert decide(run(js_source("return {a: 1}")), kind="endpoint", respond_result=False) == (204, None, [])
    assert decide(run(js_source("response.setStatusCode(200); return 'Hello world'")), kind="webhook", respond_result=True) == (200, None, [])
    assert decide(run(js_source("response.setStatusCode(200); return 'Hello world'")), kind="endpoint", respond_result=True,
                  fmt="JSON") == (200, b'"Hello world"', [])
    assert decide(run(js_source("response.setStatusCode(201).setBody('made')")), kind="endpoint", respond_result=False) == (201, b"made", [])


def test_setters_chain_and_return_the_response() -> None:
    assert run(js_source("return response.setStatusCode(200).setHeader('A', 'b').addHeader('A', 'c') === response")).json() is True


def test_other_values_go_through_string() -> None:
    ran = run(js_source("response.setBody({a: 1}); response.addHeader('X', 'y')"))
    assert ran.response.state()[2] == b"[object Object]"
    ran = run(js_source("response.setBody([1, 2])"))
    assert ran.response.state()[2] == b"1,2"


@pytest.mark.parametrize(("call", "message"), [
    ("response.setStatusCode(99)", "Error: response.setStatusCode: 99 is not an HTTP status code; allowed: an integer from 100 to 599"),
    ("response.setStatusCode(101)", "Error: response.setStatusCode: 101 is an informational status, which cannot end a response; allowed: 200 to 599"),
    ("response.setStatusCode('200')", "Error: response.setStatusCode: '200' is not an HTTP status code; allowed: an integer from 100 to 599"),
    ("response.setStatusCode(200.5)", "Error: response.setStatusCode: 200.5 is not an HTTP status code; allowed: an integer from 100 to 599"),
    ("response.setHeader('Content-Length', '1')", "Error: response.setHeader: the Content-Length header is set by the server"),
    ("response.setHeader('X-A', 'a\\r\\nb')", "Error: response.setHeader: the value of X-A contains a line break or NUL"),
    ("response.addHeader('bad name', 'x')", "Error: response.addHeader: 'bad name' is not a header name; allowed: letters, digits and !#$%&'*+-.^_`|~"),
    ("response.setHeader('X-A', {})", "TypeError: response.setHeader: the value of X-A must be a string, not 'dict'"),
])
def test_setter_errors_are_the_contract_modules_messages(call: str, message: str) -> None:
    with pytest.raises(JavaScriptError) as info:
        run(js_source(call))
    assert info.value.text == message


def test_a_caught_setter_error_leaves_the_response_as_it_was() -> None:
    ran = run(js_source("try { response.setStatusCode(1000) } catch (e) { return e.message }"))
    assert ran.response.state() == (False, None, None, [])


def test_response_methods_cannot_be_replaced() -> None:
    ran = run(js_source("try { response.setStatusCode = () => 1 } catch (e) {} response.setStatusCode(404); return Object.isFrozen(response)"))
    assert ran.response.state()[1] == 404 and ran.json() is True
