"""Compiling a Python function file under RestrictedPython.

Owns: turning source text into a code object, or into *every* problem of the file at once,
each with its line; the atlas-fn rules on top of RestrictedPython's (no imports, no classes,
a top-level ``exports``). Compiling runs no guest code, so it may happen in the server
process (``atlas-fn check`` and start-up); the code object then travels to the workers with
``marshal``. Must not execute anything.
"""

from __future__ import annotations

import ast
import re
from types import CodeType

from RestrictedPython import compile_restricted_exec
from RestrictedPython.transformer import RestrictingNodeTransformer

from runtime.errors import CompileFailed, CompileProblem

_LINE = re.compile(r"^Line (\d+|None): (.*)$", re.DOTALL)
GUEST_GLOBALS = "context, utils, EJSON, JSON, BSON and console"
TOO_DEEP = "is nested too deeply to compile; split long chains of operators and deeply nested expressions"


class AtlasPolicy(RestrictingNodeTransformer):
    """RestrictedPython's rules, plus: imports and classes are refused at compile time."""

    def visit_Import(self, node: ast.Import) -> None:  # noqa: N802 - ast visitor name
        names = ", ".join(a.name for a in node.names)
        self.error(node, f"import statements are not allowed (import {names}); use the globals {GUEST_GLOBALS}.")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:  # noqa: N802
        self.error(node, f"import statements are not allowed (from {node.module or '.'} import …); use the globals {GUEST_GLOBALS}.")

    def visit_ClassDef(self, node: ast.ClassDef) -> None:  # noqa: N802
        self.error(node, f"class statements are not allowed (class {node.name}); use functions and dicts.")

    def visit_Name(self, node: ast.Name) -> ast.AST:  # noqa: N802
        # RestrictedPython turns `printed` into `_print()`, which here is the call's console
        # writer, not the text printed so far: refuse the name rather than hand that object out.
        if node.id == "printed" and isinstance(node.ctx, ast.Load):
            self.error(node, "the name `printed` is not supported; print() and console.log() write to the function's log.")
        return super().visit_Name(node)


_AT_STATEMENT = " at statement: "  # RestrictedPython's words before the offending line


def compile_function(source: str, filename: str) -> CodeType:
    """Compile one function file, or raise CompileFailed with every problem in line order."""
    try:
        result = compile_restricted_exec(source, filename=filename, policy=AtlasPolicy)
    except SyntaxError as exc:  # found by CPython's own compiler after RestrictedPython's checks
        raise CompileFailed([CompileProblem(exc.lineno, f"{type(exc).__name__}: {exc.msg}")]) from None
    except (RecursionError, MemoryError):  # the parser or the checker ran out of stack
        raise CompileFailed([CompileProblem(None, TOO_DEEP)]) from None
    lines = source.splitlines()
    problems = [_problem(e, lines) for e in result.errors]
    if not problems and not _defines_exports(source):
        problems.append(CompileProblem(None, "defines no `exports`; a function file must define `def exports(payload, response): ...`"))
    if problems or result.code is None:
        problems.sort(key=lambda p: (p.line is None, p.line or 0))
        raise CompileFailed(problems or [CompileProblem(None, "could not be compiled")])
    return result.code


def _problem(error: str, lines: list[str]) -> CompileProblem:
    match = _LINE.match(error)
    if not match:
        return CompileProblem(None, error)
    line = None if match.group(1) == "None" else int(match.group(1))
    message = match.group(2)
    head, found, _ = message.partition(_AT_STATEMENT)
    if found:
        # CPython may fill a SyntaxError's text by reading the file *name* from disk, relative to
        # the working directory (another file of that name): quote the compiled source's own line
        message = head + (f"{_AT_STATEMENT}{lines[line - 1].strip()!r}" if line and 0 < line <= len(lines) else "")
    return CompileProblem(line, message)


def _defines_exports(source: str) -> bool:
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == "exports":
            return True
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []
        if any(isinstance(t, ast.Name) and t.id == "exports" for t in targets):
            return True
    return False
