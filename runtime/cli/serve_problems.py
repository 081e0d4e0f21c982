"""``atlas-fn serve`` before it listens: which problems stop it, and how the rest are shown.

Owns: ``start_up`` — the tolerant build (``runtime.app.snapshot.assemble``); with ``--strict``
any problem refuses to start, and without it only an app that cannot be read at all (its app
file or a folder: its URLs are unknown, so there is nothing to serve); otherwise the snapshot
is served with its problems listed (``serving_with``) and every route that loads answers.
Must not decide what a problem is (``runtime.app``) or what a broken route answers
(``runtime.contract.pipeline``).
"""

from __future__ import annotations

import os
from pathlib import Path

from runtime.app.snapshot import Snapshot, assemble
from runtime.errors import ConfigError, ConfigProblem
from runtime.http.reload import Source
from runtime.settings import Settings


def start_up(app_dir: Path | None, functions_dir: Path | None, settings: Settings) -> tuple[Snapshot, Source]:
    """The snapshot to serve first, and where it came from (for the reloader); ``ConfigError``
    (exit 1, every problem printed) when ``serve`` must not start."""
    built = assemble(app_dir, functions_dir, settings, os.environ)
    if built.snapshot is None or (settings.strict and built.problems):
        raise ConfigError(list(built.problems))
    return built.snapshot, Source(app_dir, functions_dir, os.environ, built.problems)


def serving_with(problems: tuple[ConfigProblem, ...]) -> str:
    """The lines ``serve`` prints under its route table when the app has problems."""
    noun = "problem" if len(problems) == 1 else "problems"
    head = (f"atlas-fn: serving with {len(problems)} {noun}: every route that loads is served; a route they touch "
            "answers 500 FunctionSyntaxError naming them (--strict refuses to start instead):")
    return "\n".join([head, *(f"  {problem}" for problem in problems)])
