"""The HTTP side of application users: the client API's login and session routes, and run-as scripts.

Owns: ``authenticator(snapshot)`` (the app's ``runtime.auth.users.Authenticator`` over its user
store, or None for an export without auth providers); ``add_routes`` —
``POST /api/client/v2.0/app/<app id>/auth/providers/<provider>/login`` (JSON body as App Services'
SDKs send it: ``{"username", "password"}``, ``{"key"}``, ``{"token"}``, ``{}``) answering
``{access_token, refresh_token, user_id, device_id}``, and ``POST /api/client/v2.0/auth/session``
with ``Authorization: Bearer <refresh token>`` answering ``{access_token}`` (201, as App Services);
``run_as_script`` — a route's run-as script runs in a worker (never here) and returns a user id
or ``{"runAsSystem": true}``; ``with_custom_data`` — the user's custom data document. The key derivation of a login runs in a thread, off the event loop.
Must not: log a credential or a token, or decide who a call runs as (``runtime.contract``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Awaitable, Callable

from aiohttp import web

from runtime.app.snapshot import Snapshot
from runtime.auth.store import UserStore
from runtime.auth.users import Authenticator
from runtime.contract.credentials import Credentials, context_user
from runtime.contract.pipeline import Identify
from runtime.errors import AtlasFnError, InvalidParameter, InvalidSession
from runtime.protocol.messages import Call
from runtime.values import ejson

CLIENT_API = "/api/client/v2.0"
MAX_LOGIN_BYTES = 64 * 1024


def authenticator(snapshot: Snapshot) -> Authenticator | None:
    app = snapshot.app
    return Authenticator(app.auth, UserStore(app.root), app.app_id) if app.auth.declared else None


def add_routes(web_app: web.Application, app_id: str, authenticator_now: Callable[[], Authenticator | None],
               answer_error: Callable[[web.Request, AtlasFnError], web.Response]) -> None:
    """The login and session routes, before the catch-all route of the front (``authenticator_now``:
    the served snapshot's, which a reload may change)."""

    def guarded(handler: Callable[[web.Request], Awaitable[dict[str, Any]]], status: int) -> Any:
        async def run(request: web.Request) -> web.Response:
            try:
                if authenticator_now() is None:
                    raise InvalidSession("this app declares no authentication providers (auth/providers.json)")
                return web.json_response(await handler(request), status=status)
            except AtlasFnError as error:
                return answer_error(request, error)
        return run

    async def login(request: web.Request) -> dict[str, Any]:
        users = authenticator_now()
        assert users is not None
        raw = await request.content.read(MAX_LOGIN_BYTES + 1)
        if len(raw) > MAX_LOGIN_BYTES:
            raise InvalidParameter(f"the login body is larger than {MAX_LOGIN_BYTES} bytes")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise InvalidParameter("the login body is not JSON; allowed: a JSON object") from None
        if not isinstance(body, dict):
            raise InvalidParameter("the login body is not a JSON object")
        return await asyncio.to_thread(users.login, request.match_info["provider"], body)

    async def session(request: web.Request) -> dict[str, Any]:
        users = authenticator_now()
        assert users is not None
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidParameter("no authentication methods were specified")
        return await asyncio.to_thread(users.refresh, token.strip())

    web_app.router.add_post(f"{CLIENT_API}/app/{app_id}/auth/providers/{{provider}}/login", guarded(login, 200))
    web_app.router.add_post(f"{CLIENT_API}/auth/session", guarded(session, 201))


async def run_as_script(runner: Any, call: Call, script_key: str, identify: Identify) -> Call:
    """``call`` with the user its route's run-as script chose: the script runs in a worker with the
    call's argument; a string (or ObjectId) is a user id, ``{"runAsSystem": true}`` the system."""
    reply = await runner.call(call._replace(function=script_key, kind="webhook", service_type="http",
                                            respond_result=True, format="EJSON"))
    if reply.error is not None:
        raise InvalidSession(f"invalid session: the run-as script failed: {reply.error[1][:300]}")
    try:
        chosen = ejson.parse(reply.body.decode("utf-8")) if reply.body else None
    except (ValueError, UnicodeDecodeError):
        chosen = None
    if isinstance(chosen, dict) and chosen.get("runAsSystem") is True:
        return call._replace(user=None)
    user_id = chosen if isinstance(chosen, str) else str(chosen) if type(chosen).__name__ == "ObjectId" else None
    if not user_id:
        raise InvalidSession("invalid session: the run-as script returned neither a user id nor {\"runAsSystem\": true}")
    return call._replace(user=context_user(identify(Credentials("user-id", (user_id,)), False)))


async def with_custom_data(call: Call, config: Any, services: Any) -> Call:
    """``call`` whose user carries ``custom_data`` (``fetch_custom_user_data``, contract §8.2): the
    document of ``auth/custom_user_data.json``'s collection whose ``user_id_field`` is the user's id,
    read as system, sent to the worker as canonical EJSON text (the worker parses it)."""
    if services is None or call.user is None or not config.get("enabled"):
        return call
    app_services = await services.open()
    if app_services.mongodb is None:
        return call
    found = await app_services.mongodb.run("findOne", {
        "database": config.get("database_name"), "collection": config.get("collection_name"),
        "query": {config.get("user_id_field") or "user_id": call.user.get("id")}, "projection": None, "sort": None})
    return call._replace(user={**call.user, "custom_data": ejson.to_canonical(found if found is not None else {})})
