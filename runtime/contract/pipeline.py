"""The order of the checks between a routed request and its call (contract §1, §2, §2.6).

Owns: ``prepare_call(spec, request) -> Decision``: remove the query ``secret`` (once: it goes
no further than validation), validate, find who the call runs as (§2.7: the caller's
credentials, taken out of the request so they reach neither the function nor a log, and checked
by the plain function ``identify`` the caller injects — the user store is its I/O; or the
route's ``run_as_user_id``; a run-as script is left to the caller, ``Decision.script``), refuse
a route that failed to load, build ``context.request`` when a ``can_evaluate`` rule
needs it (then the worker reuses it), evaluate the rule, negotiate the response format, and
produce the ``Call`` a worker runs. Plain values in and out, no I/O, in the manner of
werkzeug's ``sansio``: the HTTP front, ``invoke`` and replay all go through it.
Routing, size and concurrency checks come before it (they need no body); must not import
aiohttp or know about processes.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, NamedTuple

from runtime.contract import validation
from runtime.contract.call_spec import CallSpec
from runtime.contract.credentials import Credentials, context_user, find_credentials, strip_credentials
from runtime.contract.request import build_context_request, decode_header_pairs, strip_secret
from runtime.contract.response_rules import response_format
from runtime.errors import AtlasFnError, FunctionNotLoaded, InvalidParameter, InvalidSession, NoMatchingRule
from runtime.protocol.messages import Call


class IncomingRequest(NamedTuple):
    """One request as plain values. ``url`` is ``scheme://host/path`` without the query;
    ``raw_query`` is the query as received without ``?`` ("" when none), ``secret`` included;
    ``headers`` looks up a header's first value case-insensitively; ``raw_headers`` are the
    header lines as sent, in order."""

    method: str
    url: str
    raw_query: str
    headers: Mapping[str, str]
    raw_headers: tuple[tuple[bytes, bytes], ...]
    remote: str
    body: bytes


class Decision(NamedTuple):
    """What the pipeline decided: the validation verdict (for the log and the inspector), and
    either the call to run or the caller error to answer with."""

    verdict: validation.Verdict
    call: Call | None = None
    error: AtlasFnError | None = None  # a CallerError, or FunctionNotLoaded
    script: str = ""  # a run-as script's function key: the caller runs it and sets call.user (run_as_user)


Identify = Callable[[Credentials, bool], Mapping[str, Any]]  # raises InvalidSession; bool: create_user_on_auth


def no_users(credentials: Credentials, create: bool) -> Mapping[str, Any]:
    raise InvalidSession("invalid session: atlas-fn has no user store for this app")


def prepare_call(spec: CallSpec, request: IncomingRequest, call_id: int = 0, identify: Identify = no_users) -> Decision:
    raw_query, query_secret = strip_secret(request.raw_query) if request.raw_query else (None, None)
    raw_query = raw_query or ""
    verdict = validation.verify(spec.validation, spec.kind, spec.secret, body=request.body,
                                query_secret=query_secret, headers=request.headers)
    if not verdict.ok:
        return Decision(verdict, error=validation.failure(verdict))
    run_as, user, raw_headers = spec.run_as, None, request.raw_headers
    if run_as.mode == "authed":
        raw_headers = strip_credentials(raw_headers)
        try:
            user = context_user(identify(find_credentials(request.headers), run_as.create_user))
        except (InvalidParameter, InvalidSession) as error:
            return Decision(verdict, error=error)
    elif run_as.mode == "user-id":
        try:
            user = context_user(identify(Credentials("user-id", (run_as.user_id,)), False))
        except InvalidSession as error:
            return Decision(verdict, error=error)
    if spec.problem:  # validated and authenticated first: a caller who may not call the route does not learn why it is broken
        return Decision(verdict, error=FunctionNotLoaded(spec.problem))
    context_request: dict[str, Any] | None = None
    if not spec.rule.always:
        context_request = build_context_request(
            method=request.method, url=request.url, raw_query=raw_query,
            headers=decode_header_pairs(raw_headers), remote=request.remote, kind=spec.kind, route=spec.route)
        if not spec.rule.allows(context_request):
            return Decision(verdict, error=NoMatchingRule(f"the request does not satisfy the can_evaluate rule of {spec.name}"))
    fmt = response_format(request.headers.get("Accept"), spec.return_type) if spec.kind == "endpoint" else "EJSON"
    call = Call(call_id, spec.function_key, spec.kind, spec.service_type, request.method, request.url, raw_query,
                raw_headers, request.remote, spec.respond_result, spec.route, fmt, request.body, context_request, user)
    return Decision(verdict, call=call, script=run_as.script_key if run_as.mode == "script" else "")
