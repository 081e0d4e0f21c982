"""One finished request as one event: what the access log, the recorder and the inspector read.

Owns: ``RequestEvent`` (frozen, plain values) and the ``EventSink`` interface. The front
emits one event per request when its answer is ready; sinks must not block or raise into the
request path (an exception from a sink is logged and dropped by the front).
"""

from __future__ import annotations

from typing import NamedTuple, Protocol


class RequestEvent(NamedTuple):
    co_id: str
    method: str
    path: str  # decoded, as routed
    function: str  # "-" when no route matched
    verdict: str  # "method:ok (detail)" / "method:failed (detail)"; "-" before validation
    status: int
    milliseconds: float
    error: str  # the envelope's message, or ""
    logs: tuple[str, ...]  # the function's console lines
    legacy: bool  # a legacy webhook URL: the log names the caller
    remote: str
    user_agent: str
    traceback: str = ""  # a failed call's traceback in the user's files (runtime.worker.guest_traceback); never sent to the caller


class EventSink(Protocol):
    def __call__(self, event: RequestEvent) -> None: ...
