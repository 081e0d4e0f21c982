"""Who a caller is: logins, access and refresh tokens, and the credential check of a call (issue 13).

Owns: ``Authenticator`` for one app — its providers (``runtime.app.model.Auth``) over its
``UserStore``: ``login(provider, body)`` answers as App Services' client API did (``access_token``,
``refresh_token``, ``user_id``, ``device_id``); ``refresh(token)`` a new access token;
``identify(credentials, create)`` the user a call's credentials name (the plain function the call
pipeline is given: ``runtime.contract.pipeline``), raising ``InvalidSession`` otherwise. Access
tokens are HS256 JWTs signed with the app's token key, valid ``ACCESS_SECONDS`` (30 minutes, as
App Services'); refresh tokens 60 days. A custom JWT is checked against the provider's
``signingAlgorithm``, ``signingKeys`` (any of them), ``audience``/``requireAnyAudience``, its
``exp``/``nbf``, and must have a ``sub``; its ``metadata_fields`` become the user's ``data``.
A disabled provider logs nobody in. Must not: log or put a credential into a message, import
aiohttp, or decide HTTP answers beyond raising the errors of ``runtime.errors``.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping

from runtime.app.model import Auth, Provider
from runtime.auth.store import UserStore, new_object_id
from runtime.contract.credentials import Credentials
from runtime.errors import InvalidParameter, InvalidPassword, InvalidSession, ProviderNotFound
from runtime.values import jwt

ACCESS_SECONDS = 30 * 60
REFRESH_SECONDS = 60 * 24 * 3600
_LEGACY_KEY_TYPES = ("api-key", "user-api-key", "server-api-key")


class Authenticator:
    def __init__(self, auth: Auth, store: UserStore, app_id: str, now: Callable[[], float] = time.time) -> None:
        self.auth = auth
        self.store = store
        self.app_id = app_id
        self.now = now
        self._key: bytes | None = None

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = self.store.signing_key()
        return self._key

    def _provider(self, kind: str, name: str | None = None) -> Provider | None:
        """The enabled provider of ``kind`` (or named ``name``); None when there is none or it is disabled."""
        for provider in self.auth.providers:
            if (provider.name == name) if name is not None else (provider.type == kind or (kind == "api-key" and provider.type in _LEGACY_KEY_TYPES)):
                return None if provider.disabled else provider
        return None

    # --- logging in --------------------------------------------------------------------------
    def login(self, provider_name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        provider = self._provider("", provider_name)
        if provider is None:
            raise ProviderNotFound(f"authentication via {provider_name!r} is unsupported: this app has no enabled "
                                   f"provider of that name; enabled: {', '.join(p.name for p in self.auth.providers if not p.disabled) or 'none'}")
        kind = "api-key" if provider.type in _LEGACY_KEY_TYPES else provider.type
        if kind == "local-userpass":
            user = self._password(_text(body, "username"), _text(body, "password"))
        elif kind == "api-key":
            user = self._api_key(_text(body, "key"))
        elif kind == "custom-token":
            user = self._custom_jwt(_text(body, "token"), create=True)
        else:  # anon-user: a new anonymous user per login
            user = self.store.create_identity_user("anon-user", new_object_id(), {})
        device = new_object_id()
        return {"access_token": self.access_token(user["id"], device), "refresh_token": self._token(user["id"], "refresh", REFRESH_SECONDS, device),
                "user_id": user["id"], "device_id": device}

    def refresh(self, token: str) -> dict[str, Any]:
        claims = self._claims(token, "refresh")
        return {"access_token": self.access_token(claims["sub"], str(claims.get("baas_device_id", "")))}

    def access_token(self, user_id: str, device: str = "") -> str:
        return self._token(user_id, "access", ACCESS_SECONDS, device)

    def _token(self, user_id: str, typ: str, seconds: int, device: str) -> str:
        moment = int(self.now())
        return jwt.encode("HS256", {"sub": user_id, "typ": typ, "aud": self.app_id, "iat": moment, "exp": moment + seconds,
                                    "baas_device_id": device}, self.key)

    def _claims(self, token: str, typ: str) -> dict[str, Any]:
        try:
            claims = jwt.decode(token, self.key, False, ["HS256"], now=self.now)
        except (ValueError, TypeError) as exc:
            reason = "expired" if "expired" in str(exc) else "invalid"
            raise InvalidSession(f"invalid session: the {typ} token is {reason}") from None
        if claims.get("typ") != typ or claims.get("aud") != self.app_id or not isinstance(claims.get("sub"), str):
            raise InvalidSession(f"invalid session: not a {typ} token of this app")
        if self.store.by_id(claims["sub"]) is None:
            raise InvalidSession("invalid session: error finding user for endpoint")
        return claims

    # --- the credential check of a call ------------------------------------------------------
    def identify(self, credentials: Credentials, create: bool = False) -> dict[str, Any]:
        """The user ``credentials`` name (``create``: a custom JWT's user is made on first sight)."""
        kind = credentials.kind
        if kind == "bearer":
            user = self.store.by_id(self._claims(credentials.values[0], "access")["sub"])
        elif kind == "api-key":
            user = self._api_key(credentials.values[0])
        elif kind == "email-password":
            try:
                user = self._password(*credentials.values)
            except InvalidPassword:
                user = None
        elif kind == "jwt":
            user = self._custom_jwt(credentials.values[0], create)
        else:  # "user-id": run_as_user_id, or the id a run-as script chose
            user = self.store.by_id(credentials.values[0])
        if user is None:
            raise InvalidSession("invalid session: error finding user for endpoint")
        return user

    def _api_key(self, key: str) -> dict[str, Any]:
        if self._provider("api-key") is None:
            raise InvalidSession("invalid session: the api-key provider is not enabled in this app")
        user = self.store.by_api_key(key)
        if user is None:
            raise InvalidSession("invalid session: error finding user for endpoint")
        return user

    def _password(self, email: str, password: str) -> dict[str, Any]:
        if self._provider("local-userpass") is None:
            raise InvalidSession("invalid session: the local-userpass provider is not enabled in this app")
        user = self.store.by_password(email, password)
        if user is None:
            raise InvalidPassword("invalid username/password")
        return user

    def _custom_jwt(self, token: str, create: bool) -> dict[str, Any]:
        provider = self._provider("custom-token")
        if provider is None:
            raise InvalidSession("invalid session: the custom-token provider is not enabled in this app")
        claims = verify_custom_jwt(provider, token, self.now)
        user = self.store.by_identity("custom-token", claims["sub"])
        if user is None:
            if not create:
                raise InvalidSession("invalid session: error finding user for endpoint")
            user = self.store.create_identity_user("custom-token", claims["sub"], metadata(provider, claims))
        return user


def verify_custom_jwt(provider: Provider, token: str, now: Callable[[], float] = time.time) -> dict[str, Any]:
    """The claims of a custom JWT the provider accepts; ``InvalidSession`` naming what failed otherwise."""
    algorithm = str(provider.config.get("signingAlgorithm") or "HS256")
    claims: dict[str, Any] | None = None
    for key in provider.signing_keys:
        try:
            claims = jwt.decode(token, key, False, [algorithm], now=now)
            break
        except (ValueError, TypeError) as exc:
            if "expired" in str(exc) or "not valid yet" in str(exc):
                raise InvalidSession(f"invalid session: the custom JWT {str(exc).split(': ', 1)[-1]}") from None
    if claims is None:
        raise InvalidSession(f"invalid session: the custom JWT is not signed with a signing key of provider "
                             f"{provider.name!r} ({algorithm})")
    audience = provider.config.get("audience") or []
    wanted = [audience] if isinstance(audience, str) else [a for a in audience if isinstance(a, str)]
    if wanted:
        got = claims.get("aud")
        got = [got] if isinstance(got, str) else got if isinstance(got, list) else []
        ok = any(a in got for a in wanted) if provider.config.get("requireAnyAudience") else all(a in got for a in wanted)
        if not ok:
            raise InvalidSession(f"invalid session: the custom JWT's audience does not match provider {provider.name!r}")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise InvalidSession("invalid session: the custom JWT has no 'sub' claim naming the user")
    for field in provider.metadata_fields:
        if field.get("required") and _claim(claims, field["name"]) is None:
            raise InvalidSession(f"invalid session: the custom JWT lacks the required metadata field {field['name']!r}")
    return claims


def metadata(provider: Provider, claims: Mapping[str, Any]) -> dict[str, Any]:
    """A custom JWT user's ``data``: each metadata field's claim under its ``field_name``."""
    data: dict[str, Any] = {}
    for field in provider.metadata_fields:
        value = _claim(claims, field["name"])
        if value is not None:
            data[str(field.get("field_name") or field["name"].rsplit(".", 1)[-1])] = value
    return data


def _claim(claims: Mapping[str, Any], path: str) -> Any:
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key) if isinstance(body, Mapping) else None
    if not isinstance(value, str) or not value:
        raise InvalidParameter(f"the login body needs a non-empty string {key!r}")
    return value

