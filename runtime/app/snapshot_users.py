"""Start-up, the users' part (issue 13): who each route's calls run as, the run-as scripts compiled,
and the data rules compiled.

Owns: ``run_as`` (contract §2.7, first that applies: application authentication, ``run_as_user_id``,
``run_as_user_id_script_source``, else system — and system for every route of an export without
auth providers), ``run_as_scripts`` (each script compiled once as a JavaScript function a worker
runs; its problems shown at the config that holds it), ``data_policies`` (each collection's rules
and each data source's default rule, compiled by ``runtime.contract.data_rules``; a collection whose
rules have a problem denies everything, never falls back to a looser rule). ``runtime.app.snapshot``
calls them. Must not run user code.
"""

from __future__ import annotations

from typing import Any, Mapping

from runtime.app.functions import compile_script
from runtime.app.model import App
from runtime.contract.credentials import SYSTEM, RunAs
from runtime.contract.data_rules import Policy, compile_policy
from runtime.errors import ConfigProblem, UnsupportedRule
from runtime.protocol.messages import FunctionArtifact

Script = tuple[str, str, str]  # (source, the shown config file, the JSON path of the script in it)


def run_as(app: App, fields: Mapping[str, Any], flags: Mapping[str, Any], authed: bool, where: str) -> RunAs:
    """``fields`` hold the run_as_* strings (a webhook's config, an endpoint's manifest entry),
    ``flags`` create_user_on_auth and fetch_custom_user_data; ``where`` names the script's place."""
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


def run_as_scripts(scripts: Mapping[str, Script]) -> tuple[tuple[FunctionArtifact, ...], list[ConfigProblem]]:
    compiled: list[FunctionArtifact] = []
    problems: list[ConfigProblem] = []
    for key, (source, shown, path) in sorted(scripts.items()):
        artifact, found = compile_script(key, source, shown)
        problems += [ConfigProblem(p.file, f"{path} {p.where}".strip(), p.message) for p in found]
        if artifact is not None:
            compiled.append(artifact)
    return tuple(compiled), problems


def data_policies(app: App) -> tuple[dict[tuple[str, str, str], Policy], list[ConfigProblem]]:
    policies: dict[tuple[str, str, str], Policy] = {}
    problems: list[ConfigProblem] = []
    for found in app.auth.rules:
        key = (found.service, found.database, found.collection)
        try:
            policies[key] = compile_policy(found.roles, found.filters, found.file)
        except UnsupportedRule as error:
            problems.extend(ConfigProblem(found.file, path, text) for path, text in error.problems)
            policies[key] = Policy(file=found.file)  # no role: nothing is allowed
    return policies, problems
