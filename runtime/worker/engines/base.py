"""The engine seam: what the worker asks of an engine, and what it hands one for a call.

Owns: the ``Engine`` interface (``load`` a start-up artifact once per worker, ``run`` one
call), the engine-neutral ``Invocation`` a call is given, the ``Host`` calls a guest can make
back into the worker (service requests), and ``Outcome``. Must not import asyncio, aiohttp
or any one engine.

An engine binds the guest API onto these values; it does not re-decide the rules: the
``response`` object's checks are ``runtime.contract.response``, the console's budget is
``runtime.worker.console``, the response table is ``runtime.contract.response_rules`` (applied by
``runtime.worker.invoke`` after ``run`` returns), and values cross as canonical EJSON.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Callable, Mapping, NamedTuple, Protocol

from runtime.contract.response import Response
from runtime.errors import ServiceFailed  # noqa: F401 - re-exported (runtime.worker.main imports it here)
from runtime.protocol.messages import FunctionArtifact
from runtime.worker.console import Console


class Host(Protocol):
    """What a running call may ask the worker for. Synchronous: the call waits."""

    def service(self, service: str, operation: str, args: str) -> str:
        """Ask the server (canonical EJSON text in and out). Raises ``ServiceFailed`` with the
        error the guest should see."""
        ...


class Invocation(NamedTuple):
    """One call as plain values. ``argument`` is the first argument, engine-neutral:

    * endpoints and ``http`` webhooks: ``{"query": {..}, "headers": {..: [..]}, "body": bytes | None}``;
    * ``twilio`` webhooks: the form's fields as ``{name: value}``;
    * ``github`` webhooks: the raw body bytes (the engine parses the event as EJSON).

    ``request`` is ``context.request``; ``app``, ``values`` (secrets resolved) and
    ``environment`` are the app's, shared and never to be mutated by the engine (copy first);
    ``user`` is ``context.user`` as plain data (``runtime.contract.credentials.context_user``), and
    ``context.runningAsSystem()`` is whether its ``type`` is ``system``.
    """

    argument: Any
    service_type: str
    request: Mapping[str, Any]
    app: Mapping[str, Any]
    values: Mapping[str, Any]
    environment: Mapping[str, Any]
    response: Response
    console: Console
    host: Host
    services: Mapping[str, str] = MappingProxyType({})  # the app's services: name -> type
    user: Mapping[str, Any] = MappingProxyType({"type": "system", "data": {}, "identities": []})  # context.user, plain


class Outcome(NamedTuple):
    """What the function returned, as the response table needs it: ``serialise(fmt)`` gives
    the return value as bytes in ``"EJSON"`` (canonical) or ``"JSON"``, or None when the
    function returned nothing (undefined / None)."""

    serialise: Callable[[str], bytes | None]


class Engine(Protocol):
    name: str

    def load(self, function: FunctionArtifact) -> Any:
        """Once per worker at boot: whatever ``run`` needs for this function. Runs no guest code."""
        ...

    def run(self, loaded: Any, invocation: Invocation) -> Outcome:
        """Run the function's file and its exported function for one call. Guest failures
        raise (the worker maps them to envelopes); ``MemoryError`` and ``RecursionError``
        mean what they mean in Python."""
        ...


def execute_name(function: FunctionArtifact) -> str:
    """The name ``context.functions.execute`` finds a function by: the app's name for it (the
    loader decides, layouts differ), else one derived from its key (artifacts made by hand)."""
    return function.name or function_name(function.key)


def function_name(key: str) -> str:
    """A name for a function file's key (its path) when the app gave none: the path below the
    last ``functions`` folder, without the extension (``utils/add``)."""
    parts = key.replace("\\", "/").split("/")
    if "functions" in parts:
        parts = parts[len(parts) - parts[::-1].index("functions"):]
    name = "/".join(parts)
    return name.rsplit(".", 1)[0] if name.endswith((".js", ".cjs", ".mjs", ".py")) else name
