"""The objects guest code is handed: the App Services globals, as Python facades.

Owns: ``AttrDict`` (mappings readable as ``payload.query`` and ``payload["query"]``),
``Namespace`` (read-only bags of functions such as ``utils.crypto``),
``Context`` (with ``EnvironmentDict``, whose ``values`` is data) and the builders of the
per-call ``context`` and shared ``utils``, ``EJSON``, ``JSON`` and ``BSON``. Every public
name here is a reviewed exposure: each one has an escape test in ``tests/sandbox/``.
Must not import asyncio or aiohttp.

Rules every facade keeps:
- state that must not be reached lives in underscore names (RestrictedPython refuses them);
- shared objects (``utils``, ``EJSON``, ``JSON``, ``BSON``) refuse attribute writes and hold
  no mutable data; per-call objects (``payload``, ``context``, ``response``) are built fresh
  for every call from plain values, so nothing a call does reaches the next one;
- values handed out from configuration are copies.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from runtime.values import ejson, jwt
from runtime.values.guest_utils import UTILS
from runtime.values.bsontypes import BSON


class AttrDict(dict):
    """A dict whose string keys also read as attributes, like a JavaScript object.

    Guest code may change its own copy (``payload.query.x = "1"`` sets an item); attribute
    names that are dict methods (``items``, ``get``…) stay methods.
    """

    _guarded_writes = True  # RestrictedPython's write guard lets the owner handle writes
    _ejson_object = True  # guest objects serialise as the objects they are (runtime.values.ejson)

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no field named {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(f"no field named {name!r}") from None


class EnvironmentDict(AttrDict):
    """``context.environment``: ``values`` reads the environment's values, as App Services
    documents (``context.environment.values.<name>``); on an AttrDict it is the dict method."""

    @property
    def values(self) -> Any:  # type: ignore[override]
        return self["values"]




def to_attrdicts(value: Any) -> Any:
    """Plain data (dicts, lists) → a copy with every dict an AttrDict; other values as they are.

    The containers are new, so this is also the copy that keeps configuration data from one
    call's mutations (the scalars JSON holds are immutable)."""
    kind = type(value)
    if kind is dict:
        out = AttrDict()
        for key, item in value.items():
            out[key] = to_attrdicts(item) if type(item) in _CONTAINERS else item
        return out
    if kind is list:
        return [to_attrdicts(item) if type(item) in _CONTAINERS else item for item in value]
    return value


_CONTAINERS = frozenset({dict, list})


class Namespace:
    """A read-only, slot-less bag of names: ``utils``, ``utils.crypto``, ``EJSON``…"""

    __slots__ = ("_label", "_members")

    def __init__(self, label: str, members: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_label", label)
        object.__setattr__(self, "_members", dict(members))

    def __getattr__(self, name: str) -> Any:
        members = object.__getattribute__(self, "_members")
        if name in members:
            return members[name]
        label = object.__getattribute__(self, "_label")
        raise AttributeError(f"{label}.{name} does not exist; available: {', '.join(sorted(members))}")

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError(f"{self._label} is read-only")

    __delattr__ = __setattr__  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"[object {self._label}]"


class Values:
    """``context.values.get(name)``: the value, secrets resolved, or None (contract §8.2)."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = values

    def get(self, name: Any) -> Any:
        if type(name) is not str:
            raise TypeError("context.values.get: the name must be a string")
        return to_attrdicts(self._values.get(name))


class Functions:
    """``context.functions.execute(name, ...args)`` (spec §8.8): the callee runs in this worker,
    in the same call; arguments and the result cross as canonical EJSON."""

    __slots__ = ("_host",)

    def __init__(self, host: Any) -> None:
        self._host = host

    def execute(self, name: Any, *args: Any) -> Any:
        if type(name) is not str:
            raise TypeError("context.functions.execute: the name must be a string")
        text = self._host.service("functions", "execute", ejson.to_canonical({"name": name, "arguments": list(args)}))
        return ejson.parse(text, mapping=AttrDict)


class Context:
    """The per-call ``context`` (contract §8.2).

    ``request``, ``app``, ``environment`` and ``user`` are built from plain data on first
    read (most functions read one or none), each a fresh copy owned by this call;
    ``services``, ``http`` and ``functions`` reach the worker's host (service requests)."""

    __slots__ = ("values", "_host", "_reach", "_plain", "_built")

    def __init__(self, *, request: Mapping[str, Any], values: Values, app: Mapping[str, Any],
                 environment: Mapping[str, Any], user: Mapping[str, Any] | None = None, host: Any = None,
                 reach: Any = None) -> None:
        self.values = values
        self._host = host
        self._reach = reach  # builds (services, http) on first read: most calls read neither
        user = user if user is not None else {"type": "system", "data": {}, "identities": []}
        self._plain = {"request": request, "app": app, "environment": environment, "user": user}
        self._built: dict[str, Any] = {}

    def _reached(self, index: int) -> Any:
        built = self._built.get("reach")
        if built is None:
            built = self._built["reach"] = self._reach() if self._reach is not None else (None, None)
        return built[index]

    services = property(lambda self: self._reached(0))
    http = property(lambda self: self._reached(1))
    functions = property(lambda self: Functions(self._host))

    def _member(self, name: str) -> Any:
        built = self._built.get(name)
        if built is None:
            if name == "environment":
                built = EnvironmentDict(to_attrdicts(dict(self._plain[name])))
            else:
                built = to_attrdicts(dict(self._plain[name]))
            self._built[name] = built
        return built

    request = property(lambda self: self._member("request"))
    app = property(lambda self: self._member("app"))
    environment = property(lambda self: self._member("environment"))
    user = property(lambda self: self._member("user"))

    def runningAsSystem(self) -> bool:  # noqa: N802 - App Services name
        return self._plain["user"].get("type") == "system"  # contract §8.2; the server decided who runs

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"context.{name} does not exist")


def _json_parse(text: Any) -> Any:
    if not isinstance(text, (str, bytes)):
        raise TypeError("JSON.parse: the argument must be a string")
    return to_attrdicts(json.loads(text))


def _json_stringify(value: Any, *_replacer_and_space: Any) -> str:  # JSON.stringify(value, replacer, space)
    return ejson.to_json(value)


def _ejson_parse(text: Any) -> Any:
    return ejson.parse(text, mapping=AttrDict)


def _jwt_decode(token: Any, key: Any, returnHeader: Any = False, acceptedSigningMethods: Any = None) -> Any:  # noqa: N803
    return to_attrdicts(jwt.decode(token, key, returnHeader, acceptedSigningMethods))


_ejson_parse("{}")  # EJSON.parse builds its decoder for AttrDict on first use: build it now, not in a call (F6)


def build_shared() -> dict[str, Any]:
    """The globals every call shares: immutable namespaces of pure functions."""
    crypto_ns = Namespace("utils.crypto", dict(UTILS["crypto"]))
    jwt_ns = Namespace("utils.jwt", {**UTILS["jwt"], "decode": _jwt_decode})  # decoded objects as AttrDicts
    return {
        "utils": Namespace("utils", {"crypto": crypto_ns, "jwt": jwt_ns}),
        "EJSON": Namespace("EJSON", {"parse": _ejson_parse, "stringify": ejson.stringify}),
        "JSON": Namespace("JSON", {"parse": _json_parse, "stringify": _json_stringify}),
        "BSON": BSON,
    }

