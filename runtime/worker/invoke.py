"""One call of one function, synchronously: a ``Call`` in, a ``Reply`` out.

Owns: building the engine-neutral ``Invocation`` (the first argument and ``context.request``
from the call's plain values, a fresh ``response`` and console), handing it to the engine
the function's artifact names, applying the response rules (contract §4.2) and the reply
size limit, and turning every failure into an error reply. The child side of the worker
protocol with no I/O (``runtime.worker.main`` wraps it in a process; tests call it in
process). Must not import asyncio or aiohttp.

An error reply carries ``error`` = (code, message): the server builds the §5 envelope from
it; ``recycle`` asks for this worker to be replaced after the call. The console lines are
taken last, after the call's garbage is collected, so what finalisers print is counted too.
"""

from __future__ import annotations

import gc
from typing import Any

from runtime.contract import response_rules as rules
from runtime.contract.request import build_argument, build_context_request, decode_header_pairs
from runtime.contract.response import Response
from runtime.protocol.messages import Boot, Call, Reply
from runtime.worker.console import Console
from runtime.worker.engines import engine
from runtime.worker.engines.base import Host, Invocation
from runtime.worker.output import GuestOutput


class LimitExceeded(Exception):
    """A limit of atlas-fn's own, reported without an exception type name."""


class Invoker:
    """Holds an app's loaded functions (each with its engine) and runs calls against them."""

    def __init__(self, boot: Boot, output: GuestOutput | None = None, collect: bool = False) -> None:
        self.output = output  # the interpreter's own writes during a call (runtime.worker.output)
        self.collect = collect  # gc.collect() at the end of each call (the worker process does)
        self.functions: dict[str, tuple[Any, Any]] = {}
        for function in boot.functions:
            chosen = engine(function.engine)
            self.functions[function.key] = (chosen, chosen.load(function))
        self.app = boot.app
        self.values = boot.values
        self.environment = boot.environment
        self.memory_mb = boot.limits.memory_mb
        self.max_response_bytes = boot.limits.max_response_bytes
        self.max_log_bytes = boot.limits.max_log_bytes

    def call(self, call: Call, host: Host) -> Reply:
        console = Console(self.max_log_bytes)
        if self.output is not None:
            self.output.begin(console)
        error: tuple[str, str] | None = None
        recycle = False
        status, headers, body = 0, (), b""
        try:
            status, headers, body = self._call(call, host, console)
        except LimitExceeded as exc:
            error = ("FunctionExecutionError", str(exc))
        except MemoryError:
            limit = f" of {self.memory_mb} MB" if self.memory_mb else ""
            error, recycle = ("FunctionExecutionError", f"the function exceeded the memory limit{limit}"), True
        except RecursionError as exc:
            error = ("FunctionExecutionError", f"RecursionError: {exc}")
        except Exception as exc:  # noqa: BLE001 - any guest failure is the function's error
            error = ("FunctionExecutionError", _describe(exc))
        except BaseException as exc:  # noqa: BLE001 - SystemExit & co. must not end the worker
            error, recycle = ("FunctionExecutionError", _describe(exc)), True
        if self.collect:
            # Finalise this call's garbage now, inside its own time limit and console: a cycle left
            # behind would otherwise run its finalisers (a generator's `finally:`) during a later call.
            gc.collect()
        if self.output is not None:
            self.output.end()
        return Reply(call.call_id, status, headers, tuple(console.lines()), error, recycle, body)

    def _call(self, call: Call, host: Host, console: Console) -> tuple[int, tuple[tuple[str, str], ...], bytes]:
        chosen, loaded = self.functions[call.function]
        headers = decode_header_pairs(call.headers)
        request = call.request
        if request is None:
            request = build_context_request(method=call.method, url=call.url, raw_query=call.raw_query, headers=headers,
                                            remote=call.remote, kind=call.kind, route=call.route)  # type: ignore[arg-type]
        argument = build_argument(method=call.method, raw_query=call.raw_query, headers=headers, body=call.body,
                                  kind=call.kind, service_type=call.service_type)  # type: ignore[arg-type]
        response = Response()
        outcome = chosen.run(loaded, Invocation(argument, call.service_type, request, self.app, self.values,
                                                self.environment, response, console, host))
        touched, status, set_body, out_headers = response.state()
        final_status, final_body = rules.decide(
            kind=call.kind, touched=touched, status=status, body=set_body,  # type: ignore[arg-type]
            respond_result=call.respond_result, result=lambda: outcome.serialise(call.format), head=call.method == "HEAD",
        )
        if final_body and self.max_response_bytes and len(final_body) > self.max_response_bytes:
            raise LimitExceeded(f"the response body of {len(final_body)} bytes exceeds the limit of {self.max_response_bytes} bytes")
        has_type = any(n.lower() == "content-type" for n, _ in out_headers)
        ctype = rules.content_type(set_body is not None, final_body, has_type)
        if ctype:
            out_headers.append(("Content-Type", ctype))
        return final_status, tuple(out_headers), final_body or b""


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
