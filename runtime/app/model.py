"""The app as frozen values: webhooks, endpoints, the manifest, values, environments, auth and rules.

Owns: the model ``runtime.app.config`` reads an export into and the names of what an export
may declare (methods, validation methods, service types, layouts). Plain data: must not read
files or import anything of ``runtime``. Secret values never appear in a ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

VALIDATION_METHODS = ("NO_VALIDATION", "SECRET_AS_QUERY_PARAM", "VERIFY_PAYLOAD")
WEBHOOK_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "ANY")
ENDPOINT_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "*")
SERVICE_TYPES_WITH_WEBHOOKS = ("http", "github", "twilio")
RETURN_TYPES = ("JSON", "EJSON")
APP_FILES = ("realm_config.json", "root_config.json", "config.json", "stitch.json")
SERVICE_FOLDERS = ("services", "http_endpoints", "https_endpoints")
ENDPOINT_FILES = ("http_endpoints/config.json", "https_endpoints/config.json")
ENVIRONMENT_TAGS = ("", "development", "testing", "qa", "production")
ENVIRONMENT_VARIABLE = "ATLAS_FN_ENVIRONMENT"
LANGUAGES = {".py": "python", ".js": "javascript"}


@dataclass(frozen=True)
class FunctionSource:
    """One function file: its name (``a/b`` for nested ones) and where its source lives."""

    name: str
    path: Path
    language: str  # "python" (".py") or "javascript" (".js")


@dataclass(frozen=True)
class Webhook:
    """A legacy incoming webhook of an http, github or twilio service (contract §1, §2, §7.2)."""

    service: str
    service_type: str  # one of SERVICE_TYPES_WITH_WEBHOOKS
    name: str
    function: FunctionSource
    http_method: str  # one of WEBHOOK_METHODS
    validation_method: str  # one of VALIDATION_METHODS
    secret: str = field(default="", repr=False)  # a secret value: never in a repr or a log
    respond_result: bool = False
    # the raw rule expression (contract §2.6); out of repr: rules often compare with a shared secret
    can_evaluate: Any = field(default_factory=dict, repr=False)
    disable_arg_logs: bool = False
    config_file: Path | None = None  # None for a drop-in function file
    extra: Mapping[str, Any] = field(default_factory=dict)  # run_as_*, id and unknown fields, kept


@dataclass(frozen=True)
class Endpoint:
    """An HTTPS endpoint (contract §1, §2, §7.2)."""

    route: str
    http_method: str  # one of ENDPOINT_METHODS
    function: FunctionSource
    function_name: str
    validation_method: str
    secret: str = field(default="", repr=False)  # the resolved value of secret_name: never in a repr
    secret_name: str = ""
    respond_result: bool = False
    return_type: str = "JSON"
    disabled: bool = False
    can_evaluate: Any = field(default_factory=dict, repr=False)  # may hold a shared secret, as above
    config_file: Path | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # fetch_custom_user_data, … and unknown fields


@dataclass(frozen=True)
class ManifestEntry:
    """One entry of functions/config.json (contract §7.2)."""

    name: str
    private: bool = False
    run_as_system: bool = False
    can_evaluate: Any = field(default_factory=dict, repr=False)  # may hold a shared secret, as above
    disable_arg_logs: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)  # run_as_user_id and unknown fields, kept


PROVIDER_TYPES = ("api-key", "local-userpass", "custom-token", "anon-user")


@dataclass(frozen=True)
class Provider:
    """One authentication provider of the export (``auth/providers.json``, ``auth_providers/*.json``)."""

    name: str
    type: str  # one of PROVIDER_TYPES (others are kept but log nobody in)
    disabled: bool = False
    config: Mapping[str, Any] = field(default_factory=dict)
    signing_keys: tuple[str, ...] = field(default=(), repr=False)  # custom-token: secret values, never in a repr
    metadata_fields: tuple[Mapping[str, Any], ...] = ()
    file: str = ""  # where it was declared, for messages


@dataclass(frozen=True)
class CollectionRules:
    """The rules of one collection (``rules.json``), or the default rule (``collection`` ""), raw:
    ``runtime.app.snapshot`` compiles them (``runtime.contract.data_rules``)."""

    service: str
    database: str
    collection: str
    roles: tuple[Any, ...]
    filters: tuple[Any, ...]
    file: str  # shown path, for start-up problems


@dataclass(frozen=True)
class Auth:
    """What the export says about users: ``declared`` is False when it has no providers file at all
    (then every function runs as system, as before issue 13)."""

    declared: bool = False
    providers: tuple[Provider, ...] = ()
    custom_user_data: Mapping[str, Any] = field(default_factory=dict)  # auth/custom_user_data.json
    rules: tuple[CollectionRules, ...] = ()


@dataclass(frozen=True)
class App:
    root: Path
    app_id: str  # the client app id used in URLs (default "local")
    name: str
    functions_dir: Path | None
    webhooks: tuple[Webhook, ...] = ()
    endpoints: tuple[Endpoint, ...] = ()
    manifest: tuple[ManifestEntry, ...] = ()
    values: Mapping[str, Any] = field(default_factory=dict, repr=False)  # name -> resolved value (secrets too)
    environment_tag: str = ""
    environment_values: Mapping[str, Any] = field(default_factory=dict, repr=False)
    functions: tuple[FunctionSource, ...] = ()  # every function file of the functions folder, by name
    services: Mapping[str, str] = field(default_factory=dict)  # services/ and data_sources/: name -> type
    auth: Auth = field(default_factory=Auth)  # providers, custom user data, collection rules
