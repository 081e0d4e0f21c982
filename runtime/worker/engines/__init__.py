"""The engines that run guest code, behind one interface (``runtime.worker.engines.base``).

Owns: which engine serves which language name (a ``FunctionArtifact.engine``), imported only
when a worker's boot names it. Must not import asyncio or aiohttp.
"""

from __future__ import annotations

import importlib

from runtime.worker.engines.base import Engine

_MODULES = {"python": "runtime.worker.engines.python.engine"}


def engine(name: str) -> Engine:
    """The engine for ``name``; ``KeyError`` names the engines there are."""
    if name not in _MODULES:
        raise KeyError(f"no engine named {name!r}; engines: {', '.join(sorted(_MODULES))}")
    return importlib.import_module(_MODULES[name]).ENGINE
