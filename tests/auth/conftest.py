"""Fixtures for application users (issue 13): a copy of the data-api fixture export per test (its
user store is then the test's own), users made in it, and callers' credentials."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from runtime.auth.store import UserStore
from runtime.values import jwt

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "apps" / "dataapi_20210101"
APP_ID = "data-api-abcde"
JWT_KEY = "a-signing-key-of-the-tests"
SECRETS = {"ATLAS_FN_SECRET_jwtSigningKey": JWT_KEY, "ATLAS_FN_SECRET_endpointSecret": "endpoint-secret"}
API_KEY = "k" * 20 + "-test-api-key"


def endpoint(route: str) -> str:
    return f"/app/{APP_ID}/endpoint{route}"


def login_url(provider: str) -> str:
    return f"/api/client/v2.0/app/{APP_ID}/auth/providers/{provider}/login"


def custom_jwt(sub: str = "ext-user-1", aud: Any = "atlas-fn-tests", key: str = JWT_KEY, **claims: Any) -> str:
    return jwt.encode("HS256", {"sub": sub, "aud": aud, "exp": time.time() + 600, "name": "Ext User",
                                "team": {"id": "blue"}, **claims}, key)


class DataApi:
    """A fresh copy of the fixture export with an API-key user and an email/password user."""

    def __init__(self, root: Path) -> None:
        self.root = root
        shutil.copytree(FIXTURE, root)
        self.store = UserStore(root)
        self.key_user, _ = self.store.create_api_key_user("tests", API_KEY)
        self.password_user = self.store.create_password_user("ada@example.com", "correct horse")

    def run_as(self, function: str, **fields: Any) -> None:
        """Change a function's manifest entry (run_as_user_id needs a user made in the test)."""
        manifest = self.root / "functions" / "config.json"
        entries = json.loads(manifest.read_text())
        for entry in entries:
            if entry["name"] == function:
                entry.update(fields)
        manifest.write_text(json.dumps(entries))

    def provider(self, name: str, **fields: Any) -> None:
        """Change an auth provider's entry in ``auth/providers.json`` (``disabled=True``)."""
        providers = self.root / "auth" / "providers.json"
        config = json.loads(providers.read_text())
        config[name].update(fields)
        providers.write_text(json.dumps(config))


@pytest.fixture
def data_api(tmp_path: Path) -> DataApi:
    return DataApi(tmp_path / "app")


@pytest.fixture
async def client(serve: Any, data_api: DataApi) -> Any:
    return await serve(data_api.root, None, environ=SECRETS, data="memory")
