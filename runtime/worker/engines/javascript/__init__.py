"""The JavaScript engine (QuickJS-ng): App Services function files run unchanged.

Owns the seam's two entry points for JavaScript: ``compile(text, filename)`` at start-up
(syntax check with line and column; the artifact, carrying the package files the file
requires) and ``ENGINE`` (``load`` once per worker, ``run`` per call, a fresh context each
time). The parts: ``compiler``, ``engine``, ``bridge`` (the host callback), ``modules``
(``require``), and the guest API in ``js/``. Must not import asyncio or aiohttp.
"""

from runtime.errors import CompileFailed, CompileProblem, GuestError
from runtime.worker.engines.javascript.compiler import compile  # noqa: A004
from runtime.worker.engines.javascript.engine import ENGINE, JavaScriptEngine, JavaScriptError

__all__ = ["ENGINE", "CompileFailed", "CompileProblem", "GuestError", "JavaScriptEngine", "JavaScriptError", "compile"]
