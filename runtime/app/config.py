"""What an App Services app declares: the export tree read into frozen values.

Owns: reading an exported app folder (any config_version layout, contract §7) plus the
functions folder, and turning it into an ``App``; collecting *every* problem with its file
and JSON path and raising them together as one ``ConfigError``. Must not run or compile code.
Secret values come from ``runtime.app.secrets`` and never appear in a problem. This module holds
the order and steps 1, 7 and 8; the state of a load and step 5 are ``config_reader``, steps 2, 3
and 9 ``config_functions``, step 4 ``config_webhooks``, step 6 ``config_endpoints`` (all in
``runtime.app``); reading one JSON file, typed, is ``config_files``.

Read, in this order (problems are reported in the same order; folders are walked sorted):

1. the app file: the first of ``realm_config.json``, ``root_config.json``, ``config.json``,
   ``stitch.json``; ``client_app_id``, else ``app_id``, else ``"local"`` is the URL app id
   (20230101 keeps the ObjectId in ``app_id``); ``name``, else the folder name.
2. function files ``**/*.py`` and ``**/*.js`` of the functions folder (where both ``x.py`` and
   ``x.js`` exist, ``x.py`` — a Python port of the exported function — is the function) (``functions_dir``, else
   the app's ``functions/``, else ``./functions``), named by relative path without extension
   (``endpoints/greet``); hidden entries, ``__pycache__``, ``node_modules`` and ``config.json``
   files are skipped, and each folder is walked once (symlink loops). A top-level folder
   holding both ``config.json`` and ``source.py|js`` is a 20180301 function named after it.
3. the manifest ``functions/config.json`` (an array) and the 20180301 ``functions/<f>/config.json``.
4. services ``services/<svc>/`` and 20210101 ``http(s)_endpoints/<svc>/`` with their
   ``incoming_webhooks/<name>/config.json``.
5. ``secrets.json``; 6. endpoints ``http_endpoints/config.json`` then ``https_endpoints/config.json``;
7. ``values/*.json``; 8. ``environments/*.json``; 10. auth providers, custom user data and data
   rules (``config_auth``); 9. drop-in webhooks for function files no config names (the manifest included).

Decisions where the contract is silent (an App Services user's expectations):

* Files are shown ``/``-separated relative to the parent of the app folder (``app/values/x.json``),
  or of the functions folder for files outside the app; a missing folder is shown as given.
* ``null`` counts as absent. Enumerations are case-sensitive (``"get"`` is not a method).
  ``""`` as ``validationMethod``/``validation_method`` means NO_VALIDATION and as
  ``return_type`` means JSON (Go zero values, as Data API configs write them).
* A webhook's own ``source.py|js`` is a ``FunctionSource`` named
  ``<service>/incoming_webhooks/<webhook>``; the functions-folder fallback uses that file.
* ``services/<svc>/`` needs a ``config.json`` only when it holds ``incoming_webhooks/``;
  ``http(s)_endpoints/<svc>/`` defaults to type ``http``. Service and webhook ``name``
  fields must equal their folder names; one service name may be defined once.
* An endpoint's ``secret_name`` is resolved only when its validation method uses a secret;
  a resolved secret that is empty is then a problem (it would accept anyone).
* A missing secret is one problem per place that names it (file and JSON path).
* ``environments/<tag>.json`` is selected by ``ATLAS_FN_ENVIRONMENT``; the empty tag selects
  ``no-environment.json`` (what exports write). Every environment file is checked.
* ``can_evaluate`` is checked here only for its type (object or boolean); which operators are
  supported (§2.6) is for the module that evaluates it.
* Drop-ins are the function files no webhook, endpoint or manifest entry names: an exported
  app's helper functions (listed in its manifest, often ``private``) never become URLs.
* ``App.root`` is the app folder, else the functions folder, else the current directory.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Mapping

from runtime.app.config_auth import AuthReader
from runtime.app.config_endpoints import EndpointsReader
from runtime.app.config_files import Fields, json_files, read_object, subfolders
from runtime.app.config_functions import FunctionsReader
from runtime.app.config_reader import A_SECRET
from runtime.app.config_webhooks import WebhooksReader
from runtime.app.model import (APP_FILES, ENDPOINT_FILES, ENDPOINT_METHODS, ENVIRONMENT_TAGS, ENVIRONMENT_VARIABLE,  # noqa: F401 - re-exported
                               LANGUAGES, RETURN_TYPES, SERVICE_FOLDERS, SERVICE_TYPES_WITH_WEBHOOKS, VALIDATION_METHODS,
                               WEBHOOK_METHODS, App, Endpoint, FunctionSource, ManifestEntry, Webhook)
from runtime.errors import ConfigError, ConfigProblem
from runtime.values.shown import show_value


def load_app(
    app_dir: Path | None, functions_dir: Path | None = None, environ: Mapping[str, str] = os.environ
) -> App:
    """Read the app folder and functions folder; raise ``ConfigError`` with every problem."""
    app, problems, _ = read_app(app_dir, functions_dir, environ)
    if problems:
        raise ConfigError(problems)
    return app


def read_app(
    app_dir: Path | None, functions_dir: Path | None = None, environ: Mapping[str, str] = os.environ
) -> tuple[App, list[ConfigProblem], Callable[[Path], str]]:
    """Read what can be read: the (possibly partial) app, every problem, and how this app shows
    a path in messages — so start-up can add the function files' compile problems to the same
    report (runtime.app.snapshot). A partial app holds no webhook or endpoint without a function file."""
    loader = _Loader(app_dir, functions_dir, environ)
    app = loader.load()
    return app, list(loader.report.problems), loader.report.show


# --- the loader: the steps in order; each step's module extends config_reader.Reader -------------


class _Loader(FunctionsReader, WebhooksReader, EndpointsReader, AuthReader):
    """One load: the steps in reading order (the module docstring); the app they read."""

    def load(self) -> App:
        app_id, name = self._identity()
        self._discover_functions()
        manifest = self._manifest()
        webhooks = self._services_and_webhooks()
        self._open_secrets()
        endpoints = self._endpoints()
        values = self._values()
        tag, environment_values = self._environment()
        services = {**{name: service.type for name, service in self.services.items()}, **self._data_sources()}
        auth = self._auth()
        webhooks += self._drop_ins(webhooks, {entry.name for entry in manifest})
        # A webhook or endpoint whose function, route or method is wrong is already a problem; the
        # partial app leaves it out, so what start-up does next (runtime.app.snapshot: compile
        # every file, build the route table) has a file, a route and a method for every one.
        webhooks = [hook for hook in webhooks if hook.function is not None and hook.http_method is not None]
        endpoints = [endpoint for endpoint in endpoints
                     if endpoint.function is not None and endpoint.route is not None and endpoint.http_method is not None]
        return App(
            root=self.root or self.fdir or Path.cwd(), app_id=app_id, name=name, functions_dir=self.fdir,
            webhooks=tuple(sorted(webhooks, key=lambda hook: (hook.service, hook.name))),
            endpoints=tuple(endpoints), manifest=tuple(sorted(manifest, key=lambda entry: entry.name)),
            values=values, environment_tag=tag, environment_values=environment_values,
            functions=tuple(self.functions[key] for key in sorted(self.functions)), services=services, auth=auth,
        )  # fmt: skip

    # 4b. data sources (20210101 and later): data_sources/<name>/config.json, {"name", "type"}
    def _data_sources(self) -> dict[str, str]:
        found: dict[str, str] = {}
        if self.root is None:
            return found
        for folder in subfolders(self.root / "data_sources"):
            config = folder / "config.json"
            fields = read_object(self.report, config) if config.is_file() else None
            if fields is None:
                continue
            name = fields.get("name", "a string", folder.name)
            kind = fields.get("type", "a string", None, required=True)
            if name is not None and kind is not None:
                found[name] = kind
        return found

    # 1. the app file
    def _identity(self) -> tuple[str, str]:
        if self.root is None:
            return "local", "local"
        for file_name in APP_FILES:
            if (self.root / file_name).is_file():
                doc = read_object(self.report, self.root / file_name)
                if doc is None:
                    break
                app_id = doc.get("client_app_id", "a string") or doc.get("app_id", "a string")
                return app_id or "local", doc.get("name", "a string") or self.root.name
        return "local", self.root.name

    # 7. values
    def _values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for path in json_files(self.root / "values" if self.root is not None else None):
            fields = read_object(self.report, path)
            if fields is None:
                continue
            name = fields.get("name", "a string", required=True)
            if name is not None and name != path.stem:
                mismatch = f"{show_value(name)} does not match its file name {path.name!r}"
                fields.problem("name", f"{mismatch}; allowed: {path.stem!r}")
            values[path.stem] = self._value(fields)
        return values

    def _value(self, fields: Fields) -> Any:
        from_secret = fields.get("from_secret", "a boolean", False)
        if not from_secret:
            if "value" not in fields.obj:
                fields.problem("value", "missing; allowed: any JSON value")
            return fields.obj.get("value")
        secret_name = fields.get("value", "a string", required=True, allowed=A_SECRET)
        if secret_name == "":
            fields.problem("value", f"empty, but from_secret is true; allowed: {A_SECRET}")
        found = self._secret(fields, "value", secret_name) if secret_name else None
        return found[0] if found is not None else None

    # 8. environments
    def _environment(self) -> tuple[str, dict[str, Any]]:
        tag = self.environ.get(ENVIRONMENT_VARIABLE, "")
        if tag not in ENVIRONMENT_TAGS:
            allowed = "'' (none), " + ", ".join(ENVIRONMENT_TAGS[1:])
            where = f"environment variable {ENVIRONMENT_VARIABLE}"
            self.report.add(where, "", f"{show_value(tag)} is not an environment; allowed: {allowed}")
        selected: dict[str, Any] = {}
        for path in json_files(self.root / "environments" if self.root is not None else None):
            fields = read_object(self.report, path)
            values = fields.get("values", "an object", {}) if fields is not None else None
            if path.stem == (tag or "no-environment") and values is not None:
                selected = values
        return tag, selected
