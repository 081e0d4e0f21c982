"""Users and data rules of an export: auth providers, custom user data, collection rules (issue 13).

Owns: step 10 of ``runtime.app.config`` — ``auth/providers.json`` (20210101 and later: an object
of provider name → provider) or ``auth_providers/*.json`` (older layouts: one provider per file),
each ``{name, type, disabled, config, secret_config, metadata_fields}``; a ``custom-token``
provider's ``secret_config.signingKeys`` names App Secrets, resolved here (their values never in a
problem); ``auth/custom_user_data.json``; and the data rules: ``data_sources/<svc>/default_rule.json``
and ``data_sources/<svc>/<db>/<coll>/rules.json`` (20210101 and later), ``services/<svc>/rules/*.json``
and ``services/<svc>/default_rule.json`` (older layouts), read raw (which expressions are
supported is ``runtime.contract.data_rules``'s to say, at start-up). Must not run code, compile
rule expressions, or put a secret value into a problem.
"""

from __future__ import annotations

from pathlib import Path

from runtime.app.config_files import UNREADABLE, Fields, json_files, read_json, read_object, subfolders
from runtime.app.config_reader import A_SECRET, Reader
from runtime.app.model import PROVIDER_TYPES, Auth, CollectionRules, Provider
from runtime.values.shown import json_path, show_value

SIGNING_ALGORITHMS = ("HS256", "RS256")  # what App Services' custom JWT provider offers


class AuthReader(Reader):
    # 10. auth providers, custom user data, data rules
    def _auth(self) -> Auth:
        if self.root is None:
            return Auth()
        providers: list[Provider] = []
        declared = False
        modern = self.root / "auth" / "providers.json"
        if modern.is_file():
            declared = True
            data = read_json(self.report, modern)
            if data is not UNREADABLE and not isinstance(data, dict):
                self.report.add(modern, "$", f"{show_value(data)} is not an object; allowed: an object of provider name -> provider")
            elif isinstance(data, dict):
                for key, item in data.items():
                    at = json_path("$", key)
                    if not isinstance(item, dict):
                        self.report.add(modern, at, f"{show_value(item)} is not an object; allowed: a provider object")
                        continue
                    providers.append(self._provider(Fields(self.report, modern, item, at), key))
        legacy = self.root / "auth_providers"
        if legacy.is_dir():
            declared = True
            for path in json_files(legacy):
                fields = read_object(self.report, path, hide=True)
                if fields is not None:
                    providers.append(self._provider(fields, None))
        custom = self.root / "auth" / "custom_user_data.json"
        custom_data = read_object(self.report, custom) if custom.is_file() else None
        return Auth(declared, tuple(providers), dict(custom_data.obj) if custom_data is not None else {}, tuple(self._rules()))

    def _provider(self, fields: Fields, key: str | None) -> Provider:
        kind = fields.get("type", "a string", required=True, allowed=", ".join(PROVIDER_TYPES))
        name = fields.get("name", "a string", key or kind or "")
        if key is not None and name != key:
            fields.problem("name", f"{show_value(name)} does not match its key {key!r}; allowed: {key!r}")
        if kind is not None and kind not in PROVIDER_TYPES and not fields.get("disabled", "a boolean", False):
            fields.problem("type", f"{show_value(kind)} is a provider atlas-fn cannot log users in with; "
                                   f"allowed: {', '.join(PROVIDER_TYPES)}, or \"disabled\": true")
        config = fields.child("config")
        keys: list[str] = []
        if kind == "custom-token":
            algorithm = config.get("signingAlgorithm", "a string", "HS256")
            if algorithm not in SIGNING_ALGORITHMS and algorithm is not None:
                config.problem("signingAlgorithm", f"{show_value(algorithm)} is not a signing algorithm; "
                                                   f"allowed: {', '.join(SIGNING_ALGORITHMS)}")
            if config.get("useJWKURI", "a boolean", False):
                config.problem("useJWKURI", "true, but atlas-fn does not fetch JSON Web Key sets; allowed: false, "
                                            "with signingKeys naming secrets")
            names = fields.child("secret_config").obj.get("signingKeys")
            if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
                fields.problem("secret_config", f"{show_value(names)} names no signing keys; allowed: "
                                                f'{{"signingKeys": [{A_SECRET}, ...]}}')
            else:
                for index, secret_name in enumerate(names):
                    found = self.secrets.lookup(secret_name)
                    if found is None:
                        self.report.add(fields.file, json_path(fields.where("secret_config"), "signingKeys") + f"[{index}]",
                                        self.secrets.missing(secret_name))
                    else:
                        keys.append(found[0])
        metadata = fields.obj.get("metadata_fields") or []
        if not isinstance(metadata, list) or not all(isinstance(m, dict) and isinstance(m.get("name"), str) for m in metadata):
            fields.problem("metadata_fields", f"{show_value(metadata)} is not a list of fields; allowed: "
                                              '[{"name": <claim path>, "field_name": <name>, "required": <bool>}, ...]')
            metadata = []
        return Provider(name or "", kind or "", bool(fields.get("disabled", "a boolean", False)), dict(config.obj),
                        tuple(keys), tuple(metadata), f"{self.report.show(fields.file)} {fields.at}")

    def _rules(self) -> list[CollectionRules]:
        found: list[CollectionRules] = []
        root = self.root
        assert root is not None
        for service in subfolders(root / "data_sources"):
            found += self._default_rule(service)
            for database in subfolders(service):
                for collection in subfolders(database):
                    path = collection / "rules.json"
                    if path.is_file():
                        found += self._rule_file(path, service.name, database.name, collection.name)
        for service in subfolders(root / "services"):
            known = self.services.get(service.name)
            if known is None or known.type != "mongodb-atlas":  # an HTTP service's rules/ are its action rules
                continue
            found += self._default_rule(service)
            for path in json_files(service / "rules"):
                found += self._rule_file(path, service.name, None, None)
        return found

    def _default_rule(self, service: Path) -> list[CollectionRules]:
        path = service / "default_rule.json"
        return self._rule_file(path, service.name, "", "") if path.is_file() else []

    def _rule_file(self, path: Path, service: str, database: str | None, collection: str | None) -> list[CollectionRules]:
        fields = read_object(self.report, path, hide=True)
        if fields is None:
            return []
        if database is None:  # older layouts name the namespace inside the file
            database = fields.get("database", "a string", required=True) or ""
            collection = fields.get("collection", "a string", required=True) or ""
            if not database or not collection:
                return []
        roles = fields.obj.get("roles", [])
        filters = fields.obj.get("filters", [])
        for key, value in (("roles", roles), ("filters", filters)):
            if not isinstance(value, list):
                fields.problem(key, f"{show_value(value)} is not an array; allowed: a JSON array of {key[:-1]} objects")
        return [CollectionRules(service, database, collection or "", tuple(roles if isinstance(roles, list) else ()),
                                tuple(filters if isinstance(filters, list) else ()), self.report.show(path))]

