"""Start-up: from folders on disk to a checked app and the data every worker boots with.

Owns: what ``atlas-fn serve`` and ``atlas-fn check`` do before anything listens — load the
app folder, compile every function it uses, and raise *one* ``ConfigError`` holding every
problem of both steps, each with its file and JSON path or line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from runtime.app_config import App, read_app
from runtime.errors import ConfigError
from runtime.functions import app_functions, compile_all
from runtime.settings import Settings


@dataclass(frozen=True)
class Prepared:
    app: App
    boot: dict[str, Any]  # what runtime.worker receives first: functions, app data, limits


def prepare(app_dir: Path | None, functions_dir: Path | None, settings: Settings,
            environ: Mapping[str, str] = os.environ) -> Prepared:
    app, problems, show = read_app(app_dir, functions_dir, environ=environ)
    compiled, compile_problems = compile_all(app_functions(app), show=show)
    if problems or compile_problems:
        raise ConfigError(problems + compile_problems)
    return Prepared(app, boot_data(app, compiled, settings))


def boot_data(app: App, compiled: dict[str, dict[str, Any]], settings: Settings) -> dict[str, Any]:
    return {
        "functions": compiled,
        "app": {"id": app.app_id, "clientAppId": app.app_id, "name": app.name},
        "values": dict(app.values),
        "environment": {"tag": app.environment_tag, "values": dict(app.environment_values)},
        "limits": {
            "memory_mb": settings.memory_mb,
            "cpu_seconds": settings.timeout,
            "max_response_bytes": settings.max_response_bytes,
        },
    }
