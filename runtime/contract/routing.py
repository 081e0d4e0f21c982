"""The URL contract: (method, path) → the call spec that serves it, or 404/405 (§1).

Owns: the webhook and endpoint URL shapes, which methods each serves (HEAD included), the
routing-failure errors and their messages, and the route table. Built once per app snapshot
from ``RouteEntry`` values (``runtime.app.snapshot`` decides what they hold); ``resolve`` is
one dict hit on the path and one on the method. Must not: see aiohttp objects, validate
requests, or do I/O. ``path`` is the decoded URL path, without the query string;
``raw_path`` is the path as sent (aiohttp's ``request.raw_path``, query string allowed).

Encoded slashes: the decoded path turns ``%2F`` into ``/``, so ``/app/x/endpoint/a%2Fb`` would
be served by the route ``/a/b`` although a proxy that filters the raw path saw no ``/a/b``.
Given the raw path, ``resolve`` refuses (404) a ``%2F`` or ``%2f`` anywhere in an endpoint URL
and in a webhook URL before its name (the prefix, app id and service segments); a webhook
name may hold ``/`` (nested drop-ins), and may be written with ``%2F`` there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from runtime.contract.call_spec import CallSpec
from runtime.errors import EndpointNotFound, MethodNotAllowed, WebhookNotFound

WEBHOOK_PREFIX = "/api/client/v2.0/app/"
ENDPOINT_PREFIX = "/app/"


def webhook_path(app_id: str, service: str, name: str) -> str:
    return f"{WEBHOOK_PREFIX}{app_id}/service/{service}/incoming_webhook/{name}"


def endpoint_path(app_id: str, route: str) -> str:
    return f"{ENDPOINT_PREFIX}{app_id}/endpoint{route}"


@dataclass(frozen=True, slots=True)
class RouteEntry:
    """One served (path, method): ``method`` is an HTTP method, or ``ANY`` / ``*`` for every
    method; ``function`` is the name the start-up table shows."""

    path: str
    method: str
    spec: CallSpec
    function: str


@dataclass(frozen=True)
class _Route:
    """Everything served at one path: explicit methods (HEAD mapped to GET), an any-method
    spec (webhook ``ANY``, endpoint ``*``), and the sorted Allow list for a 405."""

    by_method: Mapping[str, CallSpec]
    any_method: CallSpec | None
    allow: tuple[str, ...]


class RouteTable:
    """Built once by ``build``; ``resolve`` answers each request."""

    def __init__(self, app_id: str, routes: Mapping[str, _Route], disabled: frozenset[str],
                 rows: list[tuple[str, str, str, str]]) -> None:
        self._app_id = app_id
        self._routes = routes
        self._disabled = disabled  # paths whose endpoints are all disabled
        self._rows = rows

    @classmethod
    def build(cls, app_id: str, entries: Iterable[RouteEntry], disabled: Iterable[str] = ()) -> RouteTable:
        """Index ``entries`` by path. The app loader refuses two targets on one path and
        method; meeting one here is a bug, and fails closed (ValueError)."""
        by_path: dict[str, list[RouteEntry]] = {}
        webhook_rows: list[tuple[str, str, str, str]] = []
        endpoint_rows: list[tuple[str, str, str, str]] = []
        for entry in entries:
            same = by_path.setdefault(entry.path, [])
            if any(other.method == entry.method for other in same):
                raise ValueError(f"{entry.method} {entry.path} is served twice")
            same.append(entry)
            rows = webhook_rows if entry.spec.kind == "webhook" else endpoint_rows
            rows.append((entry.method, entry.path, entry.function, entry.spec.validation))
        routes = {path: _route(same) for path, same in by_path.items()}
        rows = sorted(webhook_rows, key=_row_key) + sorted(endpoint_rows, key=_row_key)
        return cls(app_id, routes, frozenset(disabled) - routes.keys(), rows)

    def resolve(self, method: str, path: str, raw_path: str | None = None) -> CallSpec:
        """The call spec serving ``method`` on ``path``, or ``WebhookNotFound`` /
        ``EndpointNotFound`` (404) / ``MethodNotAllowed`` (405). Methods are case-sensitive.
        With ``raw_path`` (the path as sent), an encoded slash where a route cannot hold one
        is a 404 (see the module docstring); the server passes it."""
        if raw_path is not None and "%2" in raw_path:
            refused = _encoded_slash(path, raw_path.partition("?")[0])
            if refused is not None:
                raise refused
        route = self._routes.get(path)
        if route is None:
            raise self._not_found(path)
        spec = route.by_method.get(method) or route.any_method
        if spec is None:
            raise MethodNotAllowed(
                f"{method} is not allowed on {path}; allowed: {', '.join(route.allow)}", allow=route.allow
            )
        return spec

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


def _route(entries: list[RouteEntry]) -> _Route:
    """Decision: an explicit GET also serves HEAD (webhooks and endpoints); an explicit method
    wins over ``ANY``/``*`` on the same path; ``ANY``/``*`` serve every method."""
    by_method: dict[str, CallSpec] = {}
    any_method: CallSpec | None = None
    for entry in entries:
        if entry.method in ("ANY", "*"):
            any_method = entry.spec
        else:
            by_method[entry.method] = entry.spec
    if "GET" in by_method and "HEAD" not in by_method:
        by_method["HEAD"] = by_method["GET"]
    return _Route(by_method, any_method, tuple(sorted(by_method)))


def _row_key(row: tuple[str, str, str, str]) -> tuple[str, str]:
    return row[1], row[0]
