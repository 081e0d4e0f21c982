"""What an App Services app declares: the export tree read into frozen values.

Owns: reading an exported app folder (any config_version layout, contract §7) plus the
functions folder, and turning it into an ``App``; collecting *every* problem with its file
and JSON path and raising them together as one ``ConfigError``. Must not run or compile code.
Secret values come from ``runtime.app.secrets`` and never appear in a problem.

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
7. ``values/*.json``; 8. ``environments/*.json``; 9. drop-in webhooks for function files no config names (the manifest included).

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from runtime.app.config_files import (UNREADABLE, Fields, Report, json_files, not_a_folder, read_json, read_object,
                                  subfolders, visible)
from runtime.errors import ConfigError, ConfigProblem
from runtime.app.secrets import SecretStore, secrets_file_values
from runtime.values.shown import json_path, show_value
from runtime.app.model import (APP_FILES, ENDPOINT_FILES, ENDPOINT_METHODS, ENVIRONMENT_TAGS, ENVIRONMENT_VARIABLE,  # noqa: F401 - re-exported
                               LANGUAGES, RETURN_TYPES, SERVICE_FOLDERS, SERVICE_TYPES_WITH_WEBHOOKS, VALIDATION_METHODS,
                               WEBHOOK_METHODS, App, Endpoint, FunctionSource, ManifestEntry, Webhook)

_SKIPPED_FOLDERS = ("__pycache__", "node_modules")
_NEEDS_SECRET = ("SECRET_AS_QUERY_PARAM", "VERIFY_PAYLOAD")


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


# --- the loader ----------------------------------------------------------------------------

_WEBHOOK_FIELDS = ("name", "options", "respond_result", "can_evaluate", "disable_arg_logs")
_ENDPOINT_FIELDS = (
    "route", "http_method", "function_name", "validation_method", "secret_name",
    "respond_result", "return_type", "disabled", "can_evaluate",
)  # fmt: skip
_MANIFEST_FIELDS = ("name", "private", "run_as_system", "can_evaluate", "disable_arg_logs")
_RUN_AS_STRINGS = ("id", "run_as_user_id", "run_as_user_id_script_source")
_A_FUNCTION = "the name of a function file"
_A_SECRET = "the name of a secret"


@dataclass(frozen=True)
class _Service:
    name: str
    type: str
    folder: Path
    secret_config: Mapping[str, str]


class _Loader:
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
        self.services: dict[str, _Service] = {}
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

    def load(self) -> App:
        app_id, name = self._identity()
        self._discover_functions()
        manifest = self._manifest()
        webhooks = self._services_and_webhooks()
        self._open_secrets()
        endpoints = self._endpoints()
        values = self._values()
        tag, environment_values = self._environment()
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
            functions=tuple(self.functions[key] for key in sorted(self.functions)),
        )  # fmt: skip

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

    # 2. function files
    def _discover_functions(self) -> None:
        for path, name in self._function_files(self.fdir, ""):
            earlier = self.functions.get(name)
            if earlier is not None and {earlier.path.suffix, path.suffix} == {".py", ".js"}:
                # A Python port beside the exported JavaScript: the port is the function.
                if path.suffix == ".py":
                    self.functions[name] = FunctionSource(name, path, LANGUAGES[path.suffix])
                continue
            if earlier is not None:
                also = f"function {name!r} is also defined by {self.report.show(earlier.path)}"
                self.report.add(path, "", f"{also}; allowed: one file per function name")
                continue
            self.functions[name] = FunctionSource(name, path, LANGUAGES[path.suffix])

    def _function_files(self, folder: Path | None, prefix: str) -> Iterator[tuple[Path, str]]:
        for entry in visible(folder):
            if entry.is_dir() and entry.name not in _SKIPPED_FOLDERS and self._first_visit(entry):
                legacy = not prefix and self._is_legacy_function(entry)
                if legacy:
                    self.legacy_configs[entry.name] = entry / "config.json"
                for path, name in self._function_files(entry, f"{prefix}{entry.name}/"):
                    own_source = legacy and path.parent == entry and path.stem == "source"
                    yield path, entry.name if own_source else name
            elif entry.is_file() and entry.suffix in LANGUAGES:
                yield entry, f"{prefix}{entry.stem}"

    def _first_visit(self, folder: Path) -> bool:
        """False for a folder already walked (a symlink loop or a second link to it)."""
        real = folder.resolve()
        if real in self.walked:
            return False
        self.walked.add(real)
        return True

    @staticmethod
    def _is_legacy_function(folder: Path) -> bool:
        has_source = any((folder / f"source{ext}").is_file() for ext in LANGUAGES)
        return has_source and (folder / "config.json").is_file()

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

    # 3. the manifest
    def _manifest(self) -> list[ManifestEntry]:
        entries: dict[str, tuple[ManifestEntry, str]] = {}
        path = self.fdir / "config.json" if self.fdir is not None else None
        data = read_json(self.report, path) if path is not None and path.is_file() else []
        if not isinstance(data, list) and data is not UNREADABLE:
            allowed = "allowed: a JSON array of function entries"
            self.report.add(path, "$", f"{show_value(data)} is not an array; {allowed}")
        for index, item in enumerate(data if isinstance(data, list) else []):
            if not isinstance(item, dict):
                self.report.add(path, json_path("$", index), f"{show_value(item)} is not an object; allowed: a JSON object")
                continue
            fields = Fields(self.report, path, item, json_path("$", index))
            name = fields.get("name", "a string", required=True, allowed=_A_FUNCTION)
            if self._function(fields, "name", name) is not None:
                self._add_entry(entries, fields, name)
        for name, config in sorted(self.legacy_configs.items()):
            fields = read_object(self.report, config)
            if fields is not None:
                fields.name_matches(name, "folder name")
                self._add_entry(entries, fields, name)
        return [entry for entry, _ in entries.values()]

    def _add_entry(self, entries: dict[str, tuple[ManifestEntry, str]], fields: Fields, name: str) -> None:
        if name in entries:
            already = f"{show_value(name)} already has an entry at {entries[name][1]}"
            fields.problem("name", f"{already}; allowed: one entry per function")
            return
        fields.strings(*_RUN_AS_STRINGS)
        entry = ManifestEntry(
            name=name, private=fields.get("private", "a boolean", False),
            run_as_system=fields.get("run_as_system", "a boolean", False),
            can_evaluate=fields.get("can_evaluate", "a rule expression", {}),
            disable_arg_logs=fields.get("disable_arg_logs", "a boolean", False),
            extra=fields.extra(_MANIFEST_FIELDS),
        )  # fmt: skip
        entries[name] = (entry, f"{self.report.show(fields.file)} {fields.at}")

    # 4. services and their webhooks
    def _services_and_webhooks(self) -> list[Webhook]:
        webhooks: list[Webhook] = []
        for parent in SERVICE_FOLDERS if self.root is not None else ():
            for folder in subfolders(self.root / parent):
                service = self._service(folder, parent)
                if service is not None:
                    webhooks += self._webhooks(service)
        return webhooks

    def _service(self, folder: Path, parent: str) -> _Service | None:
        config, hooks = folder / "config.json", folder / "incoming_webhooks"
        if not config.is_file():
            if not hooks.is_dir():
                return None
            if parent != "services":
                return self._register(_Service(folder.name, "http", folder, {}))
            allowed = "allowed: a config.json whose type is http, github or twilio"
            self.report.add(config, "", f"missing, but {self.report.show(hooks)} needs its service type; {allowed}")
            return None
        fields = read_object(self.report, config)
        if fields is None:
            return None
        fields.name_matches(folder.name, "folder name")
        default = None if parent == "services" else "http"
        kind = fields.get("type", "a string", default, required=default is None)
        names = fields.child("secret_config")
        secret_config = {key: name for key in names.obj if (name := names.get(key, "a string")) is not None}
        if kind is None:
            return None
        service = self._register(_Service(folder.name, kind, folder, secret_config))
        if service is not None and hooks.is_dir() and kind not in SERVICE_TYPES_WITH_WEBHOOKS:
            cannot = f"{show_value(kind)} cannot have incoming webhooks ({self.report.show(hooks)})"
            fields.problem("type", f"{cannot}; allowed: {', '.join(SERVICE_TYPES_WITH_WEBHOOKS)}")
            return None
        return service

    def _register(self, service: _Service) -> _Service | None:
        earlier = self.services.get(service.name)
        if earlier is not None:
            also = f"service {service.name!r} is also defined by {self.report.show(earlier.folder)}"
            self.report.add(service.folder, "", f"{also}; allowed: one folder per service")
            return None
        self.services[service.name] = service
        return service

    def _webhooks(self, service: _Service) -> list[Webhook]:
        webhooks = []
        for folder in subfolders(service.folder / "incoming_webhooks"):
            config = folder / "config.json"
            if not config.is_file():
                self.report.add(config, "", "missing; allowed: a config.json in every incoming webhook folder")
                continue
            fields = read_object(self.report, config, hide=True)
            if fields is not None:
                webhooks.append(self._webhook(service, folder, fields))
        return webhooks

    def _webhook(self, service: _Service, folder: Path, fields: Fields) -> Webhook:
        fields.name_matches(folder.name, "folder name")
        method, validation, secret = self._webhook_options(fields.child("options", hide=True), service.type)
        fields.strings(*_RUN_AS_STRINGS)
        fields.get("run_as_authed_user", "a boolean")
        return Webhook(
            service=service.name, service_type=service.type, name=folder.name,
            function=self._webhook_source(service, folder, fields), http_method=method,
            validation_method=validation, secret=secret,
            respond_result=fields.get("respond_result", "a boolean", False),
            can_evaluate=fields.get("can_evaluate", "a rule expression", {}),
            disable_arg_logs=fields.get("disable_arg_logs", "a boolean", False),
            config_file=fields.file, extra=fields.extra(_WEBHOOK_FIELDS),
        )  # fmt: skip

    def _webhook_options(self, options: Fields, service_type: str) -> tuple[Any, Any, Any]:
        if service_type == "twilio":
            return "ANY", "NO_VALIDATION", ""
        raw = options.obj.get("secret")
        secret = options.get("secret", "a string", "", hide=True) or ""
        if service_type == "github":
            return "ANY", "VERIFY_PAYLOAD" if secret else "NO_VALIDATION", secret
        method = options.choice("httpMethod", WEBHOOK_METHODS, "an HTTP method")
        validation = options.choice("validationMethod", VALIDATION_METHODS, "a validation method", "NO_VALIDATION")
        if validation in _NEEDS_SECRET and (raw is None or raw == ""):
            state = "empty" if raw == "" else "missing"
            needs = f"validationMethod {validation!r} needs a secret"
            options.problem("secret", f"{state}, but {needs}; allowed: a non-empty string")
        return method, validation, secret

    def _webhook_source(self, service: _Service, folder: Path, fields: Fields) -> FunctionSource | None:
        # source.py first: a Python port beside the exported source.js is the one that runs
        found = [folder / f"source{ext}" for ext in LANGUAGES if (folder / f"source{ext}").is_file()]
        if found:
            name = f"{service.name}/incoming_webhooks/{folder.name}"
            return FunctionSource(name, found[0], LANGUAGES[found[0].suffix])
        if folder.name in self.functions:
            self.named.add(folder.name)
            return self.functions[folder.name]
        if self.fdir is None:
            then = f"a function file {folder.name!r} (there is no functions folder)"
        else:
            then = " and ".join(self.report.show(self.fdir / f"{folder.name}{ext}") for ext in LANGUAGES)
        looked = f"looked for source.py and source.js beside this file, then {then}"
        self.report.add(fields.file, "", f"no source; {looked}")
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

    # 6. endpoints
    def _endpoints(self) -> list[Endpoint]:
        endpoints = []
        for relative in ENDPOINT_FILES if self.root is not None else ():
            path = self.root / relative
            data = read_json(self.report, path) if path.is_file() else []
            if not isinstance(data, list):
                if data is not UNREADABLE:
                    self.report.add(path, "$", f"{show_value(data)} is not an array; allowed: a JSON array of endpoints")
                continue
            for index, item in enumerate(data):
                if not isinstance(item, dict):
                    self.report.add(path, json_path("$", index), f"{show_value(item)} is not an object; allowed: a JSON object")
                    continue
                endpoints.append(self._endpoint(Fields(self.report, path, item, json_path("$", index))))
        return endpoints

    def _endpoint(self, fields: Fields) -> Endpoint:
        route = self._route(fields)
        method = fields.choice("http_method", ENDPOINT_METHODS, "an HTTP method")
        function_name = fields.get("function_name", "a string", required=True, allowed=_A_FUNCTION)
        function = self._function(fields, "function_name", function_name)
        if function is not None:
            self.named.add(function.name)
        validation = fields.choice("validation_method", VALIDATION_METHODS, "a validation method", "NO_VALIDATION")
        secret_name = fields.get("secret_name", "a string", "", allowed=_A_SECRET)
        disabled = fields.get("disabled", "a boolean", False)
        for key in ("fetch_custom_user_data", "create_user_on_auth"):
            fields.get(key, "a boolean")
        if route is not None and method is not None and not disabled:
            self._claim_route(fields, route, method)
        return Endpoint(
            route=route, http_method=method, function=function, function_name=function_name,
            validation_method=validation, secret=self._endpoint_secret(fields, validation, secret_name),
            secret_name=secret_name, respond_result=fields.get("respond_result", "a boolean", False),
            return_type=fields.choice("return_type", RETURN_TYPES, "a return type", "JSON"),
            disabled=disabled, can_evaluate=fields.get("can_evaluate", "a rule expression", {}),
            config_file=fields.file, extra=fields.extra(_ENDPOINT_FIELDS),
        )  # fmt: skip

    @staticmethod
    def _route(fields: Fields) -> str | None:
        route = fields.get("route", "a string", required=True, allowed="a route starting with /")
        if route is None:
            return None
        if not route.startswith("/"):
            example = show_value("/" + route)
            fields.problem("route", f"{show_value(route)} does not start with /; allowed: a route like {example}")
            return None
        if route == "/data/v1" or route.startswith("/data/v1/"):
            reserved = f"{show_value(route)} is under /data/v1/, which the Data API reserves"
            fields.problem("route", f"{reserved}; allowed: any other route")
            return None
        return route

    def _claim_route(self, fields: Fields, route: str, method: str) -> None:
        taken = self.routes.setdefault(route, [])
        for other, place in taken:
            if other == method:
                clash = f"route {route!r} with method {method!r} is already served by {place}"
                allowed = "one enabled endpoint per route and method"
            elif "*" in (other, method):
                clash = f"method {method!r} on route {route!r} overlaps method {other!r} at {place}"
                allowed = "either '*' or explicit methods on one route"
            else:
                continue
            self.report.add(fields.file, fields.at, f"{clash}; allowed: {allowed}")
            return
        taken.append((method, f"{self.report.show(fields.file)} {fields.at}"))

    def _endpoint_secret(self, fields: Fields, validation: str | None, secret_name: str | None) -> str:
        if validation not in _NEEDS_SECRET or secret_name is None:
            return ""
        needs = f"validation_method {validation!r} needs a secret"
        if secret_name == "":
            state = "empty" if "secret_name" in fields.obj else "missing"
            fields.problem("secret_name", f"{state}, but {needs}; allowed: {_A_SECRET}")
            return ""
        found = self._secret(fields, "secret_name", secret_name)
        if found is None:
            return ""
        if found[0] == "":
            empty = f"secret {secret_name!r} is empty in {found[1]}, but {needs}"
            fields.problem("secret_name", f"{empty}; allowed: a non-empty value")
        return found[0]

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
        secret_name = fields.get("value", "a string", required=True, allowed=_A_SECRET)
        if secret_name == "":
            fields.problem("value", f"empty, but from_secret is true; allowed: {_A_SECRET}")
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

    # 9. drop-ins
    def _drop_ins(self, webhooks: list[Webhook], in_manifest: set[str]) -> list[Webhook]:
        """Function files no config names — neither a webhook, an endpoint nor the manifest —
        become webhooks. The manifest counts: an exported app's helper functions (often
        ``private``) are listed there and must not turn into public URLs."""
        configured = {hook.name: hook for hook in webhooks if hook.service == "http"}
        drop_ins = []
        for name in sorted(set(self.functions) - self.named - in_manifest):
            function = self.functions[name]
            clash = configured.get(name)
            if clash is not None:
                defined = f"which {self.report.show(clash.config_file)} already defines"
                fix = "rename the file, or delete that webhook's source file so it serves this one"
                clash_text = f"would become the drop-in webhook http/{name}, {defined}"
                self.report.add(function.path, "", f"{clash_text}; allowed: {fix}")
                continue
            drop_ins.append(Webhook(
                service="http", service_type="http", name=name, function=function, http_method="ANY",
                validation_method="NO_VALIDATION", respond_result=True, config_file=None,
            ))  # fmt: skip
        return drop_ins
