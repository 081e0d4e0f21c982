"""`atlas-fn serve --record DIR` and `atlas-fn replay DIR [--url URL] [--check]` (issue 12 §5):
recordings from a real server and real HTTP, byte-exact and without secrets; replayed to a
server replay starts itself or to a running one; a changed function is a difference naming the
field. Contract §2.2/§2.3 (the secret and the signature replay must prove again)."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from runtime.tools.replay_check import Answer, differences
from tests.conftest import EXAMPLE_APP, EXAMPLE_FUNCTIONS
from tests.waiting import Lines, wait_for

ATLAS_FN = [sys.executable, "-m", "runtime"]
SERVICE = "/api/client/v2.0/app/example-abcde/service"
SIGNATURE = "sha256=828ee180512eaf8a6229eda7eea72323f68e9c0f0093b11a578b0544c5777862"  # contract §9 #1, secret 12345
QUERY_SECRET = "Super5ecr3tPa55w0rd"
BINARY = bytes(range(256))  # not UTF-8: kept byte for byte


def send(base: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(base + path, data=body, headers=headers or {}, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture
def recorded(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A copy of the example app served with --record; six requests sent; (app folder, functions, recordings, base URL, process)."""
    app, functions, folder = tmp_path / "app_config", tmp_path / "functions", tmp_path / "recordings"
    shutil.copytree(EXAMPLE_APP, app)
    shutil.copytree(EXAMPLE_FUNCTIONS, functions, ignore=shutil.ignore_patterns("__pycache__"))
    proc = subprocess.Popen([*ATLAS_FN, "serve", "--app", str(app), "--functions", str(functions), "--port", "0",
                             "--workers", "1", "--record", str(folder)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = re.search(r"listening on (http://127\.0\.0\.1:\d+)", Lines(proc.stdout).next()).group(1)  # type: ignore[arg-type, union-attr]
        answers = [
            send(base, f"{SERVICE}/webhooks/incoming_webhook/hello?name=Ada"),
            send(base, f"{SERVICE}/webhooks/incoming_webhook/signed", b'{"message":"MESSAGE"}',
                 {"Content-Type": "application/json", "X-Hook-Signature": SIGNATURE}),
            send(base, f"{SERVICE}/webhooks/incoming_webhook/signed", b'{"message": "MESSAGE"}', {"X-Hook-Signature": SIGNATURE}),
            send(base, f"{SERVICE}/webhooks/incoming_webhook/secret_query?secret={QUERY_SECRET}&page=2"),
            send(base, f"{SERVICE}/http/incoming_webhook/ping"),
            send(base, f"{SERVICE}/webhooks/incoming_webhook/respond", BINARY, {"Authorization": "Bearer hunter2"}),
        ]
        assert [status for status, _ in answers] == [200, 201, 401, 200, 200, 202]
        wait_for(lambda: len(list(folder.glob("*.json"))) == len(answers), what="a recording per request")
        yield app, functions, folder, base, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)


def replay(folder: Path, app: Path, functions: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ATLAS_FN, "replay", str(folder), "--app", str(app), "--functions", str(functions), *flags],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "ATLAS_FN_WORKERS": "1"})


def test_recordings_are_byte_exact_and_hold_no_secret(recorded) -> None:  # type: ignore[no-untyped-def]
    _, _, folder, _, _ = recorded
    files = sorted(folder.glob("*.json"))
    texts = [path.read_text() for path in files]
    for secret in (SIGNATURE.split("=")[1], QUERY_SECRET, "hunter2", "12345"):
        assert not any(secret in text for text in texts), secret
    records = [json.loads(text) for text in texts]
    assert records[3]["request"]["target"] == f"{SERVICE}/webhooks/incoming_webhook/secret_query?secret=REDACTED&page=2"
    assert ["X-Hook-Signature", "REDACTED"] in records[1]["request"]["headers"]
    assert ["Authorization", "REDACTED"] in records[5]["request"]["headers"]
    assert base64.b64decode(records[5]["request"]["body"]) == BINARY
    assert base64.b64decode(records[1]["response"]["body"]) == b'{"received":"MESSAGE","length":{"$numberInt":"21"}}'
    assert records[5]["response"]["status"] == 202
    assert [pair for pair in records[5]["response"]["headers"] if pair[0] == "X-Digest"][1] == ["X-Digest", "second value"]
    assert records[2]["verdict"].startswith("VERIFY_PAYLOAD:failed")


def test_replay_check_to_a_server_it_starts_finds_no_difference(recorded) -> None:  # type: ignore[no-untyped-def]
    """The ping's ObjectId is generated in each call: inside each call's window, it compares equal."""
    app, functions, folder, _, _ = recorded
    done = replay(folder, app, functions, "--check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": same\n") == 6 and done.stdout.endswith("replay: 6 requests, 0 with differences\n")
    assert "-> 401: same" in done.stdout  # signed wrong again, as recorded


def test_replay_check_to_a_running_server(recorded) -> None:  # type: ignore[no-untyped-def]
    app, functions, folder, base, _ = recorded
    done = replay(folder, app, functions, "--check", "--url", base)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_changed_function_is_a_difference_naming_the_field(recorded) -> None:  # type: ignore[no-untyped-def]
    app, functions, folder, _, _ = recorded
    hello = functions / "hello.py"
    hello.write_text(hello.read_text().replace('"answer": 42', '"answer": 43'))
    done = replay(folder, app, functions, "--check")
    assert done.returncode == 1
    assert 'incoming_webhook/hello -> 200: 1 difference\n  body $.answer: {"$numberInt": "42"} -> {"$numberInt": "43"}\n' in done.stdout
    assert done.stdout.endswith("replay: 6 requests, 1 with differences\n")


def test_replay_refuses_a_folder_that_is_not_recordings(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{}")
    done = subprocess.run([*ATLAS_FN, "replay", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "x.json: not an atlas-fn recording: its format is None; expected 'atlas-fn-recording/1'" in done.stderr


# --- the comparison rule (runtime/tools/replay_check.py) --------------------------------------------

WINDOW = (1_700_000_000.0, 1_700_000_000.2)
LATER = (1_700_086_400.0, 1_700_086_400.3)  # a day later


def oid(seconds: float, tail: str = "0" * 16) -> str:
    return f"{int(seconds):08x}{tail}"


def body(value: object) -> bytes:
    return json.dumps(value).encode()


def test_ids_and_dates_generated_in_each_call_compare_equal() -> None:
    recorded = Answer(200, [], body({"id": {"$oid": oid(WINDOW[0])}, "at": {"$date": {"$numberLong": "1700000000100"}},
                                     "hex": oid(WINDOW[1], "a" * 16), "iso": "2023-11-14T22:13:20.100Z"}), WINDOW)
    replayed = Answer(200, [], body({"id": {"$oid": oid(LATER[0], "1" * 16)}, "at": {"$date": {"$numberLong": "1700086400200"}},
                                     "hex": oid(LATER[1], "b" * 16), "iso": "2023-11-15T22:13:20.200Z"}), LATER)
    assert differences(recorded, replayed) == []


def test_an_id_or_date_from_outside_the_call_is_a_difference() -> None:
    stored = oid(WINDOW[0] - 3600)  # an hour before the call: read from the data, not made by it
    recorded = Answer(200, [], body({"id": {"$oid": stored}, "at": {"$date": {"$numberLong": "1600000000000"}}}), WINDOW)
    replayed = Answer(200, [], body({"id": {"$oid": oid(LATER[0])}, "at": {"$date": {"$numberLong": "1700086400000"}}}), LATER)
    assert differences(recorded, replayed) == [
        f'body $.id: {{"$oid": "{stored}"}} -> {{"$oid": "{oid(LATER[0])}"}}',
        'body $.at: {"$date": {"$numberLong": "1600000000000"}} -> {"$date": {"$numberLong": "1700086400000"}}',
    ]


def test_status_headers_lists_and_raw_bodies() -> None:
    recorded = Answer(201, [("X-A", "1"), ("X-A", "2"), ("Date", "x")], body({"items": [1, 2]}), WINDOW)
    replayed = Answer(200, [("x-a", "1"), ("Date", "y"), ("X-New", "n")], body({"items": [1, 3, 4]}), WINDOW)
    assert differences(recorded, replayed) == [
        "status: 201 -> 200", 'header x-a: "1", "2" -> "1"', 'header x-new: (absent) -> "n"',
        "body $.items[1]: 2 -> 3", "body $.items: 2 items -> 3 items"]
    assert differences(Answer(200, [], b"accepted", WINDOW), Answer(200, [], b"refused", WINDOW)) == ["body: accepted -> refused"]
    envelope = {"error": "request signature did not match", "error_code": "IncomingWebhookAuthFailed"}
    assert differences(Answer(401, [], body({**envelope, "link": "http://127.0.0.1:8080/_atlas-fn/#a1"}), WINDOW),
                       Answer(401, [], body({**envelope, "link": "http://127.0.0.1:9/_atlas-fn/#b2"}), LATER)) == []
