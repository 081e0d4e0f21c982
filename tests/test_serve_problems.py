"""Serving with problems (issue 12 §2) and hot reload end to end: real ``atlas-fn serve``
processes and real HTTP, plus the decisions of ``runtime.app.snapshot.assemble`` on apps
whose configuration is partly broken (which routes may not run, and why).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from runtime.app.snapshot import assemble
from runtime.errors import FunctionNotLoaded
from runtime.settings import Settings
from tests.conftest import write_app
from tests.test_cli import ATLAS_FN, alive, run
from tests.waiting import DEADLINE, Lines, worker_pids

HOOK = "/api/client/v2.0/app/local/service/http/incoming_webhook"
GOOD = "def exports(payload, response):\n    return 'good'\n"
BAD_IMPORT = "import os\ndef exports(payload, response):\n    return 1\n"
BAD_SYNTAX = "def exports(payload, response)\n    return 1\n"


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def start(*args: str, cwd: Path) -> tuple[subprocess.Popen[str], str, Lines, Lines]:
    """A real server in ``cwd`` (a folder without the example's app_config/)."""
    proc = subprocess.Popen([*ATLAS_FN, "serve", "--port", "0", "--workers", "1", *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = Lines(proc.stdout), Lines(proc.stderr)  # type: ignore[arg-type]
    banner = out.next()
    match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", banner)
    if not match:
        proc.kill()
        proc.wait()
        raise AssertionError(banner)
    return proc, match.group(1), out, err


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        proc.wait(30)


def test_strict_refuses_to_start_and_prints_every_problem(tmp_path: Path) -> None:
    functions = write_app(tmp_path / "functions", {"good.py": GOOD, "bad.py": BAD_IMPORT, "syntax.py": BAD_SYNTAX})
    done = run("serve", "--functions", str(functions), "--port", "0", "--strict", cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == "atlas-fn serve: 2 problems in the app:"
    assert lines[1].startswith("  functions/bad.py: line 1: import statements are not allowed (import os)")
    assert lines[2].startswith("  functions/syntax.py: line 1: SyntaxError: expected ':'")
    assert len(lines) == 3 and done.stdout == ""
    # check keeps its exit code: 1 on any problem
    assert run("check", "--functions", str(functions), cwd=tmp_path).returncode == 1


def test_serve_serves_what_loads_and_lists_every_problem(tmp_path: Path) -> None:
    functions = write_app(tmp_path / "functions", {"good.py": GOOD, "bad.py": BAD_IMPORT, "syntax.py": BAD_SYNTAX})
    proc, base, out, err = start("--functions", str(functions), cwd=tmp_path)
    try:
        said = err.until(lambda line: line.startswith("  functions/syntax.py"))
        assert said[-3].startswith("atlas-fn: serving with 2 problems: every route that loads is served")
        assert said[-2].startswith("  functions/bad.py: line 1: import statements are not allowed")
        assert get(base + f"{HOOK}/good") == (200, '"good"')
        status, body = get(base + f"{HOOK}/syntax")
        envelope = json.loads(body)
        assert (status, envelope["error_code"]) == (500, "FunctionSyntaxError")
        assert envelope["error"].startswith("webhook 'syntax' is not served: functions/syntax.py: line 1: SyntaxError: expected ':'")
    finally:
        stop(proc)


def test_an_app_whose_app_file_cannot_be_read_refuses_to_start(tmp_path: Path) -> None:
    """Nothing to serve: the app file holds the app id, so every URL."""
    app = write_app(tmp_path / "app", {"realm_config.json": '{"app_id": ', "functions/good.py": GOOD})
    done = run("serve", "--app", str(app), "--port", "0")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[0] == "atlas-fn serve: 1 problem in the app:"
    assert "app/realm_config.json" in done.stderr.splitlines()[1]


def test_a_real_server_reloads_an_edit_and_leaves_no_old_worker(tmp_path: Path) -> None:
    functions = write_app(tmp_path / "functions", {"hello.py": GOOD})
    proc, base, out, err = start("--functions", str(functions), cwd=tmp_path)
    try:
        assert get(base + f"{HOOK}/hello") == (200, '"good"')
        first = worker_pids(proc.pid)  # the one worker, and the spare process the next generation boots
        assert len(first) == 2
        (functions / "hello.py").write_text("def exports(payload, response):\n    return 'better'\n")
        reloaded = err.until(lambda line: "atlas-fn: reloaded" in line)[-1]
        assert reloaded.startswith("atlas-fn: reloaded: generation 2, 1 route")
        assert get(base + f"{HOOK}/hello") == (200, '"better"')

        def settled() -> bool:  # the old worker gone, and only it (the spare is the new worker, a new spare waits)
            now = [pid for pid in worker_pids(proc.pid) if alive(pid)]
            gone = set(first) - set(now)
            return len(now) == len(first) and len(gone) == 1 and not any(alive(pid) for pid in gone)

        deadline = time.monotonic() + DEADLINE
        while not settled() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert settled(), (first, worker_pids(proc.pid))
        (functions / "hello.py").write_text(BAD_SYNTAX)
        said = err.until(lambda line: "SyntaxError" in line)[-1]
        assert said.startswith("atlas-fn: reload: functions/hello.py: line 1: SyntaxError: expected ':'")
        assert get(base + f"{HOOK}/hello") == (200, '"better"')
    finally:
        stop(proc)
    assert proc.returncode == 0


# --- which routes may not run (runtime.app.snapshot.assemble) ----------------------------------


def routes_problems(app: Path | None, functions: Path | None = None) -> dict[str, str]:
    built = assemble(app, functions, Settings(), environ={})
    assert built.snapshot is not None
    return {spec.name: spec.problem for spec in built.snapshot.routes.specs()}


def test_a_webhook_whose_secret_is_missing_never_runs(tmp_path: Path) -> None:
    """A VERIFY_PAYLOAD webhook without its secret must not be served unchecked."""
    app = write_app(tmp_path / "app", {
        "functions/hook.py": GOOD, "functions/other.py": GOOD,
        "services/svc/config.json": {"name": "svc", "type": "http"},
        "services/svc/incoming_webhooks/hook/config.json": {
            "name": "hook", "function_name": "hook", "options": {"httpMethod": "POST", "validationMethod": "VERIFY_PAYLOAD"}},
        "services/svc/incoming_webhooks/other/config.json": {
            "name": "other", "function_name": "other", "options": {"httpMethod": "GET", "validationMethod": "NO_VALIDATION"}},
    })
    problems = routes_problems(app)
    assert problems["hook"].startswith("webhook 'hook' is not served: app/services/svc/incoming_webhooks/hook/config.json: "
                                       "$.options.secret: missing, but validationMethod 'VERIFY_PAYLOAD' needs a secret")
    assert problems["other"] == ""


def test_a_broken_manifest_stops_endpoints_and_drop_ins(tmp_path: Path) -> None:
    """The manifest lists private helpers (which must not become drop-in URLs) and endpoints'
    rules: unreadable, neither can be known."""
    app = write_app(tmp_path / "app", {
        "functions/api.py": GOOD, "functions/helper.py": GOOD,
        "functions/config.json": '[{"name": "api"}, {"name": "helper", "private": true}',
        "https_endpoints/config.json": [{"route": "/api", "http_method": "GET", "function_name": "api"}],
    })
    problems = routes_problems(app)
    assert set(problems) == {"api", "helper"}
    assert all(text and "app/functions/config.json" in text for text in problems.values())


def test_a_drop_in_app_with_one_broken_file_serves_the_rest(tmp_path: Path) -> None:
    functions = write_app(tmp_path / "functions", {"good.py": GOOD, "bad.py": BAD_IMPORT})
    built = assemble(None, functions, Settings(), environ={})
    assert [p.file for p in built.problems] == ["functions/bad.py"]
    assert routes_problems(None, functions)["good"] == ""
    assert "functions/bad.py: line 1" in routes_problems(None, functions)["bad"]
    assert FunctionNotLoaded("x").envelope("") == {"error": "x", "error_code": "FunctionSyntaxError", "link": ""}
    assert FunctionNotLoaded.status == 500


def test_a_new_config_problem_keeps_the_last_configuration_and_a_fix_is_taken(tmp_path: Path) -> None:
    functions = write_app(tmp_path / "functions", {"a.py": GOOD})
    app = write_app(tmp_path / "app", {"values/v.json": {"name": "v", "value": 1}})
    first = assemble(app, functions, Settings(), environ={})
    assert first.problems == () and first.snapshot is not None
    (app / "values/v.json").write_text('{"name": "v", "value": 2')
    broken = assemble(app, functions, Settings(), environ={}, last=first.snapshot)
    assert broken.kept == ("the configuration",) and broken.snapshot is not None
    assert broken.snapshot.boot.values == {"v": 1}  # the last good value
    (app / "values/v.json").write_text('{"name": "v", "value": 3}')
    fixed = assemble(app, functions, Settings(), environ={}, last=broken.snapshot)
    assert fixed.kept == () and fixed.snapshot is not None and fixed.snapshot.boot.values == {"v": 3}


@pytest.mark.parametrize("given", ["app", "functions"])
def test_a_folder_that_is_not_one_gives_nothing_to_serve(tmp_path: Path, given: str) -> None:
    missing = tmp_path / "nowhere"
    built = assemble(missing if given == "app" else None, missing if given == "functions" else None, Settings(), environ={})
    assert built.snapshot is None and [p.file for p in built.problems] == [str(missing)]
