"""The server's side of a worker's service requests, for one served app.

Owns: ``ServiceHost``, the handler the worker pool calls for every ``ServiceRequest``: it opens
the app's services (``runtime.services.router.open_services``: the embedded store or
``ATLAS_FN_MONGODB_URI``, the HTTP client) on first use or when ``open`` is awaited, answers
through ``router.handle``, and closes them with the server (never on a reload: ``rename``). Must not trust what a worker sent
(``router.handle`` checks it) or build HTTP answers.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any, Callable, Mapping

from runtime.contract.data_rules import Policy
from runtime.protocol.messages import ServiceRequest, ServiceResult
from runtime.services.router import AppServices, handle, open_services


class ServiceHost:
    def __init__(self, names: Mapping[str, str], *, app_dir: Path | None, data: str = "",
                 environ: Mapping[str, str] = os.environ, mongodb_uri: str | None = None,
                 http_allow: str | None = None, policies: Mapping[tuple[str, str, str], Policy] | None = None,
                 caller: Callable[[int], Any] = lambda call_id: None) -> None:
        self.names = dict(names)
        self.policies = dict(policies or {})  # the app's compiled data rules (runtime.app.snapshot)
        self.caller = caller  # the server's record of a running call that is a user's (runtime.host.pool.running_call)
        self.app_dir = app_dir
        self.data = data  # "" = <app>/.atlas-fn/data, "memory" = a throw-away store, else a folder
        self.environ = environ
        self._mongodb_uri = mongodb_uri  # the settings' (None: the environment's); never shown
        self.http_allow = http_allow
        self._services: AppServices | None = None
        self._opening = asyncio.Lock()

    async def open(self) -> AppServices:
        async with self._opening:
            if self._services is None:
                memory = self.data == "memory"
                data_dir = Path(self.data) if self.data and not memory else None
                self._services = await open_services(self.names, app_dir=self.app_dir, data_dir=data_dir,
                                                     memory=memory, environ=self.environ,
                                                     mongodb_uri=self._mongodb_uri, http_allow=self.http_allow)
                self._services.caller = self.caller
                self._services.policies = self.policies
            return self._services

    def rename(self, names: Mapping[str, str], policies: Mapping[tuple[str, str, str], Policy] | None = None) -> None:
        """A reload's new service names (``Boot.services``) and data rules; what is open stays open:
        the store belongs to the server, not to a snapshot, and keeps running."""
        self.names = dict(names)
        if policies is not None:
            self.policies = dict(policies)
        if self._services is not None:
            self._services.services = dict(names)
            self._services.policies = self.policies

    def describe(self) -> str | None:
        """The banner's line about data, once open: where the embedded store listens and keeps
        its files, or that a deployment of the user's is used (its URI never shown); None for an
        app without a MongoDB service."""
        services = self._services
        if services is None or services.mongodb is None:
            return None
        store = services.store
        if store is None:
            return "data: your MongoDB deployment (--mongodb-uri / ATLAS_FN_MONGODB_URI; the URI is not shown)"
        where = store.data_dir if store.data_dir is not None else "memory: removed when atlas-fn stops"
        return f"data: embedded store at {store.uri} ({where}); mongosh, Compass or pymongo can connect to it"

    async def __call__(self, request: ServiceRequest) -> ServiceResult:
        return await handle(request, await self.open())

    async def close(self) -> None:
        if self._services is not None:
            await self._services.close()
            self._services = None
