"""Auth providers and rules read from an export (issue 13 §1): both layouts, problems with file names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runtime.app.config import load_app
from runtime.errors import ConfigError
from tests.auth.conftest import FIXTURE, JWT_KEY, SECRETS


def test_the_fixture_export_declares_its_providers_and_rules() -> None:
    auth = load_app(FIXTURE, environ=SECRETS).auth
    assert auth.declared
    by_name = {p.name: p for p in auth.providers}
    assert set(by_name) == {"api-key", "local-userpass", "custom-token", "anon-user"}
    assert by_name["anon-user"].disabled and not by_name["api-key"].disabled
    assert by_name["custom-token"].signing_keys == (JWT_KEY,) and JWT_KEY not in repr(by_name["custom-token"])
    assert by_name["custom-token"].config["audience"] == ["atlas-fn-tests"]
    assert {(r.database, r.collection) for r in auth.rules} == {("", ""), ("shop", "items"), ("shop", "notes")}


def test_a_missing_signing_key_and_an_unknown_provider_are_problems_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "auth").mkdir()
    (tmp_path / "auth" / "providers.json").write_text(json.dumps({
        "custom-token": {"name": "custom-token", "type": "custom-token", "config": {"signingAlgorithm": "HS256"},
                         "secret_config": {"signingKeys": ["nowhere"]}},
        "oauth2-google": {"name": "oauth2-google", "type": "oauth2-google"},
        "off": {"name": "off", "type": "oauth2-apple", "disabled": True}}))
    with pytest.raises(ConfigError) as caught:
        load_app(tmp_path, environ={})
    text = caught.value.message
    name = tmp_path.name
    assert f'{name}/auth/providers.json: $["custom-token"].secret_config.signingKeys[0]: secret \'nowhere\' has no value' in text
    assert f'{name}/auth/providers.json: $["oauth2-google"].type: \'oauth2-google\' is a provider atlas-fn cannot log users in with' in text
    assert "off" not in text.replace(name, "")  # a disabled provider of another type is accepted


def test_the_older_layout_auth_providers_folder_and_service_rules(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"app_id": "old-abcde", "config_version": 20200603, "name": "old"}))
    (tmp_path / "auth_providers").mkdir()
    (tmp_path / "auth_providers" / "api-key.json").write_text(json.dumps({"name": "api-key", "type": "api-key", "disabled": False}))
    rules = tmp_path / "services" / "mongodb-atlas" / "rules"
    rules.mkdir(parents=True)
    (rules.parent / "config.json").write_text(json.dumps({"name": "mongodb-atlas", "type": "mongodb-atlas", "config": {}}))
    (rules / "shop.items.json").write_text(json.dumps({"database": "shop", "collection": "items", "roles": [], "filters": []}))
    auth = load_app(tmp_path, environ={}).auth
    assert auth.declared and [p.type for p in auth.providers] == ["api-key"]
    assert [(r.service, r.database, r.collection) for r in auth.rules] == [("mongodb-atlas", "shop", "items")]


def test_an_export_without_providers_runs_everything_as_system() -> None:
    auth = load_app(FIXTURE.parent / "shop_20210101", environ={"ATLAS_FN_SECRET_orders_secret": "x",
                                                                "ATLAS_FN_SECRET_hello_secret": "y"}).auth
    assert not auth.declared and auth.providers == ()
