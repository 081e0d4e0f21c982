"""The app's functions, compiled: every function file a webhook or endpoint uses.

Owns: reading each function file once, compiling it (runtime.worker.engines.python.compiler), and
reporting *every* problem of *every* file together, with file and line. The result is the
boot data the workers receive (``FunctionArtifact``: the engine named by the file's language): code objects travel by ``marshal``, so each file is compiled
once per server start, never per request or per worker. Runs no guest code.
"""

from __future__ import annotations

import marshal
from pathlib import Path
from typing import Any, Iterable

from runtime.app.model import App, FunctionSource
from runtime.errors import ConfigProblem
from runtime.protocol.messages import FunctionArtifact
from runtime.worker.engines.python.compiler import CompileFailed, compile_function


def app_functions(app: App) -> list[FunctionSource]:
    """Every function file of the app — those webhooks and endpoints run, and the rest of the
    functions folder (checked too, and ready for context.functions) — once, in a stable order."""
    seen: dict[Path, FunctionSource] = {}
    for source in [w.function for w in app.webhooks] + [e.function for e in app.endpoints] + list(app.functions):
        seen.setdefault(source.path, source)
    return sorted(seen.values(), key=lambda s: str(s.path))


def function_key(source: FunctionSource) -> str:
    """The name a call uses to pick its function inside a worker: the file's path."""
    return str(source.path)


def compile_all(sources: Iterable[FunctionSource], show: Any = str) -> tuple[tuple[FunctionArtifact, ...], list[ConfigProblem]]:
    """(boot entries, problems). ``show`` turns a path into its display form."""
    compiled: list[FunctionArtifact] = []
    problems: list[ConfigProblem] = []
    for source in sources:
        shown = show(source.path)
        if source.language != "python":
            problems.append(ConfigProblem(shown, "", "JavaScript functions need the JavaScript engine, which atlas-fn does not have yet; "
                                                     "allowed: a Python port beside it (the same name with .py; source.py beside a "
                                                     "webhook's source.js), which then runs instead"))
            continue
        try:
            text = source.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(ConfigProblem(shown, "", f"cannot be read: {exc}"))
            continue
        try:
            code = compile_function(text, shown)
        except CompileFailed as failed:
            problems.extend(ConfigProblem(shown, f"line {p.line}" if p.line else "", p.message) for p in failed.problems)
            continue
        compiled.append(FunctionArtifact(function_key(source), source.language, shown, marshal.dumps(code)))
    return tuple(compiled), problems
