"""What the interpreter writes on a guest's behalf, kept inside the call's console budget.

Owns: the worker's ``sys.stdout`` / ``sys.stderr`` replacement, ``sys.unraisablehook`` (CPython's
"Exception ignored in …" reports: a generator whose ``finally`` raises, a ``__del__`` that
fails) and ``warnings.showwarning``: each becomes ``WARN`` lines of the running call's
console (escaped by the access log, capped by ``max_log_bytes``), never bytes on the worker's
fd 2, which the server reads as the worker's own diagnostics (red-team finding F1, F8).
Output with no call running is dropped. Must not import asyncio or aiohttp.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

from runtime.worker.console import Console

MAX_LINE_CHARS = 2000  # one line of interpreter output; the console budget caps the call's total


class GuestOutput:
    """A text stream whose lines go to the console of the call that is running."""

    __slots__ = ("console", "_pending")

    def __init__(self) -> None:
        self.console: Console | None = None
        self._pending = ""

    def write(self, text: Any) -> int:
        if type(text) is not str:
            text = str(text)
        if self.console is None:
            return len(text)
        pending = self._pending + text
        if len(pending) > MAX_LINE_CHARS * 4:  # a line without an end: cut it, the budget counts the rest
            pending = pending[-MAX_LINE_CHARS:]
        *lines, self._pending = pending.split("\n")
        for line in lines:
            self.console._emit("warn", line[:MAX_LINE_CHARS])
        return len(text)

    def line(self, text: str) -> None:
        """One report as one console line, whatever line breaks its text holds (the access log
        escapes them): a guest's message cannot split a report into lines of its own."""
        if self.console is not None:
            self.console._emit("warn", text[:MAX_LINE_CHARS])

    def flush(self) -> None:
        """End of a call: a partial last line is written, and nothing is kept for the next call."""
        if self._pending and self.console is not None:
            self.console._emit("warn", self._pending[:MAX_LINE_CHARS])
        self._pending = ""

    def begin(self, console: Console) -> None:
        self._pending = ""
        self.console = console

    def end(self) -> None:
        self.flush()
        self.console = None

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True


def install(output: GuestOutput) -> None:
    """Send every interpreter-level write of this process to ``output`` (worker start-up only)."""
    sys.stdout = sys.stderr = output  # type: ignore[assignment]

    def unraisable(report: Any) -> None:
        try:
            where = f" in {report.object!r}" if report.object is not None else ""
        except BaseException:  # noqa: BLE001 - repr of a guest object may fail in any way
            where = ""
        message = report.err_msg or "Exception ignored"
        output.line(f"{message}{where[:200]}: {report.exc_type.__name__}: {_text(report.exc_value)}")

    sys.unraisablehook = unraisable

    def show(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        output.line(f"{getattr(category, '__name__', 'Warning')}: {_text(message)}")

    warnings.showwarning = show


def _text(value: Any) -> str:
    try:
        return str(value)[:MAX_LINE_CHARS]
    except BaseException:  # noqa: BLE001
        return "(its message could not be turned into text)"
