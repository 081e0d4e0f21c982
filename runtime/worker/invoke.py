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
from runtime.contract.credentials import context_user
from runtime.contract.request import build_argument, build_context_request, header_map_of_lines
from runtime.contract.response import Response, noted_calls
from runtime.protocol.messages import Boot, Call, Reply
from runtime.worker.console import Console
from runtime.worker.engines import engine
from runtime.errors import GuestError, LimitExceeded, TimeLimitExceeded
from runtime.worker.engines.base import Host, Invocation, ServiceFailed, execute_name
from runtime.worker.engines.python import reset_between_calls
from runtime.worker.guest_traceback import guest_traceback
from runtime.worker.output import GuestOutput


class Invoker:
    """Holds an app's loaded functions (each with its engine) and runs calls against them."""

    def __init__(self, boot: Boot, output: GuestOutput | None = None, collect: bool = False) -> None:
        self.output = output  # the interpreter's own writes during a call (runtime.worker.output)
        self.collect = collect  # gc.collect() at the end of each call (the worker process does)
        engines = {name: engine(name) for name in dict.fromkeys(f.engine for f in boot.functions)}
        for chosen in engines.values():
            configure = getattr(chosen, "configure", None)  # an engine with limits of its own (JavaScript)
            if configure is not None:
                configure(boot.limits)
        self.functions: dict[str, tuple[Any, Any]] = {
            function.key: (engines[function.engine], engines[function.engine].load(function)) for function in boot.functions}
        # what idle() calls between calls, found once: engines that can get the next call ready
        self._prepare = [prepare for chosen in engines.values() if (prepare := getattr(chosen, "prepare", None)) is not None]
        self.names = {execute_name(function): function.key for function in boot.functions}  # context.functions.execute
        self.files = frozenset(function.filename for function in boot.functions)  # the frames a traceback keeps
        self.services = boot.services
        self.app = boot.app
        self.values = boot.values
        self.environment = boot.environment
        self.memory_mb = boot.limits.memory_mb
        self.max_response_bytes = boot.limits.max_response_bytes
        self.max_log_bytes = boot.limits.max_log_bytes
        self.note_calls = boot.note_calls

    def idle(self) -> None:
        """Between calls (after a reply is written): engines that can get the next call ready do
        (the JavaScript engine builds its next context, so the prelude is off the request path)."""
        for prepare in self._prepare:
            prepare()

    def execute(self, args: str, host: _CallHost) -> str:
        """``context.functions.execute`` from a running call: ``args`` is the canonical EJSON of
        ``{"name", "arguments"}``; the callee's return value comes back as canonical EJSON. A
        Python callee runs in this worker (a JavaScript caller's JavaScript callees run inside its
        own context, never here). Failures reach the caller as catchable errors."""
        from runtime.values import ejson

        request = ejson.parse(args)
        name = request.get("name") if type(request) is dict else None
        if type(name) is not str or type(request.get("arguments")) is not list:
            raise ServiceFailed("InvalidParameter", "context.functions.execute: a function name and an argument list")
        key = self.names.get(name)
        if key is None:
            raise ServiceFailed("FunctionNotFound", f"function not found: '{name}'")
        chosen, loaded = self.functions[key]
        execute = getattr(chosen, "execute", None)
        if execute is None:
            raise ServiceFailed("FunctionExecutionError", f"context.functions.execute: '{name}' is {chosen.name}, which "
                                                          "another engine's function cannot call; allowed: Python functions")
        nested = host.nested()
        invocation = Invocation(None, "http", {}, self.app, self.values, self.environment, Response(),
                                Console(self.max_log_bytes), nested, self.services, host.user)
        try:
            return execute(loaded, ejson.to_canonical(request["arguments"]), invocation)
        except ServiceFailed:
            raise
        except Exception as exc:  # noqa: BLE001 - the callee's failure is the caller's catchable error
            raise ServiceFailed(type(exc).__name__, _describe(exc).partition(": ")[2] or type(exc).__name__) from None

    def call(self, call: Call, host: Host) -> Reply:
        console = Console(self.max_log_bytes)
        if self.output is not None:
            self.output.begin(console)
        error: tuple[str, str] | None = None
        recycle = False
        trace = ""
        status, headers, body = 0, (), b""
        response = Response()
        try:
            status, headers, body = self._call(call, host, console, response)
        except LimitExceeded as exc:
            error = ("FunctionExecutionError", str(exc))
        except TimeLimitExceeded as exc:  # an engine's own time limit (the JavaScript engine's)
            error = (exc.error_code, exc.message)
        except GuestError as exc:  # what JavaScript threw: "TypeError: …", or String(value) for a non-Error (§5)
            error = ("FunctionExecutionError", exc.text)
            trace = guest_traceback(exc, self.files, exc.text)
        except MemoryError:
            limit = f" of {self.memory_mb} MB" if self.memory_mb else ""
            error, recycle = ("FunctionExecutionError", f"the function exceeded the memory limit{limit}"), True
        except RecursionError as exc:
            error = ("FunctionExecutionError", f"RecursionError: {exc}")
            trace = guest_traceback(exc, self.files, error[1])
        except Exception as exc:  # noqa: BLE001 - any guest failure is the function's error
            error = ("FunctionExecutionError", _describe(exc))
            trace = guest_traceback(exc, self.files, error[1])
        except BaseException as exc:  # noqa: BLE001 - SystemExit & co. must not end the worker
            error, recycle = ("FunctionExecutionError", _describe(exc)), True
            trace = guest_traceback(exc, self.files, error[1])
        if self.collect:
            # Finalise this call's garbage now, inside its own time limit and console: a cycle left
            # behind would otherwise run its finalisers (a generator's `finally:`) during a later call.
            gc.collect()
            reset_between_calls()  # and leave no cache a later call could time or read (red-team F6)
        if self.output is not None:
            self.output.end()
        return Reply(call.call_id, status, headers, tuple(console.lines()), error, recycle, body,
                     noted_calls(response) if self.note_calls else (), trace)

    def _call(self, call: Call, host: Host, console: Console,
              response: Response) -> tuple[int, tuple[tuple[str, str], ...], bytes]:
        chosen, loaded = self.functions[call.function]
        headers = header_map_of_lines(call.headers)  # once, for both builders
        request = call.request
        if request is None:
            request = build_context_request(method=call.method, url=call.url, raw_query=call.raw_query, headers=headers,
                                            remote=call.remote, kind=call.kind, route=call.route)  # type: ignore[arg-type]
        argument = build_argument(method=call.method, raw_query=call.raw_query, headers=headers, body=call.body,
                                  kind=call.kind, service_type=call.service_type)  # type: ignore[arg-type]
        user = call.user if call.user is not None else context_user(None)  # the caller's context runs the callees too
        if type(user.get("custom_data")) is str:  # fetch_custom_user_data: canonical EJSON from the server
            from runtime.values import ejson

            user = {**user, "custom_data": ejson.parse(user["custom_data"])}
        invocation = Invocation(argument, call.service_type, request, self.app, self.values, self.environment,
                                response, console, _CallHost(self, host, user), self.services, user)
        outcome = chosen.run(loaded, invocation)
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


class _CallHost:
    """A call's ``Host``: ``functions.execute`` runs the callee here, in this worker and call (its
    console and response are the caller's); every other service goes to the server."""

    __slots__ = ("_invoker", "_outer", "_depth", "user")

    def __init__(self, invoker: Invoker, outer: Host, user: Any, depth: int = 0) -> None:
        self._invoker = invoker
        self._outer = outer
        self.user = user
        self._depth = depth

    def service(self, service: str, operation: str, args: str) -> str:
        if service != "functions" or operation != "execute":
            return self._outer.service(service, operation, args)
        return self._invoker.execute(args, self)

    def nested(self) -> "_CallHost":
        if self._depth >= MAX_EXECUTE_DEPTH:
            raise ServiceFailed("FunctionExecutionError", f"context.functions.execute nested more than {MAX_EXECUTE_DEPTH} deep")
        return _CallHost(self._invoker, self._outer, self.user, self._depth + 1)


MAX_EXECUTE_DEPTH = 32
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
