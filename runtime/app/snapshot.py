"""Start-up: from folders on disk to a checked app and the data every worker boots with.

Owns: what ``atlas-fn serve`` and ``atlas-fn check`` do before anything listens — load the
app folder, compile every function file and every ``can_evaluate`` rule, and raise *one*
``ConfigError`` holding every problem of every step, each with its file and JSON path or line.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from runtime.app.config import App, read_app
from runtime.contract.can_evaluate import NEVER, Rule, UnsupportedRule, combine, compile_rule
from runtime.errors import ConfigError, ConfigProblem
from runtime.app.functions import app_functions, compile_all
from runtime.contract.routing import Target
from runtime.settings import Settings


@dataclass(frozen=True)
class Prepared:
    app: App
    boot: dict[str, Any]  # what runtime.worker.main receives first: functions, app data, limits
    rules: Mapping[int, Rule]  # id(webhook or endpoint) -> its can_evaluate rule, when not "always"


def prepare(app_dir: Path | None, functions_dir: Path | None, settings: Settings,
            environ: Mapping[str, str] = os.environ) -> Prepared:
    app, problems, show = read_app(app_dir, functions_dir, environ=environ)
    compiled, compile_problems = compile_all(app_functions(app), show=show)
    rules, rule_problems = compile_rules(app, show)
    if problems or compile_problems or rule_problems:
        raise ConfigError(problems + compile_problems + rule_problems)
    return Prepared(app, boot_data(app, compiled, settings), rules)


def compile_rules(app: App, show: Callable[[Path], str] = str) -> tuple[dict[int, Rule], list[ConfigProblem]]:
    """Each webhook's and endpoint's can_evaluate rule (an endpoint's ANDed with its function's
    manifest rule), keyed by the target's identity; every unsupported rule is a problem."""
    manifest = {entry.name: entry for entry in app.manifest}
    manifest_file = app.functions_dir / "config.json" if app.functions_dir else Path("functions/config.json")
    rules: dict[int, Rule] = {}
    problems: list[ConfigProblem] = []

    def rule(expression: Any, file: Path | None, where: str) -> Rule:
        if expression is None:  # of the wrong type: the loader reported it already
            return NEVER
        try:
            return compile_rule(expression, where)
        except UnsupportedRule as error:
            shown = show(file) if file is not None else "(drop-in)"
            problems.extend(ConfigProblem(shown, path, text) for path, text in error.problems)
            return NEVER

    def keep(target: Target, compiled: Rule) -> None:
        if not compiled.always:
            rules[id(target)] = compiled

    for hook in app.webhooks:
        keep(hook, rule(hook.can_evaluate, hook.config_file, "$.can_evaluate"))
    for endpoint in app.endpoints:
        select = f'$[?(@.route=={json.dumps(endpoint.route)} && @.http_method=={json.dumps(endpoint.http_method)})].can_evaluate'
        own = rule(endpoint.can_evaluate, endpoint.config_file, select)
        entry = manifest.get(endpoint.function_name)
        if entry is not None:
            own = combine(own, rule(entry.can_evaluate, manifest_file, f"$[?(@.name=={json.dumps(entry.name)})].can_evaluate"))
        keep(endpoint, own)
    return rules, problems


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
            "max_log_bytes": settings.max_log_bytes,
            "max_recursion_depth": settings.max_recursion_depth,
        },
    }
