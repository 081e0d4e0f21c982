"""The host side of the one callback a JavaScript context gets: ``__atlasfn_host(op, arg)``.

Owns: the table of operations guest JavaScript may ask of the worker (each a reviewed
decision: console lines, the response setters, ``context.values.get``, ``utils.crypto``, the
BSON checks and conversions JavaScript leaves to Python, ``require`` resolution,
``functions.execute``, the ``service.*`` requests of ``context.services``/``context.http``
(shaped by ``runtime.contract.service_api``, as the Python facade's), and the few ``node.*``
primitives of our built-in modules), with
strings in and out. Arguments and results that are values travel as canonical EJSON and are
read with ``runtime.values.ejson``, so the rules stay Python's.

Must not: raise into the engine (a Python exception crossing into QuickJS surfaces as a
SystemError in the host, so every failure becomes the marker ``"1" + JSON [name, message]``),
call back into the context (no re-entrancy), keep anything between calls, or import asyncio.
Every operation must be safe to call with any strings: the prelude hides this callback, but
the wall does not depend on that.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac as _hmac
import json
import os
import uuid
from typing import Any, Callable

import bson

from runtime.contract import service_api
from runtime.contract import services as contract
from runtime.values import ejson
from runtime.values.guest_utils import UTILS
from runtime.values.bsontypes import BSON, Binary, utf8
from runtime.worker.engines.base import Invocation, ServiceFailed
from runtime.worker.engines.javascript import modules

LEVELS = frozenset({"log", "info", "warn", "error", "debug"})
SETTERS = frozenset({"setStatusCode", "setBody", "setHeader", "addHeader"})
MAX_RANDOM_BYTES = 65536
NODE_HASHES = frozenset({"md5", "sha1", "sha224", "sha256", "sha384", "sha512"})


def ok(text: str) -> str:
    return "0" + text


def marker(name: str, message: str) -> str:
    return "1" + json.dumps([name, message])


def _js_name(exc: BaseException) -> str:
    """Python's error as JavaScript names it: TypeError stays, anything else is an Error."""
    if isinstance(exc, TypeError):
        return "TypeError"
    if isinstance(exc, RecursionError):
        return "RangeError"
    return "Error"


class Bridge:
    """One call's callback, bound to its ``Invocation`` when the call starts. ``find_function`` finds a JavaScript function of this app by name for
    ``functions.execute`` (or None), ``artifact`` a loaded function by key (for ``require``)."""

    def __init__(self, find_function: Callable[[str], Any], artifact: Callable[[str], Any]) -> None:
        self.invocation: Invocation | None = None  # bound when the call starts (the context may be built before)
        self.find_function = find_function
        self.artifact = artifact
        self.outcome: str | None = None
        self.ops: dict[str, Callable[[str], str]] = {
            "console": self.console,
            "response": self.values(self.response),
            "values.get": self.values_get,
            **{f"utils.{space}.{name}": self.values(_spread(function))
               for space, functions in UTILS.items() for name, function in functions.items()},
            "oid": lambda arg: str(bson.ObjectId()),
            "b64.fromText": lambda arg: base64.b64encode(utf8(arg)).decode("ascii"),
            "b64.text": lambda arg: Binary(_b64(arg)).text(),
            "b64.hex": lambda arg: _b64(arg).hex(),
            "b64.fromHex": lambda arg: BSON.Binary.fromHex(arg).toBase64(),
            "b64.check": lambda arg: BSON.Binary.fromBase64(arg).toBase64(),
            "decimal": lambda arg: str(BSON.Decimal128.fromString(arg)),
            "settle": self.settle,
            "source": lambda arg: modules.prelude_source(arg),
            "require": self.require,
            "function.find": self.function_find,
            "function.execute": self.function_execute,
            "service.get": self.values(self.service_get),
            "service.name": self.values(_service_name),
            "service.cursor": self.values(_cursor_check),
            "service.mongodb": self.values(self.service_mongodb),
            "service.http": self.values(self.service_http),
            "service.call": self.values(self.service_call),
            "node.randomBytes": self.values(lambda args: Binary(os.urandom(_count(args))), ),
            "node.randomUUID": self.values(lambda args: str(uuid.uuid4())),
            "node.digest": self.values(lambda args: _digest(*args)),
            "node.hmac": self.values(lambda args: _node_hmac(*args)),
        }

    def __call__(self, op: Any = None, arg: Any = None, *extra: Any) -> str:
        try:
            if self.invocation is None:
                raise ValueError("atlas-fn host: no call is running")
            if type(op) is not str or type(arg) is not str or extra:
                raise TypeError("atlas-fn host: expected an operation name and one string")
            handler = self.ops.get(op)
            if handler is None:
                raise TypeError(f"atlas-fn host: no operation {op[:40]!r}")
            answer = handler(arg)
            if not answer.isascii():
                answer.encode("utf-8")  # a lone surrogate cannot cross into the engine: refuse it here
            return ok(answer)
        except ServiceFailed as exc:
            return marker(exc.name or "Error", exc.message)
        except BaseException as exc:  # noqa: BLE001 - nothing may cross into the engine
            try:
                return marker(_js_name(exc), str(exc)[:2000] or type(exc).__name__)
            except BaseException:  # noqa: BLE001 - str() of an odd exception
                return marker("Error", "atlas-fn host: the operation failed")

    @staticmethod
    def values(handler: Callable[[Any], Any]) -> Callable[[str], str]:
        """An operation whose argument is a canonical EJSON array and whose answer is a value."""
        def op(arg: str) -> str:
            args = ejson.parse(arg)
            if type(args) is not list:
                raise TypeError("atlas-fn host: the arguments must be an array")
            result = handler(args)
            return "" if result is None else ejson.to_canonical(result)
        return op

    def console(self, arg: str) -> str:
        level, _, text = arg.partition(":")
        if level not in LEVELS:
            raise TypeError(f"console: no level {level[:20]!r}")
        self.invocation.console._emit(level, text)
        return ""

    def response(self, args: list[Any]) -> None:
        if not args or args[0] not in SETTERS:
            raise TypeError("response: no such method")
        getattr(self.invocation.response, args[0])(*args[1:])

    def values_get(self, arg: str) -> str:
        args = ejson.parse(arg)
        name = args[0] if type(args) is list and len(args) == 1 else None
        if type(name) is not str:
            raise TypeError("context.values.get: the name must be a string")
        if name not in self.invocation.values:
            return ""
        return ejson.to_canonical(self.invocation.values[name])

    def settle(self, arg: str) -> str:
        if self.outcome is None:
            self.outcome = arg
        return ""

    def require(self, arg: str) -> str:
        key, directory, name, function_file = json.loads(arg)
        if not all(type(x) is str for x in (key, directory, name, function_file)):
            raise TypeError("require: odd arguments")
        loaded = self.artifact(key) if key else None
        files = loaded.files if loaded is not None else {}
        return json.dumps(modules.resolve(files, directory, name, function_file))

    def _service(self, service: Any, operation: Any, wire: dict[str, Any]) -> Any:
        """One service request, as the Python facade sends it (``service_api.wire_text``); the
        server's answer is parsed here, so what reaches the engine is our own canonical EJSON."""
        if type(service) is not str or type(operation) is not str:
            raise TypeError("atlas-fn host: a service and an operation name")
        try:
            text = service_api.wire_text(wire)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{operation}: an argument cannot be sent to the service: {exc}") from None
        return ejson.parse(self.invocation.host.service(service, operation, text))

    def service_get(self, args: list[Any]) -> str | None:
        (name,) = _arity(args, 1, "service.get")
        return service_api.guest_service(self.invocation.services, name)

    def service_mongodb(self, args: list[Any]) -> Any:
        """[service, operation, database, collection, {positional arguments by wire name}, options]"""
        service, operation, database, collection, given, options = _arity(args, 6, "service.mongodb")
        if operation not in service_api.COLLECTION_METHODS or type(given) is not dict:
            raise TypeError("atlas-fn host: service.mongodb takes a collection method and its arguments")
        return self._service(service, operation, service_api.collection_args(operation, database, collection, given, options))

    def service_http(self, args: list[Any]) -> Any:
        """[service, method, request document]"""
        service, method, request = _arity(args, 3, "service.http")
        if method not in contract.HTTP_METHODS:
            raise TypeError("atlas-fn host: service.http takes an HTTP method")
        return self._service(service, method, service_api.http_args(method, request, {}))

    def service_call(self, args: list[Any]) -> Any:
        """[service, operation, {arguments}]: ``getDBNames``, ``getCollectionNames`` and the
        actions of third-party services (which the server refuses by name)."""
        service, operation, wire = _arity(args, 3, "service.call")
        if type(wire) is not dict:
            raise TypeError("atlas-fn host: service.call takes an arguments object")
        return self._service(service, operation, wire)

    def function_find(self, name: str) -> str:
        found = self.find_function(name)
        if found is None:
            return ""
        return json.dumps({"key": found.key, "filename": found.filename, "source": found.source, "lines": found.lines})

    def function_execute(self, arg: str) -> str:
        request = ejson.parse(arg)
        if type(request) is not dict or type(request.get("name")) is not str or type(request.get("arguments")) is not list:
            raise TypeError("context.functions.execute: odd arguments")
        text = ejson.to_canonical({"name": request["name"], "arguments": request["arguments"]})
        answer = self.invocation.host.service("functions", "execute", text)
        if type(answer) is not str:
            raise ValueError("context.functions.execute: the server gave no answer")
        # The server's answer must be EJSON before the guest reads it; written again by our own
        # serialiser, it is canonical and escapes what the engine could not take (lone surrogates).
        return ejson.to_canonical(ejson.parse(answer))


def _spread(function: Callable[..., Any]) -> Callable[[list[Any]], Any]:
    return lambda args: function(*args)


def _arity(args: list[Any], n: int, what: str) -> list[Any]:
    if len(args) != n:
        raise TypeError(f"atlas-fn host: {what} takes {n} arguments")
    return args


def _service_name(args: list[Any]) -> None:
    """``client.db(name)`` / ``database.collection(name)``: the name checked where the Python
    facade checks it (runtime.contract.services), before any request."""
    what, name = _arity(args, 2, "service.name")
    check = {"db": contract.check_database_name, "collection": contract.check_collection_name}.get(what)
    if check is None:
        raise TypeError("atlas-fn host: service.name checks 'db' or 'collection'")
    check(what, name)


def _cursor_check(args: list[Any]) -> None:
    operation, method, fetched = _arity(args, 3, "service.cursor")
    if operation not in service_api.CURSOR_METHODS or method not in service_api.CURSOR_MODIFIERS or type(fetched) is not bool:
        raise TypeError("atlas-fn host: service.cursor takes a cursor operation, a modifier and a flag")
    refused = service_api.cursor_modifier_error(operation, method, fetched)
    if refused is not None:
        raise TypeError(refused)


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise TypeError("not base64") from None


def _count(args: list[Any]) -> int:
    n = args[0] if len(args) == 1 else None
    if type(n) is not int or not 0 <= n <= MAX_RANDOM_BYTES:
        raise ValueError(f"crypto.randomBytes: the size must be an integer from 0 to {MAX_RANDOM_BYTES}")
    return n


def _bytes(value: Any, what: str) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    raise TypeError(f"crypto: {what} must be bytes")


def _algorithm(name: Any) -> str:
    if type(name) is not str or name.lower() not in NODE_HASHES:
        raise ValueError(f"crypto: digest method not supported: {str(name)[:40]!r}; allowed: {', '.join(sorted(NODE_HASHES))}")
    return name.lower()


def _digest(algorithm: Any, data: Any) -> Binary:
    return Binary(hashlib.new(_algorithm(algorithm), _bytes(data, "the data")).digest())


def _node_hmac(algorithm: Any, key: Any, data: Any) -> Binary:
    return Binary(_hmac.new(_bytes(key, "the key"), _bytes(data, "the data"), _algorithm(algorithm)).digest())
