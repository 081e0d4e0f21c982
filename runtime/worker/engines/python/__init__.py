"""The Python sandbox: RestrictedPython compile, guard policy and the guest API.

Owns the inner wall (see README.md in this folder). It limits no resource: time, memory and
state between requests are the worker process's job (runtime.worker.main, runtime.host.pool).
Must not import asyncio or aiohttp.
"""

from __future__ import annotations

from types import CodeType
from typing import Any

from runtime.worker.console import Console
from runtime.worker.engines.python.guest import build_shared
from runtime.worker.engines.python.policy import fresh_globals
from runtime.worker.engines.python.residue import reset_between_calls

__all__ = ["load_exports", "reset_between_calls"]

_SHARED = build_shared()


class _PrintToConsole:
    """RestrictedPython's ``_print_`` protocol, writing whole lines to the call's console."""

    __slots__ = ("_console", "_pending")

    def __init__(self, console: Console) -> None:
        self._console = console
        self._pending = ""

    def __call__(self, _getattr_: Any = None) -> "_PrintToConsole":  # one per function scope
        return self

    def write(self, text: str) -> None:
        self._pending += text
        while "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            self._console.log(line)

    def _call_print(self, *objects: Any, **kwargs: Any) -> None:
        kwargs.pop("file", None)
        print(*objects, **kwargs, file=self)

    def flush(self) -> None:
        if self._pending:
            self._console.log(self._pending)
            self._pending = ""


def load_exports(code: CodeType, guest: dict[str, Any], console: Console) -> tuple[Any, _PrintToConsole]:
    """Run a compiled file's top level in fresh globals and return its ``exports``."""
    printer = _PrintToConsole(console)
    g = fresh_globals(printer, {**_SHARED, "console": console, **guest})
    exec(code, g)  # noqa: S102 - RestrictedPython-compiled code in fresh, guarded globals
    exports = g.get("exports")
    if not callable(exports):
        raise TypeError(f"exports must be a function, not '{type(exports).__name__}'")
    return exports, printer
