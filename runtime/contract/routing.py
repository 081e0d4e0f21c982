"""The URL contract: (method, path) → the webhook or endpoint that serves it, or 404/405 (§1).

Owns: the webhook and endpoint URL shapes, which methods each serves (HEAD included), the
routing-failure errors and their messages, and the startup route table. Built once per app;
``resolve`` is one dict hit on the path and one on the method. Must not: see aiohttp objects,
validate requests, or do I/O. ``path`` is the decoded URL path, without the query string;
``raw_path`` is the path as sent (aiohttp's ``request.raw_path``, query string allowed).

Encoded slashes: the decoded path turns ``%2F`` into ``/``, so ``/app/x/endpoint/a%2Fb`` would
be served by the route ``/a/b`` although a proxy that filters the raw path saw no ``/a/b``.
Given the raw path, ``resolve`` refuses (404) a ``%2F`` or ``%2f`` anywhere in an endpoint URL
and in a webhook URL before its name (the prefix, app id and service segments); a webhook
name may hold ``/`` (nested drop-ins), and may be written with ``%2F`` there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Union

from runtime.app.config import App, Endpoint, Webhook
from runtime.errors import ConfigError, ConfigProblem, EndpointNotFound, MethodNotAllowed, WebhookNotFound
from runtime.contract.validation import effective_method

Target = Union[Webhook, Endpoint]

WEBHOOK_PREFIX = "/api/client/v2.0/app/"
ENDPOINT_PREFIX = "/app/"
ANY_METHOD_SERVICES = ("github", "twilio")  # contract §2.5: both accept any method


def webhook_path(app_id: str, webhook: Webhook) -> str:
    return f"{WEBHOOK_PREFIX}{app_id}/service/{webhook.service}/incoming_webhook/{webhook.name}"


def endpoint_path(app_id: str, endpoint: Endpoint) -> str:
    return f"{ENDPOINT_PREFIX}{app_id}/endpoint{endpoint.route}"


@dataclass(frozen=True)
class _Route:
    """Everything served at one path: explicit methods (HEAD mapped to GET), an any-method
    target (webhook ``ANY``, endpoint ``*``), and the sorted Allow list for a 405."""

    by_method: Mapping[str, Target]
    any_method: Target | None
    allow: tuple[str, ...]


class RouteTable:
    """Built once by ``from_app``; ``resolve`` answers each request."""

    def __init__(self, app_id: str, routes: Mapping[str, _Route], disabled: frozenset[str],
                 rows: list[tuple[str, str, str, str]]) -> None:
        self._app_id = app_id
        self._routes = routes
        self._disabled = disabled  # paths whose endpoints are all disabled
        self._rows = rows

    @classmethod
    def from_app(cls, app: App) -> RouteTable:
        """Index the app's webhooks and enabled endpoints by full URL path. Two targets on one
        path and method (the loader should have caught it) raise ``ConfigError``."""
        targets: dict[str, list[tuple[str, Target]]] = {}
        problems: list[ConfigProblem] = []
        webhook_rows: list[tuple[str, str, str, str]] = []
        endpoint_rows: list[tuple[str, str, str, str]] = []
        for webhook in app.webhooks:
            path = webhook_path(app.app_id, webhook)
            method = "ANY" if webhook.service_type in ANY_METHOD_SERVICES else webhook.http_method
            _add(targets, path, method, webhook, problems)
            validation = effective_method(webhook.service_type, webhook.validation_method, webhook.secret)
            webhook_rows.append((method, path, webhook.function.name, validation))
        disabled: set[str] = set()
        for endpoint in app.endpoints:
            path = endpoint_path(app.app_id, endpoint)
            if endpoint.disabled:  # contract §1: a disabled endpoint counts as absent
                disabled.add(path)
                continue
            _add(targets, path, endpoint.http_method, endpoint, problems)
            validation = effective_method("http", endpoint.validation_method, endpoint.secret)
            endpoint_rows.append((endpoint.http_method, path, endpoint.function_name, validation))
        if problems:
            raise ConfigError(problems)
        routes = {path: _route(entries) for path, entries in targets.items()}
        rows = sorted(webhook_rows, key=_row_key) + sorted(endpoint_rows, key=_row_key)
        return cls(app.app_id, routes, frozenset(disabled - routes.keys()), rows)

    def resolve(self, method: str, path: str, raw_path: str | None = None) -> Target:
        """The target serving ``method`` on ``path``, or ``WebhookNotFound`` /
        ``EndpointNotFound`` (404) / ``MethodNotAllowed`` (405). Methods are case-sensitive.
        With ``raw_path`` (the path as sent), an encoded slash where a route cannot hold one
        is a 404 (see the module docstring); the server must pass it."""
        if raw_path is not None and "%2" in raw_path:
            refused = _encoded_slash(path, raw_path.partition("?")[0])
            if refused is not None:
                raise refused
        route = self._routes.get(path)
        if route is None:
            raise self._not_found(path)
        target = route.by_method.get(method) or route.any_method
        if target is None:
            raise MethodNotAllowed(
                f"{method} is not allowed on {path}; allowed: {', '.join(route.allow)}", allow=route.allow
            )
        return target

    def rows(self) -> list[tuple[str, str, str, str]]:
        """(methods, URL path, function name, validation method) per route, for the startup
        table: webhooks then enabled endpoints, each sorted by path then method."""
        return list(self._rows)

    def _not_found(self, path: str) -> WebhookNotFound | EndpointNotFound:
        if path.startswith(WEBHOOK_PREFIX):
            return WebhookNotFound(f"no incoming webhook at {path}{self._app_hint(path, WEBHOOK_PREFIX)}")
        if path in self._disabled:
            return EndpointNotFound(f"the endpoint at {path} is disabled")
        hint = self._app_hint(path, ENDPOINT_PREFIX) if path.startswith(ENDPOINT_PREFIX) else ""
        return EndpointNotFound(f"no endpoint at {path}{hint}")

    def _app_hint(self, path: str, prefix: str) -> str:
        app_id = path[len(prefix):].split("/", 1)[0]
        return "" if app_id == self._app_id else f" (this app's id is {self._app_id!r})"


_WEBHOOK_FIXED_SEGMENTS = 9  # "", api, client, v2.0, app, <app id>, service, <service>, incoming_webhook


def _encoded_slash(path: str, raw: str) -> WebhookNotFound | EndpointNotFound | None:
    """The 404 for an encoded slash the URL shape does not allow, or None."""
    if path.startswith(WEBHOOK_PREFIX):
        if any("%2f" in segment.lower() for segment in raw.split("/")[:_WEBHOOK_FIXED_SEGMENTS]):
            return WebhookNotFound(f"no incoming webhook at {raw}: an encoded slash (%2F) in the app id or service "
                                   "is not routed; allowed: %2F in the webhook name only")
    elif "%2f" in raw.lower():
        return EndpointNotFound(f"no endpoint at {raw}: an encoded slash (%2F) in the path is not routed; "
                                "allowed: the route's own / characters")
    return None


def _add(targets: dict[str, list[tuple[str, Target]]], path: str, method: str, target: Target,
         problems: list[ConfigProblem]) -> None:
    entries = targets.setdefault(path, [])
    if any(existing == method for existing, _ in entries):
        problems.append(ConfigProblem(str(target.config_file or path), "",
                                      f"{method} {path} is declared more than once"))
    entries.append((method, target))


def _route(entries: list[tuple[str, Target]]) -> _Route:
    """Decision: an explicit GET also serves HEAD (webhooks and endpoints); an explicit method
    wins over ``ANY``/``*`` on the same path; ``ANY``/``*`` serve every method."""
    by_method: dict[str, Target] = {}
    any_method: Target | None = None
    for method, target in entries:
        if method in ("ANY", "*"):
            any_method = target
        else:
            by_method[method] = target
    if "GET" in by_method and "HEAD" not in by_method:
        by_method["HEAD"] = by_method["GET"]
    return _Route(by_method, any_method, tuple(sorted(by_method)))


def _row_key(row: tuple[str, str, str, str]) -> tuple[str, str]:
    return row[1], row[0]
