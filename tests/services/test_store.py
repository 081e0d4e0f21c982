"""The embedded store's process (runtime/services/store.py): loopback only, waits until it accepts
connections, restarts when killed (an operation in flight gets an error, never a hang), data
survives a restart, and stopping leaves no process and no temporary files behind."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from pathlib import Path

import pytest
from pymongo import monitoring

from runtime.contract.services import ServiceFailed
from runtime.services.mongodb import MongoService
from runtime.services.router import open_services
from runtime.services.store import Store, StoreError, default_data_dir
from tests.services.conftest import LoopThread, call

WHERE = {"database": "d", "collection": "c"}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is not alive
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _listening_sockets(pid: int) -> list[str]:
    """Local addresses of the TCP sockets the process listens on (from /proc/net/tcp*)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    out = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A = LISTEN
                out.append(fields[1])
    return out


def test_the_store_listens_on_loopback_only_and_stops_without_leaving_anything(loop_thread: LoopThread) -> None:
    store = Store(None)
    loop_thread.run(store.start())
    pid = store.pid
    assert pid is not None and store.uri.startswith("mongodb://127.0.0.1:")
    listening = _listening_sockets(pid)
    assert listening and all(address.startswith("0100007F:") for address in listening), listening  # 127.0.0.1
    scratch = store._scratch
    assert scratch is not None and scratch.exists()
    loop_thread.run(store.stop())
    assert not _alive(pid) and not scratch.exists() and store.pid is None


def test_a_store_that_cannot_start_is_a_clear_error(loop_thread: LoopThread, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    store = Store(blocker / "data", start_timeout=20)
    with pytest.raises((StoreError, OSError)) as failed:
        loop_thread.run(store.start())
    assert "data" in str(failed.value) or "exited" in str(failed.value)
    assert store.pid is None


def test_data_survives_a_restart_of_the_store(loop_thread: LoopThread, tmp_path: Path) -> None:
    app_dir = tmp_path / "app"
    app = loop_thread.run(open_services({"mongodb-atlas": "mongodb-atlas"}, app_dir=app_dir, environ={}))
    assert app.store is not None and app.store.data_dir == default_data_dir(app_dir) == app_dir / ".atlas-fn" / "data"
    call(loop_thread, app, "insertOne", {**WHERE, "document": {"_id": 1, "kept": True}})
    loop_thread.run(app.close())
    again = loop_thread.run(open_services({"mongodb-atlas": "mongodb-atlas"}, app_dir=app_dir, environ={}))
    try:
        assert call(loop_thread, again, "findOne", {**WHERE, "query": {"_id": 1}}) == {"_id": 1, "kept": True}
    finally:
        loop_thread.run(again.close())


def test_killed_mid_operation_is_an_error_then_the_store_is_restarted(loop_thread: LoopThread, tmp_path: Path) -> None:
    app = loop_thread.run(open_services({"mongodb-atlas": "mongodb-atlas"}, data_dir=tmp_path / "data", environ={}))
    store, mongodb = app.store, app.mongodb
    assert store is not None and mongodb is not None
    try:
        call(loop_thread, app, "insertOne", {**WHERE, "document": {"_id": "before"}})
        first_pid, generation = store.pid, store.generation
        assert first_pid is not None

        sent = asyncio.Event()

        class Sent(monitoring.CommandListener):
            def started(self, event: monitoring.CommandStartedEvent) -> None:
                if event.command_name == "find":
                    sent.set()

            def succeeded(self, event: object) -> None: ...

            def failed(self, event: object) -> None: ...

        mongodb.listeners = (Sent(),)

        async def kill_during_an_operation() -> BaseException:
            await mongodb.close()  # a fresh client with the listener
            await mongodb.run("count", {**WHERE, "query": {}, "limit": 0})  # leaves a pooled connection
            os.kill(first_pid, signal.SIGSTOP)  # the store cannot answer: the operation stays in flight
            operation = asyncio.ensure_future(mongodb.run("findOne", {**WHERE, "query": {}, "projection": None,
                                                                      "sort": None}))
            await asyncio.wait_for(sent.wait(), 10)  # the command is on the wire
            assert not operation.done()
            os.kill(first_pid, signal.SIGKILL)
            try:
                answer = await asyncio.wait_for(operation, 15)
            except ServiceFailed as exc:
                return exc
            return AssertionError(f"the operation answered {answer!r} after the store was killed")

        error = loop_thread.run(kill_during_an_operation())
        assert isinstance(error, ServiceFailed), error
        assert error.name == "MongoDBError"
        assert error.message in (
            "findOne: the data store stopped while the operation ran (atlas-fn is restarting it); "
            "the operation may or may not have been applied",
            "the connection to the database failed")
        loop_thread.run(asyncio.wait_for(store.wait_generation(generation + 1), 30))
        assert store.pid not in (None, first_pid) and store.generation == generation + 1 and store.restarts == 1
        assert not _alive(first_pid)
        # the data written before the kill is there (sync-on-commit), and new writes work
        assert call(loop_thread, app, "findOne", {**WHERE, "query": {"_id": "before"}}) == {"_id": "before"}
        assert call(loop_thread, app, "insertOne", {**WHERE, "document": {"_id": "after"}}) == {"insertedId": "after"}
    finally:
        last = store.pid
        loop_thread.run(app.close())
        assert last is None or not _alive(last)


def test_an_operation_while_the_store_is_down_waits_for_the_restart(loop_thread: LoopThread) -> None:
    app = loop_thread.run(open_services({"mongodb-atlas": "mongodb-atlas"}, memory=True, environ={}))
    store = app.store
    assert store is not None
    try:
        pid = store.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)

        async def after_death() -> object:
            await asyncio.wait_for(store.died.wait(), 10)
            return await asyncio.wait_for(asyncio.shield(app.mongodb.run("count", {**WHERE, "query": {}, "limit": 0})), 30)

        assert loop_thread.run(after_death()) == 0
        assert store.pid not in (None, pid)
    finally:
        loop_thread.run(app.close())


def test_an_app_without_data_sources_gets_mongodb_atlas_on_the_store(loop_thread: LoopThread) -> None:
    app = loop_thread.run(open_services(None, memory=True, environ={}))
    try:
        assert app.services == {"mongodb-atlas": "mongodb-atlas"} and app.store is not None and app.store.pid
    finally:
        loop_thread.run(app.close())


def test_no_store_is_started_when_the_app_has_no_mongodb_service(loop_thread: LoopThread) -> None:
    app = loop_thread.run(open_services({"gh": "github"}, memory=True, environ={}))
    assert app.store is None and app.mongodb is None
    loop_thread.run(app.close())


def test_the_uri_of_the_environment_wins_and_no_store_is_started(loop_thread: LoopThread) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    uri = f"mongodb://admin:s3cr3t-pw@127.0.0.1:{port}/?authSource=admin"
    app = loop_thread.run(open_services({"mongodb-atlas": "mongodb-atlas"}, environ={"ATLAS_FN_MONGODB_URI": uri}))
    assert app.store is None and isinstance(app.mongodb, MongoService)
    app.mongodb.server_selection_timeout = 0.5
    app.mongodb._client = None  # take the shorter timeout
    try:
        from runtime.worker.engines.base import ServiceFailed
        with pytest.raises(ServiceFailed) as failed:
            call(loop_thread, app, "findOne", {**WHERE})
        assert (failed.value.name, failed.value.message) == (
            "MongoDBError", "cannot reach the database (no server answered in time)")
        assert "s3cr3t" not in str(failed.value) and str(port) not in str(failed.value)
    finally:
        loop_thread.run(app.close())


SERVER_THAT_DIES = """
import asyncio, sys
from runtime.services.store import Store

async def main():
    store = Store(None)
    await store.start()
    print(store.pid, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until killed

asyncio.run(main())
"""


def test_the_store_dies_with_a_server_killed_without_stopping_it() -> None:
    import select
    import subprocess
    import sys

    server = subprocess.Popen([sys.executable, "-c", SERVER_THAT_DIES], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        line = server.stdout.readline()  # type: ignore[union-attr]
        store_pid = int(line)
        assert _alive(store_pid)
        pidfd = os.pidfd_open(store_pid)
        try:
            server.kill()  # SIGKILL: no stop(), no atexit; PR_SET_PDEATHSIG must end the store
            server.wait(10)
            readable, _, _ = select.select([pidfd], [], [], 20)  # readable when the store process exits
            assert readable == [pidfd], f"the store (pid {store_pid}) outlived its server"
        finally:
            os.close(pidfd)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
