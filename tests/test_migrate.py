"""``atlas-fn migrate``: webhooks → endpoints as App Services' converter did (issue 3 §2, contract §6).

The fixture app ``convert_20210101`` is a 20210101 export with an existing
``https_endpoints/config.json`` and ``functions/config.json``, one http webhook per validation
method, an ANY webhook, a HEAD webhook and a GitHub webhook; ``tests/fixtures/migrated/`` holds
the tree the converter produces. ``secrets.json`` is git-ignored, so both trees keep it as
``secrets.fixture.json`` and the tests rename it.
"""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest

from runtime.tools import migrate
from runtime.tools.export_files import export_json
from runtime.app.config import load_app
from runtime.cli import main
from tests.conftest import webhook_config, write_app

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SOURCE_APP = FIXTURES / "apps" / "convert_20210101"
EXPECTED_APP = FIXTURES / "migrated" / "convert_20210101"
SECRET_VALUES = ("s3cr3t&<more>", "q-secret-1", "orders-fixture-secret")


def copy_app(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    (target / "secrets.fixture.json").rename(target / "secrets.json")
    return target


def tree(root: Path) -> dict[str, bytes]:
    """Every file under root by relative path; the fixture name of secrets.json mapped back."""
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            relative = path.relative_to(root).as_posix()
            files["secrets.json" if relative == "secrets.fixture.json" else relative] = path.read_bytes()
    return files


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {path.relative_to(root).as_posix(): (path.read_bytes(), path.stat().st_mtime_ns)
            for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.fixture(autouse=True)
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test outside the repository: its ./functions must never be a fallback target."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)


@pytest.fixture
def app(tmp_path: Path) -> Path:
    return copy_app(SOURCE_APP, tmp_path / "app")


# --- the fixture app, end to end through the CLI ----------------------------------------------


def test_migrate_produces_the_converters_tree_file_by_file(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", str(app)]) == 0
    produced, expected = tree(app), tree(EXPECTED_APP)
    assert sorted(produced) == sorted(expected)
    for name in expected:
        assert produced[name] == expected[name], name
    out = capsys.readouterr().out
    assert "5 webhooks converted, 0 already converted, 2 to port by hand, 0 conflicts" in out
    assert not any(secret in out for secret in SECRET_VALUES)


def test_a_second_run_changes_nothing(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", str(app)]) == 0
    before = snapshot(app)
    capsys.readouterr()
    assert main(["migrate", str(app)]) == 0
    assert snapshot(app) == before  # bytes and mtimes
    out = capsys.readouterr().out
    assert "  nothing to change" in out
    assert "0 webhooks converted, 5 already converted" in out


def test_dry_run_writes_nothing_and_prints_the_plan(app: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(app)
    assert main(["migrate", str(app), "--dry-run"]) == 0
    assert snapshot(app) == before
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert any(line.split()[:3] == ["would", "create", "functions/hooks_greet.py"] for line in lines)
    assert any(line.split()[:3] == ["would", "update", "https_endpoints/config.json"] for line in lines)
    assert any(line.split()[:3] == ["would", "update", "functions/config.json"] for line in lines)
    assert "adds secret hooks_setbody_secret = <secret> (options.secret of webhook hooks/setbody)" in out
    assert "adds endpoint /hooks/echo-method * → function hooks_echo-method (webhook hooks/echo-method)" in out
    assert "dry run: nothing written" in out
    assert not any(secret in out for secret in SECRET_VALUES)


def test_the_migrated_app_loads_with_both_url_styles(tmp_path: Path) -> None:
    migrated = copy_app(EXPECTED_APP, tmp_path / "app")
    app = load_app(migrated, environ={})
    routes = {(e.route, e.http_method): e for e in app.endpoints}
    greet = routes[("/hooks/greet", "POST")]
    assert greet.function.path == migrated / "functions" / "hooks_greet.py" and greet.respond_result
    assert routes[("/hooks/setbody", "POST")].secret == "s3cr3t&<more>"  # from secrets.json, Go-escaped there
    assert routes[("/hooks/query", "GET")].secret == "q-secret-1"
    assert routes[("/hooks/echo-method", "*")].validation_method == "NO_VALIDATION"  # "" in the webhook
    assert {(hook.service, hook.name) for hook in app.webhooks} >= {("hooks", "greet"), ("gh", "push"), ("billing", "ping")}
    manifest = {entry.name: entry for entry in app.manifest}
    assert manifest["hooks_greet"].run_as_system and not manifest["hooks_authed"].run_as_system
    assert manifest["hooks_setbody"].disable_arg_logs


# --- the pure core --------------------------------------------------------------------------------


def test_plan_lists_changes_and_manual_ports_without_writing(app: Path) -> None:
    before = snapshot(app)
    result = migrate.plan(app, environ={})
    assert snapshot(app) == before
    assert [(change.path, change.action) for change in result.changes] == [
        ("functions/hooks_authed.py", "create"), ("functions/hooks_echo-method.py", "create"),
        ("functions/hooks_greet.py", "create"), ("functions/hooks_query.py", "create"),
        ("functions/hooks_setbody.py", "create"), ("https_endpoints/config.json", "update"),
        ("functions/config.json", "update"), ("secrets.json", "update"),
    ]  # fmt: skip
    assert result.converted == ("hooks/authed", "hooks/echo-method", "hooks/greet", "hooks/query", "hooks/setbody")
    manual = {note.webhook: note.message for note in result.manual}
    assert set(manual) == {"billing/ping", "gh/push"}
    assert "their payload shape changes: GitHub sends the parsed event, Twilio the parsed form; " \
           "an endpoint receives {query, headers, body}" in manual["gh/push"]
    assert manual["billing/ping"].startswith("HEAD webhook, not converted: endpoints take no HEAD method")
    greet = next(change for change in result.changes if change.path == "functions/hooks_greet.py")
    assert greet.content == (app / "http_endpoints/hooks/incoming_webhooks/greet/source.py").read_bytes()
    secrets = next(change for change in result.changes if change.path == "secrets.json")
    assert secrets.secret and "s3cr3t" not in repr(secrets) and "s3cr3t" not in repr(result)


def test_apply_refuses_a_plan_made_from_other_bytes(app: Path) -> None:
    result = migrate.plan(app, environ={})
    (app / "https_endpoints" / "config.json").write_text("[]\n")
    with pytest.raises(migrate.MigrateError, match=r"https_endpoints/config.json changed after the plan was made"):
        migrate.apply(result)
    assert not (app / "functions" / "hooks_greet.py").exists()


def test_export_json_writes_as_go_marshal_indent() -> None:
    value = {"a": "<b>&\u2028é", "n": [1, 2.5, True, None], "e": {}, "l": []}
    assert export_json(value) == (
        '{\n    "a": "\\u003cb\\u003e\\u0026\\u2028é",\n    "n": [\n        1,\n        2.5,\n        true,\n'
        '        null\n    ],\n    "e": {},\n    "l": []\n}'
    )


# --- single rules on small apps ----------------------------------------------------------------

HOOK_SOURCE = "def exports(payload, response):\n    return {'ok': True}\n"


def small_app(root: Path, **extra: object) -> Path:
    files: dict[str, object] = {
        "realm_config.json": {"app_id": "small-abcde", "config_version": 20210101},
        "http_endpoints/h/config.json": {"name": "h", "type": "http"},
        "http_endpoints/h/incoming_webhooks/one/config.json": webhook_config("one", "POST", "VERIFY_PAYLOAD", "k1"),
        "http_endpoints/h/incoming_webhooks/one/source.py": HOOK_SOURCE,
        "http_endpoints/h/incoming_webhooks/two/config.json": webhook_config("two", "GET"),
        "http_endpoints/h/incoming_webhooks/two/source.js": "exports = function(payload, response) {\r\n  return 1;\r\n};",
    }
    files.update(extra)  # type: ignore[arg-type]
    return write_app(root, files)


def test_new_files_in_the_export_format_and_a_0600_secrets_file(tmp_path: Path) -> None:
    root = small_app(tmp_path / "app")
    migrate.apply(migrate.plan(root, environ={}))
    assert (root / "https_endpoints/config.json").read_text() == (
        '[\n    {\n        "route": "/h/one",\n        "http_method": "POST",\n        "function_name": "h_one",\n'
        '        "validation_method": "VERIFY_PAYLOAD",\n        "secret_name": "h_one_secret",\n'
        '        "respond_result": true,\n        "fetch_custom_user_data": false,\n        "create_user_on_auth": false,\n'
        '        "disabled": false\n    },\n    {\n        "route": "/h/two",\n        "http_method": "GET",\n'
        '        "function_name": "h_two",\n        "validation_method": "NO_VALIDATION",\n        "respond_result": true,\n'
        '        "fetch_custom_user_data": false,\n        "create_user_on_auth": false,\n        "disabled": false\n    }\n]\n'
    )
    assert (root / "functions/config.json").read_text() == (
        '[\n    {\n        "name": "h_one",\n        "private": false,\n        "run_as_system": true\n    },\n'
        '    {\n        "name": "h_two",\n        "private": false,\n        "run_as_system": true\n    }\n]\n'
    )
    assert (root / "secrets.json").read_text() == '{\n    "h_one_secret": "k1"\n}\n'
    assert stat.S_IMODE((root / "secrets.json").stat().st_mode) == 0o600
    assert (root / "functions/h_two.js").read_bytes() == (root / "http_endpoints/h/incoming_webhooks/two/source.js").read_bytes()
    assert load_app(root, environ={}).endpoints[0].secret == "k1"


def test_an_existing_http_endpoints_file_is_used_and_its_bytes_kept(tmp_path: Path) -> None:
    existing = '[\n  {"route": "/kept",   "http_method": "GET", "function_name": "kept"}\n]\n'
    root = small_app(tmp_path / "app", **{"functions/kept.py": HOOK_SOURCE})
    (root / "http_endpoints/config.json").write_text(existing)
    migrate.apply(migrate.plan(root, environ={}))
    assert not (root / "https_endpoints").exists()
    text = (root / "http_endpoints/config.json").read_text()
    assert text.startswith('[\n  {"route": "/kept",   "http_method": "GET", "function_name": "kept"},\n  {\n    "route": "/h/one",')
    assert text.endswith('    "disabled": false\n  }\n]\n')  # the file's own two-space unit
    assert [item["route"] for item in json.loads(text)] == ["/kept", "/h/one", "/h/two"]


def test_an_empty_array_file_gets_its_first_entries(tmp_path: Path) -> None:
    root = small_app(tmp_path / "app", **{"https_endpoints/config.json": [], "functions/config.json": []})
    migrate.apply(migrate.plan(root, environ={}))
    assert json.loads((root / "https_endpoints/config.json").read_text())[0]["route"] == "/h/one"
    assert (root / "functions/config.json").read_text().startswith('[\n    {\n        "name": "h_one",')


def test_another_functions_endpoint_on_the_route_is_a_conflict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = {"route": "/h/one", "http_method": "*", "function_name": "mine"}
    root = small_app(tmp_path / "app", **{"https_endpoints/config.json": [other], "functions/mine.py": HOOK_SOURCE})
    before = (root / "https_endpoints/config.json").read_bytes()
    assert main(["migrate", str(root)]) == 1
    out = capsys.readouterr().out
    assert ("  h/one: https_endpoints/config.json already serves /h/one * with function 'mine'; "
            "it is not overwritten") in out
    assert not (root / "functions/h_one.py").exists() and not (root / "secrets.json").exists()
    assert (root / "functions/h_two.js").exists()  # the other webhook is converted
    entries = json.loads((root / "https_endpoints/config.json").read_text())
    assert entries[0] == other and [e["route"] for e in entries] == ["/h/one", "/h/two"]
    assert (root / "https_endpoints/config.json").read_bytes().startswith(before.rstrip(b"]\n"))


def test_an_edited_converted_function_is_not_overwritten(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = small_app(tmp_path / "app")
    assert main(["migrate", str(root)]) == 0
    (root / "functions/h_one.py").write_text("def exports(request, response):\n    return 'ported'\n")
    before = snapshot(root)
    capsys.readouterr()
    assert main(["migrate", str(root)]) == 1
    assert snapshot(root) == before
    assert "functions/h_one.py exists and differs from the webhook's source" in capsys.readouterr().out


def test_the_converters_own_entry_is_resynced_in_place(tmp_path: Path) -> None:
    root = small_app(tmp_path / "app")
    migrate.apply(migrate.plan(root, environ={}))
    endpoints = (root / "https_endpoints/config.json").read_text()
    config = root / "http_endpoints/h/incoming_webhooks/one/config.json"
    config.write_text(json.dumps(webhook_config("one", "PUT", "SECRET_AS_QUERY_PARAM", "k2", respond_result=False)))
    result = migrate.plan(root, environ={})
    assert [change.path for change in result.changes] == ["https_endpoints/config.json", "secrets.json"]
    assert result.changes[0].reasons == ("re-syncs endpoint /h/one PUT → function h_one (webhook h/one)",)
    assert result.changes[1].reasons == ("updates secret h_one_secret = <secret> (options.secret of webhook h/one)",)
    migrate.apply(result)
    entries = json.loads((root / "https_endpoints/config.json").read_text())
    assert entries[0]["http_method"] == "PUT" and entries[0]["validation_method"] == "SECRET_AS_QUERY_PARAM"
    assert len(entries) == 2
    second = endpoints[endpoints.index('    {\n        "route": "/h/two"'):]
    assert (root / "https_endpoints/config.json").read_text().endswith(second)  # the other entry's bytes kept
    assert json.loads((root / "secrets.json").read_text()) == {"h_one_secret": "k2"}


def test_run_as_fields_follow_the_webhooks_precedence(tmp_path: Path) -> None:
    def hook(name: str, **fields: object) -> dict[str, object]:
        return {**webhook_config(name, "POST"), **fields}

    root = write_app(tmp_path / "app", {
        "realm_config.json": {"app_id": "r"},
        "http_endpoints/h/incoming_webhooks/authed/config.json": hook("authed", run_as_authed_user=True, run_as_user_id="u1"),
        "http_endpoints/h/incoming_webhooks/user/config.json": hook("user", run_as_user_id="u1", run_as_user_id_script_source="s"),
        "http_endpoints/h/incoming_webhooks/script/config.json": hook("script", run_as_user_id_script_source="s", can_evaluate={}),
        "http_endpoints/h/incoming_webhooks/system/config.json": hook("system", can_evaluate=True, disable_arg_logs=False),
        **{f"http_endpoints/h/incoming_webhooks/{n}/source.py": HOOK_SOURCE for n in ("authed", "user", "script", "system")},
    })  # fmt: skip
    migrate.apply(migrate.plan(root, environ={}))
    assert json.loads((root / "functions/config.json").read_text()) == [
        {"name": "h_authed", "private": False},
        {"name": "h_script", "private": False, "run_as_user_id_script_source": "s"},
        {"name": "h_system", "private": False, "run_as_system": True, "can_evaluate": True},
        {"name": "h_user", "private": False, "run_as_user_id": "u1"},
    ]


def test_a_nested_secrets_file_blocks_only_the_webhooks_with_a_secret(tmp_path: Path) -> None:
    root = small_app(tmp_path / "app", **{"secrets.json": {"services": {"h": {"token": "x"}}}})
    result = migrate.plan(root, environ={})
    assert [(note.webhook, note.message[:60]) for note in result.conflicts] == [
        ("h/one", "secrets.json has realm-cli v1's nested shape, which has no p")]
    assert result.converted == ("h/two",)


# --- bad input -------------------------------------------------------------------------------


def test_not_an_app_folder_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["migrate", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert err == (f"atlas-fn migrate: {tmp_path / 'empty'}: not an App Services app folder (it has none of "
                   "realm_config.json, root_config.json, config.json, stitch.json)\n")
    assert main(["migrate", str(tmp_path / "missing")]) == 2
    assert "does not exist; expected an exported App Services app folder" in capsys.readouterr().err


def test_a_broken_config_exits_2_with_the_loaders_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = small_app(tmp_path / "app")
    (root / "http_endpoints/h/incoming_webhooks/two/config.json").write_text('{"name": "two", "options": ')
    before = snapshot(root)
    assert main(["migrate", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("atlas-fn migrate: 1 problem in the app:\n")
    assert "app/http_endpoints/h/incoming_webhooks/two/config.json: line 1 column 28: invalid JSON" in err
    assert snapshot(root) == before


def test_a_non_boolean_flag_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = small_app(tmp_path / "app")
    config = root / "http_endpoints/h/incoming_webhooks/two/config.json"
    config.write_text(json.dumps({**webhook_config("two", "GET"), "create_user_on_auth": "yes"}))
    assert main(["migrate", str(root), "--dry-run"]) == 2
    assert "$.create_user_on_auth: 'yes' is not a boolean; allowed: true, false" in capsys.readouterr().err


def test_a_functions_folder_outside_the_app(tmp_path: Path) -> None:
    """As the example app: webhooks in app_config/, their sources in ./functions (--functions)."""
    root = write_app(tmp_path / "app_config", {
        "realm_config.json": {"app_id": "e"},
        "services/webhooks/config.json": {"name": "webhooks", "type": "http"},
        "services/webhooks/incoming_webhooks/hello/config.json": webhook_config("hello"),
    })  # fmt: skip
    functions = write_app(tmp_path / "functions", {"hello.py": HOOK_SOURCE})
    result = migrate.plan(root, functions, environ={})
    assert [change.path for change in result.changes] == [
        str(functions / "webhooks_hello.py"), "https_endpoints/config.json", str(functions / "config.json")]
    migrate.apply(result)
    assert (functions / "webhooks_hello.py").read_bytes() == HOOK_SOURCE.encode()
    assert load_app(root, functions, environ={}).endpoints[0].function_name == "webhooks_hello"


def test_the_working_directorys_functions_folder_is_never_a_silent_target(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    root = small_app(tmp_path / "app")
    (tmp_path / "cwd" / "functions").mkdir()
    assert main(["migrate", str(root)]) == 2
    assert "has no functions/ folder, and the loader would use ./functions" in capsys.readouterr().err
    assert list((tmp_path / "cwd" / "functions").iterdir()) == []
    assert main(["migrate", str(root), "--functions", str(tmp_path / "cwd" / "functions")]) == 0
    assert (tmp_path / "cwd" / "functions" / "h_one.py").is_file()
