"""``migrate`` and ``diff`` on an export whose webhooks are the original JavaScript (issue 10 §4).

The fixture ``convert_20210101`` has Python ports of its webhooks; here each ``source.py`` is
replaced by the JavaScript App Services ran (the same behaviour, written as the export had it).
``migrate`` must copy each ``source.js`` byte for byte to ``functions/<svc>_<name>.js`` as the
converter did (contract §6), and ``diff`` must run JavaScript on both sides and find exactly the
differences the Python fixture shows: the documented ones.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from runtime.app.config import load_app
from runtime.cli import main
from tests.test_diff import assert_only_the_documented_differences

SOURCE_APP = Path(__file__).resolve().parents[1] / "fixtures" / "apps" / "convert_20210101"

SOURCES = {  # webhook folder → the original JavaScript
    "services/gh/incoming_webhooks/push": (
        "// GitHub sends the parsed event: payload is the event itself, not {query, headers, body}.\n"
        "exports = function(payload, response) {\n  return { repo: payload.repository.name };\n};\n"),
    "http_endpoints/hooks/incoming_webhooks/echo-method": (
        "exports = function(payload, response) {\n  response.setBody(\"method: \" + context.request.httpMethod);\n};\n"),
    "http_endpoints/hooks/incoming_webhooks/query": (
        "// Untouched with respond_result: canonical EJSON from the webhook, JSON from the endpoint.\n"
        "exports = function(payload, response) {\n"
        "  return { page: payload.query.page || \"1\", count: 3, source: payload.query.source };\n};\n"),
    "http_endpoints/hooks/incoming_webhooks/greet": (
        "// contract §4.2: a status is set and a value returned.\n"
        "exports = async function(payload, response) {\n  response.setStatusCode(200);\n  return \"Hello world\";\n};\n"),
    "http_endpoints/hooks/incoming_webhooks/setbody": (
        "exports = function(payload, response) {\n"
        "  const data = EJSON.parse(payload.body.text());\n"
        "  response.setStatusCode(201);\n"
        "  response.setHeader(\"Content-Type\", \"text/plain; charset=utf-8\");\n"
        "  response.setBody(\"created: \" + data.message);\n};\n"),
    "http_endpoints/hooks/incoming_webhooks/authed": "exports = () => ({ ok: true });\n",
    "http_endpoints/billing/incoming_webhooks/ping": (
        "exports = function(payload, response) {\n  response.setHeader(\"X-Billing\", \"up\");\n};\n"),
}


@pytest.fixture
def js_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    app = tmp_path / "app"
    shutil.copytree(SOURCE_APP, app)
    (app / "secrets.fixture.json").rename(app / "secrets.json")
    for folder, source in SOURCES.items():
        (app / folder / "source.py").unlink()
        (app / folder / "source.js").write_text(source, encoding="utf-8")
    assert not list(app.glob("**/incoming_webhooks/*/source.py"))
    monkeypatch.chdir(tmp_path)
    return app


def test_migrate_copies_each_javascript_source_byte_for_byte(js_app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", str(js_app)]) == 0
    assert "5 webhooks converted, 0 already converted, 2 to port by hand, 0 conflicts" in capsys.readouterr().out
    for folder, source in SOURCES.items():
        service, name = folder.split("/")[1], folder.split("/")[3]
        copied = js_app / "functions" / f"{service}_{name}.js"
        if service == "gh" or (service, name) == ("billing", "ping"):
            assert not copied.exists(), copied  # GitHub and HEAD-only webhooks are ported by hand (contract §6)
            continue
        assert copied.read_bytes() == source.encode("utf-8"), copied
    app = load_app(js_app, None, environ={})
    languages = {endpoint.function.name: endpoint.function.language for endpoint in app.endpoints}
    assert languages["hooks_greet"] == languages["hooks_query"] == "javascript"


def test_diff_runs_javascript_on_both_sides_and_finds_only_the_documented_differences(
        js_app: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", str(js_app)]) == 0
    capsys.readouterr()
    report_path = tmp_path / "report.json"
    assert main(["diff", str(js_app), "--json", str(report_path)]) == 1
    assert_only_the_documented_differences(json.loads(report_path.read_text()))
