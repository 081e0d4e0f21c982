"""A call's credentials: which headers carry them, which one counts, and taking them out (contract §2.7).

Owns: ``find_credentials(headers)`` — application authentication as App Services' endpoints and
``run_as_authed_user`` webhooks took it: ``Authorization: Bearer <access token>``, else an
``apiKey`` header, else ``email`` + ``password``, else ``jwtTokenString``; ``strip_credentials``
(the header lines without any of them, so no credential reaches the function's argument,
``context.request.requestHeaders`` or a log line); ``RunAs`` (who a route's calls run as,
decided at start-up); ``context_user`` (``context.user`` as plain data). Plain values in and out. Must not look users up (the pipeline is given a
plain function for that), do I/O, or put a credential value into a message.
"""

from __future__ import annotations

from typing import Any, Iterable, Literal, Mapping, NamedTuple

from runtime.errors import InvalidParameter

HEADERS = ("authorization", "apikey", "email", "password", "jwttokenstring")
NO_METHOD = "no authentication methods were specified"

Mode = Literal["system", "authed", "user-id", "script"]


class RunAs(NamedTuple):
    """Who a route's calls run as (contract §2.7), first that applies: ``authed`` (application
    authentication / ``run_as_authed_user``), ``user-id`` (``user_id``), ``script`` (the run-as
    script, compiled as function ``script_key``), else ``system``."""

    mode: Mode = "system"
    user_id: str = ""
    script_key: str = ""
    create_user: bool = False  # create_user_on_auth: a custom JWT's user is made on first sight
    custom_data: bool = False  # fetch_custom_user_data


SYSTEM = RunAs()


class Credentials(NamedTuple):
    """``kind``: ``bearer`` (an access token), ``api-key``, ``email-password``, ``jwt``, or ``user-id``
    (a user chosen by the app, not the caller); ``values`` as given. Never shown in a repr."""

    kind: str
    values: tuple[str, ...]

    def __repr__(self) -> str:
        return f"Credentials({self.kind!r}, <{len(self.values)} values not shown>)"


def find_credentials(headers: Mapping[str, str]) -> Credentials:
    """The credentials a request carries (``headers``: case-insensitive first values);
    ``InvalidParameter`` (400, "no authentication methods were specified") when there are none."""
    authorization = (headers.get("Authorization") or "").strip()
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return Credentials("bearer", (token.strip(),))
    api_key = headers.get("apiKey")
    if api_key:
        return Credentials("api-key", (api_key,))
    email, password = headers.get("email"), headers.get("password")
    if email and password:
        return Credentials("email-password", (email, password))
    token = headers.get("jwtTokenString")
    if token:
        return Credentials("jwt", (token,))
    raise InvalidParameter(NO_METHOD)


def context_user(user: Mapping[str, object] | None) -> dict[str, object]:
    """``context.user`` as plain data (contract §8.2), the one place both engines get it from:
    ``{id, type, data, identities}`` (+ ``custom_data`` when fetched) for a user, and for the
    system user ``{type: "system", data: {}, identities: []}`` (no ``id``)."""
    if user is None:
        return {"type": "system", "data": {}, "identities": []}
    shown: dict[str, object] = {"id": user.get("id"), "type": user.get("type", "normal"), "data": dict(user.get("data") or {}),  # type: ignore[call-overload]
                                "identities": [dict(i) for i in user.get("identities") or ()]}  # type: ignore[union-attr]
    if "custom_data" in user:
        shown["custom_data"] = user["custom_data"]
    return shown


def caller_scope(call: Any) -> dict[str, Any]:
    """The expansions a data rule reads for a running call (a ``Call`` that is not system):
    ``%%user`` (its ``context.user``) and ``%%request`` (its ``context.request``)."""
    from runtime.contract.request import build_context_request, decode_header_pairs

    request = call.request if call.request is not None else build_context_request(
        method=call.method, url=call.url, raw_query=call.raw_query, headers=decode_header_pairs(call.headers),
        remote=call.remote, kind=call.kind, route=call.route)
    return {"user": dict(call.user), "request": request}


def strip_credentials(raw_headers: Iterable[tuple[bytes, bytes]]) -> tuple[tuple[bytes, bytes], ...]:
    """The header lines without any credential header (names compared case-insensitively)."""
    return tuple((name, value) for name, value in raw_headers
                 if name.decode("latin-1").lower() not in HEADERS)
