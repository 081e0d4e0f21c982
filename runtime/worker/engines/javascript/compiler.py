"""Compiling a JavaScript function file at start-up: a syntax check, and the artifact.

Owns: parsing the file as QuickJS-ng will run it (the body of a sloppy-mode function with
``exports`` and ``require``), reporting a syntax error with its line and column in the file,
and the artifact bytes the worker loads (the source, its line count, its display name, and
the package files it requires from ``functions/node_modules``, because workers read no
files). Parsing runs no guest code: the source is only given to the ``Function`` constructor,
never called, in a throw-away context with limits. May run in the server process.
Must not: execute the file, or read anything but the file's text and ``node_modules``.
"""

from __future__ import annotations

import marshal
import re
from pathlib import Path

import quickjs

from runtime.errors import CompileFailed, CompileProblem
from runtime.worker.engines.javascript import modules

ARTIFACT_VERSION = 1
WRAPPER_LINES = 2  # QuickJS puts a Function body at line 3: "(function anonymous(exports,require\n) {\n"
_WHERE = re.compile(r"at <input>:(\d+):(\d+)")


def check_syntax(text: str) -> list[CompileProblem]:
    context = quickjs.Context()
    context.set_memory_limit(64 * 1024 * 1024)
    context.set_time_limit(5.0)
    context.set("__source", text)
    try:
        # QuickJS builds a Function from one string; a body that closes it early ("});" at top
        # level) would leave its tail outside. The function's own text shows it.
        whole = context.eval('Function("exports", "require", __source).toString()')
    except quickjs.JSException as exc:
        first, _, rest = str(exc).partition("\n")
        where = _WHERE.search(rest)
        if where is None:
            return [CompileProblem(None, first)]
        return [CompileProblem(max(1, int(where.group(1)) - WRAPPER_LINES), first, int(where.group(2)))]
    except quickjs.StackOverflow as exc:
        return [CompileProblem(None, f"is nested too deeply to parse ({str(exc).partition(chr(10))[0]})")]
    if whole != "function anonymous(exports,require\n) {\n" + text + "\n}":
        return [CompileProblem(None, "SyntaxError: the file closes the function scope it runs in (an unmatched '}' at "
                                           "top level); a function file is the body of one function")]
    return []


def compile(text: str, filename: str, *, node_modules: Path | None = None) -> bytes:  # noqa: A001 - the seam's name
    """The artifact for ``text`` (shown as ``filename``), or CompileFailed with every problem.
    ``node_modules``: the app's ``functions/node_modules`` folder, when it has one."""
    if type(text) is not str:
        raise TypeError("compile: the source must be text")
    problems = check_syntax(text)
    files, package_problems = modules.collect(text, node_modules)
    problems += [CompileProblem(None, p) for p in package_problems]
    if problems:
        raise CompileFailed(problems)
    return marshal.dumps({"version": ARTIFACT_VERSION, "source": text, "filename": filename,
                          "lines": text.count("\n") + 1, "files": files})
