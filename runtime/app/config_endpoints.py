"""HTTPS endpoints: ``http_endpoints/config.json`` then ``https_endpoints/config.json`` (contract §1, §7.2).

Owns: step 6 of ``runtime.app.config`` — each endpoint's route (starting with ``/``, not under
the Data API's ``/data/v1/``), method, function, validation and the secret it names, and the
routes claimed so far (one enabled endpoint per route and method; ``*`` overlaps every method).
Must not run or compile code, or put a secret value into a problem.
"""

from __future__ import annotations

from runtime.app.config_files import UNREADABLE, Fields, read_json
from runtime.app.config_reader import A_FUNCTION, A_SECRET, NEEDS_SECRET, Reader
from runtime.app.model import ENDPOINT_FILES, ENDPOINT_METHODS, RETURN_TYPES, VALIDATION_METHODS, Endpoint
from runtime.values.shown import json_path, show_value

_ENDPOINT_FIELDS = (
    "route", "http_method", "function_name", "validation_method", "secret_name",
    "respond_result", "return_type", "disabled", "can_evaluate",
)  # fmt: skip


class EndpointsReader(Reader):
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
        function_name = fields.get("function_name", "a string", required=True, allowed=A_FUNCTION)
        function = self._function(fields, "function_name", function_name)
        if function is not None:
            self.named.add(function.name)
        validation = fields.choice("validation_method", VALIDATION_METHODS, "a validation method", "NO_VALIDATION")
        secret_name = fields.get("secret_name", "a string", "", allowed=A_SECRET)
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
        if validation not in NEEDS_SECRET or secret_name is None:
            return ""
        needs = f"validation_method {validation!r} needs a secret"
        if secret_name == "":
            state = "empty" if "secret_name" in fields.obj else "missing"
            fields.problem("secret_name", f"{state}, but {needs}; allowed: {A_SECRET}")
            return ""
        found = self._secret(fields, "secret_name", secret_name)
        if found is None:
            return ""
        if found[0] == "":
            empty = f"secret {secret_name!r} is empty in {found[1]}, but {needs}"
            fields.problem("secret_name", f"{empty}; allowed: a non-empty value")
        return found[0]
