"""The messages that cross the process wall, each a frozen value with a kind and a call id.

Owns: the message classes (server → worker: ``Boot``, ``Call``, ``ServiceResult``; worker →
server: ``Ready``, ``Reply``, ``ServiceRequest``, ``LogEvent``), how each is written into a
frame's meta, and how each is read back. Every message is immutable: the ones of every call
are ``NamedTuple``s (a frozen dataclass costs about 2 µs to build, a named tuple 0.4), the
once-per-worker ``Boot`` and its parts frozen dataclasses. Must not know either side: no asyncio, no
processes, no engines.

Direction decides trust (``runtime.protocol.frames``): what the server sends is ``marshal``
data the worker takes as it is; what a worker sends is JSON the server checks field by field
(``read_from_worker``), because a function that escaped the sandbox owns its worker. A
worker message of a kind the server does not expect, or with a field of the wrong type, is a
``ProtocolError``.

Every message about a call carries that call's id (``call_id``, given by the server, unique
per pool): a reply or a service request names the call it belongs to, so with several calls
written to one worker a queued call is never taken for an answer, and a worker that names a
call it is not running is broken.
"""

from __future__ import annotations

import marshal
from dataclasses import dataclass, field
from typing import Any, Mapping, NamedTuple, NoReturn

from runtime.contract.response import MAX_CALL_CHARS, MAX_CALLS
from runtime.errors import ProtocolError
from runtime.settings import Settings
from runtime.protocol.frames import encode_call, encode_reply

# kinds: one short tag each, the first element of every meta
BOOT, CALL, SERVICE_RESULT = "boot", "call", "svc-result"
READY, REPLY, SERVICE_REQUEST, LOG = "ready", "reply", "svc", "log"

MAX_TRACEBACK_CHARS = 16 * 1024  # a reply's traceback text (a guest's deep recursion is cut, not refused)


@dataclass(frozen=True, slots=True)
class Limits:
    """The settings a worker enforces itself (``runtime.settings``); 0 is no limit."""

    memory_mb: int = 0
    cpu_seconds: float = 0.0
    max_response_bytes: int = 0
    max_log_bytes: int = Settings.max_log_bytes  # the settings' defaults, declared there once
    max_recursion_depth: int = Settings.max_recursion_depth


@dataclass(frozen=True, slots=True)
class FunctionArtifact:
    """One function file as a worker loads it: which engine, the name shown in errors, and
    what that engine's compiler made of the file at start-up (bytes that ``marshal`` carries)."""

    key: str
    engine: str
    filename: str
    artifact: bytes
    name: str = ""  # the app's name for it (runtime.app: ``utils/add``; 2018 layouts' ``functions/<name>/source.js``)


@dataclass(frozen=True, slots=True)
class Boot:
    functions: tuple[FunctionArtifact, ...]
    app: Mapping[str, Any]
    values: Mapping[str, Any] = field(repr=False)  # resolved values, secrets too: never in a repr
    environment: Mapping[str, Any]
    limits: Limits = field(default_factory=Limits)
    services: Mapping[str, str] = field(default_factory=dict)  # the app's services: name -> type
    # write each call's response setter calls into its reply (``Reply.calls``): only the inspector
    # shows them, and writing them is about a twentieth of a Python call's cost in its worker
    note_calls: bool = True


class Call(NamedTuple):
    """One call of one function: the request as plain values, decided in the server by the
    call pipeline (``runtime.contract.pipeline``). ``request`` is ``context.request`` when the
    server built it already (for a can_evaluate rule), else None and the worker builds it."""

    call_id: int
    function: str
    kind: str
    service_type: str
    method: str
    url: str
    raw_query: str
    headers: tuple[tuple[bytes, bytes], ...]  # the header lines as sent
    remote: str
    respond_result: bool
    route: str
    format: str
    body: bytes = b""
    request: Mapping[str, Any] | None = None
    user: Mapping[str, Any] | None = None  # context.user as plain data (contract.credentials.context_user); None: system


class ServiceResult(NamedTuple):
    """The server's answer to a ``ServiceRequest``: ``value`` (canonical EJSON text) when
    ``ok``, else ``error`` = (name, message) for the guest to catch."""

    call_id: int
    request_id: int
    ok: bool
    value: str = ""
    error: tuple[str, str] = ("", "")


class Ready(NamedTuple):
    pid: int


class Reply(NamedTuple):
    """How a call ended: ``status``/``headers`` and the frame body, or ``error`` = (code,
    message) for the §5 envelope. ``recycle``: replace this worker after this call.
    ``calls``: the response setter calls in order, as text (``runtime.contract.response``), for
    the inspector. ``waited``: seconds the call waited for a worker, set by the pool (never
    sent by a worker).
    ``traceback``: on error, where in the user's files it happened (never in the HTTP answer;
    at most ``MAX_TRACEBACK_CHARS``; ``runtime.worker.guest_traceback``)."""

    call_id: int
    status: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    logs: tuple[str, ...] = ()
    error: tuple[str, str] | None = None
    recycle: bool = False
    body: bytes = b""
    calls: tuple[str, ...] = ()
    traceback: str = ""
    waited: float = 0.0  # keep it last: the pool sets it by replacing the last field


class ServiceRequest(NamedTuple):
    """A call asks the server for something only the server may do (data, HTTP, another
    function), and waits: ``service`` names it, ``operation`` and ``args`` (canonical EJSON
    text) say what. The server answers with a ``ServiceResult`` of the same ids."""

    call_id: int
    request_id: int
    service: str
    operation: str
    args: str


class LogEvent(NamedTuple):
    """A line of a worker's own output (the interpreter's warnings and unraisable reports),
    attributed to the call that was running."""

    call_id: int
    text: str


# --- server → worker -------------------------------------------------------------------------

def write_boot(boot: Boot) -> bytes:
    functions = tuple((f.key, f.engine, f.filename, f.artifact, f.name) for f in boot.functions)
    limits = boot.limits
    return encode_call((BOOT, functions, dict(boot.app), dict(boot.values), dict(boot.environment),
                        (limits.memory_mb, limits.cpu_seconds, limits.max_response_bytes,
                         limits.max_log_bytes, limits.max_recursion_depth), dict(boot.services), boot.note_calls))


def write_call(call: Call, call_id: int | None = None) -> bytes:
    """``call`` as a frame; ``call_id`` (the pool's own numbering) overrides ``call.call_id``."""
    request = dict(call.request) if call.request is not None else None
    return encode_call((CALL, call.call_id if call_id is None else call_id, call.function, call.kind, call.service_type, call.method, call.url,
                        call.raw_query, call.headers, call.remote, call.respond_result, call.route, call.format,
                        request, dict(call.user) if call.user is not None else None), call.body)


def write_service_result(result: ServiceResult) -> bytes:
    return encode_call((SERVICE_RESULT, result.call_id, result.request_id, result.ok, result.value, result.error))


def read_from_server(meta: bytes, body: bytes) -> Boot | Call | ServiceResult:
    """The worker's side: what its own server sent, taken as it is."""
    value = marshal.loads(meta)  # noqa: S302 - from our own server process
    kind = value[0]
    if kind == CALL:
        (_, call_id, function, kind_, service_type, method, url, raw_query, headers, remote,
         respond_result, route, fmt, request, user) = value
        return Call(call_id, function, kind_, service_type, method, url, raw_query, headers, remote,
                    respond_result, route, fmt, body, request, user)
    if kind == SERVICE_RESULT:
        return ServiceResult(*value[1:])
    if kind == BOOT:
        _, functions, app, values, environment, limits, services, note_calls = value
        return Boot(tuple(FunctionArtifact(*f) for f in functions), app, values, environment, Limits(*limits), services,
                    note_calls)
    raise ProtocolError(f"unknown message kind {kind!r} from the server")


# --- worker → server -------------------------------------------------------------------------

def write_ready(ready: Ready) -> bytes:
    return encode_reply([READY, ready.pid])


def write_reply(reply: Reply) -> bytes:
    return encode_reply([REPLY, reply.call_id, reply.status, reply.headers, reply.logs, reply.error, reply.recycle,
                         reply.calls, reply.traceback], reply.body)


def write_service_request(request: ServiceRequest) -> bytes:
    return encode_reply([SERVICE_REQUEST, request.call_id, request.request_id, request.service,
                         request.operation, request.args])


def write_log(event: LogEvent) -> bytes:
    return encode_reply([LOG, event.call_id, event.text])


def read_from_worker(meta: Any, body: bytes) -> Ready | Reply | ServiceRequest | LogEvent:
    """The server's side: ``meta`` is the decoded JSON (``frames.decode_reply``) of a worker
    that may be hostile. Every field is checked for its type; anything else is a ProtocolError."""
    if type(meta) is not list or not meta:
        raise ProtocolError("a worker message is not a list with a kind")
    kind = meta[0]
    if kind == REPLY and len(meta) == 9:
        # Written out as `if not …: _wrong(…)`, not a helper called per check: this runs for
        # every reply, and each field's check would otherwise cost a Python call.
        _, call_id, status, headers, logs, error, recycle, calls, trace = meta
        if not (type(call_id) is int and type(status) is int and type(recycle) is bool):
            _wrong("reply")
        if not (type(trace) is str and len(trace) <= MAX_TRACEBACK_CHARS):
            _wrong("reply traceback")
        if type(headers) is not list:
            _wrong("reply headers")
        pairs = []
        for h in headers:  # a loop, not all() over a generator
            if not (type(h) is list and len(h) == 2 and type(h[0]) is str and type(h[1]) is str):
                _wrong("reply headers")
            pairs.append((h[0], h[1]))
        if type(logs) is not list:
            _wrong("reply logs")
        for line in logs:
            if type(line) is not str:
                _wrong("reply logs")
        if error is not None:
            if not (type(error) is list and len(error) == 2 and type(error[0]) is str and type(error[1]) is str):
                _wrong("reply error")
            error = (error[0], error[1])
        if not (type(calls) is list and len(calls) <= MAX_CALLS):
            _wrong("reply calls")
        for c in calls:
            if not (type(c) is str and len(c) <= MAX_CALL_CHARS):
                _wrong("reply calls")
        return Reply(call_id, status, tuple(pairs), tuple(logs), error, recycle, body, tuple(calls), trace)
    if kind == SERVICE_REQUEST and len(meta) == 6:
        _, call_id, request_id, service, operation, args = meta
        _check(type(call_id) is int and type(request_id) is int and type(service) is str
               and type(operation) is str and type(args) is str, "service request")
        return ServiceRequest(call_id, request_id, service, operation, args)
    if kind == LOG and len(meta) == 3:
        _check(type(meta[1]) is int and type(meta[2]) is str, "log event")
        return LogEvent(meta[1], meta[2])
    if kind == READY and len(meta) == 2:
        _check(type(meta[1]) is int, "ready")
        return Ready(meta[1])
    raise ProtocolError(f"a worker message of unknown kind or length ({str(kind)[:20]!r})")


def _check(ok: bool, what: str) -> None:
    if not ok:
        _wrong(what)


def _wrong(what: str) -> NoReturn:
    raise ProtocolError(f"a worker's {what} has a field of the wrong type")
