"""The command line, end to end: real `atlas-fn` processes and real HTTP (issue 2 §2).

`serve` answers the docs' signed curl example, prints its address and route table, stops
cleanly on SIGTERM with no orphan worker; `check` and `serve` report every start-up problem
at once, with file and line, never a traceback; `sign` prints the docs' signature.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_APP, EXAMPLE_FUNCTIONS, ROOT, write_app
from tests.example_app import assert_example_check_summary, assert_example_routes, expected_rows, parse_route_table
from tests.waiting import Lines, wait_for_cpu, worker_pids

ATLAS_FN = [sys.executable, "-m", "runtime"]
DOCS_SIGNATURE = "sha256=828ee180512eaf8a6229eda7eea72323f68e9c0f0093b11a578b0544c5777862"  # contract §9 #1


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ATLAS_FN, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def server():  # type: ignore[no-untyped-def]
    """A real `serve` of the example app: (process, base URL, the route table it printed: its
    header line, then one line per route of the app, whatever a user added to it; its output
    lines from there on)."""
    proc = subprocess.Popen([*ATLAS_FN, "serve", "--app", str(EXAMPLE_APP), "--functions", str(EXAMPLE_FUNCTIONS),
                             "--port", "0", "--workers", "2"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = Lines(proc.stdout)  # type: ignore[arg-type]
    banner = lines.next()
    match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", banner)
    if not match:
        proc.kill()
        proc.wait()
        raise AssertionError(banner + proc.stderr.read())  # type: ignore[union-attr]
    table = [lines.next() for _ in range(1 + len(expected_rows()))]
    # the example app has the default mongodb-atlas service: its store starts with the server (issue 11 §1)
    assert lines.next().startswith("atlas-fn: data: embedded store at mongodb://127.0.0.1:")
    yield proc, match.group(1), table, lines
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_serve_answers_the_docs_signed_curl_example_and_stops_cleanly(server) -> None:  # type: ignore[no-untyped-def]
    proc, base, table, lines = server
    assert "METHODS" in table[0] and "VALIDATION" in table[0]
    assert any("/api/client/v2.0/app/example-abcde/service/webhooks/incoming_webhook/signed" in row and "VERIFY_PAYLOAD" in row for row in table)
    assert_example_routes(parse_route_table(table))
    url = f"{base}/api/client/v2.0/app/example-abcde/service/webhooks/incoming_webhook/signed"
    command = run("sign", "--secret", "12345", "--body", '{"message":"MESSAGE"}', "--curl", url).stdout.strip()
    assert DOCS_SIGNATURE in command
    done = subprocess.run(["bash", "-c", command + " -s -i"], capture_output=True, text=True, timeout=30)
    assert done.stdout.startswith("HTTP/1.1 201"), done.stdout
    assert done.stdout.endswith('{"received":"MESSAGE","length":{"$numberInt":"21"}}')
    processes = children(proc.pid)
    # two workers and the spare process hot reload keeps (runtime/http/reload.py), and the data store
    assert len(worker_pids(proc.pid)) == 3 and len(processes) == 4
    workers = processes
    proc.send_signal(signal.SIGTERM)
    # the table printed had no more rows than those checked: the next line is the goodbye
    assert lines.next().startswith("atlas-fn: stopping: ")
    assert proc.wait(timeout=30) == 0
    # the server reaps its workers before it exits (WorkerPool.close): none is left at its exit
    assert [pid for pid in workers if alive(pid)] == []
    assert "Traceback" not in proc.stderr.read()  # type: ignore[union-attr]


def test_sign_prints_the_docs_signature() -> None:
    done = run("sign", "--secret", "12345", "--body", '{"message":"MESSAGE"}')
    assert (done.returncode, done.stdout) == (0, DOCS_SIGNATURE + "\n")


def test_sign_reads_a_body_file_exactly(tmp_path: Path) -> None:
    """contract §9 #5: the curl body with spaces needs its own signature."""
    body = tmp_path / "body.json"
    body.write_bytes(b'{ "message": "Hello!" }')
    assert run("sign", "--secret", "12345", "--body-file", str(body)).stdout.strip() == (
        "sha256=2e194b98b75890863bd6786f91afe85d12699483350bb8309797a7c43756bf64")


BROKEN = {
    "realm_config.json": {"app_id": "broken"},
    "services/s/config.json": {"name": "s", "type": "http"},
    "services/s/incoming_webhooks/w/config.json": {"name": "w", "options": {"httpMethod": "FETCH"}, "respond_result": "yes"},
    "services/s/incoming_webhooks/w/source.py": "def exports(p, r):\n    return 1\n",
    "functions/bad.py": "import os\n\ndef exports(payload, response):\n    return payload.__class__\n",
    "functions/syntax.py": "def exports(payload, response)\n    return 1\n",
}


@pytest.mark.parametrize("command", ["check", "serve"])
def test_every_start_up_problem_is_reported_at_once_without_traceback(tmp_path: Path, command: str) -> None:
    app = write_app(tmp_path / "app", BROKEN)
    # serve --strict (README: serving with problems); without it, serve would serve the rest
    done = run(command, "--app", str(app), "--port", "0", "--strict") if command == "serve" else run(command, "--app", str(app))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == f"atlas-fn {command}: 5 problems in the app:"
    assert lines[1].endswith("app/services/s/incoming_webhooks/w/config.json: $.options.httpMethod: 'FETCH' is not an HTTP method; "
                             "allowed: GET, POST, PUT, PATCH, DELETE, HEAD, ANY")
    assert lines[2].endswith("app/services/s/incoming_webhooks/w/config.json: $.respond_result: 'yes' is not a boolean; allowed: true, false")
    # the function files' compile problems join the same report
    assert lines[3].startswith("  app/functions/bad.py: line 1: import statements are not allowed (import os)")
    assert lines[4] == '  app/functions/bad.py: line 4: "__class__" is an invalid attribute name because it starts with "_".'
    assert lines[5].startswith("  app/functions/syntax.py: line 1: SyntaxError: expected ':'")
    assert len(lines) == 6


def test_check_reports_every_compile_problem_of_every_file(tmp_path: Path) -> None:
    files = {k: v for k, v in BROKEN.items() if k.startswith("functions/")}
    app = write_app(tmp_path / "app", files)
    done = run("check", "--app", str(app))
    assert done.returncode == 1, done.stdout
    lines = done.stderr.splitlines()
    assert lines[0] == "atlas-fn check: 3 problems in the app:"
    assert re.match(r"  \S*functions/bad\.py: line 1: import statements are not allowed \(import os\)", lines[1])
    assert re.match(r'  \S*functions/bad\.py: line 4: "__class__" is an invalid attribute name', lines[2])
    assert re.match(r"  \S*functions/syntax\.py: line 1: SyntaxError: expected ':'", lines[3])


def test_check_on_the_example_app() -> None:
    done = run("check")
    assert done.returncode == 0, done.stderr
    assert_example_check_summary(done.stdout)


def test_the_example_app_checks_hold_with_a_function_a_user_dropped_in(tmp_path: Path) -> None:
    """The assertions the tests above make about the example app (its routes, served and
    printed; `check`'s summary) hold when a user has dropped a function file of their own into
    its functions/, and see that file as exactly one more drop-in."""
    root = tmp_path / "example"
    shutil.copytree(EXAMPLE_APP, root / "app_config")
    shutil.copytree(EXAMPLE_FUNCTIONS, root / "functions", ignore=shutil.ignore_patterns("__pycache__"))
    app, functions = root / "app_config", root / "functions"
    (functions / "zz_mine.py").write_text("def exports(payload, response):\n    return {'mine': True}\n")
    (functions / "aa_mine.py").write_text("def exports(payload, response):\n    return {'mine': True}\n")

    checked = run("check", "--app", str(app), "--functions", str(functions), cwd=root)
    assert checked.returncode == 0, checked.stderr
    added = assert_example_check_summary(checked.stdout, app, functions)
    assert {"aa_mine", "zz_mine"} <= set(added)

    proc = subprocess.Popen([*ATLAS_FN, "serve", "--app", str(app), "--functions", str(functions), "--port", "0",
                             "--workers", "1"], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = Lines(proc.stdout)  # type: ignore[arg-type]
        assert "listening on http://127.0.0.1:" in lines.next()
        table = [lines.next() for _ in range(1 + len(expected_rows(app, functions)))]
        assert lines.next().startswith("atlas-fn: data: embedded store at ")
        assert "METHODS" in table[0] and "VALIDATION" in table[0]
        assert any("/api/client/v2.0/app/example-abcde/service/webhooks/incoming_webhook/signed" in row and "VERIFY_PAYLOAD" in row
                   for row in table)
        assert set(assert_example_routes(parse_route_table(table), app, functions)) == set(added)
        proc.send_signal(signal.SIGTERM)
        assert lines.next().startswith("atlas-fn: stopping: ")  # no row beyond those checked
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_console_script_is_installed() -> None:
    exe = Path(sys.executable).parent / "atlas-fn"
    assert exe.exists(), "pip install -e . installs the atlas-fn command"
    done = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and "serve" in done.stdout


@contextlib.contextmanager
def serving(functions: Path, workers: int, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """A real `atlas-fn serve` of drop-in functions: (process, base URL, worker pids); killed if left running."""
    proc = subprocess.Popen([*ATLAS_FN, "serve", "--functions", str(functions), "--port", "0", "--workers", str(workers)],
                            cwd=functions.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        banner = Lines(proc.stdout).next()  # type: ignore[arg-type]
        base = re.search(r"listening on (http://127\.0\.0\.1:\d+)", banner).group(1)  # type: ignore[union-attr]
        yield proc, base, worker_pids(proc.pid)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sigterm_finishes_calls_in_flight_then_exits_0(tmp_path: Path) -> None:
    """Issue 4 §4: stop accepting, finish in-flight calls within the grace period, exit 0,
    leave no worker process behind."""
    functions = write_app(tmp_path / "functions", {
        "slow.py": "def exports(payload, response):\n    n = 0\n    while n < 15000000:\n        n += 1\n    return 'done'\n",
    })
    with serving(functions, 2) as (proc, base, workers), ThreadPoolExecutor(1) as pool:
        pending = pool.submit(lambda: urllib.request.urlopen(f"{base}/api/client/v2.0/app/local/service/http/incoming_webhook/slow", timeout=30).read())
        wait_for_cpu(workers)  # a worker is running the call
        assert not pending.done()  # the call is in flight when SIGTERM comes
        proc.send_signal(signal.SIGTERM)
        assert pending.result(timeout=30) == b'"done"'
        assert proc.wait(timeout=30) == 0
    # the server reaps its workers before it exits (WorkerPool.close): none is left at its exit
    assert [pid for pid in workers if alive(pid)] == []


def test_aiohttp_parser_errors_are_logged_as_one_line() -> None:
    """A caller cannot flood the log with tracebacks by sending malformed requests."""
    import logging

    from runtime.cli import _one_line

    try:
        raise ValueError("Invalid method encountered")
    except ValueError:
        record = logging.LogRecord("aiohttp.server", logging.ERROR, __file__, 1, "Error handling request from %s", ("1.2.3.4",), sys.exc_info())
    assert _one_line(record) is True
    assert record.exc_info is None
    assert logging.Formatter().format(record) == "Error handling request from 1.2.3.4: ValueError: Invalid method encountered"


def test_sigterm_gives_up_on_a_call_after_the_grace_period(tmp_path: Path) -> None:
    """Issue 4 §4: a call still running when shutdown_grace ends is abandoned; the server
    still exits 0 and no worker survives it."""
    functions = write_app(tmp_path / "functions", {"forever.py": "def exports(payload, response):\n    while True:\n        pass\n"})

    def call(base: str) -> str:
        try:
            return str(urllib.request.urlopen(f"{base}/api/client/v2.0/app/local/service/http/incoming_webhook/forever", timeout=30).status)
        except (urllib.error.URLError, ConnectionError, OSError) as exc:
            return type(exc).__name__

    with serving(functions, 1, {**os.environ, "ATLAS_FN_SHUTDOWN_GRACE": "0.5"}) as (proc, base, workers), ThreadPoolExecutor(1) as pool:
        pending = pool.submit(call, base)
        wait_for_cpu(workers)  # a worker is running the call
        assert not pending.done()
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert time.monotonic() - started < 10
        assert pending.result(timeout=30) != "200"
    # the server reaps its workers before it exits (WorkerPool.close): none is left at its exit
    assert [pid for pid in workers if alive(pid)] == []


def test_a_port_in_use_is_one_clear_line_not_a_traceback() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run("serve", "--app", str(EXAMPLE_APP), "--functions", str(EXAMPLE_FUNCTIONS), "--port", str(port), "--workers", "1")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().endswith(f"atlas-fn serve: cannot listen on 127.0.0.1:{port}: Address already in use")


def test_a_javascript_syntax_error_is_a_start_up_problem_with_line_and_column(tmp_path: Path) -> None:
    """Issue 10 §1: every JS file is compiled at start-up; a syntax error is reported with
    file, line and column, together with every other problem; a Python port beside it wins."""
    app = write_app(tmp_path / "app", {"functions/hello.js": "exports = function(payload, response) {\n  return 1 +;\n};\n",
                                       "functions/fine.js": "exports = function() { return 1; };\n"})
    done = run("check", "--app", str(app))
    assert done.returncode == 1
    [problem] = [line for line in done.stderr.splitlines() if "hello.js" in line]
    assert problem.startswith("  app/functions/hello.js: line 2, column ")
    (app / "functions/hello.py").write_text("def exports(payload, response):\n    return 1\n")
    assert run("check", "--app", str(app)).returncode == 0