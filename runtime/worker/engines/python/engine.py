"""The Python engine: RestrictedPython-compiled files run with the Python facades of the guest API.

Owns: binding one ``Invocation`` onto Python guest objects (``AttrDict`` payloads, a
``BSON.Binary`` body, ``Context``), running the file's top level and its ``exports``, and
serialising the return value with ``runtime.values.ejson``. The rules it binds live
elsewhere (``runtime.contract``, ``runtime.worker.console``). Must not import asyncio or aiohttp.
"""

from __future__ import annotations

import marshal
from types import CodeType
from typing import Any, Callable

from runtime.protocol.messages import FunctionArtifact
from runtime.values import ejson
from runtime.values.bsontypes import Binary
from runtime.worker.engines.base import Invocation, Outcome
from runtime.worker.engines.python import load_exports
from runtime.worker.engines.python.guest import AttrDict, Context, Values, to_attrdicts
from runtime.worker.engines.python.services import build_services


class PythonEngine:
    name = "python"

    def load(self, function: FunctionArtifact) -> CodeType:
        return marshal.loads(function.artifact)  # noqa: S302 - compiled by our own server

    def run(self, loaded: CodeType, invocation: Invocation) -> Outcome:
        argument = _argument(invocation.service_type, invocation.argument)
        exports, printer = load_exports(loaded, {"context": _context(invocation)}, invocation.console)
        try:
            result = exports(argument, invocation.response)
        finally:
            printer.flush()
        return Outcome(_serialiser(result))

    def execute(self, loaded: CodeType, arguments: str, invocation: Invocation) -> str:
        """``context.functions.execute`` of this function: ``arguments`` is the canonical EJSON
        of the argument list; the return value comes back as canonical EJSON."""
        args = ejson.parse(arguments, mapping=AttrDict)
        exports, printer = load_exports(loaded, {"context": _context(invocation)}, invocation.console)
        try:
            result = exports(*args)
        finally:
            printer.flush()
        return ejson.to_canonical(result)


def _context(invocation: Invocation) -> Context:
    return Context(request=invocation.request, values=Values(invocation.values), app=invocation.app,
                   environment=invocation.environment, user=invocation.user, host=invocation.host,
                   reach=lambda: build_services(invocation.host, invocation.services))


def _argument(service_type: str, payload: Any) -> Any:
    """The first argument: parsed event (github), form (twilio), or {query, headers, body}."""
    if service_type == "github":
        return ejson.parse(payload, mapping=AttrDict) if payload else AttrDict()
    argument = to_attrdicts(payload)
    if service_type != "twilio" and argument["body"] is not None:
        argument["body"] = Binary(argument["body"])
    return argument


def _serialiser(result: Any) -> Callable[[str], bytes | None]:
    def serialise(fmt: str) -> bytes | None:
        if result is None:
            return None
        text = ejson.to_json(result) if fmt == "JSON" else ejson.to_canonical(result)
        return text.encode("utf-8")
    return serialise


ENGINE = PythonEngine()
