"""Shared test fixtures: the example app, tmp apps, and a server under the aiohttp test client.

`serve(...)` builds the real aiohttp application. By default calls run through the real
worker pool; contract tests that do not test isolation may pass `pool=False` to use the
in-process runner below, which runs the same Invoker the worker runs and sends its reply
through the same protocol encoding — never a "no isolation" switch in production code.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from runtime.protocol import frames as protocol
from runtime.protocol import messages
from runtime.errors import ServiceFailed
from runtime.app.snapshot import prepare
from runtime.worker.invoke import Invoker
from runtime.http.server import build_app
from runtime.http.serving import AtlasRunner
from runtime.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_APP = ROOT / "app_config"
EXAMPLE_FUNCTIONS = ROOT / "functions"
EXAMPLE_ID = "example-abcde"


# The §5 envelope's `link`: the request's entry on the inspector page (runtime.http.inspector), addressed
# by the server's own socket, never by the caller's Host (issue 9).
INSPECTOR_LINK = re.compile(r"http://127\.0\.0\.1:\d+/_atlas-fn/\?co_id=[0-9a-f]{18}")


def webhook_url(name: str, service: str = "webhooks", app_id: str = EXAMPLE_ID) -> str:
    return f"/api/client/v2.0/app/{app_id}/service/{service}/incoming_webhook/{name}"


class InProcessRunner:
    """A FunctionRunner for contract tests: the worker's Invoker, called in this process, with
    every message written and read back through the real protocol encoding."""

    def __init__(self, boot: messages.Boot) -> None:
        self.invoker = Invoker(_through_frames(messages.write_boot(boot), messages.read_from_server))

    async def call(self, call: messages.Call) -> messages.Reply:
        sent = _through_frames(messages.write_call(call, 1), messages.read_from_server)
        reply = self.invoker.call(sent, NoServices())
        return _through_frames(messages.write_reply(reply),
                               lambda meta, body: messages.read_from_worker(protocol.decode_reply(meta), body))


class NoServices:
    def service(self, service: str, operation: str, args: str) -> str:
        raise ServiceFailed("ServiceError", "the in-process test runner has no services")


def _through_frames(frame: bytes, read: Callable[[bytes, bytes], Any]) -> Any:
    [(meta, body)] = protocol.FrameReader(1 << 30).feed(frame)
    return read(meta, body)


class AtlasTestServer(TestServer):
    """aiohttp's TestServer on the runner every atlas-fn server uses (runtime.http.serving)."""

    def __init__(self, app: web.Application, settings: Settings) -> None:
        super().__init__(app)
        self._settings = settings

    async def _make_runner(self, **kwargs: Any) -> AtlasRunner:
        return AtlasRunner(self.app, self._settings, **kwargs)


def call_in(frame: bytes) -> messages.Call:
    """The call a frame the pool wrote to a worker carries, read as the worker reads it."""
    return _through_frames(frame, messages.read_from_server)


def write_app(root: Path, files: dict[str, Any]) -> Path:
    """Write a tmp app: JSON for dicts/lists, dedented text for strings."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content) if isinstance(content, (dict, list)) else textwrap.dedent(content))
    return root


def webhook_config(name: str, method: str = "ANY", validation: str = "NO_VALIDATION", secret: str = "",
                   respond_result: bool = True) -> dict[str, Any]:
    options = {"httpMethod": method, "validationMethod": validation}
    if secret:
        options["secret"] = secret
    return {"name": name, "options": options, "respond_result": respond_result}


Serve = Callable[..., Awaitable[TestClient]]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run tests marked slow (the full load test); CI runs their bounded versions")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Plain `pytest` skips tests marked slow; `--run-slow` or a `-m` expression that selects
    `slow` (e.g. `-m slow`) runs them."""
    markexpr = config.getoption("markexpr", "") or ""
    if config.getoption("--run-slow") or ("slow" in markexpr and "not slow" not in markexpr):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow or -m slow")
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)


@pytest.fixture
def serve(aiohttp_client: Any) -> Serve:
    async def make(app_dir: Path | None = EXAMPLE_APP, functions_dir: Path | None = EXAMPLE_FUNCTIONS,
                   pool: bool = True, environ: dict[str, str] | None = None, **settings: Any) -> TestClient:
        settings.setdefault("workers", 2)
        chosen = Settings(**settings)
        prepared = prepare(app_dir, functions_dir, chosen, environ=environ or {})
        factory = None if pool else (lambda: InProcessRunner(prepared.boot))
        return await aiohttp_client(AtlasTestServer(build_app(prepared, chosen, runner_factory=factory), chosen))

    return make
