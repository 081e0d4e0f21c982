"""Run a JavaScript function file through the real compiler, engine and guest API, in-process.

An ``Invocation`` built by hand, as the worker will build it; a stand-in ``Host`` that records
service requests and answers them from a table. For engine-level tests; what concerns memory
and time runs in a child process (``tests/javascript/child.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from runtime.contract.response import Response
from runtime.protocol.messages import FunctionArtifact
from runtime.worker.console import Console
from runtime.worker.engines.base import Invocation, ServiceFailed
from runtime.worker.engines.javascript import compile as compile_js
from runtime.worker.engines.javascript.engine import JavaScriptEngine

REQUEST = {"httpMethod": "POST", "remoteIPAddress": "127.0.0.1", "rawQueryString": "a=1",
           "requestHeaders": {"X-A": ["b"]}, "webhookUrl": "/hook"}
APP = {"id": "local", "name": "app"}
ENVIRONMENT = {"tag": "", "values": {"region": "eu"}}
VALUES = {"greeting": "Hello", "list": [1, 2, 3], "nested": {"a": {"b": 1}}}


@dataclass
class StandInHost:
    answers: dict[str, Callable[[str], str]] = field(default_factory=dict)
    requests: list[tuple[str, str, str]] = field(default_factory=list)

    def service(self, service: str, operation: str, args: str) -> str:
        self.requests.append((service, operation, args))
        handler = self.answers.get(f"{service}/{operation}")
        if handler is None:
            raise ServiceFailed("FunctionError", f"function not found: {args[:40]}")
        return handler(args)


@dataclass
class Ran:
    outcome: Any
    response: Response
    lines: list[str]
    host: StandInHost

    def value(self, fmt: str = "EJSON") -> bytes | None:
        return self.outcome.serialise(fmt)

    def json(self) -> Any:
        import json
        raw = self.outcome.serialise("JSON")
        return None if raw is None else json.loads(raw)


def engine_with(files: dict[str, str], node_modules: Path | None = None, **limits: Any) -> JavaScriptEngine:
    engine = JavaScriptEngine(**limits)
    for key, text in files.items():
        engine.load(FunctionArtifact(key, "javascript", key, compile_js(text, key, node_modules=node_modules)))
    return engine


def run(source: str, argument: Any = None, *, service_type: str = "http", others: dict[str, str] | None = None,
        host: StandInHost | None = None, node_modules: Path | None = None, filename: str = "functions/main.js",
        engine: JavaScriptEngine | None = None, request: dict[str, Any] | None = None,
        services: dict[str, str] | None = None, **limits: Any) -> Ran:
    engine = engine or engine_with({filename: source, **(others or {})}, node_modules, **limits)
    loaded = engine._scripts[filename]  # noqa: SLF001 - the test drives the engine directly
    host = host or StandInHost()
    console = Console()
    response = Response()
    if argument is None:
        argument = {"query": {"a": "1"}, "headers": {"Content-Type": ["application/json"]}, "body": b'{"k":1}'}
    invocation = Invocation(argument=argument, service_type=service_type, request=request or REQUEST, app=APP, values=VALUES,
                            environment=ENVIRONMENT, response=response, console=console, host=host,
                            services=services or {})
    try:
        outcome = engine.run(loaded, invocation)
    except BaseException as exc:
        exc.lines = console.lines()  # type: ignore[attr-defined]
        raise
    return Ran(outcome, response, console.lines(), host)


def run_python(source: str, argument: Any = None, *, service_type: str = "http", host: StandInHost | None = None,
               services: dict[str, str] | None = None) -> Ran:
    """The same call through the Python engine, for comparisons."""
    import marshal

    from runtime.worker.engines.python.compiler import compile_function
    from runtime.worker.engines.python.engine import ENGINE as PYTHON

    loaded = PYTHON.load(FunctionArtifact("functions/main.py", "python", "functions/main.py",
                                          marshal.dumps(compile_function(source, "functions/main.py"))))
    host = host or StandInHost()
    console = Console()
    response = Response()
    if argument is None:
        argument = {"query": {"a": "1"}, "headers": {"Content-Type": ["application/json"]}, "body": b'{"k":1}'}
    invocation = Invocation(argument=argument, service_type=service_type, request=REQUEST, app=APP, values=VALUES,
                            environment=ENVIRONMENT, response=response, console=console, host=host,
                            services=services or {})
    return Ran(PYTHON.run(loaded, invocation), response, console.lines(), host)


def decide(ran: Ran, *, kind: str, respond_result: bool, fmt: str = "EJSON", method: str = "POST") -> tuple[int, bytes | None, list[tuple[str, str]]]:
    """What the worker would send: the response rules applied to a run (as runtime.worker.invoke does)."""
    from runtime.contract import response_rules as rules

    touched, status, body, headers = ran.response.state()
    final_status, final_body = rules.decide(kind=kind, touched=touched, status=status, body=body,  # type: ignore[arg-type]
                                            respond_result=respond_result, result=lambda: ran.outcome.serialise(fmt),
                                            head=method == "HEAD")
    return final_status, final_body, headers
