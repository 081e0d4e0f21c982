"""Start-up: from folders on disk to one immutable snapshot of the app.

Owns: what ``atlas-fn serve`` and ``atlas-fn check`` do before anything listens — load the
app folder, compile every function file (per engine) and every ``can_evaluate`` rule, decide
each route's call spec, and raise *one* ``ConfigError`` holding every problem of every step,
each with its file and JSON path or line. The ``Snapshot`` is frozen: the server and a
generation of workers share it, and a reload swaps it whole. Must not run user code.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from runtime.app.config import read_app
from runtime.app.functions import app_functions, compile_all, compile_script, function_key
from runtime.app.model import App, Endpoint, Webhook
from runtime.contract.credentials import SYSTEM, RunAs
from runtime.contract.data_rules import Policy, compile_policy
from runtime.contract.call_spec import CallSpec
from runtime.contract.services import DEFAULT_SERVICES, MONGODB_TYPES
from runtime.contract.can_evaluate import NEVER, Rule, UnsupportedRule, combine, compile_rule
from runtime.contract.routing import RouteEntry, RouteTable, endpoint_path, webhook_path
from runtime.contract.validation import effective_method
from runtime.errors import ConfigError, ConfigProblem
from runtime.protocol.messages import Boot, FunctionArtifact, Limits
from runtime.settings import Settings


@dataclass(frozen=True)
class Snapshot:
    app: App
    boot: Boot  # what every worker of this snapshot's generation starts with
    routes: RouteTable  # (method, path) -> CallSpec, each with its rule
    policies: Mapping[tuple[str, str, str], Policy] = field(default_factory=dict)  # data rules, by (service, db, coll)


def prepare(app_dir: Path | None, functions_dir: Path | None, settings: Settings,
            environ: Mapping[str, str] = os.environ) -> Snapshot:
    app, problems, show = read_app(app_dir, functions_dir, environ=environ)
    modules = app.functions_dir / "node_modules" if app.functions_dir is not None else None
    compiled, compile_problems = compile_all(app_functions(app), show=show,
                                             node_modules=modules if modules is not None and modules.is_dir() else None)
    sources: dict[str, str] = {}
    entries, rule_problems = route_entries(app, show, sources)
    scripts, script_problems = run_as_scripts(app, entries, sources)
    policies, policy_problems = data_policies(app)
    if problems or compile_problems or rule_problems or script_problems or policy_problems:
        raise ConfigError(problems + compile_problems + rule_problems + script_problems + policy_problems)
    return Snapshot(app, boot_data(app, compiled + scripts, settings), route_table(app, entries), policies)


def data_policies(app: App) -> tuple[dict[tuple[str, str, str], Policy], list[ConfigProblem]]:
    """Each collection's rules and each data source's default rule, compiled: a part the evaluator
    cannot handle is a start-up problem naming its file (runtime.contract.data_rules)."""
    policies: dict[tuple[str, str, str], Policy] = {}
    problems: list[ConfigProblem] = []
    for found in app.auth.rules:
        try:
            policies[(found.service, found.database, found.collection)] = compile_policy(found.roles, found.filters, found.file)
        except UnsupportedRule as error:
            problems.extend(ConfigProblem(found.file, path, text) for path, text in error.problems)
    return policies, problems


def run_as(app: App, fields: Any, flags: Any, authed: bool, where: str) -> RunAs:
    """Who a route's calls run as (contract §2.7), first that applies: application authentication
    (``authed``), ``run_as_user_id``, ``run_as_user_id_script_source`` (compiled as function
    ``run-as:<where>``), else system. ``fields`` hold the run_as_* strings (a webhook's config, an
    endpoint's manifest entry), ``flags`` create_user_on_auth and fetch_custom_user_data. An export
    without auth providers runs everything as system, as atlas-fn did before it had users."""
    if not app.auth.declared:
        return SYSTEM
    options = {"create_user": bool(flags.get("create_user_on_auth")), "custom_data": bool(flags.get("fetch_custom_user_data"))}
    if authed:
        return RunAs("authed", **options)
    if fields.get("run_as_user_id"):
        return RunAs("user-id", user_id=str(fields["run_as_user_id"]), **options)
    if fields.get("run_as_user_id_script_source"):
        return RunAs("script", script_key=f"run-as:{where}", **options)
    return SYSTEM


def run_as_scripts(app: App, entries: list[RouteEntry], sources: dict[str, str]) -> tuple[tuple[FunctionArtifact, ...], list[ConfigProblem]]:
    """Each run-as script of the routes, compiled once (a worker runs it, never the server)."""
    compiled: dict[str, FunctionArtifact] = {}
    problems: list[ConfigProblem] = []
    for entry in entries:
        key = entry.spec.run_as.script_key
        if entry.spec.run_as.mode == "script" and key not in compiled:
            artifact, found = compile_script(key, sources[key], key.removeprefix("run-as:"))
            problems += found
            if artifact is not None:
                compiled[key] = artifact
    return tuple(compiled.values()), problems


def route_table(app: App, entries: list[RouteEntry]) -> RouteTable:
    """The route table of an app without problems (a disabled endpoint's path answers "disabled")."""
    return RouteTable.build(app.app_id, entries, [endpoint_path(app.app_id, e.route) for e in app.endpoints if e.disabled])


def route_entries(app: App, show: Callable[[Path], str] = str,
                  scripts: dict[str, str] | None = None) -> tuple[list[RouteEntry], list[ConfigProblem]]:
    """Each webhook's and enabled endpoint's route with its call spec; every unsupported
    ``can_evaluate`` rule is a problem (an endpoint's rule is ANDed with its function's
    manifest rule). A rule is always explicit in the spec: ``ALWAYS`` when none is set. Each
    spec says who its calls run as (``run_as``); ``scripts`` receives each run-as script's source."""
    scripts = scripts if scripts is not None else {}
    manifest = {entry.name: entry for entry in app.manifest}
    manifest_file = app.functions_dir / "config.json" if app.functions_dir else Path("functions/config.json")
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

    def who(fields: Any, flags: Any, authed: bool, file: Path | None, where: str) -> RunAs:
        chosen = run_as(app, fields, flags, authed, f"{show(file) if file is not None else '(drop-in)'} {where}")
        if chosen.mode == "script":
            scripts[chosen.script_key] = str(fields["run_as_user_id_script_source"])
        return chosen

    entries = [RouteEntry(webhook_path(app.app_id, hook.service, hook.name), hook.http_method,
                          webhook_spec(hook, rule(hook.can_evaluate, hook.config_file, "$.can_evaluate"),
                                       who(hook.extra, hook.extra, hook.extra.get("run_as_authed_user") is True,
                                           hook.config_file, "$.run_as_user_id_script_source")), hook.function.name)
               for hook in app.webhooks]
    for endpoint in app.endpoints:
        select = f'$[?(@.route=={json.dumps(endpoint.route)} && @.http_method=={json.dumps(endpoint.http_method)})].can_evaluate'
        own = rule(endpoint.can_evaluate, endpoint.config_file, select)
        entry = manifest.get(endpoint.function_name)
        if entry is not None:
            own = combine(own, rule(entry.can_evaluate, manifest_file, f"$[?(@.name=={json.dumps(entry.name)})].can_evaluate"))
        if not endpoint.disabled:  # contract §1: a disabled endpoint counts as absent
            fields = dict(entry.extra) if entry is not None else {}
            authed = not (entry is not None and entry.run_as_system) and not fields.get("run_as_user_id") \
                and not fields.get("run_as_user_id_script_source")
            runs_as = who(fields, endpoint.extra, authed, manifest_file,
                          f"$[?(@.name=={json.dumps(endpoint.function_name)})].run_as_user_id_script_source")
            entries.append(RouteEntry(endpoint_path(app.app_id, endpoint.route), endpoint.http_method,
                                      endpoint_spec(endpoint, own, runs_as), endpoint.function_name))
    return entries, problems


def webhook_spec(hook: Webhook, rule: Rule, runs_as: RunAs = SYSTEM) -> CallSpec:
    return CallSpec(name=hook.name, kind="webhook", service_type=hook.service_type,
                    validation=effective_method(hook.service_type, hook.validation_method, hook.secret),
                    function_key=function_key(hook.function), respond_result=hook.respond_result, rule=rule,
                    legacy=True, secret=hook.secret, run_as=runs_as)


def endpoint_spec(endpoint: Endpoint, rule: Rule, runs_as: RunAs = SYSTEM) -> CallSpec:
    return CallSpec(name=endpoint.function_name, kind="endpoint", service_type="http",
                    validation=effective_method("http", endpoint.validation_method, endpoint.secret),
                    function_key=function_key(endpoint.function), respond_result=endpoint.respond_result, rule=rule,
                    route=endpoint.route, return_type=endpoint.return_type, secret=endpoint.secret, run_as=runs_as)


def app_services(app: App) -> dict[str, str]:
    """The services a call may reach (spec §8.6.1): what the app declares, and ``mongodb-atlas``
    on the embedded store when it declares no MongoDB service (drop-ins, exports without data)."""
    declared = dict(app.services)
    if not any(kind in MONGODB_TYPES for kind in declared.values()):
        declared.update(DEFAULT_SERVICES)
    return declared


def boot_data(app: App, compiled: tuple[FunctionArtifact, ...], settings: Settings) -> Boot:
    return Boot(
        functions=compiled,
        app={"id": app.app_id, "clientAppId": app.app_id, "name": app.name},
        values=dict(app.values),
        environment={"tag": app.environment_tag, "values": dict(app.environment_values)},
        services=app_services(app),
        limits=Limits(memory_mb=settings.memory_mb, cpu_seconds=settings.timeout,
                      max_response_bytes=settings.max_response_bytes, max_log_bytes=settings.max_log_bytes,
                      max_recursion_depth=settings.max_recursion_depth),
    )
