"""The example app's checks (tests/example_app.py) hold for the example as shipped and with a
function a user dropped into its functions/, and still catch a change to the example's own
routes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from runtime.app.snapshot import prepare
from runtime.settings import Settings
from tests.conftest import EXAMPLE_APP, EXAMPLE_FUNCTIONS, Serve, webhook_url
from tests.example_app import assert_example_routes

MINE = "def exports(payload, response):\n    return {'mine': True}\n"


def rows(app: Path, functions: Path) -> list[tuple[str, str, str, str]]:
    return prepare(app, functions, Settings(), environ={}).routes.rows()


def copy_of_the_example(root: Path) -> tuple[Path, Path]:
    shutil.copytree(EXAMPLE_APP, root / "app_config")
    shutil.copytree(EXAMPLE_FUNCTIONS, root / "functions", ignore=shutil.ignore_patterns("__pycache__"))
    return root / "app_config", root / "functions"


def test_the_example_as_it_is() -> None:
    assert_example_routes(rows(EXAMPLE_APP, EXAMPLE_FUNCTIONS))


async def test_the_example_with_a_function_a_user_dropped_in(tmp_path: Path, serve: Serve) -> None:
    app, functions = copy_of_the_example(tmp_path)
    (functions / "aa_mine.py").write_text(MINE)
    added = assert_example_routes(rows(app, functions), app, functions)
    assert "aa_mine" in added
    client = await serve(app, functions)
    mine = await client.get(webhook_url("aa_mine", service="http"))
    assert (mine.status, await mine.json()) == (200, {"mine": True})
    hello = await client.get(webhook_url("hello") + "?name=Ada")
    assert hello.status == 200 and (await hello.json())["greeting"] == "Hello, Ada!"


def test_a_changed_route_of_the_example_is_still_caught(tmp_path: Path) -> None:
    app, functions = copy_of_the_example(tmp_path)
    config = app / "services/webhooks/incoming_webhooks/signed/config.json"
    signed = json.loads(config.read_text())
    signed["options"]["httpMethod"] = "PUT"
    config.write_text(json.dumps(signed))
    with pytest.raises(AssertionError, match="the example's own routes are missing or changed"):
        assert_example_routes(rows(app, functions), app, functions)


def test_a_route_that_is_no_drop_in_of_an_added_function_is_caught(tmp_path: Path) -> None:
    app, functions = copy_of_the_example(tmp_path)
    extra = rows(app, functions) + [("GET", "/api/client/v2.0/app/example-abcde/service/http/incoming_webhook/ghost",
                                      "ghost", "NO_VALIDATION")]
    with pytest.raises(AssertionError, match="routes beyond the example's own"):
        assert_example_routes(extra, app, functions)
