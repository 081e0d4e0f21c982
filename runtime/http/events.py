"""One finished request as one event: what the access log, the recorder and the inspector read.

Owns: ``RequestEvent`` (frozen, plain values) and the ``EventSink`` interface. The front
emits one event per request when its answer is ready; sinks must not block or raise into the
request path (an exception from a sink is logged and dropped by the front).
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

from runtime.contract.call_spec import CallSpec


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
    traceback: str = ""  # the guest's traceback with file and line, when the function failed
    # what the inspector shows (runtime.http.inspector); references, not copies: a sink that keeps
    # an event keeps these alive, so it caps what it keeps
    spec: CallSpec | None = None  # the route matched; holds the secret (for signature forensics): never log it
    target: str = ""  # the request target as received (raw path and query, secret included)
    headers: tuple[tuple[bytes, bytes], ...] = ()  # the request's header lines as sent
    body: bytes = b""  # the request body as received ("" when it was not read)
    calls: tuple[str, ...] = ()  # the response setter calls in order (runtime.contract.response)
    response_headers: tuple[tuple[str, str], ...] = ()  # as handed to aiohttp (it adds Date, Server, Content-Length)
    response_body: bytes = b""
    # perf_counter() marks (started, routed, called, finished) and the seconds the call waited for a
    # worker, as taken on the request path; ``steps(timings)`` makes them the steps a sink shows
    timings: tuple[float, float, float, float, float] | tuple[()] = ()


def steps(timings: tuple[float, ...]) -> tuple[tuple[str, float], ...]:
    """Milliseconds per step of a request's ``timings`` marks: what ran before the call (routing,
    the body, validation), the wait for a worker, the worker, and building (for a large answer,
    sending) the answer; only the first step when no call was made (``called`` is 0)."""
    if not timings:
        return ()
    started, routed, called, now, waited = timings
    routed = routed or now
    if not called:
        return (("routing, body and validation", (routed - started) * 1000),)
    return (("routing, body and validation", (routed - started) * 1000), ("queue wait", waited * 1000),
            ("worker", max(0.0, called - routed - waited) * 1000), ("writing", (now - called) * 1000))


class EventSink(Protocol):
    def __call__(self, event: RequestEvent) -> None: ...
