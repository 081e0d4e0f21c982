"""One call of one function, synchronously: plain request values in, a plain reply out.

Owns: building the arguments (``payload``/``request``, ``response``, ``context``) from the
call's plain values, running the function in the sandbox, applying the response rules and
serialising the return value, and turning every failure into an error reply. This is the
child side of the worker protocol with no I/O; ``runtime.worker.main`` wraps it in a process.
Must not import asyncio or aiohttp.

A reply is ``(meta, body)``: meta holds ``status``, ``headers``, ``logs`` and, on failure,
``error`` = ``{"code", "message"}`` (the server builds the §5 envelope from it), and
``recycle`` when the worker should be replaced after this call.
"""

from __future__ import annotations

import marshal
from dataclasses import dataclass
from types import CodeType
from typing import Any, Callable

from runtime.contract import request, response_rules as rules
from runtime.values import ejson
from runtime.values.bsontypes import Binary
from runtime.contract.response import Response
from runtime.worker.engines.python import load_exports
from runtime.worker.engines.python.guest import MAX_CONSOLE_BYTES, AttrDict, Console, Context, Values, to_attrdicts


class LimitExceeded(Exception):
    """A limit of atlas-fn's own, reported without an exception type name."""


@dataclass(frozen=True)
class LoadedFunction:
    name: str
    filename: str
    code: CodeType


class Invoker:
    """Holds an app's compiled functions and runs calls against them."""

    def __init__(self, boot: dict[str, Any]) -> None:
        self.functions = {
            name: LoadedFunction(name, spec["filename"], marshal.loads(spec["code"]))  # noqa: S302 - from our server
            for name, spec in boot["functions"].items()
        }
        self.app_meta: dict[str, Any] = boot.get("app", {})
        self.values = Values(boot.get("values", {}))
        self.environment: dict[str, Any] = boot.get("environment", {"tag": "", "values": {}})
        limits = boot.get("limits", {})
        self.memory_mb: int = limits.get("memory_mb", 0)
        self.max_response_bytes: int = limits.get("max_response_bytes", 0)
        self.max_log_bytes: int = limits.get("max_log_bytes", MAX_CONSOLE_BYTES)

    def call(self, meta: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes]:
        console = Console(self.max_log_bytes)
        try:
            return self._call(meta, body, console)
        except LimitExceeded as exc:
            return _error("FunctionExecutionError", str(exc), console), b""
        except MemoryError:
            limit = f" of {self.memory_mb} MB" if self.memory_mb else ""
            return _error("FunctionExecutionError", f"the function exceeded the memory limit{limit}", console, recycle=True), b""
        except RecursionError as exc:
            return _error("FunctionExecutionError", f"RecursionError: {exc}", console), b""
        except Exception as exc:  # noqa: BLE001 - any guest failure is the function's error
            return _error("FunctionExecutionError", _describe(exc), console), b""
        except BaseException as exc:  # noqa: BLE001 - SystemExit & co. must not end the worker
            return _error("FunctionExecutionError", _describe(exc), console, recycle=True), b""

    def _call(self, meta: dict[str, Any], body: bytes, console: Console) -> tuple[dict[str, Any], bytes]:
        function = self.functions[meta["function"]]
        payload, context_request = request.build_payload(
            method=meta["method"], url=meta["url"], raw_query=meta["raw_query"], headers=_header_pairs(meta["headers"]),
            body=body, remote=meta["remote"], kind=meta["kind"], service_type=meta["service_type"],
            route_or_url=meta.get("route") or "",
        )
        argument = self._argument(meta["service_type"], payload)
        response = Response()
        context = Context(request=context_request, values=self.values, app=self.app_meta, environment=self.environment)
        exports, printer = load_exports(function.code, {"context": context}, console)
        try:
            result = exports(argument, response)
        finally:
            printer.flush()
        touched, status, set_body, headers = response.state()
        serialise = _serialiser(meta.get("format", "EJSON"), result)
        final_status, final_body = rules.decide(
            kind=meta["kind"], touched=touched, status=status, body=set_body,
            respond_result=meta["respond_result"], result=serialise, head=meta["method"] == "HEAD",
        )
        if final_body and self.max_response_bytes and len(final_body) > self.max_response_bytes:
            raise LimitExceeded(f"the response body of {len(final_body)} bytes exceeds the limit of {self.max_response_bytes} bytes")
        has_type = any(n.lower() == "content-type" for n, _ in headers)
        ctype = rules.content_type(set_body is not None, final_body, has_type)
        if ctype:
            headers.append(("Content-Type", ctype))
        return {"status": final_status, "headers": headers, "logs": console.lines()}, final_body or b""

    @staticmethod
    def _argument(service_type: str, payload: Any) -> Any:
        """The first argument: parsed event (github), form (twilio), or {query, headers, body}."""
        if service_type == "github":
            return ejson.parse(payload, mapping=AttrDict) if payload else AttrDict()
        argument = to_attrdicts(payload)
        if service_type != "twilio" and argument["body"] is not None:
            argument["body"] = Binary(argument["body"])
        return argument


def _header_pairs(raw: Any) -> list[tuple[str, str]]:
    """The request's header lines as sent (aiohttp's raw_headers: bytes pairs) → str pairs."""
    return [(n.decode("utf-8", "replace"), v.decode("utf-8", "replace")) for n, v in raw]


def _serialiser(fmt: str, result: Any) -> Callable[[], bytes | None]:
    def serialise() -> bytes | None:
        if result is None:
            return None
        text = ejson.to_json(result) if fmt == "JSON" else ejson.to_canonical(result)
        return text.encode("utf-8")
    return serialise


MAX_ERROR_CHARS = 1000


def _describe(exc: BaseException) -> str:
    """``"<ErrorType>: <message>"`` (contract §5), capped; never raises, whatever the guest raised."""
    try:
        text = str(exc)
    except BaseException:  # noqa: BLE001 - str() of a guest value may fail in any way
        text = "(its message could not be turned into text)"
    if len(text) > MAX_ERROR_CHARS:
        text = text[:MAX_ERROR_CHARS] + f"… ({len(text) - MAX_ERROR_CHARS} more characters)"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _error(code: str, message: str, console: Console, recycle: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"error": {"code": code, "message": message}, "logs": console.lines()}
    if recycle:
        meta["recycle"] = True
    return meta
