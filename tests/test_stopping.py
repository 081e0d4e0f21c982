"""How `atlas-fn serve` stops (issue 12 §6, the first hour): Ctrl-C with a call in flight
finishes it within the grace and says so; a second Ctrl-C stops at once (exit 130, no worker
left); a closed standard output (`atlas-fn serve | head -1`) is no traceback. A real server
process, signalled as a terminal does (SIGINT to its whole process group), synchronised on the
lines it prints and on a worker burning CPU."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

from tests.conftest import write_app
from tests.test_cli import alive, children
from tests.waiting import Lines, wait_for_cpu

ATLAS_FN = [sys.executable, "-m", "runtime"]
SLOW = "def exports(payload, response):\n    n = 0\n    while n < 12000000:\n        n += 1\n    return 'done'\n"
FOREVER = "def exports(payload, response):\n    while True:\n        pass\n"
HOOK = "/api/client/v2.0/app/local/service/http/incoming_webhook/"


@contextlib.contextmanager
def terminal_serve(tmp_path: Path, *flags: str) -> Iterator[tuple[subprocess.Popen[str], Lines, str, list[int]]]:
    functions = write_app(tmp_path / "functions", {"slow.py": SLOW, "forever.py": FOREVER})
    proc = subprocess.Popen([*ATLAS_FN, "serve", "--functions", str(functions), "--port", "0", "--workers", "1", *flags],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        lines = Lines(proc.stdout)  # type: ignore[arg-type]
        banner = lines.next()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", banner)
        assert match, banner
        assert banner.rstrip().endswith("with 1 workers, time limit 300 s per call")  # the limit in force
        yield proc, lines, match.group(1), children(proc.pid)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def ctrl_c(proc: subprocess.Popen[str]) -> None:
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends: the server and everything in its group


def get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=60) as answer:
            return f"{answer.status} {answer.read().decode()}"
    except urllib.error.HTTPError as error:
        return f"{error.code} {error.read().decode()}"


def test_ctrl_c_finishes_the_call_in_flight_and_says_so(tmp_path: Path) -> None:
    with terminal_serve(tmp_path) as (proc, lines, base, workers), ThreadPoolExecutor(1) as pool:
        pending = pool.submit(get, base + HOOK + "slow")
        wait_for_cpu(workers)
        ctrl_c(proc)
        said = lines.until(lambda line: line.startswith("atlas-fn: stopping"))[-1]
        assert said.strip() == ("atlas-fn: stopping: no new connections; finishing 1 call in flight for up to "
                                "10 s; press Ctrl-C again to stop at once")
        assert pending.result(timeout=60) == '200 "done"'
        assert proc.wait(timeout=60) == 0
        assert lines.until(lambda line: line.startswith("atlas-fn: stopped"))
    assert [pid for pid in workers if alive(pid)] == []


def test_a_call_still_running_when_the_grace_ends_is_abandoned_then(tmp_path: Path) -> None:
    """Before: aiohttp waited the grace, cancelled, and waited it again (23 s with the default 10 s)."""
    with terminal_serve(tmp_path, "--shutdown-grace", "1") as (proc, lines, base, workers), ThreadPoolExecutor(1) as pool:
        pending = pool.submit(get, base + HOOK + "forever")
        wait_for_cpu(workers)
        ctrl_c(proc)
        lines.until(lambda line: line.startswith("atlas-fn: stopping"))
        over = lines.until(lambda line: "grace" in line)[-1]
        assert over.strip() == "atlas-fn: the grace of 1 s is over: abandoning 1 call in flight"
        assert proc.wait(timeout=8) == 0  # the grace, once, then the stop: not twice the grace
        assert pending.result(timeout=30).startswith("500 ")
    assert [pid for pid in workers if alive(pid)] == []


def test_a_second_ctrl_c_stops_at_once_with_exit_code_130(tmp_path: Path) -> None:
    with terminal_serve(tmp_path) as (proc, lines, base, workers), ThreadPoolExecutor(1) as pool:
        pending = pool.submit(get, base + HOOK + "forever")
        wait_for_cpu(workers)
        ctrl_c(proc)
        lines.until(lambda line: line.startswith("atlas-fn: stopping"))
        ctrl_c(proc)  # well inside the 10 s grace
        assert lines.until(lambda line: "at once" in line)[-1].strip() == (
            "atlas-fn: stopping at once: the calls in flight are abandoned")
        assert proc.wait(timeout=8) == 130
        assert pending.result(timeout=30).startswith("500 ")
        assert "Traceback" not in proc.stderr.read()  # type: ignore[union-attr]
    assert [pid for pid in workers if alive(pid)] == []


def test_serve_into_a_closed_pipe_is_no_traceback(tmp_path: Path) -> None:
    """`atlas-fn serve | head -1`: the reader leaves after the banner; the server's later lines
    (its stop messages) go nowhere, quietly, and it stops cleanly."""
    functions = write_app(tmp_path / "functions", {"slow.py": SLOW})
    proc = subprocess.Popen([*ATLAS_FN, "serve", "--functions", str(functions), "--port", "0", "--workers", "1"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        banner = proc.stdout.readline()  # type: ignore[union-attr]
        base = re.search(r"listening on (http://127\.0\.0\.1:\d+)", banner).group(1)  # type: ignore[union-attr]
        proc.stdout.close()  # type: ignore[union-attr]  # as head does after its one line
        assert get(base + HOOK + "slow") == '200 "done"'  # still serving
        ctrl_c(proc)
        assert proc.wait(timeout=60) == 0
        stderr = proc.stderr.read()  # type: ignore[union-attr]
        assert "BrokenPipeError" not in stderr and "Traceback" not in stderr, stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_real_head_pipeline_ends_without_a_traceback(tmp_path: Path) -> None:
    """The same through a shell: `atlas-fn check | head -c 3` on output that does not fit."""
    done = subprocess.run(["bash", "-c", f"{' '.join(ATLAS_FN)} --help | head -c 3; {' '.join(ATLAS_FN)} invoke ping | head -c 3"],
                          capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parent.parent)
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
