"""Red-team findings F1, F2, F8 (THREAT_MODEL.md): what a worker writes outside its replies.

The interpreter's own writes on a guest's behalf (unraisable reports, warnings, prints to
sys.stdout/sys.stderr) go to the running call's console: escaped in the access log, within
``max_log_bytes``. A worker's fd 2 is left for the process's own diagnostics, which the server
reads linearly and logs escaped, a bounded number of records per read."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import pytest

from runtime.host.pool import WorkerPool
from runtime.host.worker_process import STDERR_LINES_PER_READ
from runtime.protocol import messages

from tests.conftest import ROOT, Serve, write_app

HOSTILE = ROOT / "tests/fixtures/hostile"


def access_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [line for r in caplog.records if r.name == "atlas_fn.access" for line in r.getMessage().split("\n")]


async def test_an_unraisable_report_goes_to_the_call_s_console_escaped(serve: Serve, tmp_path: Path,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    functions = write_app(tmp_path / "f", {"forge.py": (HOSTILE / "log_forge_unraisable.py").read_text()})
    client = await serve(None, functions, workers=1)
    resp = await client.get("/api/client/v2.0/app/local/service/http/incoming_webhook/forge")
    assert (resp.status, await resp.json()) == (200, "forged")
    await asyncio.sleep(0)  # the access log writes once per loop turn
    for record in caplog.records:
        for control in "\x1b\r\x00\x07":
            assert control not in record.getMessage(), record.getMessage()
    [console] = [line for line in access_lines(caplog) if line.startswith("  | ")]
    assert console.startswith("  | WARN Exception ignored")
    assert "ValueError: \\u001b[31mFORGED\\u000d\\u000a2026-01-01T00:00:00Z GET /admin status=200\\u0000\\u0007" in console
    assert not [r for r in caplog.records if r.name == "atlas_fn.host"]  # nothing on the worker's fd 2


async def test_interpreter_output_counts_against_the_call_s_log_budget(serve: Serve, tmp_path: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    source = (
        "def exports(payload, response):\n"
        "    def gen():\n"
        "        try:\n"
        "            yield 1\n"
        "        finally:\n"
        "            raise ValueError('x' * 1500)\n"
        "    for _ in range(200):\n"
        "        g = gen()\n"
        "        for _ in g:\n"
        "            break\n"
        "        del g\n"
        "    return 'done'\n"
    )
    functions = write_app(tmp_path / "f", {"many.py": source})
    client = await serve(None, functions, workers=1, max_log_bytes=20_000)
    resp = await client.get("/api/client/v2.0/app/local/service/http/incoming_webhook/many")
    assert resp.status == 200
    await asyncio.sleep(0)
    console = [line for line in access_lines(caplog) if line.startswith("  | ")]
    assert sum(len(line) for line in console) < 25_000
    assert console[-1].startswith("  | … ") and "more console lines dropped (limit 20000 bytes per call)" in console[-1]


FLOODER = [sys.executable, "-I", "-c", (
    "import io, os, sys\n"
    f"sys.path.insert(0, {str(ROOT)!r})\n"
    "from runtime.protocol import messages\n"
    "from runtime.worker.main import Channel\n"
    "ch = Channel(io.open(os.dup(0), 'rb'), os.dup(1))\n"
    "ch.read()\n"
    "ch.send(messages.write_ready(messages.Ready(os.getpid())))\n"
    "while (call := ch.next_call()) is not None:\n"
    "    if call.function == 'flood':\n"
    "        os.write(2, b'\\x1b[2J' + b'\\n' * (1 << 20))\n"
    "    ch.send(messages.write_reply(messages.Reply(call.call_id, 200, body=b'ok')))\n"
)]


async def test_a_newline_flood_on_a_worker_s_fd_2_is_logged_in_bounded_records(caplog: pytest.LogCaptureFixture) -> None:
    """F2: 1 MiB of newlines on fd 2 was one log record per line (~1.2 s of the loop per 64 KiB)."""
    caplog.set_level(logging.WARNING, logger="atlas_fn.host")
    pool = WorkerPool(messages.Boot((), {}, {}, {}), size=2, timeout=30, memory_mb=0, argv=FLOODER)
    await pool.start()
    try:
        call = messages.Call(0, "flood", "webhook", "http", "GET", "u", "", (), "", True, "", "EJSON")
        assert (await pool.call(call)).body == b"ok"
        benign = messages.Call(0, "benign", "webhook", "http", "GET", "u", "", (), "", True, "", "EJSON")
        for _ in range(20):  # the flood is read while these are served
            assert (await pool.call(benign)).body == b"ok"
        worker_records = [r.getMessage() for r in caplog.records if r.name == "atlas_fn.host"]
        reads = (1 << 20) // 4096 + 2  # a read takes at least a page of a pipe that is this full
        assert len(worker_records) <= reads * (STDERR_LINES_PER_READ + 1)  # one record per line made 1,048,576
        assert any("more lines of output dropped" in text for text in worker_records)
        assert all("\x1b" not in text for text in worker_records)
    finally:
        await pool.close()
