"""Where secret values come from (contract §7.3, the project rule).

Owns: the two sources of App Secret values and their precedence, first that has the name:

1. the environment variable ``ATLAS_FN_SECRET_<name>`` exactly, then
   ``ATLAS_FN_SECRET_<NAME>`` with the name upper-cased and every character outside
   ``[A-Za-z0-9_]`` replaced by ``_`` (``secret-password`` → ``ATLAS_FN_SECRET_SECRET_PASSWORD``);
2. ``secrets.json`` in the app folder, already parsed by the caller, in one of two shapes:
   * flat: ``{"<secret name>": "<value>"}``, every value a string;
   * realm-cli v1 nested, recognised because it is a non-empty object whose values are all
     objects: ``{"services": {"<svc>": {"<field>": "<value>"}}, "auth_providers": {...}}``.
     A value there belongs to a service's ``secret_config`` field, so the secret it supplies
     is the one that ``services/<svc>/config.json`` names in ``secret_config.<field>``
     (``{"auth_token": "twilio_auth_token"}``). Entries no ``secret_config`` maps, and the
     ``auth_providers`` group (atlas-fn reads no auth providers), supply nothing.

Must not: put a secret value into any message, read files, or import the rest of ``runtime``
except ``errors``.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from runtime.errors import ConfigProblem
from runtime.values.shown import hidden, json_path

ENV_PREFIX = "ATLAS_FN_SECRET_"
_NOT_ENV_SAFE = re.compile(r"[^A-Za-z0-9_]")


def env_names(name: str) -> tuple[str, ...]:
    """The environment variables that may hold secret ``name``, in the order they are tried."""
    exact = ENV_PREFIX + name
    folded = ENV_PREFIX + _NOT_ENV_SAFE.sub("_", name).upper()
    return (exact,) if folded == exact else (exact, folded)


class SecretStore:
    """Looks secret names up in the environment, then in the app's ``secrets.json``."""

    def __init__(
        self,
        environ: Mapping[str, str],
        file_values: Mapping[str, str] | None = None,
        file_label: str | None = None,
        file_note: str = "",
    ) -> None:
        self._environ = environ
        self._file_values = dict(file_values or {})
        self._file_label = file_label  # the shown path of secrets.json; None without an app folder
        self._file_note = file_note  # e.g. " (no such file)", shown after the label

    def lookup(self, name: str) -> tuple[str, str] | None:
        """``(value, where it came from)`` for secret ``name``, or None."""
        for variable in env_names(name):
            if variable in self._environ:
                return self._environ[variable], f"environment variable {variable}"
        if name in self._file_values and self._file_label is not None:
            return self._file_values[name], self._file_label
        return None

    def missing(self, name: str) -> str:
        """The problem text for a secret that no source provides."""
        variables = env_names(name)
        noun = "variable" if len(variables) == 1 else "variables"
        env = f"the environment {noun} {' and '.join(variables)}"
        if self._file_label is None:
            return f"secret {name!r} has no value; looked in {env} (there is no app folder for a secrets.json)"
        return f"secret {name!r} has no value; looked in {self._file_label}{self._file_note} and {env}"


def _not_string(file: str, where: str, value: Any) -> ConfigProblem:
    return ConfigProblem(file, where, f"{hidden(value)} is not a string; allowed: a JSON string")


def is_nested(data: Mapping[str, Any]) -> bool:
    """True for the realm-cli v1 shape: a non-empty object whose values are all objects."""
    return bool(data) and all(isinstance(value, dict) for value in data.values())


def secrets_file_values(
    data: Any, file: str, service_secrets: Mapping[str, Mapping[str, str]]
) -> tuple[dict[str, str], list[ConfigProblem]]:
    """Secret name → value from parsed ``secrets.json`` (either shape) and the problems in it.

    ``service_secrets`` maps service name → its ``secret_config`` (field → secret name).
    """
    if not isinstance(data, dict):
        allowed = 'allowed: a JSON object {"<secret name>": "<value>"}'
        return {}, [ConfigProblem(file, "$", f"{hidden(data)} is not an object; {allowed}")]
    if not is_nested(data):
        return _flat(data, file)
    return _nested(data, file, service_secrets)


def _flat(data: Mapping[str, Any], file: str) -> tuple[dict[str, str], list[ConfigProblem]]:
    values: dict[str, str] = {}
    problems = []
    for name, value in data.items():
        if isinstance(value, str):
            values[name] = value
        else:
            problems.append(_not_string(file, json_path("$", name), value))
    return values, problems


def _nested(
    data: Mapping[str, Any], file: str, service_secrets: Mapping[str, Mapping[str, str]]
) -> tuple[dict[str, str], list[ConfigProblem]]:
    values: dict[str, str] = {}
    problems = []
    for group, owners in data.items():
        for owner, fields in owners.items():
            where = json_path(json_path("$", group), owner)
            if not isinstance(fields, dict):
                allowed = 'allowed: a JSON object {"<field>": "<value>"}'
                problems.append(ConfigProblem(file, where, f"{hidden(fields)} is not an object; {allowed}"))
                continue
            for name, value in fields.items():
                if not isinstance(value, str):
                    problems.append(_not_string(file, json_path(where, name), value))
                elif group == "services" and name in service_secrets.get(owner, {}):
                    values[service_secrets[owner][name]] = value
    return values, problems
