"""Run a guest source in-process through the real compiler, policy and guest API.

For the sandbox's policy tests only: isolation is tested against real worker processes.
"""

from __future__ import annotations

from typing import Any

from runtime.contract.response import Response
from runtime.worker.engines.python import load_exports
from runtime.worker.engines.python.compiler import compile_function
from runtime.worker.console import Console
from runtime.worker.engines.python.guest import Context, Values, to_attrdicts


def run(source: str, payload: Any = None, values: dict[str, Any] | None = None) -> tuple[Any, Response, list[str]]:
    code = compile_function(source, "guest.py")
    console = Console()
    context = Context(request={"httpMethod": "GET"}, values=Values(values or {}), app={"id": "local"},
                      environment={"tag": "", "values": {}})
    exports, printer = load_exports(code, {"context": context}, console)
    response = Response()
    result = exports(to_attrdicts(payload if payload is not None else {"query": {}, "headers": {}, "body": None}), response)
    printer.flush()
    return result, response, console.lines()
