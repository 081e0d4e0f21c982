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
        engine: JavaScriptEngine | None = None, **limits: Any) -> Ran:
    engine = engine or engine_with({filename: source, **(others or {})}, node_modules, **limits)
    loaded = engine._scripts[filename]  # noqa: SLF001 - the test drives the engine directly
    host = host or StandInHost()
    console = Console()
    response = Response()
    if argument is None:
        argument = {"query": {"a": "1"}, "headers": {"Content-Type": ["application/json"]}, "body": b'{"k":1}'}
    invocation = Invocation(argument=argument, service_type=service_type, request=REQUEST, app=APP, values=VALUES,
                            environment=ENVIRONMENT, response=response, console=console, host=host)
    try:
        outcome = engine.run(loaded, invocation)
    except BaseException as exc:
        exc.lines = console.lines()  # type: ignore[attr-defined]
        raise
    return Ran(outcome, response, console.lines(), host)
