"""runtime/http/access_log.py: per-app state, one record per loop turn, nothing lost."""

from __future__ import annotations

import asyncio
import logging

import pytest

from runtime.http.access_log import AccessLog
from runtime.http.events import RequestEvent


def event(co_id: str, logs: tuple[str, ...] = ()) -> RequestEvent:
    return RequestEvent(co_id, "GET", "/p\n", "f", "-", 200, 1.0, "", logs, False, "127.0.0.1", "")


def test_a_loop_that_stops_with_an_entry_pending_loses_nothing_later(caplog: pytest.LogCaptureFixture) -> None:
    """House issue: with the process-wide batch, a loop that stopped with an entry pending
    made every later line of the process vanish (reproduced). Now the pending entry is
    written by the next one, on whatever loop that comes."""
    caplog.set_level(logging.INFO, logger="atlas_fn.access")
    log = AccessLog()

    async def one(co_id: str) -> None:
        log(event(co_id))  # returns before the loop turn that would write it

    loop = asyncio.new_event_loop()
    loop.run_until_complete(one("first"))
    loop.close()  # the scheduled flush never runs
    asyncio.run(one("second"))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "co_id=first" in text and "co_id=second" in text


async def test_one_record_per_loop_turn_and_escaped_lines(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="atlas_fn.access")
    log = AccessLog()
    log(event("a", ("x\ny",)))
    log(event("b"))
    await asyncio.sleep(0)  # the flush is the next callback of this loop
    [record] = caplog.records
    lines = record.getMessage().split("\n")
    assert [line.split()[1:3] for line in lines if "co_id=" in line] == [["GET", "/p%0A"], ["GET", "/p%0A"]]
    assert "  | x\\u000ay" in lines


def test_two_apps_have_two_logs() -> None:
    first, second = AccessLog(), AccessLog()
    assert first.entries is not second.entries
