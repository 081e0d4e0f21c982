"""can_evaluate through the server: checked after validation, 401 NoMatchingRuleFound on
false, unsupported rules refused at start-up naming the file (contract §2.6, §5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.errors import ConfigError
from tests.conftest import Serve, webhook_config, write_app

SOURCE = "def exports(payload, response):\n    return 'ran'\n"


def app_with_rule(root: Path, rule: object) -> Path:
    config = webhook_config("guarded")
    config["can_evaluate"] = rule
    return write_app(root, {
        "services/s/config.json": {"name": "s", "type": "http"},
        "services/s/incoming_webhooks/guarded/config.json": config,
        "services/s/incoming_webhooks/guarded/source.py": SOURCE,
    })


URL = "/api/client/v2.0/app/local/service/s/incoming_webhook/guarded"


async def test_a_header_rule_allows_and_refuses(serve: Serve, tmp_path: Path) -> None:
    """contract §2.6 example: {"%%request.headers.x-secret-key": "my-secret"}."""
    client = await serve(app_with_rule(tmp_path / "app", {"%%request.headers.x-secret-key": "my-secret"}), None, pool=False)
    allowed = await client.get(URL, headers={"X-Secret-Key": "my-secret"})
    assert (allowed.status, await allowed.read()) == (200, b'"ran"')
    refused = await client.get(URL, headers={"X-Secret-Key": "nope"})
    assert refused.status == 401
    body = await refused.json()
    assert (body["error_code"], body["error"]) == ("NoMatchingRuleFound", "the request does not satisfy the can_evaluate rule of guarded")


async def test_an_ip_rule(serve: Serve, tmp_path: Path) -> None:
    client = await serve(app_with_rule(tmp_path / "app", {"%%request.remoteIPAddress": {"$nin": ["127.0.0.1"]}}), None, pool=False)
    assert (await client.get(URL)).status == 401


def test_an_unsupported_rule_is_a_start_up_problem_naming_the_file(tmp_path: Path) -> None:
    from runtime.app.snapshot import prepare
    from runtime.settings import Settings

    app = app_with_rule(tmp_path / "app", {"%%user.id": "x"})
    with pytest.raises(ConfigError) as failed:
        prepare(app, None, Settings(), environ={})
    [problem] = failed.value.problems
    assert problem.file == "app/services/s/incoming_webhooks/guarded/config.json"
    assert problem.where.startswith("$.can_evaluate")


async def test_an_endpoint_rule_is_anded_with_its_function_manifest_rule(serve: Serve, tmp_path: Path) -> None:
    """contract §2.6: can_evaluate in the endpoint config and in the function's manifest entry;
    both must hold."""
    app = write_app(tmp_path / "app", {
        "https_endpoints/config.json": [{"route": "/guarded", "http_method": "GET", "function_name": "guarded",
                                         "validation_method": "NO_VALIDATION", "respond_result": True,
                                         "can_evaluate": {"%%request.headers.x-team": "blue"}}],
        "functions/config.json": [{"name": "guarded", "can_evaluate": {"%%request.httpUserAgent": {"$ne": "bad-bot"}}}],
        "functions/guarded.py": SOURCE,
    })
    client = await serve(app, None, pool=False)
    url = "/app/local/endpoint/guarded"
    assert (await client.get(url, headers={"X-Team": "blue"})).status == 200
    refused = await client.get(url, headers={"X-Team": "red"})
    assert (refused.status, (await refused.json())["error_code"]) == (401, "NoMatchingRuleFound")
    assert (await client.get(url, headers={"X-Team": "blue", "User-Agent": "bad-bot"})).status == 401
