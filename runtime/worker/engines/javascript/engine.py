"""The JavaScript engine: QuickJS-ng, a fresh context per call, behind the engine seam.

Owns: loading artifacts (once per worker), and one call's course: a new context with memory,
stack and time limits, the prelude (``js/*.js``, read once per worker), the run of the job
queue and of due timers until the returned value settles, then of the job queue until no work
is left or time runs out (timers still pending then are dropped),
and mapping what happened to the seam's outcomes: a value (``Outcome``), a thrown error
(``runtime.errors.GuestError``, with the stack in the user's files), the time limit
(``runtime.errors.TimeLimitExceeded``) or the memory limit (``MemoryError``).
Must not: reuse a context between calls, let a Python exception cross into the engine
(``bridge``), or decide a response rule (``runtime.contract``).
"""

from __future__ import annotations

import json
import marshal
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import quickjs

from runtime.contract import service_api
from runtime.protocol.messages import FunctionArtifact, Limits
from runtime.values import ejson
from runtime.errors import GuestError, TimeLimitExceeded
from runtime.worker.engines.base import Invocation, Outcome, execute_name
from runtime.worker.engines.javascript.bridge import Bridge
from runtime.worker.engines.javascript.messages import app_services_message

JS_DIR = Path(__file__).with_name("js")
BLOCK = 20000  # lines per block of a call's line space (runner.js); the prelude is block 1
_PARTS = ("prelude.js", "values.js", "api.js", "services.js", "timers.js", "runner.js")
PRELUDE = ("\n" * (BLOCK - 1) + "(function (global) {\n'use strict';\n"
           + f"const GUEST_API = {service_api.GUEST_API};\n"  # the services' guest face, one definition (runtime.contract)
           + "\n".join((JS_DIR / name).read_text(encoding="utf-8") for name in _PARTS) + "\n})(globalThis)")
DEFAULT_TIME_LIMIT = 300.0       # contract §8.5
TIME_SHARE = 0.9                 # of the worker's time limit (configure)
DEFAULT_MEMORY_LIMIT = 128 * 1024 * 1024
DEFAULT_STACK_LIMIT = 1024 * 1024
_FRAME = re.compile(r"<input>:(\d+):(\d+)")
MAX_ERROR_CHARS = 1000


@dataclass(frozen=True)
class LoadedScript:
    key: str
    filename: str
    source: str
    lines: int
    files: Mapping[str, str] = field(default_factory=dict)


JavaScriptError = GuestError  # what guest JavaScript threw (runtime.errors), by its engine's name


_ERROR_CLASSES: dict[str, type[GuestError]] = {}
_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]{0,60}\Z")


def js_error(name: str, message: str, stack: str = "") -> GuestError:
    if len(message) > MAX_ERROR_CHARS:
        message = message[:MAX_ERROR_CHARS] + f"… ({len(message) - MAX_ERROR_CHARS} more characters)"
    key = name if _IDENTIFIER.match(name) else "Error" if not name else "JavaScriptError"
    # a subclass per JS error name (not at module level: the one error tree is runtime.errors)
    cls = _ERROR_CLASSES.get(key)
    if cls is None:
        if len(_ERROR_CLASSES) > 200:  # a guest naming errors freely must not grow this forever
            key, cls = "JavaScriptError", GuestError
        else:
            cls = _ERROR_CLASSES[key] = type(key, (GuestError,), {"__module__": __name__})
    return cls(name, message, stack)


def map_stack(stack: str, line_map: list[list[Any]]) -> str:
    """A QuickJS stack (every frame ``<input>:line:col``) in the files' own names and lines;
    frames of the prelude (block 1) and native frames are dropped."""
    out = []
    for line in stack.splitlines():
        if line.strip().endswith("(native)"):  # no file or line to show; among them the runner's Reflect.apply
            continue
        match = _FRAME.search(line)
        if match is None:
            out.append(line)
            continue
        number = int(match.group(1))
        if BLOCK < number <= 2 * BLOCK:
            continue
        for first, last, label, offset in line_map:
            if first <= number <= last:
                line = line[:match.start()] + f"{label}:{number - offset}:{match.group(2)}" + line[match.end():]
                break
        out.append(line)
    return "\n".join(out)


class JavaScriptEngine:
    name = "javascript"

    def __init__(self, time_limit: float = DEFAULT_TIME_LIMIT, memory_limit: int = DEFAULT_MEMORY_LIMIT,
                 stack_limit: int = DEFAULT_STACK_LIMIT) -> None:
        self.time_limit = time_limit
        self.memory_limit = memory_limit
        self.stack_limit = stack_limit
        self._ready: tuple[Any, Bridge, Any] | None = None
        self._scripts: dict[str, LoadedScript] = {}
        self._by_name: dict[str, LoadedScript] = {}

    def configure(self, limits: Limits) -> None:
        """The worker's limits: 90 % of its time limit as CPU seconds per call (so a runaway loop
        ends here, cleanly, before the pool's wall-time watchdog kills the worker), and a heap
        of at most half the process's memory."""
        if limits.cpu_seconds > 0:
            self.time_limit = limits.cpu_seconds * TIME_SHARE
        if limits.memory_mb > 0:
            self.memory_limit = min(self.memory_limit, limits.memory_mb * 1024 * 1024 // 2)

    def load(self, function: FunctionArtifact) -> LoadedScript:
        data = marshal.loads(function.artifact)  # noqa: S302 - made by our compiler in our server
        script = LoadedScript(function.key, data["filename"], data["source"], data["lines"], data["files"])
        self._scripts[function.key] = script
        self._by_name[execute_name(function)] = script
        return script

    def prepare(self) -> None:
        """Build the next call's context now: for the worker to call while it is idle (after
        writing a reply), so the prelude's cost is off the next request's path. The context
        has run no guest code; ``run`` uses it once, or builds its own when none is ready."""
        if self._ready is None:
            self._ready = self._fresh()

    def _fresh(self) -> tuple[Any, Bridge, Any]:
        context = quickjs.Context()
        context.set_memory_limit(self.memory_limit)
        context.set_max_stack_size(self.stack_limit)
        bridge = Bridge(self._by_name.get, self._scripts.get)
        context.add_callable("__atlasfn_host", bridge)
        return context, bridge, context.eval(PRELUDE)

    def run(self, loaded: LoadedScript, invocation: Invocation) -> Outcome:
        ready, self._ready = self._ready, None
        return self._outcome(self._drive(ready, invocation, "start", _call_text(loaded, invocation)))

    def _source_of(self, filename: str) -> str | None:
        for script in self._scripts.values():
            if script.filename == filename:
                return script.source
        return None

    def execute(self, loaded: LoadedScript, arguments: str, invocation: Invocation) -> str:
        """``context.functions.execute`` of this function from another engine's function (Python):
        ``arguments`` is the canonical EJSON of the argument list; the settled return value comes
        back as canonical EJSON ("null" for undefined). A context of its own, with the same
        limits, on the caller's console and host; a thrown error raises as from ``run``."""
        text = ejson.to_canonical({**_call_plain(loaded, invocation), "arguments": ejson.parse(arguments)})
        answer = self._drive(None, invocation, "execute", text)
        if answer[:1] != "0":
            self._outcome(answer)  # raises what was thrown
        return answer[1:] or "null"

    def _drive(self, ready: tuple[Any, Bridge, Any] | None, invocation: Invocation, command: str, text: str) -> str:
        """One course of a context: ``runner(command, text)``, then the job queue and the due
        timers until the value settles (and the queue until no work is left); the settled text."""
        context, bridge, runner = ready if ready is not None else self._fresh()
        bridge.invocation = invocation
        wall_deadline = time.monotonic() + self.time_limit
        try:
            arm_time_limit(context, self.time_limit)
            runner(command, text)
            while True:
                while context.execute_pending_job():
                    pass
                if bridge.outcome is not None:
                    dropped = runner("pendingTimers")
                    if dropped:
                        invocation.console._emit("warn", f"atlas-fn: {dropped} pending timer(s) dropped: the function's value was already determined")
                    break
                wait = runner("timers")  # runs the due timers; ms until the next, or -1
                if context.execute_pending_job():
                    continue  # the timers just run queued work: drain it before waiting or deciding
                if wait < 0:
                    break
                if wait > 0:
                    if time.monotonic() + wait / 1000 > wall_deadline:
                        raise TimeLimitExceeded()
                    time.sleep(wait / 1000)
        except quickjs.JSException as exc:
            failure = _engine_failure(exc)
            if bridge.outcome is None:
                raise failure from None
            # The value was determined; un-awaited work ran into a limit. The value stands.
            invocation.console._emit("warn", f"atlas-fn: un-awaited work was stopped: {failure}")
        finally:
            runner = None
            bridge.invocation = None
            del context
        if bridge.outcome is None:
            raise js_error("Error", "the function's returned Promise never settled, and no pending work was left that could settle it")
        return bridge.outcome

    def _outcome(self, text: str) -> Outcome:
        if text[:1] == "0":
            return value_outcome(text[1:])
        error = json.loads(text[1:])
        name, message = error["name"], error["message"]
        # QuickJS-ng throws null when memory is too exhausted to build the error object; a literal
        # `throw null` cannot be told apart and is reported the same way (the context is dropped anyway).
        if (name == "InternalError" and message == "out of memory") or error.get("thrownNull"):
            raise MemoryError("the function exceeded the JavaScript heap limit")
        stack = map_stack(error["stack"], error["lines"])
        raise js_error(name, app_services_message(name, message, stack, self._source_of), stack)


def value_outcome(text: str) -> Outcome:
    """The outcome of a returned value, ``text`` its canonical EJSON from the prelude ("" for
    undefined). Serialised by ``runtime.values.ejson``, the serialiser the Python engine uses."""
    if text == "":
        return Outcome(lambda fmt: None)
    try:
        value = ejson.parse(text)
    except (ValueError, TypeError, RecursionError) as exc:  # a plain {"$binary": …} object the guest made
        raise js_error("TypeError", f"the returned value is not valid Extended JSON: {exc}") from None

    def serialise(fmt: str) -> bytes | None:
        return (ejson.to_json(value) if fmt == "JSON" else ejson.to_canonical(value)).encode("utf-8")
    return Outcome(serialise)


def _call_text(loaded: LoadedScript, invocation: Invocation) -> str:
    argument = invocation.argument
    if invocation.service_type == "github":
        argument = ejson.parse(argument) if argument else {}
    return ejson.to_canonical({**_call_plain(loaded, invocation), "argument": argument, "serviceType": invocation.service_type})


def _call_plain(loaded: LoadedScript, invocation: Invocation) -> dict[str, Any]:
    """What every course of a context gets: ``context.request`` (§3.3: an absent field, None in
    Python, is `undefined` in JavaScript, not null), ``app``, ``environment``, ``user`` (``context.user``) and the file."""
    return {"request": {k: v for k, v in invocation.request.items() if v is not None}, "app": dict(invocation.app),
            "environment": dict(invocation.environment), "user": dict(invocation.user), "main": _main(loaded)}


def _main(loaded: LoadedScript) -> dict[str, Any]:
    return {"key": loaded.key, "filename": loaded.filename, "source": loaded.source, "lines": loaded.lines}


class _Disarm:
    """Added as a callable, then deleted by JavaScript: its finaliser runs inside that eval."""

    __slots__ = ("context", "done")

    def __init__(self, context: Any, done: list[bool]) -> None:
        self.context = context
        self.done = done

    def __call__(self, *args: Any) -> None:
        return None

    def __del__(self) -> None:
        context, self.context = self.context, None
        if context is not None:
            context.set_time_limit(-1)
            self.done.append(True)


def arm_time_limit(context: Any, seconds: float) -> None:
    """A CPU-time limit for the rest of this context's life, with host callbacks still allowed.

    The binding (quickjs-ng 0.17) refuses every Python callback while a time limit is set, and
    installs its interrupt handler when a call into JavaScript starts with a limit set, removing
    it only if a limit is still set when that call ends. So: set the limit, start an eval that
    drops the last reference to a throw-away callable, whose finaliser clears the limit flag
    inside that eval. The handler stays installed, counting from the eval's start, for every
    later call; callbacks work. ``tests/javascript/test_limits.py`` fails if a binding changes
    this."""
    done: list[bool] = []
    context.set_time_limit(seconds)
    context.add_callable("__atlasfn_arm", _Disarm(context, done))  # the context holds the only reference
    context.eval("delete globalThis.__atlasfn_arm; undefined")
    if not done:
        context.set_time_limit(-1)
        raise RuntimeError("atlas-fn: could not arm the JavaScript time limit (has the quickjs-ng binding changed?)")


def _engine_failure(exc: quickjs.JSException) -> BaseException:
    """An error QuickJS could not hand to the runner: the interrupt (time), out of memory, or
    a throw in the prelude itself."""
    first = str(exc).partition("\n")[0]
    if "interrupted" in first:
        return TimeLimitExceeded()
    if "out of memory" in first or isinstance(exc, MemoryError):
        return MemoryError("the function exceeded the JavaScript heap limit")
    name, _, message = first.partition(": ")
    return js_error(name, message)


ENGINE = JavaScriptEngine()
