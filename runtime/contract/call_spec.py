"""A route's call spec: everything about a webhook or endpoint a request needs, decided once.

Owns: ``CallSpec`` (kind, service type, effective validation, secret, function key, response
format, ``can_evaluate`` rule — ``ALWAYS`` is a value, never a failed lookup — who its calls
run as, and the problem that keeps a route from running, if any) and ``Kind``.
Built at start-up by ``runtime.app.snapshot``; the route table resolves to it, the call
pipeline reads it. Must not import aiohttp, start processes or read files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from runtime.contract.can_evaluate import Rule
from runtime.contract.credentials import SYSTEM, RunAs

Kind = Literal["webhook", "endpoint"]


@dataclass(frozen=True, slots=True)
class CallSpec:
    name: str  # in the log: the webhook's name, or the endpoint's function name
    kind: Kind
    service_type: str  # "http" for endpoints; http, github or twilio for webhooks
    validation: str  # the effective method (runtime.contract.validation.effective_method)
    function_key: str  # which function a worker runs (runtime.app.functions.function_key)
    respond_result: bool
    rule: Rule  # can_evaluate, the endpoint's ANDed with its manifest entry's; ALWAYS when none
    route: str = ""  # an endpoint's route (context.request.webhookUrl); "" for webhooks
    return_type: str = "EJSON"  # endpoints: JSON or EJSON, negotiated with Accept; webhooks: EJSON
    legacy: bool = False  # a legacy webhook URL: the log names the caller (issue 3 §4)
    secret: str = field(default="", repr=False)
    problem: str = ""  # why the route cannot run (its function or config failed to load): FunctionNotLoaded
    run_as: RunAs = SYSTEM  # who calls run as (contract §2.7), decided at start-up
