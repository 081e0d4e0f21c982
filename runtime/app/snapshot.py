"""Start-up: from folders on disk to one immutable snapshot of the app.

Owns: what ``atlas-fn serve`` and ``atlas-fn check`` do before anything listens — load the
app folder, compile every function file (per engine) and every ``can_evaluate`` rule, decide
each route's call spec, and raise *one* ``ConfigError`` holding every problem of every step,
each with its file and JSON path or line. The ``Snapshot`` is frozen: the server and a
generation of workers share it, and a reload swaps it whole. Must not run user code.

``prepare`` is the strict build (``check``, ``serve --strict``, the tools): any problem raises.
``assemble`` is the tolerant one (``serve``, a reload): it serves what loads, and each route
whose function file, own config file (a webhook's service config, the endpoints' manifest) or
rule has a problem is kept with that problem in its ``CallSpec`` (its calls answer
``FunctionNotLoaded``, never run: a webhook whose secret is missing must not run unchecked).
Drop-ins are guarded by every configuration problem (a config that cannot be read may be the
one naming that function, or listing it as a private helper). Given the ``last`` snapshot (a
reload), it keeps the last good version of what an edit broke: a configuration with a problem
the served one did not have is not taken (the last configuration stays, with the function
files read again), and a function file that no longer compiles keeps its last artifact.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping

from runtime.app.config import read_app
from runtime.app.functions import app_functions, compile_all, function_key
from runtime.app.model import APP_FILES, App, Endpoint, Webhook
from runtime.app.snapshot_users import Script, data_policies, run_as, run_as_scripts
from runtime.contract.credentials import SYSTEM, RunAs
from runtime.contract.data_rules import Policy
from runtime.contract.call_spec import CallSpec
from runtime.contract.services import DEFAULT_SERVICES, MONGODB_TYPES
from runtime.contract.can_evaluate import NEVER, Rule, UnsupportedRule, combine, compile_rule
from runtime.contract.routing import RouteEntry, RouteTable, endpoint_path, webhook_path
from runtime.contract.validation import effective_method
from runtime.errors import ConfigError, ConfigProblem
from runtime.protocol.messages import Boot, FunctionArtifact, Limits
from runtime.settings import Settings, inspector_served


@dataclass(frozen=True)
class Snapshot:
    app: App
    boot: Boot  # what every worker of this snapshot's generation starts with
    routes: RouteTable  # (method, path) -> CallSpec, each with its rule
    config_problems: tuple[ConfigProblem, ...] = ()  # those of the configuration served (a reload compares)
    policies: Mapping[tuple[str, str, str], Policy] = field(default_factory=dict)  # data rules, by (service, db, coll)


@dataclass(frozen=True)
class Built:
    """What ``assemble`` made: the snapshot to serve (None: nothing can be served), every
    problem on disk now (in report order), and what serves its last good version instead of
    what is on disk (``"the configuration"``, function files as shown)."""

    snapshot: Snapshot | None
    problems: tuple[ConfigProblem, ...]
    kept: tuple[str, ...] = ()


def prepare(app_dir: Path | None, functions_dir: Path | None, settings: Settings,
            environ: Mapping[str, str] = os.environ) -> Snapshot:
    """The strict build: every problem of every step in one ``ConfigError``."""
    built = assemble(app_dir, functions_dir, settings, environ)
    if built.problems or built.snapshot is None:
        raise ConfigError(list(built.problems))
    return built.snapshot


def assemble(app_dir: Path | None, functions_dir: Path | None, settings: Settings,
             environ: Mapping[str, str] = os.environ, last: Snapshot | None = None) -> Built:
    """The tolerant build (the module docstring). Without ``last``, an app whose app file or
    folders cannot be read gives no snapshot: its URLs (the app id) are unknown."""
    app, problems, show = read_app(app_dir, functions_dir, environ=environ)
    scripts: dict[str, Script] = {}
    entries, rule_problems = route_entries(app, show, scripts)
    compiled_scripts, script_problems = run_as_scripts(scripts)
    policies, policy_problems = data_policies(app)
    rule_problems += script_problems + policy_problems  # configuration problems, as can_evaluate's
    config_problems = problems + rule_problems
    unreadable = _unreadable(config_problems, app_dir, functions_dir, show)
    kept: list[str] = []
    if last is not None and (unreadable or not set(config_problems) <= set(last.config_problems)):
        app, served = last.app, last.config_problems  # a new problem: the last configuration stays
        scripts = {}
        entries = route_entries(app, show, scripts)[0]
        compiled_scripts, policies = run_as_scripts(scripts)[0], dict(last.policies)
        kept.append("the configuration")
    elif unreadable:
        return Built(None, tuple(config_problems))
    else:
        served = tuple(config_problems)
    modules = app.functions_dir / "node_modules" if app.functions_dir is not None else None
    compiled, compile_problems = compile_all(app_functions(app), show=show,
                                             node_modules=modules if modules is not None and modules.is_dir() else None)
    artifacts = {artifact.key: artifact for artifact in compiled + compiled_scripts}
    last_artifacts = {artifact.key: artifact for artifact in last.boot.functions} if last is not None else {}
    failed: dict[str, list[ConfigProblem]] = {}
    for source in app_functions(app):
        key = function_key(source)
        if key in artifacts:
            continue
        if key in last_artifacts:
            artifacts[key] = last_artifacts[key]
            kept.append(show(source.path))
        else:
            failed[key] = [p for p in compile_problems if p.file == show(source.path)]
    entries = list(map(_guard(app, served, failed, show), entries))
    snapshot = Snapshot(app, boot_data(app, tuple(artifacts[key] for key in sorted(artifacts)), settings),
                        route_table(app, entries), served, policies)
    return Built(snapshot, tuple(problems + compile_problems + rule_problems), tuple(kept))


def _unreadable(problems: list[ConfigProblem], app_dir: Path | None, functions_dir: Path | None,
                show: Callable[[Path], str]) -> bool:
    """A problem in the app file (it holds the app id, so every URL) or a folder that is not one."""
    whole = {str(given) for given in (app_dir, functions_dir) if given is not None}
    if app_dir is not None:
        whole |= {show(app_dir.absolute() / name) for name in APP_FILES}
    return any(problem.file in whole for problem in problems)


def _guard(app: App, problems: tuple[ConfigProblem, ...], failed: Mapping[str, list[ConfigProblem]],
           show: Callable[[Path], str]) -> Callable[[RouteEntry], RouteEntry]:
    """A function giving a route entry with the problems that stop it from running, if any: its
    function file's, and those of the files that configure it (for a drop-in: every
    configuration problem but a function file's own)."""
    sources = {show(source.path) for source in app_functions(app)}
    manifest = show(app.functions_dir / "config.json") if app.functions_dir is not None else "functions/config.json"
    endpoint_files = {show(e.config_file) for e in app.endpoints if e.config_file is not None} | {manifest}
    hooks = {webhook_path(app.app_id, h.service, h.name): h for h in app.webhooks}

    def guarded(entry: RouteEntry) -> RouteEntry:
        own = list(failed.get(entry.spec.function_key, ()))
        hook = hooks.get(entry.path) if entry.spec.kind == "webhook" else None
        if entry.spec.kind == "endpoint":
            own += [p for p in problems if p.file in endpoint_files]
        elif hook is not None and hook.config_file is not None:
            files = {show(hook.config_file), show(hook.config_file.parents[2] / "config.json")}
            own += [p for p in problems if p.file in files]
        else:
            own += [p for p in problems if p.file not in sources]
        if not own:
            return entry
        shown = "; ".join(str(p) for p in own)
        return replace(entry, spec=replace(entry.spec, problem=f"{entry.spec.kind} {entry.spec.name!r} is not served: {shown}"))

    return guarded


def route_table(app: App, entries: list[RouteEntry]) -> RouteTable:
    """The route table of an app without problems (a disabled endpoint's path answers "disabled")."""
    return RouteTable.build(app.app_id, entries, [endpoint_path(app.app_id, e.route) for e in app.endpoints if e.disabled])


def route_entries(app: App, show: Callable[[Path], str] = str,
                  scripts: dict[str, Script] | None = None) -> tuple[list[RouteEntry], list[ConfigProblem]]:
    """Each webhook's and enabled endpoint's route with its call spec; every unsupported
    ``can_evaluate`` rule is a problem (an endpoint's rule is ANDed with its function's
    manifest rule). A rule is always explicit in the spec: ``ALWAYS`` when none is set. Each
    spec says who its calls run as (``runtime.app.snapshot_users.run_as``); ``scripts`` receives
    each run-as script (source, file, JSON path) by its function key."""
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
        shown = show(file) if file is not None else "(drop-in)"
        chosen = run_as(app, fields, flags, authed, f"{shown} {where}")
        if chosen.mode == "script":
            scripts[chosen.script_key] = (str(fields["run_as_user_id_script_source"]), shown, where)
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
        note_calls=inspector_served(settings.inspector),
        limits=Limits(memory_mb=settings.memory_mb, cpu_seconds=settings.timeout,
                      max_response_bytes=settings.max_response_bytes, max_log_bytes=settings.max_log_bytes,
                      max_recursion_depth=settings.max_recursion_depth),
    )
