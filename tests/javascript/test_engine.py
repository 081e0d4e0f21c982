"""The JavaScript engine at the seam: module shapes, async, errors, the guest API, execute, require.

Every test builds an ``Invocation`` by hand (``tests/javascript/harness.py``) and runs real
JavaScript in a real QuickJS-ng context through ``runtime.worker.engines.javascript``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runtime.values import ejson
from runtime.errors import TimeLimitExceeded
from runtime.worker.engines.javascript import CompileFailed, JavaScriptError, compile as compile_js
from runtime.worker.engines.base import function_name
from tests.javascript.harness import StandInHost, run

PACKAGES = Path(__file__).resolve().parents[1] / "fixtures" / "js_packages" / "node_modules"


def value(source: str, **kw) -> object:
    return run(source, **kw).json()


# --- module shape (§8.1) ------------------------------------------------------------------------

@pytest.mark.parametrize("source", [
    "exports = function(payload, response) { return 42 }",
    "exports = async function(payload, response) { return 42 }",
    "var exports = function() { return 42 }",
    "exports = () => 42",
    "exports = async () => 42",
    "function helper() { return 41 }\nexports = function() { return helper() + 1 }",
    "undeclared = 41\nexports = function() { return undeclared + 1 }",
    "exports = function() { sloppyGlobal = 42; return sloppyGlobal }",
    "exports = function() { with ({a: 42}) { return a } }",
])
def test_module_shapes_app_services_code_uses(source: str) -> None:
    assert value(source) == 42


def test_there_is_no_node_module_object() -> None:
    assert value('exports = function() { return typeof module }') == "undefined"
    with pytest.raises(JavaScriptError) as info:
        run("module.exports = function() { return 1 }")
    assert info.value.text.startswith("ReferenceError: 'module' is not defined")


def test_exports_must_be_a_function_and_the_error_says_so() -> None:
    with pytest.raises(JavaScriptError) as info:
        run("exports = 42")
    assert info.value.text == "TypeError: exports must be a function, not 'number' (in functions/main.js)"
    with pytest.raises(JavaScriptError, match="not 'undefined'"):
        run("function handler() {}")


# --- async -------------------------------------------------------------------------------------

def test_a_returned_promise_is_awaited_through_chains_of_jobs() -> None:
    source = """
    exports = async function() {
      let n = 0;
      for (let i = 0; i < 100; i++) n = await Promise.resolve(n + 1);
      return {n};
    }"""
    assert value(source) == {"n": 100}


def test_a_thenable_is_awaited() -> None:
    assert value("exports = function() { return {then(ok) { ok(7) }} }") == 7


def test_unawaited_work_keeps_running_after_the_value_is_determined() -> None:
    source = """
    exports = async function() {
      (async () => { for (let i = 0; i < 50; i++) await null; console.log("late work done") })();
      return "early";
    }"""
    ran = run(source)
    assert ran.json() == "early"
    assert ran.lines == ["late work done"]


def test_the_value_is_the_value_when_it_settled_not_after_later_mutation() -> None:
    source = """
    exports = function() {
      const out = {n: 1};
      Promise.resolve().then(() => { out.n = 2 });
      return out;
    }"""
    assert value(source) == {"n": 1}


def test_unawaited_work_stopped_by_the_time_limit_leaves_the_value_and_a_warning() -> None:
    source = "exports = function() { Promise.resolve().then(() => { for (;;) {} }); return 'kept' }"
    ran = run(source, time_limit=0.3)
    assert ran.json() == "kept"
    assert ran.lines == ["WARN atlas-fn: un-awaited work was stopped: execution time limit exceeded"]


def test_a_rejected_promise_is_the_functions_error() -> None:
    with pytest.raises(JavaScriptError) as info:
        run("exports = async function() { await null; throw new RangeError('too far') }")
    assert info.value.text == "RangeError: too far"


def test_a_promise_that_can_never_settle_is_an_error_saying_so() -> None:
    with pytest.raises(JavaScriptError, match="never settled"):
        run("exports = function() { return new Promise(() => {}) }")


# --- timers (App Services listed Node's timers module as supported) ---------------------------------

def test_a_timeout_is_awaited_in_real_time() -> None:
    import time
    started = time.monotonic()
    source = "exports = async () => { const t0 = Date.now(); await new Promise(r => setTimeout(r, 120)); return Date.now() - t0 >= 115 }"
    assert value(source) is True and time.monotonic() - started >= 0.12


def test_timers_fire_in_due_order_with_their_arguments_and_can_be_cleared() -> None:
    source = """exports = () => new Promise((resolve) => {
      const seen = [];
      setTimeout((x) => seen.push(x), 30, "b");
      setTimeout((x) => seen.push(x), 10, "a");
      const gone = setTimeout(() => seen.push("cleared"), 20);
      clearTimeout(gone);
      setImmediate(() => seen.push("now"));
      let n = 0;
      const tick = setInterval(() => { seen.push("tick" + ++n); if (n === 3) { clearInterval(tick); setTimeout(() => resolve(seen), 40); } }, 5);
    })"""
    seen = value(source)
    assert seen[0] == "now" and seen.index("a") < seen.index("b") and "cleared" not in seen
    assert [s for s in seen if s.startswith("tick")] == ["tick1", "tick2", "tick3"]


def test_timers_left_when_the_value_is_determined_are_dropped_with_a_warning() -> None:
    ran = run("exports = () => { setInterval(() => console.log('never'), 1); setTimeout(() => {}, 5); return 'now' }")
    assert ran.json() == "now"
    assert ran.lines == ["WARN atlas-fn: 2 pending timer(s) dropped: the function's value was already determined"]


def test_a_timer_beyond_the_time_limit_is_the_time_limit() -> None:
    with pytest.raises(TimeLimitExceeded):
        run("exports = () => new Promise(r => setTimeout(r, 5000))", time_limit=0.3)


def test_a_string_of_code_is_not_a_timer_callback() -> None:
    with pytest.raises(JavaScriptError) as info:
        run("exports = () => setTimeout('globalThis.x = 1', 1)")
    assert info.value.text == 'TypeError: setTimeout: the callback must be a function, got "globalThis.x = 1" (a string of code is not run)'


def test_a_throw_in_a_timer_is_the_functions_error() -> None:
    with pytest.raises(JavaScriptError) as info:
        run("exports = () => new Promise(() => setTimeout(() => { throw new RangeError('in a timer') }, 1))")
    assert info.value.text == "RangeError: in a timer"


def test_at_most_1000_pending_timers() -> None:
    with pytest.raises(JavaScriptError) as info:
        run("exports = () => { for (let i = 0; i < 1001; i++) setTimeout(() => {}, 1000) }")
    assert info.value.text == "RangeError: exceeded max async work queue size of 1000"


def test_require_timers_is_the_same_functions() -> None:
    assert value("exports = () => require('timers').setTimeout === setTimeout || typeof require('timers').setTimeout") is True


# --- errors ------------------------------------------------------------------------------------

def test_a_thrown_error_is_name_and_message_with_the_stack_in_the_users_file() -> None:
    source = "function helper(x) {\n  return x.missing();\n}\nexports = function() {\n  return helper({});\n}\n"
    with pytest.raises(JavaScriptError) as info:
        run(source)
    exc = info.value
    assert type(exc).__name__ == "TypeError" and exc.name == "TypeError"
    assert exc.text == "TypeError: 'missing' is not a function"  # App Services' (otto's) wording, runtime/…/messages.py
    frames = exc.stack.splitlines()
    assert frames[0] == "    at helper (functions/main.js:2:12)"  # QuickJS points at the called name
    assert frames[1] == "    at exports (functions/main.js:5:10)"
    assert "<input>" not in exc.stack and len(frames) == 2


@pytest.mark.parametrize(("source", "text"), [
    # observed from App Services (mongodb/stitch-examples#99) for this very mistake
    ("exports = () => context.https.post({url: 'x'})", "TypeError: Cannot access member 'post' of undefined"),
    ("exports = () => { const o = null; return o.x }", "TypeError: Cannot access member 'x' of null"),
    ("exports = function() {\n  var x;\n  return x();\n}", "TypeError: 'x' is not a function"),
    ("exports = () => { const o = {a: {}}; return o.a.foo(2) }", "TypeError: 'foo' is not a function"),
    ("exports = () => { const q = {}; q.f (); }", "TypeError: 'f' is not a function"),
    ("exports = () => { const o = {}; o['k'](1) }", "TypeError: not a function"),  # no name to give: QuickJS's words
    ("exports = () => nope + 1", "ReferenceError: 'nope' is not defined"),
    ("exports = () => JSON.parse('{')", "SyntaxError: Expected property name or '}' in JSON at position 1 (line 1 column 2)"),
    ("exports = () => { throw new TypeError('cannot read property \\'x\\' of undefined, said the guest') }",
     "TypeError: cannot read property 'x' of undefined, said the guest"),
])
def test_runtime_errors_are_worded_as_app_services_worded_them(source: str, text: str) -> None:
    """Contract §5 (`"<ErrorType>: <message>"`) in App Services' own words where they are known."""
    with pytest.raises(JavaScriptError) as info:
        run(source)
    assert info.value.text == text


def test_memory_exhausted_by_small_allocations_is_a_memory_error_too() -> None:
    """QuickJS-ng throws null when it cannot build the error; so a literal `throw null` reads as memory."""
    with pytest.raises(MemoryError):
        run("exports = function() { const a = []; for (;;) a.push({n: a.length}) }", memory_limit=16 * 1024 * 1024)
    with pytest.raises(MemoryError):
        run("exports = function() { throw null }")


def test_a_thrown_non_error_is_its_string() -> None:
    with pytest.raises(JavaScriptError) as info:
        run("exports = function() { throw 'plain text' }")
    assert info.value.text == "plain text" and type(info.value).__name__ == "Error"


def test_errors_from_the_guest_api_point_at_the_users_line_not_the_prelude() -> None:
    source = "exports = function(payload, response) {\n  response.setStatusCode(99);\n}"
    with pytest.raises(JavaScriptError) as info:
        run(source)
    assert info.value.text.startswith("Error: response.setStatusCode: 99 is not an HTTP status code")
    assert info.value.stack.splitlines()[0] == "    at exports (functions/main.js:2:12)"


def test_a_custom_error_class_keeps_its_name() -> None:
    with pytest.raises(JavaScriptError) as info:
        run("class Nope extends Error { constructor(m) { super(m); this.name = 'Nope' } }\nexports = () => { throw new Nope('no') }")
    assert type(info.value).__name__ == "Nope" and info.value.text == "Nope: no"


def test_stack_overflow_is_a_range_error() -> None:
    with pytest.raises(JavaScriptError) as info:
        run("function f() { return f() + 1 }\nexports = () => f()")
    assert info.value.text == "RangeError: Maximum call stack size exceeded"


def test_an_infinite_loop_ends_at_the_time_limit() -> None:
    with pytest.raises(TimeLimitExceeded, match="execution time limit exceeded"):
        run("exports = function() { for (;;) {} }", time_limit=0.3)


def test_the_time_limit_holds_while_host_callbacks_are_made() -> None:
    with pytest.raises(TimeLimitExceeded):
        run("exports = function() { for (;;) { console.log('x'); EJSON.stringify({a: 1}) } }", time_limit=0.3)


def test_the_memory_limit_is_a_memory_error() -> None:
    with pytest.raises(MemoryError, match="heap limit"):
        run("exports = function() { const a = []; for (;;) a.push('x'.repeat(1000) + a.length) }", memory_limit=16 * 1024 * 1024)


# --- compile -----------------------------------------------------------------------------------

def test_a_syntax_error_has_its_line_and_column() -> None:
    with pytest.raises(CompileFailed) as info:
        compile_js("exports = function() {\n  let x = ;\n}\n", "functions/bad.js")
    (problem,) = info.value.problems
    assert (problem.line, problem.column) == (2, 11)
    assert problem.message == "SyntaxError: unexpected token in expression: ';'"
    assert str(info.value) == "SyntaxError: unexpected token in expression: ';'"


def test_compiling_runs_no_code() -> None:
    compile_js("for (;;) {}\nexports = 1", "functions/loop.js")  # would never return if it ran


def test_an_unterminated_string_on_line_one() -> None:
    with pytest.raises(CompileFailed) as info:
        compile_js("exports = 'abc", "functions/s.js")
    assert info.value.problems[0].line == 1


# --- the guest API -----------------------------------------------------------------------------

def test_payload_query_headers_and_body() -> None:
    source = """exports = function(payload) {
      const b = payload.body;
      return [payload.query, payload.headers, b instanceof BSON.Binary, b.text(), b.toBase64(), b.toHex()];
    }"""
    assert value(source) == [{"a": "1"}, {"Content-Type": ["application/json"]}, True, '{"k":1}', "eyJrIjoxfQ==", "7b226b223a317d"]


def test_no_body_is_undefined() -> None:
    assert value("exports = p => typeof p.body", argument={"query": {}, "headers": {}, "body": None}) == "undefined"


def test_github_and_twilio_arguments() -> None:
    assert value("exports = p => p.repository.name", argument=b'{"repository": {"name": "r"}}', service_type="github") == "r"
    assert value("exports = p => p.Body.trim()", argument={"Body": " hi "}, service_type="twilio") == "hi"


def test_context_members() -> None:
    source = """exports = function() {
      return [context.request.httpMethod, context.app.id, context.environment.values.region, context.environment.tag,
              context.values.get("greeting"), context.values.get("list"), typeof context.values.get("nope"),
              context.user.type, context.runningAsSystem()];
    }"""
    assert value(source) == ["POST", "local", "eu", "", "Hello", [1, 2, 3], "undefined", "system", True]


def test_absent_request_fields_are_undefined_not_null() -> None:
    from runtime.contract.request import build_context_request
    request = build_context_request(method="GET", url="http://h/x", raw_query="", headers=[], remote="1.2.3.4", kind="webhook", route="")
    assert value("exports = () => [typeof context.request.rawQueryString, typeof context.request.httpReferrer, "
                 "context.request.remoteIPAddress, context.request.webhookUrl]", request=request) == ["undefined", "undefined", "1.2.3.4", "http://h/x"]


def test_context_services_and_http_are_there_and_ask_nothing_until_used() -> None:
    """Spec §8.6.1: get(unknown) is undefined, answered in the worker; building the faces sends nothing."""
    ran = run("exports = () => [typeof context.services.get('nope'), typeof context.services.get('mongodb-atlas').db('d').collection('c').find,"
              " Object.keys(context.http).sort(), String(context.services.get('mongodb-atlas').db('d').collection('c'))]",
              services={"mongodb-atlas": "mongodb-atlas"})
    assert ran.json() == ["undefined", "function", ["delete", "get", "head", "patch", "post", "put"], "[object Collection]"]
    assert ran.host.requests == []


def test_values_are_copies_per_call() -> None:
    source = "exports = () => { const v = context.values.get('nested'); v.a.b = 2; return context.values.get('nested').a.b }"
    assert value(source) == 1


def test_console_levels_and_values() -> None:
    source = """exports = function() {
      console.log("a", 1, {b: [1, 2]}, undefined, null);
      console.info("i"); console.warn("w"); console.error("e"); console.debug("d");
      console.log(new BSON.ObjectId("5d505646cf6d4fe581014ab2"), new Date(0), new Error("boom"));
    }"""
    assert run(source).lines == [
        'a 1 {"b":[1,2]} undefined null', "INFO i", "WARN w", "ERROR e", "DEBUG d",
        '{"$oid":"5d505646cf6d4fe581014ab2"} {"$date":"1970-01-01T00:00:00Z"} Error: boom',
    ]


def test_utils_crypto_matches_the_python_functions() -> None:
    source = """exports = () => [utils.crypto.hmac("hello", "12345", "sha256", "hex"),
                               utils.crypto.hmac("hello", "12345"),
                               utils.crypto.hash("sha256", "abc").toHex(),
                               utils.crypto.hash("md5", BSON.Binary.fromText("abc")) instanceof BSON.Binary]"""
    from runtime.values import crypto
    assert value(source) == [crypto.hmac("hello", "12345", "sha256", "hex"), crypto.hmac("hello", "12345"),
                             crypto.hash("sha256", "abc").toHex(), True]


def test_utils_crypto_errors_are_pythons_messages() -> None:
    with pytest.raises(JavaScriptError) as info:
        run('exports = () => utils.crypto.hash("sha384", "x")')
    assert info.value.text == "Error: utils.crypto.hash: the algorithm must be one of 'sha1', 'sha256', 'md5', got 'sha384'"


def test_json_is_the_standard_object() -> None:
    assert value('exports = () => JSON.stringify(JSON.parse(\'{"a":[1,2]}\'))') == '{"a":[1,2]}'


# --- execute -----------------------------------------------------------------------------------

def test_function_names_from_keys() -> None:
    assert function_name("/app/functions/utils/add.js") == "utils/add"
    assert function_name("functions/hello.js") == "hello"


def test_execute_js_to_js_runs_in_the_same_context_passing_closures_and_classes() -> None:
    others = {"functions/utils/apply.js": "exports = function(f, Cls, n) { return [f(n), new Cls(n) instanceof Cls, Cls.name] }",
              "functions/asyncAdd.js": "exports = async (a, b) => a + b"}
    source = """exports = async function() {
      class Point { constructor(x) { this.x = x } }
      const r = context.functions.execute("utils/apply", (x) => x * 2, Point, 21);
      return [r, await context.functions.execute("asyncAdd", 1, 2)];
    }"""
    assert value(source, others=others) == [[42, True, "Point"], 3]


def test_execute_of_a_callee_error_names_the_callee_file() -> None:
    others = {"functions/bad.js": "exports = function() {\n  return undefined.x();\n}"}
    with pytest.raises(JavaScriptError) as info:
        run('exports = () => context.functions.execute("bad")', others=others)
    assert info.value.stack.splitlines()[:2] == ["    at exports (functions/bad.js:2:10)", "    at exports (functions/main.js:1:35)"]


def test_execute_of_a_non_javascript_function_is_a_service_request_with_ejson() -> None:
    host = StandInHost(answers={"functions/execute": lambda args: ejson.to_canonical({"got": ejson.parse(args)})})
    source = 'exports = () => context.functions.execute("py/fn", 1, 2.5, new BSON.ObjectId("5d505646cf6d4fe581014ab2"), [new Date(0)])'
    ran = run(source, host=host)
    (request,) = host.requests
    assert request[:2] == ("functions", "execute")
    assert json.loads(request[2]) == {"name": "py/fn", "arguments": [
        {"$numberInt": "1"}, {"$numberDouble": "2.5"}, {"$oid": "5d505646cf6d4fe581014ab2"}, [{"$date": {"$numberLong": "0"}}]]}
    assert json.loads(ran.value()) == {"got": json.loads(request[2])}


def test_a_failed_service_request_is_a_js_error_with_the_servers_name() -> None:
    with pytest.raises(JavaScriptError) as info:
        run('exports = () => context.functions.execute("missing")')
    assert info.value.text.startswith("FunctionError: function not found")


def test_a_service_failure_can_be_caught() -> None:
    assert value('exports = () => { try { context.functions.execute("missing") } catch (e) { return e.name } }') == "FunctionError"


# --- require -----------------------------------------------------------------------------------

def test_require_of_each_built_in() -> None:
    source = r"""exports = function() {
      const crypto = require("crypto"), { Buffer } = require("node:buffer"), qs = require("querystring"),
            url = require("url"), util = require("util"), assert = require("assert");
      let failed;
      try { assert.deepStrictEqual({a: 1}, {a: 2}) } catch (e) { failed = e.name }
      return [crypto.createHash("sha256").update("abc").digest("hex"),
              crypto.createHmac("sha1", Buffer.from("k")).update(Buffer.from("v")).digest("base64"),
              crypto.randomBytes(16).length, /^[0-9a-f-]{36}$/.test(crypto.randomUUID()),
              crypto.timingSafeEqual(Buffer.from("ab"), Buffer.from("ac")),
              Buffer.from("héllo").toString("hex"), Buffer.from("aGk=", "base64").toString("utf8"),
              Buffer.concat([Buffer.alloc(1, 65), Buffer.from([66])]).toString(),
              qs.parse("a=1&b=x+y&a=2"), qs.stringify({a: [1, 2], b: "x y"}),
              new url.URL("https://Example.com:443/a/../b?x=1#h").href, new url.URLSearchParams("a=1&a=2").getAll("a"),
              url.parse("http://h.com:8080/p?q=1", true).query.q,
              util.format("%s=%d %j", "a", 42, {b: 1}), util.inspect({a: [1, "x"]}), failed];
    }"""
    import base64
    import hashlib
    import hmac
    assert value(source) == [
        hashlib.sha256(b"abc").hexdigest(), base64.b64encode(hmac.new(b"k", b"v", "sha1").digest()).decode(), 16, True, False,
        "68c3a96c6c6f", "hi", "AB", {"a": ["1", "2"], "b": "x y"}, "a=1&a=2&b=x%20y", "https://example.com/b?x=1#h", ["1", "2"],
        "1", 'a=42 {"b":1}', "{ a: [ 1, 'x' ] }", "AssertionError"]


def test_require_of_a_module_we_lack_names_it_the_file_and_what_is_allowed() -> None:
    with pytest.raises(JavaScriptError) as info:
        run('exports = () => require("net")')
    assert info.value.text == ("Error: require('net'): atlas-fn does not provide the Node module 'net' (needed by function file "
                               "functions/main.js); available: assert, buffer, crypto, querystring, timers, url, util")


def test_require_of_an_unknown_module_names_it_and_the_file() -> None:
    with pytest.raises(JavaScriptError) as info:
        run('exports = () => require("left-pad")')
    assert info.value.text.startswith("Error: require('left-pad'): no such module (required by function file functions/main.js)")


def test_require_of_a_relative_path_from_a_function_file_is_refused() -> None:
    with pytest.raises(JavaScriptError, match=r"require\('./helper'\): no such module"):
        run('exports = () => require("./helper")')


def test_require_of_a_commonjs_package_from_node_modules() -> None:
    source = 'const greet = require("greeter");\nexports = () => [greet("Ann"), greet("Bob"), require("@scope/util").twice(21), require("@scope/util").name]'
    assert value(source, node_modules=PACKAGES) == ["Hello, Ann!.........|1", "Hello, Bob!.........|2", 42,
                                                    "node_modules/@scope/util/index.js"]


def test_an_error_inside_a_package_names_the_package_file() -> None:
    with pytest.raises(JavaScriptError) as info:
        run('exports = () => require("greeter").fail()', node_modules=PACKAGES)
    assert info.value.stack.splitlines()[0] == "    at <anonymous> (functions/node_modules/greeter/lib/index.js:11:15)"


def test_the_artifact_carries_only_the_packages_the_file_requires() -> None:
    import marshal
    artifact = marshal.loads(compile_js('const g = require("greeter")\nexports = () => 1', "functions/a.js", node_modules=PACKAGES))
    assert sorted(artifact["files"]) == ["node_modules/greeter/data.json", "node_modules/greeter/lib/format.js",
                                         "node_modules/greeter/lib/index.js", "node_modules/greeter/package.json",
                                         "node_modules/tiny-pad/index.js"]


def test_a_package_needing_fs_fails_naming_package_module_and_file() -> None:
    with pytest.raises(JavaScriptError) as info:
        run('exports = () => require("needs-fs")()', node_modules=PACKAGES)
    assert info.value.text == ("Error: require('fs'): atlas-fn does not provide the Node module 'fs' (needed by package 'needs-fs', "
                               "required from function file functions/main.js); available: assert, buffer, crypto, querystring, timers, url, util")


def test_a_package_with_a_native_addon_fails_clearly() -> None:
    with pytest.raises(JavaScriptError) as info:
        run('exports = () => require("native-thing")', node_modules=PACKAGES)
    assert info.value.text == ("Error: require('./binding/addon'): package 'native-thing' needs a native addon "
                               "(node_modules/native-thing/binding/addon.node), which atlas-fn cannot load (in function file "
                               "functions/main.js); only plain-JavaScript packages work")


# --- a context prepared while the worker is idle ---------------------------------------------------

def test_a_prepared_context_serves_one_call_and_carries_nothing_over() -> None:
    from tests.javascript.harness import engine_with
    source = "exports = function() { const seen = typeof leftover; leftover = 1; Object.prototype.p = 1; return seen }"
    engine = engine_with({"functions/main.js": source})
    engine.prepare()
    prepared = engine._ready  # noqa: SLF001
    assert prepared is not None
    assert run(source, engine=engine).json() == "undefined"
    assert engine._ready is None  # noqa: SLF001 - used once
    engine.prepare()
    assert engine._ready is not prepared  # noqa: SLF001 - a new one, never the used one
    assert run(source, engine=engine).json() == "undefined"
    assert run(source, engine=engine).json() == "undefined"  # and without a prepared one


def test_a_prepared_context_refuses_host_calls_until_bound() -> None:
    from runtime.worker.engines.javascript.bridge import Bridge
    bridge = Bridge(lambda name: None, lambda key: None)
    assert bridge("console", "log:x") == '1["Error", "atlas-fn host: no call is running"]'


def test_work_a_timer_queues_runs_before_the_next_timer_is_waited_for() -> None:
    source = """exports = () => new Promise((resolve) => {
      const seen = [];
      setTimeout(() => { Promise.resolve().then(() => seen.push("microtask")); seen.push("first"); }, 1);
      setTimeout(() => { seen.push("second"); resolve(seen); }, 80);
    })"""
    assert value(source) == ["first", "microtask", "second"]
