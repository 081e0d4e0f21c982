"""JavaScript functions in the real worker process (``runtime.worker.main``), over its real pipe.

The pool's own argv starts the worker; the test plays the server: a ``Boot`` with JavaScript
``FunctionArtifact``s, then ``Call``s, answering ``ServiceRequest``s as the server would. This
is where the engine meets the worker's rlimits, its CPU budget and its recycling, and where a
``context.functions.execute`` of a non-JavaScript function crosses the process wall.
"""

from __future__ import annotations

import json
import marshal
import subprocess
from typing import Callable, Iterator

import pytest

from runtime.host.pool import WORKER_ARGV
from runtime.protocol import frames, messages
from runtime.values import ejson
from runtime.worker.engines.javascript import compile as compile_js
from runtime.worker.engines.python.compiler import compile_function

SOURCES = {
    "functions/good.js": "exports = function(payload) { return {ok: true, q: payload.query, body: payload.body.text()} }",
    "functions/loop.js": "exports = function() { for (;;) {} }",
    "functions/bomb.js": "exports = function() { const keep = []; for (;;) keep.push('x'.repeat(4096) + keep.length) }",
    "functions/state.js": "exports = function() { const seen = typeof leftover; leftover = 1; return seen }",
    "functions/calls_python.js": """exports = function() {
      const got = context.functions.execute("py/double", 21, BSON.ObjectId("5d505646cf6d4fe581014ab2"));
      let failed;
      try { context.functions.execute("py/fails") } catch (e) { failed = e.name + ": " + e.message }
      return {got, failed};
    }""",
    "functions/js/add.js": """exports = async function(a, b) {
      await null;
      return {sum: a + b, oid: BSON.ObjectId("5d505646cf6d4fe581014ab2"), app: context.app.id, when: new Date(0)};
    }""",
    "functions/js/throws.js": "exports = function() { const o = null; return o.x }",
    "functions/js/chain.js": "exports = (n) => context.functions.execute('py/double', n, BSON.ObjectId('5d505646cf6d4fe581014ab2'))",
}


PYTHON = {  # the callees of calls_python.js, run by the Python engine in the same worker
    "functions/py/double.py": "def exports(n, oid):\n    return [n * 2, oid]\n",
    "functions/py/fails.py": "def exports():\n    raise ValueError('it failed')\n",
    "functions/py/calls_js.py": (
        "def exports(payload, response):\n"
        "    got = context.functions.execute('js/add', 40, BSON.Long(2))\n"
        "    try:\n"
        "        context.functions.execute('js/throws')\n"
        "        failed = None\n"
        "    except Exception as error:\n"
        "        failed = error.args[0]\n"
        "    return {'got': got, 'isOid': isinstance(got['oid'], BSON.ObjectId), 'failed': failed,\n"
        "            'chain': context.functions.execute('js/chain', 5)}\n"),
}


class Worker:
    def __init__(self, memory_mb: int = 256, cpu_seconds: float = 1.0) -> None:
        self.process = subprocess.Popen(WORKER_ARGV, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, cwd="/")
        artifacts = tuple(messages.FunctionArtifact(key, "javascript", key, compile_js(text, key)) for key, text in SOURCES.items())
        artifacts += tuple(messages.FunctionArtifact(key, "python", key, marshal.dumps(compile_function(text, key)))
                           for key, text in PYTHON.items())
        limits = messages.Limits(memory_mb=memory_mb, cpu_seconds=cpu_seconds)
        self.send(messages.write_boot(messages.Boot(artifacts, {"id": "local"}, {}, {"tag": "", "values": {}}, limits)))
        assert type(self.read()) is messages.Ready
        self.ids = iter(range(1, 1000))

    def send(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def read(self) -> object:
        assert self.process.stdout is not None
        head = self.process.stdout.read(frames.HEADER.size)
        if len(head) < frames.HEADER.size:
            return None
        meta_len, body_len = frames.HEADER.unpack(head)
        data = self.process.stdout.read(meta_len + body_len)
        return messages.read_from_worker(frames.decode_reply(data[:meta_len]), data[meta_len:])

    def call(self, function: str, services: Callable[[messages.ServiceRequest], messages.ServiceResult] | None = None,
             extension: str = ".js") -> messages.Reply:
        call_id = next(self.ids)
        self.send(messages.write_call(messages.Call(call_id, f"functions/{function}{extension}", "endpoint", "http", "POST", "http://h/x",
                                                    "a=1", ((b"Content-Type", b"text/plain"),), "127.0.0.1", True, "/x", "JSON", b"hello")))
        while True:
            message = self.read()
            assert message is not None, "the worker died"
            if type(message) is messages.ServiceRequest:
                assert services is not None and message.call_id == call_id
                self.send(messages.write_service_result(services(message)))
            elif type(message) is messages.Reply:
                assert message.call_id == call_id
                return message

    def close(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()
        return self.process.wait(timeout=10)


@pytest.fixture
def worker() -> Iterator[Worker]:
    w = Worker()
    yield w
    w.process.kill()
    w.process.wait()


def test_a_javascript_call_in_the_worker_process(worker: Worker) -> None:
    reply = worker.call("good")
    assert (reply.status, reply.error) == (200, None)
    assert json.loads(reply.body) == {"ok": True, "q": {"a": "1"}, "body": "hello"}


def test_execute_of_a_python_function_runs_it_in_the_worker_as_ejson(worker: Worker) -> None:
    """Spec §8.8: JavaScript to Python runs the callee in the same worker and call (no service
    request leaves the worker); values cross as canonical EJSON; its failure is catchable."""
    reply = worker.call("calls_python")  # services=None: a request to the server would fail the test
    assert reply.error is None, reply
    assert json.loads(reply.body) == {"got": [42, "5d505646cf6d4fe581014ab2"], "failed": "ValueError: it failed"}


def test_execute_of_a_javascript_function_from_python_runs_it_in_the_worker_as_ejson(worker: Worker) -> None:
    """Spec §8.8 / issue 10 §2: Python to JavaScript (an async callee, awaited), and back to
    Python from there; values cross as canonical EJSON; a JS throw is the caller's catchable
    error in App Services' message form."""
    reply = worker.call("py/calls_js", extension=".py")
    assert reply.error is None, reply
    assert json.loads(reply.body) == {
        "got": {"sum": 42, "oid": "5d505646cf6d4fe581014ab2", "app": "local", "when": "1970-01-01T00:00:00.000Z"},
        "isOid": True, "failed": "TypeError: Cannot access member 'x' of null",
        "chain": [10, "5d505646cf6d4fe581014ab2"]}


def test_an_infinite_loop_ends_at_the_engines_limit_and_the_worker_lives_on(worker: Worker) -> None:
    reply = worker.call("loop")
    assert reply.error == ("ExecutionTimeLimitExceeded", "execution time limit exceeded") and not reply.recycle
    assert worker.call("good").status == 200


def test_a_memory_bomb_is_the_memory_error_and_the_worker_is_recycled(worker: Worker) -> None:
    reply = worker.call("bomb")
    assert reply.error == ("FunctionExecutionError", "the function exceeded the memory limit of 256 MB") and reply.recycle
    assert worker.close() == 0


def test_nothing_carries_over_between_calls_in_one_worker(worker: Worker) -> None:
    assert [json.loads(worker.call("state").body) for _ in range(3)] == ["undefined"] * 3


def test_the_worker_prepares_the_next_context_while_idle() -> None:
    """Invoker.idle (called by the worker after each reply) has the engine build the next context."""
    from runtime.protocol.messages import Boot, FunctionArtifact, Limits
    from runtime.worker.engines.javascript import ENGINE
    from runtime.worker.invoke import Invoker

    key = "functions/idle.js"
    invoker = Invoker(Boot((FunctionArtifact(key, "javascript", key, compile_js("exports = () => 1", key)),), {}, {}, {}, Limits()))
    ENGINE._ready = None  # noqa: SLF001
    invoker.idle()
    assert ENGINE._ready is not None  # noqa: SLF001


def test_the_envelope_text_of_a_thrown_error_and_of_a_thrown_non_error() -> None:
    """§5: "<ErrorType>: <message>", and String(value) for a thrown non-Error."""
    from runtime.protocol.messages import Boot, Call, FunctionArtifact, Limits
    from runtime.worker.invoke import Invoker

    sources = {"functions/te.js": "exports = () => undefined.x()", "functions/str.js": "exports = () => { throw 'plain text' }"}
    invoker = Invoker(Boot(tuple(FunctionArtifact(k, "javascript", k, compile_js(v, k)) for k, v in sources.items()), {}, {}, {}, Limits()))

    def error(key: str) -> tuple[str, str] | None:
        call = Call(1, key, "endpoint", "http", "GET", "http://h/x", "", (), "127.0.0.1", True, "/x", "JSON")
        return invoker.call(call, None).error  # type: ignore[arg-type]

    assert error("functions/te.js") == ("FunctionExecutionError", "TypeError: Cannot access member 'x' of undefined")
    assert error("functions/str.js") == ("FunctionExecutionError", "plain text")
