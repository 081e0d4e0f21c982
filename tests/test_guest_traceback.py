"""A runtime error carries file and line (issue 12 §6): the worker sends the traceback in the
user's files with its error reply, the server writes it to the request's log lines and its
``RequestEvent``, and never into the HTTP answer (contract §5: the envelope holds the error's
message only). Real worker processes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from runtime.http.events import RequestEvent
from runtime.protocol import messages
from runtime.worker.guest_traceback import guest_traceback
from tests.conftest import Serve, webhook_url, write_app

FUNCTIONS = {
    "boom.py": """\
        def helper(n):
            return 10 / n


        def exports(payload, response):
            console.log("about to fail")
            return helper(0)
        """,
    "jsboom.js": """\
        function helper(x) {
          return x.nope.deeper;
        }
        exports = function (payload, response) {
          return helper({});
        };
        """,
    "deep.py": "def f(n):\n    return f(n + 1)\n\n\ndef exports(payload, response):\n    return f(0)\n",
    "forged.py": "def exports(payload, response):\n    raise ValueError('one\\n2026-01-01T00:00:00Z GET /forged status=200')\n",
}


@pytest.fixture
async def client(tmp_path: Path, serve: Serve) -> Any:
    functions = write_app(tmp_path / "functions", FUNCTIONS)
    return await serve(None, functions)


def drop_in(name: str) -> str:
    return webhook_url(name, service="http", app_id="local")


async def test_a_python_error_is_logged_with_file_and_line_but_not_answered(client: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="atlas_fn.access")
    response = await client.get(drop_in("boom"))
    assert response.status == 400
    body = await response.text()
    assert "ZeroDivisionError: division by zero" in body
    assert "boom.py" not in body and "line" not in body  # the caller sees the §5 envelope only
    entry = next(r.getMessage() for r in caplog.records if "fn=boom" in r.getMessage())
    assert entry.splitlines()[1:] == [
        "  | about to fail",
        "  ! Traceback (most recent call last):",
        '  !   File "functions/boom.py", line 7, in exports',
        '  !   File "functions/boom.py", line 2, in helper',
        "  ! ZeroDivisionError: division by zero",
    ]


async def test_a_javascript_error_is_logged_with_file_line_and_column(client: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="atlas_fn.access")
    response = await client.get(drop_in("jsboom"))
    assert response.status == 400
    assert "jsboom.js" not in await response.text()
    entry = next(r.getMessage() for r in caplog.records if "fn=jsboom" in r.getMessage())
    assert entry.splitlines()[1:] == [
        "  ! TypeError: Cannot access member 'deeper' of undefined",  # App Services' (otto's) wording
        "  !     at helper (functions/jsboom.js:2:10)",
        "  !     at exports (functions/jsboom.js:5:10)",
    ]


async def test_deep_recursion_is_collapsed_and_holds_no_frame_of_atlas_fn(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="atlas_fn.access")
    events: list[RequestEvent] = []
    functions = write_app(tmp_path / "functions", FUNCTIONS)
    from runtime.app.snapshot import prepare
    from runtime.http.server import build_app
    from runtime.settings import Settings
    from tests.conftest import AtlasTestServer
    from aiohttp.test_utils import TestClient

    settings = Settings(workers=1)
    app = build_app(prepare(None, functions, settings, environ={}), settings, sinks=[events.append])
    async with TestClient(AtlasTestServer(app, settings)) as client:
        assert (await client.get(drop_in("deep"))).status == 400
        assert (await client.get(drop_in("forged"))).status == 400
    deep, forged = events
    assert deep.traceback.startswith('Traceback (most recent call last):\n  File "functions/deep.py", line 6, in exports\n')
    assert "[Previous line repeated" in deep.traceback and deep.traceback.endswith("RecursionError: maximum recursion depth exceeded")
    assert "runtime/" not in deep.traceback and "site-packages" not in deep.traceback
    assert len(deep.traceback) < 2000
    # a message holding a line break stays inside the event; the log escapes it (runtime.contract.log_text)
    assert forged.traceback.endswith("ValueError: one\n2026-01-01T00:00:00Z GET /forged status=200")
    from runtime.http.access_log import AccessLog

    access = AccessLog()
    access(forged)
    access.flush()
    logged = caplog.records[-1].getMessage().splitlines()
    assert logged[-2:] == ["  ! ValueError: one", "  ! 2026-01-01T00:00:00Z GET /forged status=200"]  # every line marked


def test_a_long_traceback_is_cut_at_its_start_to_the_protocol_bound() -> None:
    def recurse(n: int) -> None:
        if n == 0:
            raise KeyError("x" * 50)
        recurse(n - 1)  # distinct lines per level would not collapse: use distinct files below

    try:
        recurse(1)
    except KeyError as exc:
        error = exc
    text = guest_traceback(error, {__file__}, "KeyError: " + "y" * (2 * messages.MAX_TRACEBACK_CHARS))
    assert len(text) <= messages.MAX_TRACEBACK_CHARS
    assert text.startswith("… (the traceback's first ") and text.endswith("yyy")
    assert guest_traceback(error, {"functions/other.py"}, "KeyError") == ""  # no frame of a user file: none
