"""One load of an app folder: its state, and the lookups every part of the loader shares.

Owns: ``Reader`` — the folders (the app folder, the functions folder and its fallbacks), the
``Report`` of problems, what the load found so far (function files, services, routes claimed),
the secrets (``secrets.json`` and the environment, step 5 of ``runtime.app.config``), and looking
up the function or secret a config names, each miss a problem at that config's JSON path.
The steps themselves are ``runtime.app.config_functions``, ``config_webhooks`` and
``config_endpoints``, which extend ``Reader``. Must not run or compile code, or put a secret
value into a problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from runtime.app.config_files import UNREADABLE, Fields, Report, not_a_folder, read_json
from runtime.app.model import LANGUAGES, FunctionSource
from runtime.app.secrets import SecretStore, secrets_file_values
from runtime.values.shown import show_value

NEEDS_SECRET = ("SECRET_AS_QUERY_PARAM", "VERIFY_PAYLOAD")
RUN_AS_STRINGS = ("id", "run_as_user_id", "run_as_user_id_script_source")
A_FUNCTION = "the name of a function file"
A_SECRET = "the name of a secret"


@dataclass(frozen=True)
class Service:
    name: str
    type: str
    folder: Path
    secret_config: Mapping[str, str]


class Reader:
    """One load: the folders, what was found so far, and the problems."""

    def __init__(self, app_dir: Path | None, functions_dir: Path | None, environ: Mapping[str, str]) -> None:
        self.report = Report()
        self.environ = environ
        self.root = self._folder(app_dir, "an exported App Services app folder")
        self.fdir = self._functions_folder(functions_dir)
        self.report.roots = [root for root in (self.root, self.fdir) if root is not None]
        self.functions: dict[str, FunctionSource] = {}
        self.legacy_configs: dict[str, Path] = {}
        self.walked: set[Path] = {self.fdir.resolve()} if self.fdir is not None else set()
        self.named: set[str] = set()  # function names a webhook or endpoint serves
        self.services: dict[str, Service] = {}
        self.routes: dict[str, list[tuple[str, str]]] = {}  # route -> [(method, "file $[i]")]
        self.secrets = SecretStore(environ)

    def _folder(self, given: Path | None, allowed: str) -> Path | None:
        if given is None:
            return None
        if not given.is_dir():
            self.report.add(str(given), "", f"{not_a_folder(given)}; allowed: {allowed}")
            return None
        return given.absolute()

    def _functions_folder(self, given: Path | None) -> Path | None:
        if given is not None:
            return self._folder(given, "a folder of function files (.py, .js)")
        own = self.root / "functions" if self.root is not None else None
        for candidate in (own, Path.cwd() / "functions"):
            if candidate is not None and candidate.is_dir():
                return candidate.absolute()
        return None

    def _function(self, fields: Fields, key: str, name: Any) -> FunctionSource | None:
        if not isinstance(name, str):
            return None
        if name in self.functions:
            return self.functions[name]
        if self.fdir is None:
            fields.problem(key, f"{show_value(name)} names no function file; there is no functions folder")
        else:
            places = " and ".join(self.report.show(self.fdir / f"{name}{ext}") for ext in LANGUAGES)
            fields.problem(key, f"{show_value(name)} names no function file; looked for {places}")
        return None

    # 5. secrets
    def _open_secrets(self) -> None:
        if self.root is None:
            return
        path = self.root / "secrets.json"
        shown, note, values = self.report.show(path), " (no such file)", {}
        if path.is_file():
            data = read_json(self.report, path)
            note = " (unreadable)" if data is UNREADABLE else ""
            if data is not UNREADABLE:
                configs = {name: service.secret_config for name, service in self.services.items()}
                values, problems = secrets_file_values(data, shown, configs)
                self.report.problems += problems
        self.secrets = SecretStore(self.environ, values, shown, note)

    def _secret(self, fields: Fields, key: str, name: str) -> tuple[str, str] | None:
        found = self.secrets.lookup(name)
        if found is None:
            fields.problem(key, self.secrets.missing(name))
        return found
