"""The data service through a real ``atlas-fn serve`` process and real HTTP (issue 11 §1):
data surviving a restart of the server, a store killed in the middle of a call, and
``--mongodb-uri`` pointing every MongoDB service at a deployment with credentials that never
reach a worker's environment, a worker's memory or any line the server prints."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pymongo
import pytest

from tests.conftest import write_app
from tests.services.conftest import SecondServer
from tests.test_cli import ATLAS_FN
from tests.waiting import Lines, wait_for, worker_pids

NOTES = """
exports = async function (payload) {
  const notes = context.services.get("mongodb-atlas").db("app").collection("notes");
  if (payload.query.text) return (await notes.insertOne({_id: payload.query.text, n: BSON.Long.fromString("9007199254740993")})).insertedId;
  if (payload.query.bad) return notes.find({$who: 1}).toArray();
  return notes.find({}).sort({_id: 1}).toArray();
};
"""
HOOK = "/api/client/v2.0/app/local/service/http/incoming_webhook/notes"


class Served:
    """``atlas-fn serve`` as a user starts it; every line it prints (stdout and stderr) kept."""

    def __init__(self, cwd: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen([*ATLAS_FN, "serve", "--port", "0", "--workers", "1", *args], cwd=cwd,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env={**os.environ, **(env or {})})
        assert self.proc.stdout is not None
        self.lines = Lines(self.proc.stdout)
        self.seen = self.lines.until(lambda line: "listening on" in line)
        self.base = re.search(r"listening on (http://127\.0\.0\.1:\d+)", self.seen[-1]).group(1)  # type: ignore[union-attr]
        self.seen += self.lines.until(lambda line: line.startswith("atlas-fn: data: "))

    def get(self, path: str) -> tuple[int, Any]:
        try:
            with urllib.request.urlopen(self.base + path, timeout=60) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def stop(self) -> str:
        """SIGTERM, then everything it printed until it exited."""
        self.proc.send_signal(signal.SIGTERM)
        rest = []
        while line := self.lines.next():
            rest.append(line)
        self.proc.wait(timeout=30)
        return "".join(self.seen + rest)


def test_data_survives_a_restart_of_serve(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app", {"functions/notes.js": NOTES})
    first = Served(tmp_path, "--app", str(app))
    try:
        assert any(f"embedded store at mongodb://127.0.0.1:" in line and str(app / ".atlas-fn" / "data") in line
                   for line in first.seen), first.seen
        assert first.get(HOOK + "?text=kept") == (200, "kept")
    finally:
        first.stop()
    second = Served(tmp_path, "--app", str(app))
    try:
        assert second.get(HOOK) == (200, [{"_id": "kept", "n": {"$numberLong": "9007199254740993"}}])
    finally:
        second.stop()


def _store_pid(served: Served) -> int:
    up = [line for line in served.seen if line.startswith("data store up (pid ")]
    return int(re.search(r"pid (\d+)", up[-1]).group(1))  # type: ignore[union-attr]


def _pending_bytes_at(port: int) -> bool:
    """Bytes sent to the store on loopback and not yet read by it: a command on the wire."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, queues = fields[1], fields[4]
        if int(local.split(":")[1], 16) == port and int(queues.split(":")[1], 16) > 0:
            return True
    return False


def test_a_store_killed_mid_call_gives_the_envelope_and_is_restarted(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app", {"functions/notes.js": NOTES})
    served = Served(tmp_path, "--app", str(app), "--data", "memory")
    try:
        assert served.get(HOOK + "?text=a")[0] == 200  # the server holds a pooled connection to the store now
        store = _store_pid(served)
        port = int(re.search(r"embedded store at mongodb://127\.0\.0\.1:(\d+)", "".join(served.seen)).group(1))  # type: ignore[union-attr]
        os.kill(store, signal.SIGSTOP)  # it cannot answer: the next operation stays in flight
        answers: list[tuple[int, Any]] = []
        caller = threading.Thread(target=lambda: answers.append(served.get(HOOK)))
        caller.start()
        wait_for(lambda: _pending_bytes_at(port), what="the function's find on the wire to the store")
        os.kill(store, signal.SIGKILL)
        caller.join(60)
        status, body = answers[0]
        assert status == 400 and body["error_code"] == "FunctionExecutionError", body
        assert body["error"] in ("MongoDBError: find: the data store stopped while the operation ran (atlas-fn is "
                                 "restarting it); the operation may or may not have been applied",
                                 "MongoDBError: the connection to the database failed"), body
        served.seen += served.lines.until(lambda line: line.startswith("data store up (pid "))
        assert _store_pid(served) != store
        assert served.get(HOOK + "?text=b") == (200, "b")  # a memory store starts empty again, and works
    finally:
        served.stop()


@pytest.fixture
def deployment() -> Iterator[tuple[SecondServer, str, str]]:
    """A second wire-protocol server with a user; the URI with that user's password."""
    second = SecondServer()
    port = re.search(r":(\d+)/", second.uri).group(1)  # type: ignore[union-attr]
    password = "Pw-0f-the-c1uster-" + os.urandom(6).hex()
    pymongo.MongoClient(f"mongodb://127.0.0.1:{port}/").admin.command("createUser", "alice", pwd=password, roles=["root"])
    yield second, f"mongodb://alice:{password}@127.0.0.1:{port}/?authSource=admin", password
    second.stop()


def _readable_memory(pid: int) -> bytes:
    chunks = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb") as mem:
        for line in maps:
            span, perms = line.split()[:2]
            if not perms.startswith("r"):
                continue
            start, end = (int(x, 16) for x in span.split("-"))
            try:
                mem.seek(start)
                chunks.append(mem.read(end - start))
            except (OSError, ValueError, OverflowError):
                continue
    return b"".join(chunks)


def test_mongodb_uri_flag_uses_the_deployment_and_its_credentials_go_nowhere(tmp_path: Path,
                                                                              deployment: tuple[SecondServer, str, str]) -> None:
    second, uri, password = deployment
    functions = write_app(tmp_path / "functions", {"notes.js": NOTES})
    served = Served(tmp_path, "--functions", str(functions), "--mongodb-uri", uri)
    try:
        assert any("your MongoDB deployment" in line for line in served.seen), served.seen
        assert served.get(HOOK + "?text=there") == (200, "there")
        direct = pymongo.MongoClient(uri)
        assert direct.app.notes.find_one({"_id": "there"}) is not None  # it is in the deployment
        direct.close()
        status, body = served.get(HOOK + "?bad=1")  # a refused operation: its message reaches the function and the log
        assert status == 400 and body["error"].startswith("MongoDBError: unknown top level operator: $who")
        workers = worker_pids(served.proc.pid)
        assert workers
        secret = password.encode()
        assert secret in _readable_memory(served.proc.pid), "the search must find what the server does hold"
        for pid in workers:
            assert secret not in Path(f"/proc/{pid}/environ").read_bytes()
            assert secret not in Path(f"/proc/{pid}/cmdline").read_bytes()
            assert secret not in _readable_memory(pid), f"worker {pid} holds the password in its memory"
    finally:
        printed = served.stop()
    assert password not in printed and "alice" not in printed, printed
