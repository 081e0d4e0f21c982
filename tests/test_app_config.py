"""runtime.app.config: an exported app folder becomes an ``App``, or every problem at once.

Section numbers refer to /work/shared/spec/app-services-contract.md. Problems are asserted
word for word and as the full list, in the loader's reading order (the module docstring).
"""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path
from typing import Any, Mapping

import pytest

from runtime.app.config import App, Endpoint, FunctionSource, ManifestEntry, Webhook, load_app
from runtime.errors import ConfigError

FIXTURES = Path(__file__).parent / "fixtures" / "apps"


@pytest.fixture(autouse=True)
def _empty_cwd(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ``./functions`` fallback must never see the repository's own folders."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


def write(root: Path, files: Mapping[str, Any]) -> Path:
    """Write ``{relative path: JSON value or raw text}`` under ``root``; return ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content if isinstance(content, str) else json.dumps(content, indent=4))
    return root


def problems(app_dir: Path | None, functions_dir: Path | None = None, environ: Mapping[str, str] = {}) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_app(app_dir, functions_dir, environ)
    return [str(problem) for problem in caught.value.problems]


def hooks(app: App) -> list[tuple[Any, ...]]:
    return [
        (hook.service, hook.service_type, hook.name, hook.function.name, hook.http_method,
         hook.validation_method, hook.secret, hook.respond_result)
        for hook in app.webhooks
    ]  # fmt: skip


PY = "exports = lambda payload, response: None\n"
JS = "exports = function(payload, response) {};\n"


# --- real-looking exports --------------------------------------------------------------------


def test_20180301_export_with_http_twilio_and_github_services() -> None:
    """§7.1 legacy layout (stitch.json, services/<svc>/incoming_webhooks, functions/<f>/source);
    §2.1 webhook modes; §2.5 GitHub (VERIFY_PAYLOAD only with a secret) and Twilio (ANY,
    NO_VALIDATION); §7.3 a from_secret value resolved from the environment."""
    root = FIXTURES / "movies_20180301"
    app = load_app(root, environ={"ATLAS_FN_SECRET_imdb_api_key_secret": "imdb-key"})

    assert (app.root, app.app_id, app.name, app.functions_dir) == (
        root.absolute(), "moviecollection-qwxyz", "MovieCollection", root.absolute() / "functions",
    )  # fmt: skip
    assert hooks(app) == [
        ("IMDB", "http", "getMovie", "IMDB/incoming_webhooks/getMovie", "GET", "SECRET_AS_QUERY_PARAM", "letmein", True),
        ("IMDB", "http", "newMovie", "IMDB/incoming_webhooks/newMovie", "POST", "VERIFY_PAYLOAD", "okemo", True),
        ("IMDB_Twilio", "twilio", "smsIn", "IMDB_Twilio/incoming_webhooks/smsIn", "ANY", "NO_VALIDATION", "", False),
        ("github", "github", "ping", "ping", "ANY", "NO_VALIDATION", "", True),
        ("github", "github", "push", "github/incoming_webhooks/push", "ANY", "VERIFY_PAYLOAD", "mongostitchgithub", False),
    ]  # fmt: skip
    # validateMovie has a manifest entry (functions/validateMovie/config.json), so it is no drop-in.
    get_movie, new_movie = app.webhooks[0], app.webhooks[1]
    hook_dir = root.absolute() / "services/IMDB/incoming_webhooks"
    assert get_movie.function == FunctionSource(
        "IMDB/incoming_webhooks/getMovie", hook_dir / "getMovie/source.js", "javascript"
    )
    assert new_movie.function.path == hook_dir / "newMovie/source.py"
    assert new_movie.function.language == "python"
    assert get_movie.can_evaluate == {"%%request.httpMethod": "GET"}
    assert get_movie.config_file == hook_dir / "getMovie/config.json"
    assert get_movie.extra == {
        "id": "5c4f0c2d8fd3d1a53c6a1e3c", "run_as_authed_user": False, "run_as_user_id": "",
        "run_as_user_id_script_source": "",
    }  # fmt: skip
    # the github webhook "ping" has no source.js: it is served by functions/ping/source.js
    assert app.webhooks[3].function.path == root.absolute() / "functions/ping/source.js"
    assert app.manifest == (
        ManifestEntry("ping", private=True, run_as_system=True, extra={"id": "5dc5b98357368d3168aa6d0f"}),
        ManifestEntry("validateMovie", extra={"id": "5dc5b98357368d3168aa6d0e"}),
    )
    assert [(f.name, f.language) for f in app.functions] == [("ping", "javascript"), ("validateMovie", "python")]
    assert app.values == {"imdb_api_key": "imdb-key", "imdb_base_url": "https://imdb-api.com/en/API"}
    assert app.endpoints == ()
    assert (app.environment_tag, app.environment_values) == ("", {})


@pytest.fixture
def pushpull(tmp_path: Path) -> Path:
    """The 20210101 fixture with its secrets file under the git-ignored name it must have."""
    root = tmp_path / "pushpull"
    shutil.copytree(FIXTURES / "pushpull_20210101", root)
    (root / "secrets.fixture.json").rename(root / "secrets.json")
    return root


def test_20210101_export_with_endpoints_manifest_values_and_environments(pushpull: Path) -> None:
    """§7.1 20210101 layout (realm_config.json, http_endpoints/<svc>/incoming_webhooks,
    https_endpoints/config.json, functions/config.json); §7.2 endpoint fields, missing
    return_type = JSON (§4.3), "" validation = NO_VALIDATION (§2.1); §2.6 can_evaluate kept
    on the endpoint and on the manifest entry separately; §7.3 secrets.json, values,
    environments. node_modules, .mdb/ and data_api_config.json are not read as functions."""
    app = load_app(pushpull, environ={"ATLAS_FN_ENVIRONMENT": "development"})
    functions = pushpull / "functions"
    greet = FunctionSource("endpoints/greet", functions / "endpoints/greet.py", "python")
    eggcorn = FunctionSource("utils/eggcorn", functions / "utils/eggcorn.js", "javascript")
    config = pushpull / "https_endpoints/config.json"

    assert (app.app_id, app.name, app.root) == ("pushpull-abcde", "pushpull", pushpull)
    assert app.endpoints == (
        Endpoint("/greet", "GET", greet, "endpoints/greet", "NO_VALIDATION", respond_result=True,
                 config_file=config, extra={"fetch_custom_user_data": False, "create_user_on_auth": False}),
        Endpoint("/greet", "POST", greet, "endpoints/greet", "VERIFY_PAYLOAD", secret="Super5ecr3tPa55w0rd",
                 secret_name="greet_secret", respond_result=True, return_type="EJSON", config_file=config,
                 extra={"fetch_custom_user_data": False, "create_user_on_auth": True}),
        Endpoint("/eggcorn", "*", eggcorn, "utils/eggcorn", "SECRET_AS_QUERY_PARAM", secret="acorn",
                 secret_name="eggcorn-key", can_evaluate={"%%request.headers.x-secret-key": "my-secret"},
                 config_file=config),
        Endpoint("/greet", "GET", greet, "endpoints/greet", "NO_VALIDATION", respond_result=True,
                 disabled=True, config_file=config),
    )  # fmt: skip
    assert hooks(app) == [
        ("http", "http", "create", "http/incoming_webhooks/create", "POST", "VERIFY_PAYLOAD", "okemo", True),
        ("http", "http", "report", "report", "ANY", "NO_VALIDATION", "", True),
        ("legacy", "http", "hello", "hello", "GET", "NO_VALIDATION", "", True),
    ]  # fmt: skip
    assert app.webhooks[2].disable_arg_logs is True
    assert app.manifest == (
        ManifestEntry("endpoints/greet", run_as_system=True),
        ManifestEntry("hello"),
        ManifestEntry(
            "utils/eggcorn", private=True, disable_arg_logs=True,
            can_evaluate={"%%request.remoteIPAddress": {"$nin": ["218.3.246.114", "63.76.252.182"]}},
            extra={"run_as_user_id": "624475eca51828cf7fd6bc64"},
        ),
    )  # fmt: skip
    assert [f.name for f in app.functions] == ["endpoints/greet", "hello", "report", "utils/eggcorn"]
    assert app.values == {"greeting": "Hello", "slack_token": "xoxb-fixture-token"}
    assert (app.environment_tag, app.environment_values) == ("development", {"greeting_target": "developer"})


def test_a_loaded_app_pickles_for_the_worker_processes(pushpull: Path) -> None:
    """architecture.md: only plain, frozen data crosses the process boundary."""
    app = load_app(pushpull, environ={})
    assert pickle.loads(pickle.dumps(app)) == app


def test_no_environment_tag_selects_no_environment_json(pushpull: Path) -> None:
    """§8.2: the tag is "" by default; exports keep those values in no-environment.json."""
    write(pushpull, {"environments/no-environment.json": {"values": {"greeting_target": "nobody"}}})
    app = load_app(pushpull, environ={})
    assert (app.environment_tag, app.environment_values) == ("", {"greeting_target": "nobody"})


def test_functions_only_from_the_current_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    """No app folder: ./functions is served as drop-in webhooks of service http, any method,
    no validation, result returned (§1 webhook URL shape, §4.2)."""
    monkeypatch.chdir(FIXTURES / "dropins")
    app = load_app(None, environ={})
    functions = (FIXTURES / "dropins/functions").absolute()
    assert (app.root, app.app_id, app.name, app.functions_dir) == (functions, "local", "local", functions)
    assert app.webhooks == (
        Webhook("http", "http", "hello", FunctionSource("hello", functions / "hello.py", "python"), "ANY",
                "NO_VALIDATION", respond_result=True),
        Webhook("http", "http", "tools/ping", FunctionSource("tools/ping", functions / "tools/ping.js", "javascript"),
                "ANY", "NO_VALIDATION", respond_result=True),
    )  # fmt: skip
    assert (app.endpoints, app.manifest, app.values) == ((), (), {})


def test_nothing_at_all_is_an_empty_app() -> None:
    app = load_app(None, environ={})
    assert (app.functions_dir, app.webhooks, app.app_id) == (None, (), "local")


def test_functions_dir_outside_the_app_is_shown_relative_to_its_own_parent(tmp_path: Path) -> None:
    """An explicit functions folder replaces the app's own; its files are named from its parent."""
    app = write(tmp_path / "app", {
        "functions/ignored.py": PY,
        "https_endpoints/config.json": [{"route": "/a", "http_method": "GET", "function_name": "missing"}],
    })  # fmt: skip
    fns = write(tmp_path / "fns", {"config.json": [{"name": "gone"}], "kept.py": PY})
    assert problems(app, fns) == [
        "fns/config.json: $[0].name: 'gone' names no function file; looked for fns/gone.py and fns/gone.js",
        "app/https_endpoints/config.json: $[0].function_name: 'missing' names no function file;"
        " looked for fns/missing.py and fns/missing.js",
    ]


# --- the app file ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({}, ("local", "app")),
        ({"stitch.json": {"name": "Old"}}, ("local", "Old")),
        ({"config.json": {"app_id": "c-1"}, "stitch.json": {"app_id": "s-1"}}, ("c-1", "app")),
        ({"realm_config.json": {"app_id": "r-1", "name": "R"}, "config.json": {"app_id": "c-1"}}, ("r-1", "R")),
        ({"root_config.json": {"app_id": "6244709b2e0fc6e6a1e0c9a7", "client_app_id": "myapp-abcde"}},
         ("myapp-abcde", "app")),
    ],
)  # fmt: skip
def test_app_file_precedence_and_identity(tmp_path: Path, files: dict[str, Any], expected: tuple[str, str]) -> None:
    """§7.1 root files; §7.2: the URL uses the client app id (20230101 keeps the ObjectId in app_id)."""
    app = load_app(write(tmp_path / "app", files), environ={})
    assert (app.app_id, app.name) == expected


def test_missing_or_non_folder_roots(tmp_path: Path) -> None:
    """A folder that cannot be read at all is shown as given (there is no parent to name it from)."""
    (tmp_path / "afile").write_text("")
    allowed = "allowed: an exported App Services app folder"
    assert problems(tmp_path / "missing") == [f"{tmp_path / 'missing'}: no such folder; {allowed}"]
    assert problems(tmp_path / "afile") == [f"{tmp_path / 'afile'}: is a file, not a folder; {allowed}"]
    assert problems(None, tmp_path / "nofns") == [
        f"{tmp_path / 'nofns'}: no such folder; allowed: a folder of function files (.py, .js)"
    ]


# --- every problem at once -------------------------------------------------------------------


def test_json_syntax_errors_in_many_files_are_all_reported_with_line_and_column(tmp_path: Path) -> None:
    """Broken files are reported by line and column, never with their content, and loading goes on."""
    app = write(tmp_path / "app", {
        "realm_config.json": '{"name": "x",\n "app_id" "y"}',
        "functions/config.json": "",
        "functions/ok.py": PY,
        "services/s/config.json": b"\xff\xfe{}",
        "secrets.json": '{"k": "hunter2"',
        "https_endpoints/config.json": '[\n  {\n    "route": "/a"\n    "http_method": "GET"\n  }\n]',
        "values/v.json": "{name: 1}",
        "environments/testing.json": "[1, 2",
    })  # fmt: skip
    assert problems(app) == [
        "app/realm_config.json: line 2 column 11: invalid JSON: Expecting ':' delimiter",
        "app/functions/config.json: line 1 column 1: invalid JSON: Expecting value",
        "app/services/s/config.json: byte 0 is not UTF-8; allowed: UTF-8 JSON text",
        "app/secrets.json: line 1 column 16: invalid JSON: Expecting ',' delimiter",
        "app/https_endpoints/config.json: line 4 column 5: invalid JSON: Expecting ',' delimiter",
        "app/values/v.json: line 1 column 2: invalid JSON: Expecting property name enclosed in double quotes",
        "app/environments/testing.json: line 1 column 6: invalid JSON: Expecting ',' delimiter",
    ]


def test_http_webhook_and_service_problems(tmp_path: Path) -> None:
    """§1 webhook methods; §2.1 modes, "" = NO_VALIDATION, secrets required by the secret modes;
    §7.1/§7.2 service and webhook folders; only http, github and twilio services have webhooks."""
    hook = "services/svc/incoming_webhooks"
    app = write(tmp_path / "app", {
        "functions/other.py": PY,
        "services/atlas/config.json": {"name": "atlas", "type": "mongodb-atlas"},
        "services/atlas/incoming_webhooks/x/config.json": {"name": "x"},
        "services/gh/config.json": {"name": "gh", "type": "github"},
        "services/gh/incoming_webhooks/z/config.json": {"options": {"secret": 31337}},
        "services/gh/incoming_webhooks/z/source.js": JS,
        "services/notype/incoming_webhooks/y/config.json": {"name": "y"},
        "services/svc/config.json": {"name": "svc", "type": "http", "config": {}},
        f"{hook}/a/config.json": {"name": "a", "options": {"validationMethod": "VERIFY_PAYLOAD"}, "respond_result": "yes"},
        f"{hook}/a/source.py": PY,
        f"{hook}/b/config.json": {"name": "bee", "options": {"httpMethod": "FETCH", "validationMethod": "HMAC", "secret": ""}},
        f"{hook}/c/config.json": {"options": {"httpMethod": "GET", "validationMethod": "SECRET_AS_QUERY_PARAM", "secret": ""},
                                  "can_evaluate": "true"},
        f"{hook}/c/source.py": PY,
        f"{hook}/c/source.js": JS,
        f"{hook}/d/source.py": PY,
        f"{hook}/e/config.json": {"options": "okemo", "run_as_user_id": 7},
        f"{hook}/e/source.py": PY,
        "services/wrongname/config.json": {"name": "other", "type": "http"},
        "http_endpoints/svc/incoming_webhooks/f/config.json": {"options": {"httpMethod": "GET"}},
    })  # fmt: skip
    assert problems(app) == [
        "app/services/atlas/config.json: $.type: 'mongodb-atlas' cannot have incoming webhooks"
        " (app/services/atlas/incoming_webhooks); allowed: http, github, twilio",
        "app/services/gh/incoming_webhooks/z/config.json: $.options.secret:"
        " a JSON number (value not shown) is not a string; allowed: a JSON string",
        "app/services/notype/config.json: missing, but app/services/notype/incoming_webhooks needs its service type;"
        " allowed: a config.json whose type is http, github or twilio",
        f"app/{hook}/a/config.json: $.options.httpMethod: missing; allowed: GET, POST, PUT, PATCH, DELETE, HEAD, ANY",
        f"app/{hook}/a/config.json: $.options.secret: missing, but validationMethod 'VERIFY_PAYLOAD' needs a secret;"
        " allowed: a non-empty string",
        f"app/{hook}/a/config.json: $.respond_result: 'yes' is not a boolean; allowed: true, false",
        f"app/{hook}/b/config.json: $.name: 'bee' does not match its folder name 'b'; allowed: 'b'",
        f"app/{hook}/b/config.json: $.options.httpMethod: 'FETCH' is not an HTTP method;"
        " allowed: GET, POST, PUT, PATCH, DELETE, HEAD, ANY",
        f"app/{hook}/b/config.json: $.options.validationMethod: 'HMAC' is not a validation method;"
        " allowed: NO_VALIDATION, SECRET_AS_QUERY_PARAM, VERIFY_PAYLOAD",
        f"app/{hook}/b/config.json: no source; looked for source.py and source.js beside this file,"
        " then app/functions/b.py and app/functions/b.js",
        f"app/{hook}/c/config.json: $.options.secret: empty, but validationMethod 'SECRET_AS_QUERY_PARAM' needs a secret;"
        " allowed: a non-empty string",
        f"app/{hook}/c/config.json: $.can_evaluate: 'true' is not a rule expression; allowed: a JSON object, true, false",
        f"app/{hook}/d/config.json: missing; allowed: a config.json in every incoming webhook folder",
        f"app/{hook}/e/config.json: $.options: a JSON string (value not shown) is not an object; allowed: a JSON object",
        f"app/{hook}/e/config.json: $.run_as_user_id: 7 is not a string; allowed: a JSON string",
        "app/services/wrongname/config.json: $.name: 'other' does not match its folder name 'wrongname';"
        " allowed: 'wrongname'",
        "app/http_endpoints/svc: service 'svc' is also defined by app/services/svc; allowed: one folder per service",
    ]


def test_webhook_without_any_source_and_without_a_functions_folder(tmp_path: Path) -> None:
    app = write(tmp_path / "app", {
        "http_endpoints/web/incoming_webhooks/hi/config.json": {"options": {"httpMethod": "ANY"}},
    })  # fmt: skip
    assert problems(app) == [
        "app/http_endpoints/web/incoming_webhooks/hi/config.json: no source; looked for source.py and source.js"
        " beside this file, then a function file 'hi' (there is no functions folder)"
    ]


def test_endpoint_problems(tmp_path: Path) -> None:
    """§1 routes (start with /, /data/v1/ reserved, several methods per route), methods incl. '*';
    §2.1 secret_name needed by the secret modes; §4.3 return_type; §7.2 function_name names a file."""
    app = write(tmp_path / "app", {
        "functions/endpoints/greet.py": PY,
        "functions/other.js": JS,
        "http_endpoints/config.json": [
            {"route": "/a", "http_method": "GET", "function_name": "endpoints/greet"},
            {"route": "b", "http_method": "FETCH", "function_name": "nope", "validation_method": "VERIFY_PAYLOAD"},
            {"route": "/data/v1/action/find", "http_method": "POST", "function_name": "other",
             "respond_result": 1, "return_type": "BSON"},
            {"route": "/a", "http_method": "GET", "function_name": "other"},
            {"route": "/a", "http_method": "*", "function_name": "other", "disabled": False},
            {"route": "/a", "http_method": "GET", "function_name": "other", "disabled": True},
            "oops",
            {"http_method": "GET"},
        ],
        "https_endpoints/config.json": [
            {"route": "/a", "http_method": "POST", "function_name": "other"},
            {"route": "/b", "http_method": "*", "function_name": "other"},
            {"route": "/b", "http_method": "DELETE", "function_name": "other"},
            {"route": "/c", "http_method": "GET", "function_name": "other", "validation_method": "",
             "secret_name": "unused_when_not_validating", "return_type": ""},
            {"route": "/a", "http_method": "GET", "function_name": "other"},
        ],
        "https_endpoints/data_api_config.json": {"versions": ["v1"], "validation_method": ""},
    })  # fmt: skip
    http, https = "app/http_endpoints/config.json", "app/https_endpoints/config.json"
    assert problems(app) == [
        f"{http}: $[1].route: 'b' does not start with /; allowed: a route like '/b'",
        f"{http}: $[1].http_method: 'FETCH' is not an HTTP method; allowed: GET, POST, PUT, PATCH, DELETE, *",
        f"{http}: $[1].function_name: 'nope' names no function file;"
        " looked for app/functions/nope.py and app/functions/nope.js",
        f"{http}: $[1].secret_name: missing, but validation_method 'VERIFY_PAYLOAD' needs a secret;"
        " allowed: the name of a secret",
        f"{http}: $[2].route: '/data/v1/action/find' is under /data/v1/, which the Data API reserves;"
        " allowed: any other route",
        f"{http}: $[2].respond_result: 1 is not a boolean; allowed: true, false",
        f"{http}: $[2].return_type: 'BSON' is not a return type; allowed: JSON, EJSON",
        f"{http}: $[3]: route '/a' with method 'GET' is already served by {http} $[0];"
        " allowed: one enabled endpoint per route and method",
        f"{http}: $[4]: method '*' on route '/a' overlaps method 'GET' at {http} $[0];"
        " allowed: either '*' or explicit methods on one route",
        f"{http}: $[6]: 'oops' is not an object; allowed: a JSON object",
        f"{http}: $[7].route: missing; allowed: a route starting with /",
        f"{http}: $[7].function_name: missing; allowed: the name of a function file",
        f"{https}: $[2]: method 'DELETE' on route '/b' overlaps method '*' at {https} $[1];"
        " allowed: either '*' or explicit methods on one route",
        f"{https}: $[4]: route '/a' with method 'GET' is already served by {http} $[0];"
        " allowed: one enabled endpoint per route and method",
    ]


def test_endpoint_file_must_be_an_array(tmp_path: Path) -> None:
    app = write(tmp_path / "app", {"https_endpoints/config.json": {"route": "/a"}})
    assert problems(app) == [
        "app/https_endpoints/config.json: $: {'route': '/a'} is not an array; allowed: a JSON array of endpoints"
    ]


def test_manifest_problems(tmp_path: Path) -> None:
    """§7.1/§7.2 function manifest: entries name files (a file without an entry is fine);
    20180301 functions/<f>/config.json names its own folder."""
    app = write(tmp_path / "app", {
        "functions/a.py": PY,
        "functions/b.js": JS,
        "functions/no_entry.py": PY,
        "functions/f/config.json": {"name": "g", "private": True},
        "functions/f/source.py": PY,
        "functions/config.json": [
            {"name": "a", "private": "no"},
            {"name": "ghost"},
            {"name": "a"},
            {"private": True},
            {"name": "b", "run_as_user_id": 42, "can_evaluate": []},
            7,
        ],
    })  # fmt: skip
    manifest = "app/functions/config.json"
    assert problems(app) == [
        f"{manifest}: $[0].private: 'no' is not a boolean; allowed: true, false",
        f"{manifest}: $[1].name: 'ghost' names no function file; looked for app/functions/ghost.py and app/functions/ghost.js",
        f"{manifest}: $[2].name: 'a' already has an entry at {manifest} $[0]; allowed: one entry per function",
        f"{manifest}: $[3].name: missing; allowed: the name of a function file",
        f"{manifest}: $[4].run_as_user_id: 42 is not a string; allowed: a JSON string",
        f"{manifest}: $[4].can_evaluate: [] is not a rule expression; allowed: a JSON object, true, false",
        f"{manifest}: $[5]: 7 is not an object; allowed: a JSON object",
        "app/functions/f/config.json: $.name: 'g' does not match its folder name 'f'; allowed: 'f'",
    ]


def test_manifest_must_be_an_array(tmp_path: Path) -> None:
    app = write(tmp_path / "app", {"functions/a.py": PY, "functions/config.json": {"name": "a"}})
    assert problems(app) == [
        "app/functions/config.json: $: {'name': 'a'} is not an array; allowed: a JSON array of function entries"
    ]


def test_function_files_skipped_and_named(tmp_path: Path) -> None:
    """§7.1: `a/b` → functions/a/b.js; hidden entries, __pycache__, node_modules and config.json
    files are not functions; a top-level folder with config.json + source.* is a 20180301 function."""
    app = write(tmp_path / "app", {
        "functions/a.py": PY,
        "functions/.hidden.py": PY,
        "functions/.git/hook.js": JS,
        "functions/__pycache__/b.py": PY,
        "functions/node_modules/m/index.js": JS,
        "functions/README.md": "# helpers",
        "functions/package.json": {"dependencies": {}},
        "functions/sub/deeper/c.py": PY,
        "functions/old/config.json": {"name": "old"},
        "functions/old/source.js": JS,
        "functions/old/helper.js": JS,
        "functions/notlegacy/source.py": PY,
        "functions/sub/x/config.json": {"name": "x"},
        "functions/sub/x/source.py": PY,
    })  # fmt: skip
    loaded = load_app(app, environ={})
    assert [(f.name, f.path.relative_to(app / "functions").as_posix()) for f in loaded.functions] == [
        ("a", "a.py"),
        ("notlegacy/source", "notlegacy/source.py"),
        ("old", "old/source.js"),
        ("old/helper", "old/helper.js"),
        ("sub/deeper/c", "sub/deeper/c.py"),
        ("sub/x/source", "sub/x/source.py"),
    ]
    assert [entry.name for entry in loaded.manifest] == ["old"]


def test_a_symlink_loop_in_the_functions_folder_is_walked_once(tmp_path: Path) -> None:
    app = write(tmp_path / "app", {"functions/a/b.py": PY})
    (app / "functions/a/again").symlink_to(app / "functions", target_is_directory=True)
    assert [f.name for f in load_app(app, environ={}).functions] == ["a/b"]


def test_two_files_with_one_function_name(tmp_path: Path) -> None:
    app = write(tmp_path / "app", {
        "functions/g/config.json": {"name": "g"},
        "functions/g/source.py": PY,
        "functions/g.py": PY,
    })  # fmt: skip
    assert problems(app) == [
        "app/functions/g.py: function 'g' is also defined by app/functions/g/source.py; allowed: one file per function name",
    ]


def test_a_python_port_beside_the_exported_javascript_is_the_function(tmp_path: Path) -> None:
    """Porting an export one function at a time: x.py beside x.js (or source.py beside a
    webhook's source.js) runs, and the JavaScript waits for the JavaScript engine."""
    app = write(tmp_path / "app", {
        "functions/a.js": JS,
        "functions/a.py": PY,
        "functions/f/config.json": {"name": "f"},
        "functions/f/source.js": JS,
        "functions/f.py": PY,
        "services/s/config.json": {"name": "s", "type": "http"},
        "services/s/incoming_webhooks/w/config.json": {"name": "w", "options": {"httpMethod": "GET"}},
        "services/s/incoming_webhooks/w/source.js": JS,
        "services/s/incoming_webhooks/w/source.py": PY,
    })  # fmt: skip
    loaded = load_app(app, environ={})
    assert [(f.name, f.path.name) for f in loaded.functions] == [("a", "a.py"), ("f", "f.py")]
    assert [h.function.path.name for h in loaded.webhooks if h.service == "s"] == ["source.py"]


def test_value_and_environment_problems(tmp_path: Path) -> None:
    """§7.3 values (name = file stem, from_secret names a secret) and environments; §8.2 tags."""
    app = write(tmp_path / "app", {
        "values/a.json": {"name": "b", "value": 1},
        "values/c.json": {"name": "c"},
        "values/d.json": {"name": "d", "value": "", "from_secret": True},
        "values/e.json": {"name": "e", "value": 5, "from_secret": True},
        "values/f.json": {"name": "f", "value": None, "from_secret": "yes"},
        "values/g.json": {"value": 2},
        "values/notes.txt": "not a value",
        "environments/development.json": {"values": []},
        "environments/qa.json": [],
    })  # fmt: skip
    assert problems(app, environ={"ATLAS_FN_ENVIRONMENT": "staging"}) == [
        "app/values/a.json: $.name: 'b' does not match its file name 'a.json'; allowed: 'a'",
        "app/values/c.json: $.value: missing; allowed: any JSON value",
        "app/values/d.json: $.value: empty, but from_secret is true; allowed: the name of a secret",
        "app/values/e.json: $.value: 5 is not a string; allowed: the name of a secret",
        "app/values/f.json: $.from_secret: 'yes' is not a boolean; allowed: true, false",
        "app/values/g.json: $.name: missing; allowed: a JSON string",
        "environment variable ATLAS_FN_ENVIRONMENT: 'staging' is not an environment;"
        " allowed: '' (none), development, testing, qa, production",
        "app/environments/development.json: $.values: [] is not an object; allowed: a JSON object",
        "app/environments/qa.json: $: [] is not an object; allowed: a JSON object",
    ]


def test_wrong_types_in_app_and_service_files(tmp_path: Path) -> None:
    """Unknown fields are kept or ignored; known fields of the wrong type are problems."""
    app = write(tmp_path / "app", {
        "realm_config.json": {"app_id": 12345, "name": ["x"], "unknown": {"kept": True}},
        "services/t/config.json": {"name": "t", "type": "twilio", "secret_config": {"auth_token": 1}},
        "services/t/incoming_webhooks/sms/config.json": {"respond_result": "true", "disable_arg_logs": 0},
        "services/t/incoming_webhooks/sms/source.js": JS,
    })  # fmt: skip
    assert problems(app) == [
        "app/realm_config.json: $.app_id: 12345 is not a string; allowed: a JSON string",
        "app/realm_config.json: $.name: ['x'] is not a string; allowed: a JSON string",
        "app/services/t/config.json: $.secret_config.auth_token: 1 is not a string; allowed: a JSON string",
        "app/services/t/incoming_webhooks/sms/config.json: $.respond_result: 'true' is not a boolean;"
        " allowed: true, false",
        "app/services/t/incoming_webhooks/sms/config.json: $.disable_arg_logs: 0 is not a boolean;"
        " allowed: true, false",
    ]


def test_long_values_are_truncated_in_messages(tmp_path: Path) -> None:
    app = write(tmp_path / "app", {"realm_config.json": {"name": {"description": "x" * 100}}})
    [message] = problems(app)
    shown = "{'description': '" + "x" * 40 + "..."  # repr cut to 57 characters + "..."
    assert len(shown) == 60
    assert message == f"app/realm_config.json: $.name: {shown} is not a string; allowed: a JSON string"


# --- secrets (§7.3 project rule) ------------------------------------------------------------


def _endpoint(route: str, secret_name: str, validation: str = "VERIFY_PAYLOAD") -> dict[str, Any]:
    return {"route": route, "http_method": "POST", "function_name": "f", "validation_method": validation,
            "secret_name": secret_name}  # fmt: skip


def test_environment_variable_wins_over_secrets_json(tmp_path: Path) -> None:
    """Exact ATLAS_FN_SECRET_<name> first, then the upper-cased, _-folded name, then secrets.json."""
    app = write(tmp_path / "app", {
        "functions/f.py": PY,
        "secrets.json": {"greet_secret": "from-file", "k-2": "file-2", "file_only": "file-3"},
        "https_endpoints/config.json": [
            _endpoint("/a", "greet_secret"), _endpoint("/b", "k-2"), _endpoint("/c", "file_only", "SECRET_AS_QUERY_PARAM"),
        ],
        "values/token.json": {"name": "token", "value": "k-2", "from_secret": True},
    })  # fmt: skip
    environ = {
        "ATLAS_FN_SECRET_greet_secret": "env-exact",
        "ATLAS_FN_SECRET_GREET_SECRET": "env-folded",
        "ATLAS_FN_SECRET_K_2": "env-2",
    }
    loaded = load_app(app, environ=environ)
    assert [(e.secret_name, e.secret) for e in loaded.endpoints] == [
        ("greet_secret", "env-exact"), ("k-2", "env-2"), ("file_only", "file-3"),
    ]  # fmt: skip
    assert loaded.values == {"token": "env-2"}


def test_realm_cli_v1_nested_secrets_json_supplies_service_secret_config(tmp_path: Path) -> None:
    """realm-cli v1 secrets.json {"services": {svc: {field: value}}} fills the secret that
    services/<svc>/config.json names in secret_config.<field> (§7.2 IMDB_Twilio)."""
    app = write(tmp_path / "app", {
        "services/IMDB_Twilio/config.json": {"name": "IMDB_Twilio", "type": "twilio",
                                             "secret_config": {"auth_token": "twilio_auth_token"}},
        "secrets.json": {"services": {"IMDB_Twilio": {"auth_token": "tw-token"}, "other": {"x": "y"}},
                         "auth_providers": {"custom-token": {"signingKey": "k"}}},
        "values/twilio.json": {"name": "twilio", "value": "twilio_auth_token", "from_secret": True},
    })  # fmt: skip
    assert load_app(app, environ={}).values == {"twilio": "tw-token"}


def test_missing_secret_is_one_problem_per_place_naming_both_sources(tmp_path: Path) -> None:
    app = write(tmp_path / "app", {
        "functions/f.py": PY,
        "https_endpoints/config.json": [_endpoint("/a", "secret_password"), _endpoint("/b", "API_KEY")],
        "values/key.json": {"name": "key", "value": "secret_password", "from_secret": True},
    })  # fmt: skip
    assert problems(app) == [
        "app/https_endpoints/config.json: $[0].secret_name: secret 'secret_password' has no value;"
        " looked in app/secrets.json (no such file) and the environment variables"
        " ATLAS_FN_SECRET_secret_password and ATLAS_FN_SECRET_SECRET_PASSWORD",
        "app/https_endpoints/config.json: $[1].secret_name: secret 'API_KEY' has no value;"
        " looked in app/secrets.json (no such file) and the environment variable ATLAS_FN_SECRET_API_KEY",
        "app/values/key.json: $.value: secret 'secret_password' has no value;"
        " looked in app/secrets.json (no such file) and the environment variables"
        " ATLAS_FN_SECRET_secret_password and ATLAS_FN_SECRET_SECRET_PASSWORD",
    ]


def test_secret_values_never_appear_in_problems(tmp_path: Path) -> None:
    """§2.4/§7.3: no message carries a secret, even when the secret is what is wrong."""
    app = write(tmp_path / "app", {
        "functions/f.py": PY,
        "secrets.json": {"ok": "hunter2", "listed": ["hunter3"], "number": 4444},
        "https_endpoints/config.json": [_endpoint("/a", "blank"), _endpoint("/b", "ok")],
        "services/s/config.json": {"name": "s", "type": "http"},
        "services/s/incoming_webhooks/w/config.json": {"options": {"httpMethod": "GET", "secret": ["hunter5"]}},
        "services/s/incoming_webhooks/w/source.py": PY,
    })  # fmt: skip
    found = problems(app, environ={"ATLAS_FN_SECRET_blank": ""})
    assert found == [
        "app/services/s/incoming_webhooks/w/config.json: $.options.secret: a JSON array (value not shown)"
        " is not a string; allowed: a JSON string",
        "app/secrets.json: $.listed: a JSON array (value not shown) is not a string; allowed: a JSON string",
        "app/secrets.json: $.number: a JSON number (value not shown) is not a string; allowed: a JSON string",
        "app/https_endpoints/config.json: $[0].secret_name: secret 'blank' is empty in environment variable"
        " ATLAS_FN_SECRET_blank, but validation_method 'VERIFY_PAYLOAD' needs a secret; allowed: a non-empty value",
    ]
    text = "\n".join(found)
    assert not any(secret in text for secret in ("hunter", "4444"))


def test_nested_secrets_json_shape_problems(tmp_path: Path) -> None:
    app = write(tmp_path / "app", {
        "secrets.json": {"services": {"a": {"b": 5}, "c": "d"}, "auth_providers": {}},
    })  # fmt: skip
    assert problems(app) == [
        "app/secrets.json: $.services.a.b: a JSON number (value not shown) is not a string; allowed: a JSON string",
        'app/secrets.json: $.services.c: a JSON string (value not shown) is not an object;'
        ' allowed: a JSON object {"<field>": "<value>"}',
    ]


def test_secrets_json_must_be_an_object(tmp_path: Path) -> None:
    app = write(tmp_path / "app", {"secrets.json": ["hunter2"]})
    assert problems(app) == [
        'app/secrets.json: $: a JSON array (value not shown) is not an object;'
        ' allowed: a JSON object {"<secret name>": "<value>"}'
    ]


# --- drop-ins ---------------------------------------------------------------------------------


def test_drop_in_colliding_with_a_configured_http_webhook(tmp_path: Path) -> None:
    """A function file no webhook or endpoint names is served as http/<name>; it may not shadow
    a configured webhook of the service named http."""
    app = write(tmp_path / "app", {
        "services/http/config.json": {"name": "http", "type": "http"},
        "services/http/incoming_webhooks/hello/config.json": {"options": {"httpMethod": "GET"}},
        "services/http/incoming_webhooks/hello/source.py": PY,
        "services/http/incoming_webhooks/bye/config.json": {"options": {"httpMethod": "POST"}},
        "functions/hello.py": PY,
        "functions/bye.py": PY,
    })  # fmt: skip
    assert problems(app) == [
        "app/functions/hello.py: would become the drop-in webhook http/hello,"
        " which app/services/http/incoming_webhooks/hello/config.json already defines;"
        " allowed: rename the file, or delete that webhook's source file so it serves this one",
    ]


def test_functions_named_by_endpoints_or_webhook_fallback_are_not_drop_ins(tmp_path: Path) -> None:
    app = write(tmp_path / "app", {
        "services/gh/config.json": {"name": "gh", "type": "github"},
        "services/gh/incoming_webhooks/push/config.json": {"options": {"secret": "s"}},
        "functions/push.py": PY,
        "functions/api/get.py": PY,
        "functions/loose.js": JS,
        "https_endpoints/config.json": [{"route": "/get", "http_method": "GET", "function_name": "api/get"}],
    })  # fmt: skip
    loaded = load_app(app, environ={})
    assert [(h.service, h.name, h.function.name) for h in loaded.webhooks] == [
        ("gh", "push", "push"), ("http", "loose", "loose"),
    ]  # fmt: skip


def test_functions_in_the_manifest_are_not_drop_ins(tmp_path: Path) -> None:
    """Issue 2 §3: only a file that no config names is a drop-in; the manifest is config, and
    an exported app's private helpers must not become public URLs."""
    app = write(tmp_path / "app", {
        "functions/config.json": [{"name": "utils/eggcorn", "private": True}],
        "functions/utils/eggcorn.py": PY,
        "functions/open.py": PY,
    })  # fmt: skip
    assert [h.name for h in load_app(app, environ={}).webhooks] == ["open"]


def test_a_wrong_method_beside_a_good_one_on_a_route_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    """Found by test_fuzz_config: the partial app kept an endpoint whose http_method was not a
    string, and building the route table then compared None with "POST" (a TypeError, not the report)."""
    from runtime.app.snapshot import prepare
    from runtime.settings import Settings

    app = write(tmp_path / "app", {
        "functions/endpoint.py": PY,
        "https_endpoints/config.json": [
            {"route": "/orders", "http_method": "POST", "function_name": "endpoint"},
            {"route": "/orders", "http_method": ["GET"], "function_name": "endpoint"},
        ],
        "services/http/incoming_webhooks/hook/config.json": {"name": "hook", "options": {"httpMethod": ["GET"]}},
        "services/http/config.json": {"name": "http", "type": "http"},
        "services/http/incoming_webhooks/hook/source.py": PY,
    })  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        prepare(app, None, Settings(), environ={})
    assert [str(problem) for problem in caught.value.problems] == [
        "app/services/http/incoming_webhooks/hook/config.json: $.options.httpMethod: ['GET'] is not an HTTP method;"
        " allowed: GET, POST, PUT, PATCH, DELETE, HEAD, ANY",
        "app/https_endpoints/config.json: $[1].http_method: ['GET'] is not an HTTP method;"
        " allowed: GET, POST, PUT, PATCH, DELETE, *",
    ]
