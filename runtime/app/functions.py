"""The app's functions, compiled: every function file a webhook or endpoint uses.

Owns: reading each function file once, compiling it (runtime.worker.engines.python.compiler), and
reporting *every* problem of *every* file together, with file and line. The result is the
boot data the workers receive (``FunctionArtifact``: the engine named by the file's language): code objects travel by ``marshal``, so each file is compiled
once per server start, never per request or per worker. Must not run guest code.
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


def compile_all(sources: Iterable[FunctionSource], show: Any = str,
                node_modules: Path | None = None) -> tuple[tuple[FunctionArtifact, ...], list[ConfigProblem]]:
    """(boot entries, problems). ``show`` turns a path into its display form; ``node_modules``
    is the app's ``functions/node_modules`` folder, whose packages JavaScript files may require."""
    compiled: list[FunctionArtifact] = []
    problems: list[ConfigProblem] = []
    for source in sources:
        shown = show(source.path)
        try:
            text = source.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(ConfigProblem(shown, "", f"cannot be read: {exc}"))
            continue
        try:
            artifact = _compile(source.language, text, shown, node_modules)
        except CompileFailed as failed:
            problems.extend(ConfigProblem(shown, _where(p), p.message) for p in failed.problems)
            continue
        compiled.append(FunctionArtifact(function_key(source), source.language, shown, artifact, source.name))
    return tuple(compiled), problems


def compile_script(key: str, text: str, shown: str) -> tuple[FunctionArtifact | None, list[ConfigProblem]]:
    """A run-as script (``run_as_user_id_script_source``: JavaScript source held in a config) as a
    function a worker runs under ``key``; its compile problems are shown at ``shown``."""
    try:
        return FunctionArtifact(key, "javascript", shown, _compile("javascript", text, shown, None), key), []
    except CompileFailed as failed:
        return None, [ConfigProblem(shown, _where(p), p.message) for p in failed.problems]


def _compile(language: str, text: str, shown: str, node_modules: Path | None) -> bytes:
    """The start-up artifact of one file, by the engine of its language. Compiles; runs nothing."""
    if language == "javascript":
        from runtime.worker.engines.javascript import compile as compile_javascript

        return compile_javascript(text, shown, node_modules=node_modules)
    return marshal.dumps(compile_function(text, shown))


def _where(problem: Any) -> str:
    if not problem.line:
        return ""
    column = getattr(problem, "column", None)
    return f"line {problem.line}, column {column}" if column else f"line {problem.line}"
