"""A call's console: the lines ``console.log`` and its kin write, kept within one budget.

Owns: the per-call log lines, their size cap (counted as the bytes they take in the worker's
reply, so a call's log always fits its reply frame) and the note of what was dropped. Every
engine writes here; the Python engine hands this object to guest code as ``console``.
Must not import asyncio, aiohttp or any engine.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from runtime.settings import Settings
from runtime.values import ejson

MAX_CONSOLE_BYTES: int = Settings.max_log_bytes  # the setting's default; contract §8.5 sets no figure


class Console:
    """``console.log/info/warn/error/debug``: lines into the call's log, capped in size."""

    __slots__ = ("_lines", "_size", "_dropped", "_limit")

    def __init__(self, max_bytes: int = MAX_CONSOLE_BYTES) -> None:
        self._limit = max_bytes
        self._lines: list[str] = []
        self._size = 0
        self._dropped = 0

    def _write(self, level: str, args: Iterable[Any]) -> None:
        self._emit(level, " ".join(_console_text(a) for a in args))

    def _emit(self, level: str, line: str) -> None:
        """One line at ``level`` (log, info, debug, warn, error), already text: every engine's
        console ends here, so the budget is kept once (underscored: Python guest code cannot reach it)."""
        if level != "log":
            line = f"{level.upper()} {line}"
        size = _reply_size(line)
        if self._size + size > self._limit:
            self._dropped += 1
            return
        self._size += size
        self._lines.append(line)

    def log(self, *args: Any) -> None:
        self._write("log", args)

    def info(self, *args: Any) -> None:
        self._write("info", args)

    def debug(self, *args: Any) -> None:
        self._write("debug", args)

    def warn(self, *args: Any) -> None:
        self._write("warn", args)

    def error(self, *args: Any) -> None:
        self._write("error", args)

    def lines(self) -> list[str]:
        """The call's log lines, with a last line saying how many were dropped. Host side only."""
        if self._dropped:
            return [*self._lines, f"… {self._dropped} more console lines dropped (limit {self._limit} bytes per call)"]
        return list(self._lines)


def _reply_size(line: str) -> int:
    """The bytes ``line`` takes in the worker's JSON reply: the cap is on those, not on characters
    (an emoji is 4 bytes, a control character 6), so a call's log always fits the reply frame."""
    if line.isascii() and line.isprintable() and '"' not in line and "\\" not in line:
        return len(line) + 3  # quotes and a comma
    return len(json.dumps(line, ensure_ascii=False).encode("utf-8", "surrogatepass")) + 1


def _console_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return ejson.to_relaxed(value)
    except (TypeError, ValueError):
        return f"[{type(value).__name__}]"
