"""The worker protocol through the real pool and real processes (THREAT_MODEL.md, worker
processes; architecture.md, protocol/): a service request in the middle of a call, with
calls written behind it on the same worker, each answer routed by its call id."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from runtime.errors import NoWorkerAvailable
from runtime.host.pool import WorkerPool
from runtime.protocol import messages

from tests.conftest import ROOT
from tests.waiting import until

STANDIN = [sys.executable, "-I", str(ROOT / "tests/fixtures/workers/service_echo.py"), str(ROOT)]
BOOT = messages.Boot((), {}, {}, {})


def call(function: str, body: bytes) -> messages.Call:
    return messages.Call(0, function, "webhook", "http", "POST", "http://h/", "", (), "", True, "", "EJSON", body)


async def test_a_service_round_trip_mid_call_with_calls_queued_behind_it() -> None:
    release, waiting = asyncio.Event(), asyncio.Event()
    asked: list[messages.ServiceRequest] = []

    async def echo(request: messages.ServiceRequest) -> messages.ServiceResult:
        asked.append(request)
        waiting.set()
        await release.wait()  # the calls below are written to the worker while this one waits
        return messages.ServiceResult(request.call_id, request.request_id, True, request.args.upper())

    pool = WorkerPool(BOOT, size=1, timeout=30, memory_mb=0, depth=4, services=echo, argv=STANDIN)
    await pool.start()
    try:
        pool.clock = lambda: 0.0  # every running call stays young: calls are written behind it
        pool.last_run.update(svc=0.0, fast=0.0)  # ... and its function counts as fast
        first = asyncio.ensure_future(pool.call(call("svc", b"hello")))
        await waiting.wait()  # the worker is now inside the call, waiting for the service's answer
        behind = [asyncio.ensure_future(pool.call(call("fast", str(i).encode()))) for i in range(3)]
        await asyncio.sleep(0)  # one loop turn: each pool.call dispatches (writes its frame) when it starts
        [worker] = pool.workers
        assert [c.function for c in worker.calls] == ["svc", "fast", "fast", "fast"]  # written behind it
        assert not any(f.done() for f in [first, *behind])
        release.set()
        replies = await asyncio.gather(first, *behind)
        assert [r.body for r in replies] == [b"HELLO", b"fast:0", b"fast:1", b"fast:2"]
        assert [r.call_id for r in replies] == [asked[0].call_id, *(asked[0].call_id + i for i in (1, 2, 3))]
        assert (asked[0].service, asked[0].operation, asked[0].args) == ("echo", "shout", "hello")
        assert pool.pids() == [worker.pid]  # nobody broke the protocol: the same worker serves on
    finally:
        await pool.close()


async def test_the_warmest_idle_worker_takes_the_next_call_unless_it_is_getting_javascript_ready(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Calls one at a time: after a Python call the worker that answered takes the next (its
    memory is still in the caches); after a JavaScript call, whose worker then builds its next
    context, the other worker does (runtime/host/dispatch.py, used_next)."""
    from runtime.host.worker_process import _Worker

    boot = messages.Boot((messages.FunctionArtifact("py", "python", "py.py", b""),
                          messages.FunctionArtifact("js", "javascript", "js.js", b"")), {}, {}, {})
    pool = WorkerPool(boot, size=2, timeout=30, memory_mb=0, argv=STANDIN)
    await pool.start()
    served: list[int] = []
    send = _Worker.send
    monkeypatch.setattr(_Worker, "send", lambda worker, c: (served.append(worker.pid), send(worker, c))[1])
    try:
        for i in range(4):
            assert (await pool.call(call("py", b"%d" % i))).body == b"fast:%d" % i
        assert len(served) == 4 and len(set(served)) == 1, served
        served.clear()
        for i in range(4):
            await pool.call(call("js", b"%d" % i))
        assert len(set(served)) == 2 and all(a != b for a, b in zip(served, served[1:])), served
    finally:
        await pool.close()


async def test_a_failed_service_reaches_the_call_as_its_error() -> None:
    async def refuse(request: messages.ServiceRequest) -> messages.ServiceResult:
        return messages.ServiceResult(request.call_id, request.request_id, False, error=("MongoServerError", "E11000"))

    pool = WorkerPool(BOOT, size=1, timeout=30, memory_mb=0, services=refuse, argv=STANDIN)
    await pool.start()
    try:
        reply = await pool.call(call("svc", b"x"))
        assert reply.body == b"error:MongoServerError:E11000"
    finally:
        await pool.close()


async def test_a_service_handler_that_raises_is_an_internal_error_for_the_call_not_the_server() -> None:
    async def broken(request: messages.ServiceRequest) -> messages.ServiceResult:
        raise RuntimeError("bug")

    pool = WorkerPool(BOOT, size=1, timeout=30, memory_mb=0, services=broken, argv=STANDIN)
    await pool.start()
    try:
        reply = await pool.call(call("svc", b"x"))
        assert reply.body == b"error:InternalServerError:atlas-fn failed to run the service request"
        assert (await pool.call(call("fast", b"y"))).body == b"fast:y"
    finally:
        await pool.close()


async def test_without_services_every_service_is_unknown() -> None:
    pool = WorkerPool(BOOT, size=1, timeout=30, memory_mb=0, argv=STANDIN)
    await pool.start()
    try:
        assert (await pool.call(call("svc", b"x"))).body == b"error:ServiceError:service 'echo' is not available"
    finally:
        await pool.close()


async def test_a_call_that_waits_longer_than_queue_timeout_gets_an_envelope() -> None:
    """Red-team F5: calls waiting for a worker had no deadline (a pool with no worker hung them)."""
    never, inside = asyncio.Event(), asyncio.Event()

    async def stuck(request: messages.ServiceRequest) -> messages.ServiceResult:
        inside.set()
        await never.wait()
        raise AssertionError("unreachable")

    pool = WorkerPool(BOOT, size=1, timeout=30, memory_mb=0, services=stuck, argv=STANDIN, queue_timeout=0.2)
    await pool.start()
    try:
        busy = asyncio.ensure_future(pool.call(call("svc", b"x")))  # holds the only worker
        await inside.wait()
        with pytest.raises(NoWorkerAvailable) as raised:
            await pool.call(call("fast", b"y"))
        assert (raised.value.status, raised.value.error_code) == (503, "ServiceUnavailable")
        assert raised.value.message == "no worker was free to run the function within 0.2 s"
        busy.cancel()
    finally:
        await pool.close()


async def test_a_worker_that_cannot_be_replaced_is_tried_again_until_it_can(tmp_path: Path,
                                                                             caplog: pytest.LogCaptureFixture) -> None:
    """Red-team F5: a failed respawn was never retried; the pool stayed short for good."""
    broken = tmp_path / "broken"
    argv = [sys.executable, "-I", "-c",
            f"import os, sys, runpy; os.path.exists({str(broken)!r}) and sys.exit(3); "
            f"sys.argv = ['w', {str(ROOT)!r}]; runpy.run_path({str(ROOT / 'tests/fixtures/workers/service_echo.py')!r})"]
    pool = WorkerPool(BOOT, size=1, timeout=30, memory_mb=0, argv=argv)
    await pool.start()
    try:
        [worker] = pool.workers
        broken.touch()  # from now on a new worker exits at once
        worker.kill()

        def failed_starts() -> int:
            return sum("could not replace a worker" in record.getMessage() for record in caplog.records)

        await until(lambda: failed_starts() >= 3, what="three failed starts in a row (0.05 s, 0.1 s, 0.2 s apart)")
        broken.unlink()
        reply = await asyncio.wait_for(pool.call(call("fast", b"back")), timeout=30)  # the pool recovered by itself
        assert reply.body == b"fast:back"
    finally:
        await pool.close()


def test_workers_import_this_tree_s_runtime_and_the_standard_http() -> None:
    """The worker's bootstrap puts the folder holding ``runtime`` first on its path: never
    ``runtime/`` itself, which made ``import http`` find ``runtime/http`` and left workers
    loading whichever copy of atlas-fn is installed (found by the bench's baseline check)."""
    import subprocess

    from runtime.host.pool import WORKER_ARGV, _PACKAGE_ROOT

    assert Path(_PACKAGE_ROOT, "runtime", "host", "pool.py").is_file()
    probe = WORKER_ARGV[-1].replace("from runtime.worker.main import main; main()",
                                    "import http, runtime; print(http.__file__); print(runtime.__file__)")
    out = subprocess.run([*WORKER_ARGV[:-1], probe], capture_output=True, text=True, timeout=30, env={}).stdout.split()
    assert "runtime" not in Path(out[0]).parts and out[1] == str(Path(_PACKAGE_ROOT, "runtime", "__init__.py"))


async def test_a_reply_says_how_long_its_call_waited_for_a_worker() -> None:
    """``Reply.waited`` (the inspector's queue wait) is the time from queueing to the worker
    taking the call, by the pool's clock; the rest of the reply is the worker's as sent."""
    release, waiting = asyncio.Event(), asyncio.Event()
    now = [1.0]

    async def echo(request: messages.ServiceRequest) -> messages.ServiceResult:
        waiting.set()
        await release.wait()
        return messages.ServiceResult(request.call_id, request.request_id, True, request.args.upper())

    pool = WorkerPool(BOOT, size=1, timeout=30, memory_mb=0, depth=1, services=echo, argv=STANDIN)
    await pool.start()
    try:
        pool.clock = lambda: now[0]
        first = asyncio.ensure_future(pool.call(call("svc", b"hello")))
        await waiting.wait()
        now[0] = 5.0
        second = asyncio.ensure_future(pool.call(call("fast", b"0")))
        await asyncio.sleep(0)  # queued at 5.0: the only worker is busy
        now[0] = 7.5
        release.set()
        one, two = await asyncio.gather(first, second)
        assert (one.waited, two.waited) == (0.0, 2.5)
        assert (two.status, two.body, two.error, two.recycle) == (200, b"fast:0", None, False)
    finally:
        await pool.close()
