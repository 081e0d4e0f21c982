"""No secret value in a ``repr`` or a start-up problem (THREAT_MODEL.md, config and secrets).

An app with a secret in every place one can be — a VERIFY_PAYLOAD webhook's ``options.secret``,
an endpoint's ``secret_name`` resolved from ``secrets.json``, a value with ``from_secret`` — is
read through the real start-up (``runtime.app.snapshot.prepare``); no secret string may occur in
the ``repr`` of the snapshot, its app, any webhook or endpoint, or any call spec of its route
table, nor in the message of a ``ConfigError`` from a broken copy of the app.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runtime.app.snapshot import Snapshot, prepare
from runtime.errors import ConfigError
from runtime.settings import Settings

WEBHOOK_SECRET = "wh-S3cret-0001"
ENDPOINT_SECRET = "ep-S3cret-0002"
VALUE_SECRET = "val-S3cret-0003"
RULE_SECRET = "rule-S3cret-0004"  # contract §2.6: a can_evaluate rule comparing a header with a shared secret
SECRETS = (WEBHOOK_SECRET, ENDPOINT_SECRET, VALUE_SECRET, RULE_SECRET)
PY = "def exports(payload, response):\n    return context.values.get('token')\n"


def _write(root: Path, files: dict[str, Any]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return root


def _app(tmp_path: Path, **broken: Any) -> Path:
    files: dict[str, Any] = {
        "realm_config.json": {"app_id": "secrets-abcde", "name": "secrets"},
        "functions/hello.py": PY,
        "services/hooks/config.json": {"name": "hooks", "type": "http"},
        "services/hooks/incoming_webhooks/signed/config.json": {
            "name": "signed", "options": {"httpMethod": "POST", "validationMethod": "VERIFY_PAYLOAD",
                                          "secret": WEBHOOK_SECRET}, "respond_result": True},
        "services/hooks/incoming_webhooks/signed/source.py": PY,
        "https_endpoints/config.json": [
            {"route": "/q", "http_method": "GET", "function_name": "hello",
             "validation_method": "SECRET_AS_QUERY_PARAM", "secret_name": "ep_secret"},
            {"route": "/signed", "http_method": "POST", "function_name": "hello",
             "validation_method": "VERIFY_PAYLOAD", "secret_name": "ep_secret",
             "can_evaluate": {"%%request.headers.x-secret-key": RULE_SECRET}},
        ],
        "functions/config.json": [{"name": "hello", "can_evaluate": {"%%request.headers.x-other-key": RULE_SECRET}}],
        "secrets.json": {"ep_secret": ENDPOINT_SECRET, "value_secret": VALUE_SECRET},
        "values/token.json": {"name": "token", "value": "value_secret", "from_secret": True},
    }
    files.update(broken)
    return _write(tmp_path / "app", files)


def _no_secret_in(text: str, what: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"a secret shows in {what}"


def test_the_app_really_holds_its_secrets(tmp_path: Path) -> None:
    """The test below means something: the secrets were read and resolved."""
    snapshot = prepare(_app(tmp_path), None, Settings(), environ={})
    assert [hook.secret for hook in snapshot.app.webhooks] == [WEBHOOK_SECRET]
    assert {endpoint.secret for endpoint in snapshot.app.endpoints} == {ENDPOINT_SECRET}
    assert snapshot.app.values["token"] == VALUE_SECRET
    assert {spec.secret for spec in snapshot.routes.specs()} == {WEBHOOK_SECRET, ENDPOINT_SECRET}
    assert not snapshot.routes.resolve("POST", "/app/secrets-abcde/endpoint/signed").rule.always


def test_no_repr_shows_a_secret(tmp_path: Path) -> None:
    snapshot: Snapshot = prepare(_app(tmp_path), None, Settings(), environ={})
    _no_secret_in(repr(snapshot), "repr(snapshot)")
    _no_secret_in(repr(snapshot.app), "repr(snapshot.app)")
    _no_secret_in(repr(snapshot.boot), "repr(snapshot.boot)")
    for entry in snapshot.app.manifest:
        _no_secret_in(repr(entry), f"repr of manifest entry {entry.name}")
    for hook in snapshot.app.webhooks:
        _no_secret_in(repr(hook), f"repr of webhook {hook.name}")
    for endpoint in snapshot.app.endpoints:
        _no_secret_in(repr(endpoint), f"repr of endpoint {endpoint.route}")
    specs = snapshot.routes.specs()
    assert len(specs) == 3
    for spec in specs:
        _no_secret_in(repr(spec), f"repr of the call spec of {spec.name}")


@pytest.mark.parametrize("broken", [
    {"services/hooks/incoming_webhooks/signed/config.json": {
        "name": "signed", "options": {"httpMethod": "FETCH", "validationMethod": "VERIFY_PAYLOAD",
                                      "secret": WEBHOOK_SECRET}}},
    {"services/hooks/incoming_webhooks/signed/config.json": {
        "name": "signed", "options": {"httpMethod": "POST", "validationMethod": "VERIFY_PAYLOAD",
                                      "secret": [WEBHOOK_SECRET]}}},
    {"services/hooks/incoming_webhooks/signed/config.json": [WEBHOOK_SECRET]},
    {"secrets.json": {"ep_secret": [ENDPOINT_SECRET], "value_secret": {"v": VALUE_SECRET}}},
    {"secrets.json": [ENDPOINT_SECRET, VALUE_SECRET]},
    {"values/token.json": {"name": "token", "value": "value_secret", "from_secret": "yes"}},
    {"https_endpoints/config.json": [
        {"route": "/q", "http_method": "GET", "function_name": "hello", "validation_method": "SECRET_AS_QUERY_PARAM",
         "secret_name": "ep_secret", "can_evaluate": {"%%request.headers.x-key": {"$gt": ENDPOINT_SECRET}}}]},
], ids=["bad-method", "secret-not-a-string", "config-not-an-object", "secrets-not-strings", "secrets-not-an-object",
        "from-secret-not-a-boolean", "rule-operand"])
def test_no_start_up_problem_shows_a_secret(tmp_path: Path, broken: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as caught:
        prepare(_app(tmp_path, **broken), None, Settings(), environ={})
    _no_secret_in(str(caught.value), "the ConfigError")
    _no_secret_in(repr(caught.value.problems), "the problems")
