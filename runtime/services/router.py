"""Service requests from workers: checked, dispatched to the service they name, answered.

Owns: ``AppServices`` (an app's services by name → type, the MongoDB service, the HTTP client,
the count of operations in flight per call), ``open_services``/``close`` (start and stop what
they own, the embedded store included) and ``handle(request, app_services) -> ServiceResult``.
Must not trust the worker: every field of the request is checked again, the args text is capped
and parsed here (EJSON), operations and their arguments are checked by
``runtime.contract.services``, and a result over the cap is refused instead of sent. Must not
raise: every failure is a ``ServiceResult`` with ``ok=False`` and (name, message).

A call that runs as a user (the server's own record, ``AppServices.caller``) has its MongoDB
operations checked against the collection's rules (``runtime.services.guard``).

Dispatch: ``context.http`` (service name ``"context.http"``) and every app service of type
``http`` go to the HTTP client; ``mongodb-atlas`` and ``mongodb-datafederation`` services (by
their app names) to the one MongoDB service (read-only for Federated data sources); third-party
services (GitHub, Twilio, AWS…) get a clear refusal; a name the app does not have is
``ServiceNotFound``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from runtime.contract import services as contract
from runtime.contract.credentials import caller_scope
from runtime.contract.data_rules import NOBODY, Policy
from runtime.contract.http_request import check_http
from runtime.contract.services import ServiceFailed
from runtime.protocol.messages import ServiceRequest, ServiceResult
from runtime.services.http_client import HttpClient, parse_allow
from runtime.values.pymongo_types import to_pymongo
from runtime.services.guard import run_as_user
from runtime.services.mongodb import MongoService
from runtime.services.store import Store, default_data_dir
from runtime.values import ejson

log = logging.getLogger("atlas_fn.services")

MAX_NAME = 200  # service and operation names


@dataclass
class AppServices:
    """What ``handle`` needs: ``services`` is the app's ``{name: type}``."""

    services: Mapping[str, str]
    mongodb: MongoService | None
    http: HttpClient
    store: Store | None = None
    max_result_bytes: int = contract.MAX_RESULT_BYTES
    pending: dict[int, int] = field(default_factory=dict)
    # the server's own record of a running call that is not system (host.pool.running_call):
    # call id -> its Call, so the rules know the user without trusting the worker (issue 13)
    caller: Callable[[int], Any] = field(default=lambda call_id: None)
    policies: Mapping[tuple[str, str, str], Policy] = field(default_factory=dict)  # (service, db, coll) and (service, "", "")

    def policy(self, service: str, database: str, collection: str) -> Policy:
        found = self.policies.get((service, database, collection))
        return found if found is not None else self.policies.get((service, "", ""), NOBODY)

    async def close(self) -> None:
        """Stop everything ``open_services`` started (the store last)."""
        if self.mongodb is not None:
            await self.mongodb.close()
        await self.http.close()
        if self.store is not None:
            await self.store.stop()


async def open_services(service_names: Mapping[str, str] | None, *, app_dir: Path | None = None,
                        data_dir: Path | None = None, memory: bool = False,
                        environ: Mapping[str, str] = os.environ, mongodb_uri: str | None = None,
                        http_allow: str | None = None) -> AppServices:
    """Start an app's services (``service_names`` None: an app without ``data_sources/``, which
    gets ``mongodb-atlas`` on the embedded store). The MongoDB service uses ``ATLAS_FN_MONGODB_URI`` when set,
    else an embedded store: in ``data_dir``, else ``<app_dir>/.atlas-fn/data/``, else (or with
    ``memory``) a temporary directory. The store is started only when the app has a MongoDB
    service. ``ATLAS_FN_HTTP_ALLOW`` (comma-separated hosts) lets ``context.http`` reach hosts
    whose addresses are loopback, private or link-local. ``mongodb_uri``/``http_allow``, when
    given (the server passes its settings), stand for those two variables."""
    names = dict(contract.DEFAULT_SERVICES if service_names is None else service_names)
    http = HttpClient(allow=parse_allow(environ.get("ATLAS_FN_HTTP_ALLOW", "") if http_allow is None else http_allow))
    store = None
    mongodb = None
    if any(kind in contract.MONGODB_TYPES for kind in names.values()):
        uri = (environ.get("ATLAS_FN_MONGODB_URI", "") if mongodb_uri is None else mongodb_uri).strip()
        if uri:
            mongodb = MongoService(uri=uri)
        else:
            if memory:
                where = None
            else:
                where = data_dir if data_dir is not None else default_data_dir(app_dir) if app_dir is not None else None
            store = Store(where)
            try:
                await store.start()
            except BaseException:
                await http.close()
                raise
            mongodb = MongoService(store=store)
    return AppServices(names, mongodb, http, store)


def _failed(request: Any, name: str, message: str) -> ServiceResult:
    call_id = request.call_id if type(getattr(request, "call_id", None)) is int else 0
    request_id = request.request_id if type(getattr(request, "request_id", None)) is int else 0
    return ServiceResult(call_id, request_id, False, "", (name, message))


async def handle(request: ServiceRequest, app_services: AppServices) -> ServiceResult:
    """Run one service request; never raises (a failure is ``ok=False`` with (name, message))."""
    fields_ok = (type(request.call_id) is int and type(request.request_id) is int and type(request.service) is str
                 and type(request.operation) is str and type(request.args) is str)
    if not fields_ok:
        return _failed(request, contract.INVALID_PARAMETER, "a service request has a field of the wrong type")
    call_id = request.call_id
    pending = app_services.pending.get(call_id, 0)
    if pending >= contract.MAX_PENDING_PER_CALL:
        return _failed(request, contract.TOO_MANY_OPERATIONS, contract.PENDING_MESSAGE)
    app_services.pending[call_id] = pending + 1
    try:
        value = await _run(request, app_services)
    except ServiceFailed as exc:
        return _failed(request, exc.name, exc.message)
    except Exception as exc:  # noqa: BLE001 - a bug of ours must not take the server down
        where = f"{request.service[:MAX_NAME]}.{request.operation[:MAX_NAME]}"
        mongodb = app_services.mongodb
        detail = mongodb.message(repr(exc)) if mongodb is not None else repr(exc)
        log.error("service request %s failed: %s", where, detail[:1000])
        return _failed(request, "InternalServerError", f"atlas-fn failed to run {where}")
    finally:
        left = app_services.pending.get(call_id, 1) - 1
        if left > 0:
            app_services.pending[call_id] = left
        else:
            app_services.pending.pop(call_id, None)
    return ServiceResult(call_id, request.request_id, True, value)


async def _run(request: ServiceRequest, app: AppServices) -> str:
    service, operation = request.service, request.operation
    if len(service) > MAX_NAME or len(operation) > MAX_NAME:
        raise ServiceFailed(contract.INVALID_PARAMETER, f"a service or operation name is longer than {MAX_NAME} characters")
    if len(request.args) > contract.MAX_ARGS_BYTES:
        raise ServiceFailed(contract.INVALID_PARAMETER, f"{operation}: the arguments are larger than "
                                                       f"{contract.MAX_ARGS_BYTES} bytes")
    kind = "http" if service == contract.CONTEXT_HTTP else app.services.get(service)
    if kind is None:
        raise ServiceFailed(contract.SERVICE_NOT_FOUND, f"service not found: {service!r}; this app has "
                                                       f"{', '.join(map(repr, sorted(app.services))) or 'no services'}")
    if kind in contract.THIRD_PARTY_TYPES:
        raise ServiceFailed(contract.NOT_SUPPORTED, f"service {service!r} is a {kind} service: atlas-fn does not run "
                                                   f"third-party service actions ({operation[:40]!r} was called)")
    try:
        args = to_pymongo(ejson.parse(request.args))  # the driver writes pymongo's types, not the guest's
    except ValueError as exc:
        raise ServiceFailed(contract.INVALID_PARAMETER, f"{operation}: the arguments are not valid EJSON: {exc}") from None
    if kind == contract.HTTP_TYPE:
        result = await app.http.request(check_http(operation, args, ejson.to_canonical))
    elif kind in contract.MONGODB_TYPES:
        checked = contract.check_mongodb(operation, args, writable=kind == "mongodb-atlas")
        if app.mongodb is None:
            raise ServiceFailed(contract.MONGODB_ERROR, "no MongoDB service is running")
        call = app.caller(request.call_id)
        if call is None:  # system: no rules (README of services, decision 7)
            result = await app.mongodb.run(operation, checked)
        else:
            policy = app.policy(service, checked.get("database", ""), checked.get("collection", ""))
            result = await run_as_user(app.mongodb, operation, checked, policy, caller_scope(call))
    else:
        raise ServiceFailed(contract.NOT_SUPPORTED, f"service {service!r} has type {kind!r}, which atlas-fn does not run")
    try:
        text = ejson.to_canonical(result)
    except (ValueError, TypeError) as exc:
        raise ServiceFailed(contract.MONGODB_ERROR, f"{operation}: a value of the result cannot be written as "
                                                   f"Extended JSON: {str(exc)[:300]}") from None
    size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
    if size > app.max_result_bytes:
        raise ServiceFailed(contract.READ_SIZE_LIMIT, f"{operation}: the result is {size} bytes of Extended JSON, "
                                                     f"over the limit of {app.max_result_bytes} bytes")
    return text
