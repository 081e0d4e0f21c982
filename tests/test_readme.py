"""Every example of the README, run (issue 12 §6: the "Writing functions" example failed as
written). The fenced blocks are read from README.md; each one is run by a test below or listed in
``NOT_RUN`` with the reason, so an example added without a test fails here. Real `atlas-fn`
processes, a real server and real HTTP (curl, as the README shows it)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Iterator, NamedTuple

import pytest

from runtime.cli import _parser
from tests.conftest import EXAMPLE_APP, EXAMPLE_FUNCTIONS, ROOT
from tests.waiting import Lines, wait_for

ATLAS_FN = f"{shlex.quote(sys.executable)} -m runtime"
README = (ROOT / "README.md").read_text(encoding="utf-8")
VENV = "python3 -m venv .venv && . .venv/bin/activate && "
# CI (.ci/run, CI=true) installs curl: there a missing curl fails these tests instead of skipping them
needs_curl = pytest.mark.skipif(shutil.which("curl") is None and os.environ.get("CI") != "true", reason="curl is not installed")


class Block(NamedTuple):
    section: str
    number: int  # the block's place in its section, from 1
    language: str
    text: str


def blocks() -> list[Block]:
    found: list[Block] = []
    section, count = "", 0
    lines = iter(README.splitlines())
    for line in lines:
        if line.startswith("## "):
            section, count = line[3:], 0
        elif line.startswith("```"):
            body = []
            for inner in lines:
                if inner.startswith("```"):
                    break
                body.append(inner)
            count += 1
            found.append(Block(section, count, line[3:].strip(), "\n".join(body) + "\n"))
    return found


def block(section: str, number: int = 1) -> Block:
    return next(b for b in blocks() if b.section.startswith(section) and b.number == number)


RUN = {("Quick start", 1), ("Quick start", 2), ("Try the example app", 1), ("Try the example app", 2),
       ("Writing functions", 1), ("Writing functions", 2), ("Running one function", 1), ("Record and replay", 1),
       ("Commands", 1), ("Migrating webhooks", 1)}
NOT_RUN = {("How it is built", 1): "a drawing of the request path, not a command",
           ("Hot reload and serving with problems", 1): "a log line, not a command: tests/test_serve_problems.py reads it",
           ("Calling as a user", 1): "the users command's synopsis; tests/auth/ run every form of it",
           ("Calling as a user", 2): "an app with authentication providers (the example app has none): tests/auth/ "
                                     "create users, log in and call with each credential through a real server",
           ("Hot reload and serving with problems", 2): "an answer, not a command: tests/test_serve_problems.py and "
                                                         "tests/test_reload.py check the envelope"}


def test_every_block_is_run_or_said_why_not() -> None:
    seen = {(next(prefix for prefix, _ in RUN | set(NOT_RUN) if b.section.startswith(prefix)), b.number)
            if any(b.section.startswith(prefix) for prefix, _ in RUN | set(NOT_RUN)) else (b.section, b.number)
            for b in blocks()}
    assert seen == RUN | set(NOT_RUN), f"README blocks without a test: {sorted(seen - RUN - set(NOT_RUN))}"


def shell(command: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """A README line as the shell runs it, with `atlas-fn` the command of this checkout."""
    command = re.sub(r"(^|&& |\| )atlas-fn ", lambda m: f"{m.group(1)}{ATLAS_FN} ", command)
    return subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def uncommented(line: str) -> str:
    return re.sub(r"\s+#.*$", "", line)


# --- Quick start -------------------------------------------------------------------------------

def test_the_quick_start_is_two_commands_each_in_a_virtual_environment_and_ci_runs_the_second() -> None:
    """PEP 668: Debian's and Ubuntu's system Python refuses `pip install` outside a venv."""
    first, second = block("Quick start").text.strip().splitlines()
    assert first.startswith(VENV) and uncommented(first[len(VENV):]) == "pip install -e . && atlas-fn serve"
    assert second.startswith(VENV) and uncommented(second[len(VENV):]) == "pip install -e '.[test]' && pytest"
    ci = (ROOT / ".ci/run").read_text()
    assert "python3 -m venv" in ci and "\npip install -e '.[test]' && pytest\n" in ci  # the README's test command, as is


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, list[str]]]:
    """The README's `atlas-fn serve` of the example app (on a free port): (base URL, its first output lines)."""
    # --data memory: the data examples must not write into the checkout's app_config/.atlas-fn/
    proc = subprocess.Popen([sys.executable, "-m", "runtime", "serve", "--port", "0", "--workers", "2", "--data", "memory"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = Lines(proc.stdout)  # type: ignore[arg-type]
        from tests.example_app import expected_rows

        printed = [lines.next() for _ in range(2 + len(expected_rows()))]  # the banner, the table's header, its rows
        yield re.search(r"http://127\.0\.0\.1:\d+", printed[0]).group(0), printed  # type: ignore[union-attr]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def test_the_banner_is_what_serve_prints(server: tuple[str, list[str]]) -> None:
    base, printed = server
    shown = block("Quick start", 2).text.splitlines()
    assert printed[0].rstrip("\n") == shown[0].replace("http://127.0.0.1:8080", base)
    rows = [line.split() for line in printed[1:]]
    for line in shown[1:]:
        assert line.strip() == "..." or line.split() in rows, f"the README shows a row serve does not print: {line}"


# --- Try the example app ---------------------------------------------------------------------------

def curl_examples() -> list[tuple[str, str | None, int | None]]:
    """(command, the body the README prints or None, its status or None: any 2xx) per curl line of the block."""
    logical = block("Try the example app").text.replace("\\\n", " ").splitlines()
    out: list[tuple[str, str | None, int | None]] = []
    for line in logical:
        if line.startswith("curl "):
            out.append((line, None, None))
        elif line.startswith("# {") and out:
            shown = re.match(r"# (\{.*\})\s*(?:\(status (\d+)\))?$", line)
            assert shown, line
            out[-1] = (out[-1][0], shown.group(1), int(shown.group(2) or 200))
    return out


@needs_curl
@pytest.mark.parametrize("number", range(len(curl_examples())))
def test_each_curl_example_answers_as_shown(server: tuple[str, list[str]], number: int) -> None:
    """In the README's order: the data examples' POST comes before the list that reads it."""
    base, _ = server
    command, shown, status = curl_examples()[number]
    done = shell(command.replace("http://127.0.0.1:8080", base) + " -s -o /dev/stdout -w '\\n%{http_code}'")
    body, _, code = done.stdout.rpartition("\n")
    if " -i " in command:  # the answer with its head
        head, _, body = body.partition("\n\n")  # (text mode reads CRLF as LF)
        assert head.count("X-Digest:") == 2 and body == "accepted\n"
    assert int(code) == status if status is not None else 200 <= int(code) <= 299, done.stdout
    if shown is not None:
        assert re.fullmatch(re.escape(shown).replace(re.escape('"..."'), '"[^"]*"'), body), body


@needs_curl
def test_the_sign_examples(server: tuple[str, list[str]], tmp_path: Path) -> None:
    base, _ = server
    first, second = block("Try the example app", 2).text.strip().splitlines()
    assert shell(first).stdout.strip() == "sha256=828ee180512eaf8a6229eda7eea72323f68e9c0f0093b11a578b0544c5777862"
    (tmp_path / "event.json").write_text('{"message":"MESSAGE"}')
    ready = shell(second.replace("http://127.0.0.1:8080", base), cwd=tmp_path).stdout.strip()
    done = shell(ready + " -s -w ' %{http_code}'", cwd=tmp_path)
    assert done.stdout == '{"received":"MESSAGE","length":{"$numberInt":"21"}} 201'


# --- Writing functions ----------------------------------------------------------------------------

def example_copy(root: Path) -> Path:
    shutil.copytree(EXAMPLE_APP, root / "app_config")
    shutil.copytree(EXAMPLE_FUNCTIONS, root / "functions", ignore=shutil.ignore_patterns("__pycache__", "store.*"))
    return root


def invoke(cwd: Path, *args: str) -> tuple[str, dict[str, object] | str, list[str]]:
    done = shell(f"atlas-fn invoke {shlex.join(args)}", cwd=cwd)
    status, _, rest = done.stdout.partition("\n")
    _, _, rest = rest.partition("\n\n")
    body, _, console = rest.partition("\nconsole:\n")
    try:
        parsed: dict[str, object] | str = json.loads(body)
    except ValueError:
        parsed = body + done.stderr
    return status, parsed, console.split()


@pytest.mark.parametrize(("number", "file"), [(1, "store.py"), (2, "store.js")])
def test_the_writing_functions_example_runs_as_written(tmp_path: Path, number: int, file: str) -> None:
    root = example_copy(tmp_path)
    (root / "functions" / file).write_text(block("Writing functions", number).text)
    status, body, console = invoke(root, "store", "--body", '{"n":1}')
    assert status.endswith(" -> 201"), (status, body)
    assert isinstance(body, dict) and re.fullmatch(r"[0-9a-f]{24}", body["id"]["$oid"])  # type: ignore[index]
    assert console == ["stored", body["digest"]] and re.fullmatch(r"[0-9a-f]{64}", str(body["digest"]))
    status, body, _ = invoke(root, "store", "--body", '{"n":1}', "-q", "dry=1")
    assert status.endswith(" -> 200") and body == {"would_store": {"n": {"$numberInt": "1"}}}


# --- invoke, record and replay ----------------------------------------------------------------------

def test_the_invoke_examples_print_what_the_readme_shows() -> None:
    lines = block("Running one function").text.strip().splitlines()
    for command, shown in zip(lines[::2], lines[1::2]):
        done = shell(command)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "# " + done.stdout.splitlines()[0] == shown


def test_the_record_and_replay_example(tmp_path: Path) -> None:
    root = example_copy(tmp_path)
    serve, replay = (uncommented(line) for line in block("Record and replay").text.strip().splitlines())
    proc = subprocess.Popen(["bash", "-c", "exec " + shell_line(serve + " --port 0")], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = re.search(r"http://127\.0\.0\.1:\d+", Lines(proc.stdout).next()).group(0)  # type: ignore[arg-type, union-attr]
        with urllib.request.urlopen(base + "/api/client/v2.0/app/example-abcde/service/http/incoming_webhook/ping") as answer:
            assert answer.status == 200
        wait_for(lambda: any((root / "recordings").glob("*.json")))
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    done = shell(replay, cwd=root)
    assert done.returncode == 0 and done.stdout.endswith("replay: 1 request, 0 with differences\n"), done.stdout


def shell_line(command: str) -> str:
    return re.sub(r"^atlas-fn ", f"{ATLAS_FN} ", command)


# --- Commands, migrating --------------------------------------------------------------------------

def test_every_listed_flag_is_a_flag_of_its_command() -> None:
    import argparse

    parser = _parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for line in block("Commands").text.strip().splitlines():
        words = line.split()
        target = action.choices[words[1]] if not words[1].startswith("-") else parser
        known = options(target)
        flags = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", line))
        assert flags <= known, f"{line}: not flags of its command: {sorted(flags - known)}"


def options(parser: "argparse.ArgumentParser") -> set[str]:
    """Every option of ``parser`` and of its own subcommands (``users create --api-key``)."""
    import argparse

    found = {option for a in parser._actions for option in a.option_strings}
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            for inner in a.choices.values():
                found |= options(inner)
    return found


def test_the_migrate_examples_on_an_export(tmp_path: Path) -> None:
    app = tmp_path / "path/to/app"
    shutil.copytree(ROOT / "tests/fixtures/apps/convert_20210101", app)
    (app / "secrets.fixture.json").rename(app / "secrets.json")
    for line in block("Migrating webhooks").text.strip().splitlines():
        done = shell(uncommented(line), cwd=tmp_path)
        assert done.returncode in ((0, 1) if " diff " in f" {line} " else (0,)), done.stdout + done.stderr
        assert "Traceback" not in done.stderr
