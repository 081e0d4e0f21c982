"""Broken app folders of every kind, fuzzed with hypothesis (issue 4 §4; contract §7).

Start-up (`runtime.app.snapshot.prepare`: the loader, the function compiler, the rule compiler) must
either return or raise one `ConfigError` whose every problem names a file and says what is
wrong — never any other exception, never a traceback — and no problem may show a secret.

What is written into a copy of a valid app that uses every config file the loader reads:
random bytes, invalid UTF-8, empty files, JSON syntax errors and truncated documents,
valid JSON of the wrong shape (random nested values, NaN/Infinity literals, huge numbers,
deep nesting), mutations of the app's own documents (a value replaced, a key dropped or
added, a document wrapped in an array), folders where files are expected, random
`ATLAS_FN_ENVIRONMENT` tags and function sources of random text. The command line is then
checked on a few broken apps: `python -m runtime check --app DIR` exits 1 with the problems
on stderr and no traceback.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from runtime.app.snapshot import prepare
from runtime.errors import ConfigError
from runtime.settings import Settings
from tests.conftest import ROOT, webhook_config

HOOK_SECRET = "hook-Secret-Value-1"
FILE_SECRET = "file-Secret-Value-2"
ENV_SECRET = "env-Secret-Value-3"
SECRETS = (HOOK_SECRET, FILE_SECRET, ENV_SECRET)
PY = "def exports(payload, response):\n    return {'ok': True}\n"

# A valid app that touches every file the loader reads (contract §7.2).
VALID: dict[str, Any] = {
    "realm_config.json": {"app_id": "cfg-abcde", "name": "cfg", "config_version": 20210101, "location": "US-VA"},
    "services/http/config.json": {"name": "http", "type": "http", "config": {}, "secret_config": {"token": "svc_token"}},
    "services/http/incoming_webhooks/hook/config.json": {
        **webhook_config("hook", "POST", "VERIFY_PAYLOAD", HOOK_SECRET),
        "can_evaluate": {"%%request.httpMethod": "POST"}, "run_as_user_id": "", "disable_arg_logs": False,
    },
    "services/http/incoming_webhooks/own/config.json": webhook_config("own", "GET"),
    "services/http/incoming_webhooks/own/source.py": PY,
    "services/gh/config.json": {"name": "gh", "type": "github"},
    "services/gh/incoming_webhooks/push/config.json": {"name": "push", "options": {"secret": HOOK_SECRET}},
    "http_endpoints/legacy/config.json": {"name": "legacy", "type": "http"},
    "https_endpoints/config.json": [
        {"route": "/orders", "http_method": "POST", "function_name": "endpoint", "validation_method": "SECRET_AS_QUERY_PARAM",
         "secret_name": "ep_secret", "respond_result": True, "return_type": "EJSON", "disabled": False,
         "can_evaluate": {"%%request.requestHeaders.x-key": {"$in": ["a", "b"]}}, "fetch_custom_user_data": False},
        {"route": "/orders", "http_method": "GET", "function_name": "endpoint", "validation_method": "NO_VALIDATION"},
        {"route": "/any", "http_method": "*", "function_name": "hook", "validation_method": "VERIFY_PAYLOAD",
         "secret_name": "env_secret"},
    ],
    "secrets.json": {"ep_secret": FILE_SECRET},
    "values/greeting.json": {"name": "greeting", "value": {"text": "hi", "n": [1, 2.5, None]}},
    "values/token.json": {"name": "token", "value": "ep_secret", "from_secret": True},
    "environments/no-environment.json": {"values": {"mode": "local"}},
    "environments/production.json": {"values": {"mode": "prod"}},
    "functions/config.json": [{"name": "hook", "private": False, "can_evaluate": {}}, {"name": "endpoint", "run_as_system": True}],
    "functions/hook.py": PY,
    "functions/endpoint.py": PY,
    "functions/push.py": PY,
    "functions/helpers/util.py": PY,
    "functions/legacy/config.json": {"name": "legacy", "private": True},
    "functions/legacy/source.py": PY,
}
JSON_FILES = sorted(name for name, content in VALID.items() if isinstance(content, (dict, list)))
EXTRA_JSON_FILES = [  # files the loader reads when present
    "config.json", "stitch.json", "root_config.json", "http_endpoints/config.json", "values/new.json",
    "environments/testing.json", "services/new/config.json", "services/http/incoming_webhooks/new/config.json",
    "http_endpoints/legacy/incoming_webhooks/w/config.json", "functions/new/config.json",
]
ENVIRON = {"ATLAS_FN_SECRET_env_secret": ENV_SECRET}

FUZZ = settings(max_examples=100, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])


def write(root: Path, files: dict[str, Any]) -> Path:
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for name, content in files.items():
        path = root / name
        if content is FOLDER:
            path.mkdir(parents=True, exist_ok=True)
            (path / "inside.json").write_text("{}")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif isinstance(content, str):  # as the text it is; a lone surrogate (a drawn JSON string) as its bytes
            path.write_bytes(content.encode("utf-8", "surrogatepass"))
        else:
            path.write_text(json.dumps(content, indent=2))
    return root


FOLDER = object()  # "a folder where a file is expected"


def outcome(app_dir: Path, environ: dict[str, str] | None = None) -> list[Any]:
    """Prepare the app: [] when it is good, else the problems; anything else raises."""
    try:
        prepare(app_dir, None, Settings(), environ=ENVIRON if environ is None else environ)
    except ConfigError as error:
        assert error.problems, "a ConfigError with no problem"
        for problem in error.problems:
            assert isinstance(problem.file, str) and problem.file.strip(), problem
            assert isinstance(problem.where, str), problem
            assert isinstance(problem.message, str) and problem.message.strip(), problem
            shown = str(problem)
            assert not any(secret[i:i + 8] in shown for secret in SECRETS for i in range(len(secret) - 7)), (
                f"a secret, or a part of one, in a problem: {shown}")
        assert error.message.count("\n") >= len(error.problems)
        return list(error.problems)
    return []


@pytest.fixture(autouse=True)
def _empty_cwd(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The `./functions` fallback must never see the repository's own folders."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


# --- strategies --------------------------------------------------------------------------------

def json_values(max_leaves: int = 20) -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(), st.integers(-(10 ** 60), 10 ** 60),
        st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
        st.sampled_from(["", "GET", "ANY", "*", "POST", "VERIFY_PAYLOAD", "SECRET_AS_QUERY_PARAM", "NO_VALIDATION", "JSON",
                         "EJSON", "http", "github", "twilio", "hook", "endpoint", "/route", "/data/v1/x", "ep_secret",
                         "%%request.httpMethod", "$in", "$exists", "$where", "\x00", "\udcff"]),
    )
    keys = st.one_of(st.text(max_size=12), st.sampled_from([
        "name", "type", "options", "httpMethod", "validationMethod", "secret", "respond_result", "can_evaluate",
        "route", "http_method", "function_name", "validation_method", "secret_name", "return_type", "disabled",
        "value", "from_secret", "values", "app_id", "client_app_id", "secret_config", "private", "run_as_system",
        "%%request.httpMethod", "$in", "$nin", "$eq", "$ne", "$exists", "$or"]))
    return st.recursive(scalars, lambda children: st.one_of(st.lists(children, max_size=5),
                                                            st.dictionaries(keys, children, max_size=6)),
                        max_leaves=max_leaves)


def dumps(value: Any) -> bytes:
    """JSON as Python writes it: NaN and Infinity literals, lone surrogates as escapes."""
    return json.dumps(value, allow_nan=True).encode()


@st.composite
def mutated(draw: st.DrawFn, document: Any) -> Any:
    """The document with one node replaced, dropped, added to, or wrapped."""
    if not isinstance(document, (dict, list)) or not document or draw(st.integers(0, 3)) == 0:
        action = draw(st.sampled_from(["replace", "wrap", "add"]))
        if action == "replace":
            return draw(json_values())
        if action == "wrap":
            return [document]
        if isinstance(document, dict):
            return {**document, draw(st.text(max_size=12)): draw(json_values(5))}
        if isinstance(document, list):
            return [*document, draw(json_values(5))]
        return draw(json_values())
    if isinstance(document, dict):
        key = draw(st.sampled_from(sorted(document)))
        if draw(st.booleans()):
            return {k: v for k, v in document.items() if k != key}
        return {**document, key: draw(mutated(document[key]))}
    index = draw(st.integers(0, len(document) - 1))
    return [*document[:index], draw(mutated(document[index])), *document[index + 1:]]


@st.composite
def broken_contents(draw: st.DrawFn, original: Any) -> Any:
    kind = draw(st.sampled_from(["bytes", "not-utf8", "empty", "syntax", "truncated", "random-json", "mutated",
                                 "mutated", "huge-number", "deep", "nan", "folder", "bom", "utf16", "duplicate-keys"]))
    valid = dumps(original) if original is not None else b"{}"
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "not-utf8":
        return valid[: len(valid) // 2] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80\x80"])) + valid[len(valid) // 2:]
    if kind == "empty":
        return draw(st.sampled_from([b"", b" ", b"\n\n", b"\xef\xbb\xbf"]))
    if kind == "syntax":
        return draw(st.sampled_from([b"{", b"}", b"[1,]", b"{'a': 1}", b'{"a" 1}', b"undefined", b"{a: 1}", b"// comment\n{}",
                                     b'{"a": 1} trailing', b"\x00", b'"\\ud800"', b'{"a": "\\x41"}', b"01", b"[1 2]"]))
    if kind == "truncated":
        return valid[: draw(st.integers(0, max(0, len(valid) - 1)))]
    if kind == "random-json":
        return dumps(draw(json_values()))
    if kind == "mutated":
        return dumps(draw(mutated(original)))
    if kind == "huge-number":
        digits = b"9" * draw(st.integers(4000, 20_000))
        return draw(st.sampled_from([b"%s", b'{"name": %s}', b"[%s]", b'{"value": -%s}', b'{"values": {"x": %s.5e99999}}'])) % digits
    if kind == "deep":
        depth = draw(st.integers(500, 200_000))
        shape = draw(st.sampled_from([(b"[", b"]"), (b'{"value":', b"}"), (b'{"values":{"a":', b"}}")]))
        return shape[0] * depth + b"1" + shape[1] * depth
    if kind == "nan":
        return draw(st.sampled_from([b"NaN", b"[NaN, Infinity, -Infinity]", b'{"name": NaN}', b'{"value": Infinity}',
                                     b'{"route": -Infinity, "http_method": NaN}', b'{"values": {"x": NaN}}']))
    if kind == "folder":
        return FOLDER
    if kind == "bom":
        return b"\xef\xbb\xbf" + valid
    if kind == "utf16":
        return valid.decode().encode("utf-16")
    return valid[:1] + b'"name": "a", "name": "b",' + valid[1:] if valid.startswith(b"{") and len(valid) > 2 else valid


# --- the properties ----------------------------------------------------------------------------

def test_the_valid_app_is_valid(tmp_path: Path) -> None:
    assert outcome(write(tmp_path / "app", VALID)) == []


@FUZZ
@given(data=st.data(), targets=st.lists(st.sampled_from(JSON_FILES + EXTRA_JSON_FILES), min_size=1, max_size=3, unique=True))
def test_broken_json_files(tmp_path: Path, data: st.DataObject, targets: list[str]) -> None:
    """One to three config files broken in any way: a ConfigError with files and messages."""
    files = dict(VALID)
    for name in targets:
        files[name] = data.draw(broken_contents(VALID.get(name)), label=name)
    problems = outcome(write(tmp_path / "app", files))
    broken = [name for name in targets if name in VALID and files[name] is not VALID[name]]
    if any(isinstance(files[name], bytes) and not files[name].strip() for name in broken):
        assert problems, "an empty config file was accepted"


@FUZZ
@given(document=st.sampled_from(JSON_FILES).flatmap(lambda name: st.tuples(st.just(name), mutated(VALID[name]))))
def test_mutations_of_valid_documents(tmp_path: Path, document: tuple[str, Any]) -> None:
    """One node of one document replaced with any JSON value, dropped, added or wrapped."""
    name, value = document
    outcome(write(tmp_path / "app", {**VALID, name: value}))


@FUZZ
@given(layout=st.dictionaries(
    st.sampled_from(sorted(VALID) + EXTRA_JSON_FILES + ["functions", "values", "environments", "services", "secrets.json/x",
                                                         "functions/hook.py/inner.py", "https_endpoints"]),
    st.one_of(st.just(FOLDER), st.none()), min_size=1, max_size=4))
def test_folders_where_files_are_expected_and_missing_files(tmp_path: Path, layout: dict[str, Any]) -> None:
    """Files replaced by folders (or the reverse), files and whole folders deleted."""
    files: dict[str, Any] = dict(VALID)
    for name, what in layout.items():
        for existing in [f for f in files if f == name or f.startswith(name + "/") or name.startswith(f + "/")]:
            del files[existing]
        if what is FOLDER:
            files[name] = FOLDER
        elif name in ("secrets.json/x", "functions/hook.py/inner.py"):
            files[name] = PY
    outcome(write(tmp_path / "app", files))


@FUZZ
@given(tag=st.one_of(st.sampled_from(["", "development", "testing", "qa", "production", "Production", "prod"]), st.text(max_size=20)),
       secrets=st.dictionaries(st.sampled_from(["ATLAS_FN_SECRET_ep_secret", "ATLAS_FN_SECRET_EP_SECRET", "ATLAS_FN_SECRET_env_secret",
                                                "ATLAS_FN_SECRET_ENV_SECRET", "ATLAS_FN_SECRET_svc_token"]),
                               st.sampled_from(["", ENV_SECRET, FILE_SECRET]), max_size=3))
def test_environment_tags_and_secret_variables(tmp_path: Path, tag: str, secrets: dict[str, str]) -> None:
    outcome(write(tmp_path / "app", VALID), {"ATLAS_FN_ENVIRONMENT": tag, **secrets})


@FUZZ
@given(name=st.sampled_from(["functions/hook.py", "functions/endpoint.py", "services/http/incoming_webhooks/own/source.py",
                             "functions/legacy/source.py", "functions/helpers/util.py"]),
       source=st.one_of(st.text(max_size=200), st.binary(max_size=200),
                        st.sampled_from([b"\x00", b"def exports(payload, response):\n    return (" * 1 + b"(" * 5000 + b")" * 5000,
                                         b"x = " + b"[" * 200_000, b"def exports(p, r):\n" + b" " * 4 + b"return " + b"-" * 100_000 + b"1",
                                         b"\xef\xbb\xbf" + PY.encode(), PY.encode("utf-16"), b"exports = 1\n" * 10_000])))
def test_function_files_of_random_text(tmp_path: Path, name: str, source: str | bytes) -> None:
    """Function sources are compiled at start-up: their problems join the same report."""
    outcome(write(tmp_path / "app", {**VALID, name: source}))


def test_a_webhook_config_that_is_not_an_object_does_not_show_its_secret(tmp_path: Path) -> None:
    """Found by the fuzzer: the whole document was shown (its first 57 characters), secret included."""
    push = "services/gh/incoming_webhooks/push/config.json"
    [problem] = outcome(write(tmp_path / "app", {**VALID, push: [{"options": {"secret": HOOK_SECRET}}]}))
    assert str(problem) == f"app/{push}: $: a JSON array (value not shown) is not an object; allowed: a JSON object"


def test_json_the_parser_cannot_read_is_a_problem(tmp_path: Path) -> None:
    """Found by the fuzzer: a 5000-digit number (ValueError) and 100,000 nested arrays
    (RecursionError) escaped the loader as tracebacks."""
    files = {**VALID, "realm_config.json": b'{"app_id": ' + b"1" * 5000 + b"}",
             "values/deep.json": b"[" * 100_000 + b"]" * 100_000,
             "environments/no-environment.json": b'{"values": ' + b"[" * 101 + b"]" * 101 + b"}"}
    problems = [str(p) for p in outcome(write(tmp_path / "app", files))]
    assert problems == [
        f"app/realm_config.json: a number has more than {sys.get_int_max_str_digits()} digits; allowed: numbers of at most "
        f"{sys.get_int_max_str_digits()} digits",
        "app/values/deep.json: arrays and objects nest more than 100 levels deep; allowed: at most 100 levels (BSON's limit)",
        "app/environments/no-environment.json: arrays and objects nest more than 100 levels deep; allowed: at most 100 "
        "levels (BSON's limit)",
    ]


def test_a_missing_function_file_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    """Found by the fuzzer: a webhook or endpoint naming no function file reached the compiler
    as ``function=None`` (AttributeError) instead of being reported."""
    files = {**VALID, "https_endpoints/config.json": [{"route": "/x", "http_method": "GET", "function_name": "nowhere"}]}
    del files["functions/push.py"]
    problems = [str(p) for p in outcome(write(tmp_path / "app", files))]
    assert problems == [
        "app/services/gh/incoming_webhooks/push/config.json: no source; looked for source.py and source.js beside this "
        "file, then app/functions/push.py and app/functions/push.js",
        "app/https_endpoints/config.json: $[0].function_name: 'nowhere' names no function file; looked for "
        "app/functions/nowhere.py and app/functions/nowhere.js",
    ]


# --- the command line --------------------------------------------------------------------------

CLI_CASES = {
    "huge-number": {"realm_config.json": b'{"app_id": ' + b"1" * 5000 + b"}"},
    "deep-nesting": {"values/deep.json": b"[" * 100_000 + b"]" * 100_000},
    "missing-function": {"https_endpoints/config.json": [{"route": "/x", "http_method": "GET", "function_name": "nowhere"}]},
    "broken-everything": {"realm_config.json": b"\xff\xfe", "secrets.json": b"[1,", "functions/config.json": FOLDER,
                          "services/http/incoming_webhooks/hook/config.json": [VALID["services/http/incoming_webhooks/hook/config.json"]]},
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_check_on_a_broken_app_exits_1_without_traceback(tmp_path: Path, case: str) -> None:
    app = write(tmp_path / "app", {**VALID, **CLI_CASES[case]})
    done = subprocess.run([sys.executable, "-m", "runtime", "check", "--app", str(app)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("atlas-fn check: ") and " in the app:" in lines[0], done.stderr
    assert len(lines) >= 2 and all(line.startswith("  app/") for line in lines[1:]), done.stderr
    assert not any(secret in done.stderr for secret in SECRETS)
