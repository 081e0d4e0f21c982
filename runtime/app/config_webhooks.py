"""Services and their incoming webhooks, in every export layout (contract §7).

Owns: step 4 of ``runtime.app.config`` — ``services/<svc>/`` and 20210101
``http(s)_endpoints/<svc>/`` folders, each service's type and ``secret_config``, and each
``incoming_webhooks/<name>/config.json`` with its options and its source (its own
``source.py|js``, else the function file of its name). Must not run or compile code, or show
a webhook's ``options.secret`` in a problem (only its JSON type).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runtime.app.config_files import Fields, read_object, subfolders
from runtime.app.config_reader import NEEDS_SECRET, RUN_AS_STRINGS, Reader, Service
from runtime.app.model import (LANGUAGES, SERVICE_FOLDERS, SERVICE_TYPES_WITH_WEBHOOKS, VALIDATION_METHODS,
                               WEBHOOK_METHODS, FunctionSource, Webhook)
from runtime.values.shown import show_value

_WEBHOOK_FIELDS = ("name", "options", "respond_result", "can_evaluate", "disable_arg_logs")


class WebhooksReader(Reader):
    # 4. services and their webhooks
    def _services_and_webhooks(self) -> list[Webhook]:
        webhooks: list[Webhook] = []
        for parent in SERVICE_FOLDERS if self.root is not None else ():
            for folder in subfolders(self.root / parent):
                service = self._service(folder, parent)
                if service is not None:
                    webhooks += self._webhooks(service)
        return webhooks

    def _service(self, folder: Path, parent: str) -> Service | None:
        config, hooks = folder / "config.json", folder / "incoming_webhooks"
        if not config.is_file():
            if not hooks.is_dir():
                return None
            if parent != "services":
                return self._register(Service(folder.name, "http", folder, {}))
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
        service = self._register(Service(folder.name, kind, folder, secret_config))
        if service is not None and hooks.is_dir() and kind not in SERVICE_TYPES_WITH_WEBHOOKS:
            cannot = f"{show_value(kind)} cannot have incoming webhooks ({self.report.show(hooks)})"
            fields.problem("type", f"{cannot}; allowed: {', '.join(SERVICE_TYPES_WITH_WEBHOOKS)}")
            return None
        return service

    def _register(self, service: Service) -> Service | None:
        earlier = self.services.get(service.name)
        if earlier is not None:
            also = f"service {service.name!r} is also defined by {self.report.show(earlier.folder)}"
            self.report.add(service.folder, "", f"{also}; allowed: one folder per service")
            return None
        self.services[service.name] = service
        return service

    def _webhooks(self, service: Service) -> list[Webhook]:
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

    def _webhook(self, service: Service, folder: Path, fields: Fields) -> Webhook:
        fields.name_matches(folder.name, "folder name")
        method, validation, secret = self._webhook_options(fields.child("options", hide=True), service.type)
        fields.strings(*RUN_AS_STRINGS)
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
        if validation in NEEDS_SECRET and (raw is None or raw == ""):
            state = "empty" if raw == "" else "missing"
            needs = f"validationMethod {validation!r} needs a secret"
            options.problem("secret", f"{state}, but {needs}; allowed: a non-empty string")
        return method, validation, secret

    def _webhook_source(self, service: Service, folder: Path, fields: Fields) -> FunctionSource | None:
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
