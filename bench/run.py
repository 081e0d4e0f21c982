"""atlas-fn benchmarks, paired against the machine's ceiling in one run (issue 5).

    python bench/run.py                # full run, about 4 minutes
    python bench/run.py --quick        # smoke run: 1 s per load, one repetition
    python bench/run.py --out FILE     # results as JSON (default bench/results/latest.json)
    python bench/run.py --baseline DIR # also DIR's server (another atlas-fn tree), paired, new/old
    python bench/run.py --subjects signed,open   # load only these atlas-fn subjects (and the ceiling)
    python bench/run.py --subjects all           # also the opt-in JS twins and data subjects (about 7 minutes)

Run it from the repository root with the project's interpreter (.venv/bin/python). It needs
``wrk`` (Debian: ``apt-get install -y wrk``) and exits with 2 without it.

What it does, in order (bench/README.md explains how to read the results):

1. writes its own bench app into a temporary folder: webhooks ``open`` (NO_VALIDATION,
   respond_result) and ``signed`` (VERIFY_PAYLOAD, EJSON.parse + setStatusCode + setHeader +
   setBody) and the HTTPS endpoint ``/bench`` (a date and an ObjectId as JSON);
2. starts ``bench/ceiling.py`` (a bare aiohttp handler) and one ``atlas-fn serve`` process
   on the bench app, each on a free port, and checks every subject's answer once;
3. loads them with wrk at concurrency 1 (``-t1 -c1``) and 64 (``-t2 -c64``), three
   repetitions, alternating the subjects inside each repetition (ceiling, open, signed,
   endpoint, ceiling, ...) so that drift of a shared machine hits all of them alike;
4. measures start-up to the first 200 for an app of 200 drop-in function files, idle
   memory (RSS, PSS, USS) of the server and of each worker, and signed throughput at c=64
   with 1, 2 and 4 workers (again alternating, with the ceiling in the rotation);
5. prints the table and the verdict on each target of issue 5 §2, and writes every raw run.

Opt-in subjects (``--subjects``, bench/twins.py; the default run stays ``open,signed,endpoint``,
so its figures stay comparable with earlier runs and it stays near 4 minutes — with all nine
subjects a full run took 7 minutes on 2026-12-06): ``open-js``, ``signed-js``, ``endpoint-js``, the same
functions as App Services JavaScript (QuickJS-ng) in the same app, each checked once to answer
exactly as its Python twin (status, headers but Date, body bytes) before any load; ``data`` and
``data-js``, a webhook doing one ``findOne`` and one ``insertOne`` on ``mongodb-atlas``
``bench.c`` per request (the app then declares that data source; the harness seeds
``{_id: "seed", v: 42}``), and ``data-direct`` (added whenever a data subject is chosen):
bench/ceiling_data.py, a bare aiohttp handler doing the same two operations with pymongo's
``AsyncMongoClient`` on the same embedded store (its URI read from serve's
``atlas-fn: data: embedded store at …`` line). Each group (open and open-js, …, data, data-js
and data-direct) runs side by side in the rotation, its order flipping every repetition, and a
second table gives the paired ratios JS / Python and through atlas-fn / direct (req/s, time
per request, p50, p99, CPU per request). ``--baseline`` cannot be combined with them.

With ``--baseline DIR`` a second server runs DIR's code (``python -m runtime serve`` with cwd
and PYTHONPATH = DIR, the same interpreter) on the same bench app; after checking that it
answers exactly as this tree's server does, its subjects (``baseline-open``, ...) run in the
same rotation, each next to its twin, and every pair's new/old ratios are reported.

Every atlas-fn server of the bench app runs with ``--data memory`` (when its tree knows the flag):
every app gets ``mongodb-atlas`` on an embedded store that starts with ``serve``, by default in
``<app>/.atlas-fn/data``, and servers of one app at once (the worker sweep, ``--baseline``) would
fight over its lock; the start-up app runs with the default. The store is a child of the server:
its CPU counts in the "workers" column, its memory is reported apart (``store``).

The harness only measures; it never changes the code it measures. Exit status: 0 when the
run completed (whatever the verdicts), 1 when a subject failed its check or a server did not
start, 2 when wrk is missing.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pairs import CONFIDENCE, median_interval, reading  # bench/pairs.py: how sure a paired median is
import twins  # bench/twins.py: the opt-in JS twins and data subjects

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DEFAULT_OUT = BENCH / "results" / "latest.json"
WRK_INSTALL = "apt-get install -y wrk"

APP_ID = "bench-abcde"
SECRET = "bench-secret-7d1f"
SUBJECTS = ("ceiling", "open", "signed", "endpoint")
ALL_SUBJECTS = (*SUBJECTS[1:], *twins.EXTRA_SUBJECTS)  # the extra ones are opt-in (--subjects)
BASELINE_PREFIX = "baseline-"  # --baseline DIR: the other tree's server, as subjects baseline-open, ...
LOADS = ((1, 1), (2, 64))  # (wrk threads, connections): concurrency 1 and 64
WORKER_COUNTS = (1, 2, 4)
STARTUP_FUNCTIONS = 200
TICKS = os.sysconf("SC_CLK_TCK")

# The signed request body: a ~200-byte webhook event, sent byte for byte as written here.
SIGNED_BODY = (b'{"event":"order.created","id":"ord_8f14e45fceea167a","amount":4999,"currency":"EUR",'
               b'"customer":{"id":"cus_a87ff679","email":"ada@example.com"},'
               b'"items":[{"sku":"BK-1815","qty":1},{"sku":"PN-0042","qty":2}]}')
SIGNATURE = "sha256=" + hmac.new(SECRET.encode(), SIGNED_BODY, hashlib.sha256).hexdigest()

TARGETS = {
    "signed_throughput": "signed throughput at c=64 >= 50 % of ceiling",
    "signed_p99": "signed p99 at c=64 <= 3 x ceiling's p99",
    "open_p50": "open p50 at c=1 <= 1 ms",
    "signed_p50": "signed p50 at c=1 <= 1 ms",
    "startup": f"start-up to first 200 with {STARTUP_FUNCTIONS} functions <= 2 s",
    "worker_memory": "idle worker memory <= 40 MB each (RSS)",
}


# ---------------------------------------------------------------------------------------
# The bench app


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())


def _json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2) + "\n")


def write_bench_app(root: Path) -> tuple[Path, Path]:
    """The app the subjects open, signed and endpoint live in: (app folder, functions folder)."""
    app, functions = root / "app", root / "functions"
    _json(app / "realm_config.json", {"app_id": APP_ID, "config_version": 20210101, "name": "bench"})
    _json(app / "services/bench/config.json", {"name": "bench", "type": "http", "config": {}, "version": 1})
    _json(app / "services/bench/incoming_webhooks/open/config.json", {
        "name": "open", "options": {"httpMethod": "GET", "validationMethod": "NO_VALIDATION"},
        "respond_result": True})
    _json(app / "services/bench/incoming_webhooks/signed/config.json", {
        "name": "signed", "options": {"httpMethod": "POST", "validationMethod": "VERIFY_PAYLOAD", "secret": SECRET},
        "respond_result": False})
    _json(app / "https_endpoints/config.json", [{
        "route": "/bench", "http_method": "GET", "function_name": "endpoint",
        "validation_method": "NO_VALIDATION", "respond_result": True, "return_type": "JSON",
        "fetch_custom_user_data": False, "create_user_on_auth": False, "disabled": False}])
    _write(functions / "open.py", """
        # bench subject `open`: NO_VALIDATION, respond_result -> canonical EJSON.
        def exports(payload, response):
            return {"ok": True, "subject": "open", "n": 42}
        """)
    _write(functions / "signed.py", """
        # bench subject `signed`: VERIFY_PAYLOAD; parse the body, answer through the setters.
        def exports(payload, response):
            event = EJSON.parse(payload.body.text())
            response.setStatusCode(202)
            response.setHeader("Content-Type", "application/json")
            response.setBody(JSON.stringify({"received": event["id"], "items": len(event["items"])}))
        """)
    _write(functions / "endpoint.py", """
        # bench subject `endpoint`: HTTPS endpoint GET /bench, respond_result, return_type JSON.
        def exports(request, response):
            oid = BSON.ObjectId()
            try:
                created = oid.getTimestamp()  # the guest API (contract §8.4)
            except AttributeError:
                created = oid.generation_time  # a baseline older than the BSON facades (84c4640)
            return {"id": oid, "createdAt": created, "status": "ok"}
        """)
    return app, functions


def write_startup_app(root: Path, count: int) -> tuple[Path, Path]:
    """An app of ``count`` drop-in function files (no config names them): each is a webhook."""
    app, functions = root / "app", root / "functions"
    _json(app / "realm_config.json", {"app_id": APP_ID, "config_version": 20210101, "name": "startup"})
    for i in range(count):
        _write(functions / f"fn{i:03d}.py", f"""
            # drop-in function {i} of {count}: about twenty lines, as a real handler would be.
            LIMIT = {10 + i}


            def clamp(value, low, high):
                return max(low, min(high, value))


            def exports(payload, response):
                query = payload.query
                size = clamp(int(query.get("size", "10")), 1, LIMIT)
                items = []
                for n in range(size):
                    items.append({{"n": n, "square": n * n, "even": n % 2 == 0}})
                total = sum(item["square"] for item in items)
                if query.get("verbose"):
                    console.log("fn{i:03d}", size, total)
                return {{"function": "fn{i:03d}", "size": size, "total": total, "items": items}}
            """)
    return app, functions


def webhook_path(name: str, service: str = "bench") -> str:
    return f"/api/client/v2.0/app/{APP_ID}/service/{service}/incoming_webhook/{name}"


ENDPOINT_PATH = f"/app/{APP_ID}/endpoint/bench"


# ---------------------------------------------------------------------------------------
# Processes


class Server:
    """A server process started like a user would; its address is read from its stdout."""

    LISTENING = re.compile(r"listening on (http://\S+)")

    def __init__(self, name: str, argv: list[str], log_path: Path, cwd: Path = ROOT,
                 env: dict[str, str] | None = None) -> None:
        self.name = name
        self.argv = argv
        self.cwd = cwd
        self.log_path = log_path
        self.lines: list[str] = []
        self.url = ""
        self._listening = threading.Event()
        self._log = open(log_path, "wb")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=self._log,
                                     stdin=subprocess.DEVNULL, text=True, start_new_session=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            match = self.LISTENING.search(line)
            if match and not self._listening.is_set():
                self.url = match.group(1)
                self.listening_at = time.perf_counter()
                self._listening.set()
        self._listening.set()  # EOF: wake the waiter, which then sees no URL

    def wait_listening(self, timeout: float = 120.0) -> str:
        if not self._listening.wait(timeout) or not self.url:
            self.stop()
            raise HarnessError(f"{self.name} did not start ({' '.join(self.argv)}):\n" + self.output_tail())
        return self.url

    def output_tail(self, lines: int = 20) -> str:
        err = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(["  stdout: " + s for s in self.lines[-lines:]] + ["  stderr: " + s for s in err])

    @property
    def pid(self) -> int:
        return self.proc.pid

    def children(self) -> list[int]:
        """The server's child processes (its workers), from /proc/<pid>/task/*/children."""
        found: set[int] = set()
        try:
            for task in Path(f"/proc/{self.pid}/task").iterdir():
                try:
                    found.update(int(p) for p in (task / "children").read_text().split())
                except OSError:
                    pass
        except OSError:
            pass
        return sorted(found)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._reader.join(5)
        self._log.close()


class HarnessError(Exception):
    """The run cannot go on: a server did not start or a subject answered wrongly."""


def start_atlas_fn(name: str, app: Path, functions: Path, logs: Path, workers: int | None = None,
                   source: Path = ROOT, extra: tuple[str, ...] = ()) -> Server:
    """``python -m runtime serve`` with the code of the source tree ``source`` (this one by
    default; ``--baseline DIR`` for the other): the same interpreter, cwd and PYTHONPATH = the tree."""
    argv = [sys.executable, "-m", "runtime", "serve", "--app", str(app), "--functions", str(functions), "--port", "0"]
    if workers is not None:
        argv += ["--workers", str(workers)]
    argv += extra
    env = dict(source_env(source) or os.environ)
    env["ATLAS_FN_RELOAD"] = "0"  # production: no watcher, no spare process among the workers measured
    return Server(name, argv, logs / f"{name}.stderr.log", cwd=source, env=env)


def source_env(source: Path) -> dict[str, str] | None:
    """The environment that makes ``import runtime`` load ``source``'s code: PYTHONPATH first.
    None (inherit unchanged) for this tree, which is how the harness has always started it."""
    if source == ROOT:
        return None
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(source), *filter(None, [env.get("PYTHONPATH")])])
    return env


def runtime_root(source: Path) -> Path:
    """Where ``import runtime`` resolves when started as start_atlas_fn starts ``source``."""
    done = subprocess.run([sys.executable, "-c", "import runtime, os; print(os.path.abspath(runtime.__file__))"],
                          cwd=source, env=source_env(source), capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise HarnessError(f"cannot import runtime from {source}:\n{done.stderr.strip()}")
    return Path(done.stdout.strip()).resolve().parent.parent


WORKER_PATH = re.compile(r"sys\.path\.insert\(0, ('[^']*'|\"[^\"]*\")\)")


def worker_roots(server: Server) -> list[str]:
    """The source tree each worker of ``server`` imports ``runtime`` from. A worker is started as
    ``python -I -c "import sys; sys.path.insert(0, PATH); from runtime... import main; main()"``
    with an empty environment in /: the same import is resolved here with that interpreter, path,
    flag, environment and folder (the path alone is not the answer: the import may fall through
    it to an installed copy). "?" where the command line is not of that form."""
    roots = []
    for pid in server.children():
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        code = argv[argv.index("-c") + 1] if "-c" in argv[:-1] else ""
        found = WORKER_PATH.search(code)
        if not found:
            roots.append("?")
            continue
        probe = (f"import sys; sys.path.insert(0, {found.group(1)}); import os, runtime; "
                 "print(os.path.realpath(runtime.__file__))")
        done = subprocess.run([argv[0], "-I", "-c", probe], env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, cwd="/",
                              capture_output=True, text=True, timeout=60)
        roots.append(str(Path(done.stdout.strip()).parent.parent) if done.returncode == 0 else "?")
    return roots


def data_memory_flag(source: Path) -> tuple[str, ...]:
    """``--data memory`` when ``source``'s ``serve`` knows it (a tree from before the data service
    does not, and starts no store), else nothing."""
    done = subprocess.run([sys.executable, "-m", "runtime", "serve", "--help"], cwd=source, env=source_env(source),
                          capture_output=True, text=True, timeout=60)
    return ("--data", "memory") if "--data" in done.stdout else ()


def start_ceiling(logs: Path) -> Server:
    return Server("ceiling", [sys.executable, str(BENCH / "ceiling.py"), "--port", "0"], logs / "ceiling.stderr.log")


def start_data_direct(logs: Path, uri: str) -> Server:
    """bench/ceiling_data.py on the store at ``uri``: the `data-direct` subject."""
    return Server("data-direct", [sys.executable, str(BENCH / "ceiling_data.py"), "--port", "0", "--uri", uri],
                  logs / "data-direct.stderr.log")


def wait_store_uri(server: Server, timeout: float = 60.0) -> str:
    """The embedded store's URI from the `atlas-fn: data: embedded store at …` line serve prints
    after its route table."""
    deadline = time.monotonic() + timeout
    while (uri := twins.store_uri(server.lines)) is None:
        if time.monotonic() > deadline or server.proc.poll() is not None:
            raise HarnessError(f"{server.name} printed no `atlas-fn: data: embedded store at` line:\n" + server.output_tail())
        time.sleep(0.02)
    return uri


def seed_store(uri: str) -> None:
    """The document the data subjects' findOne finds: {_id: "seed", v: 42} in bench.c."""
    from pymongo import MongoClient

    with MongoClient(uri, serverSelectionTimeoutMS=10000) as client:
        client["bench"]["c"].replace_one({"_id": "seed"}, twins.SEED, upsert=True)


def _stat_ticks(pid: int, first: int) -> int:
    """The sum of two clock-tick fields of /proc/PID/stat, counted from after the command name
    (``first`` and the one after it); 0 once the process is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0
    return int(fields[first]) + int(fields[first + 1])


def cpu_ticks(pid: int) -> int:
    """utime + stime of one process, in clock ticks; 0 once it is gone."""
    return _stat_ticks(pid, 11)


def reaped_children_ticks(pid: int) -> int:
    """cutime + cstime of one process: the CPU of the children it has reaped, in clock ticks."""
    return _stat_ticks(pid, 13)


def memory(pid: int) -> dict[str, int]:
    """VmRSS (status), Pss and USS = Private_Clean + Private_Dirty (smaps_rollup), in kB."""
    out: dict[str, int] = {"pid": pid}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out["rss_kb"] = int(line.split()[1])
        private = 0
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key == "Pss":
                out["pss_kb"] = int(rest.split()[0])
            elif key in ("Private_Clean", "Private_Dirty"):
                private += int(rest.split()[0])
        out["uss_kb"] = private
    except OSError as exc:
        out["error"] = str(exc)
    return out


def is_store(pid: int) -> bool:
    """Whether a child of the server is its embedded store (``python -m secantus``), not a worker."""
    try:
        return "secantus" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return False


def memory_of(server: Server) -> dict[str, Any]:
    children = server.children()
    out = {"server": memory(server.pid), "workers": [memory(pid) for pid in children if not is_store(pid)]}
    stores = [memory(pid) for pid in children if is_store(pid)]
    if stores:  # the embedded store every app gets: not a worker, so not judged as one
        out["store"] = stores[0]
    return out


# ---------------------------------------------------------------------------------------
# HTTP checks


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def fetch(url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None) -> Answer:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Answer(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers.items()), error.read())


def _expect(subject: str, answer: Answer, status: int, test: Callable[[Answer], bool], wanted: str) -> None:
    if answer.status != status or not test(answer):
        raise HarnessError(f"{subject}: expected {status} with {wanted}; got {answer.status} "
                           f"{answer.headers.get('Content-Type', '')!r} {answer.body[:300]!r}")


def check_subjects(urls: dict[str, str], prefix: str = "") -> dict[str, Answer]:
    """One request per subject, asserting status and body, before any load. Returns the answers
    (``signed-forged`` is the forged-signature request). ``urls`` has the keys ceiling (optional),
    open, signed and endpoint; ``prefix`` names the server in errors ("baseline-")."""
    answers: dict[str, Answer] = {}

    if "ceiling" in urls:
        a = fetch(urls["ceiling"], "POST", SIGNED_BODY, _signed_headers())
        _expect("ceiling", a, 200, lambda x: len(x.body) == 60 and json.loads(x.body)["ok"] is True,
                "a 60-byte JSON body")
        answers["ceiling"] = a

    a = fetch(urls["open"])
    _expect(prefix + "open", a, 200, lambda x: x.body == b'{"ok":true,"subject":"open","n":{"$numberInt":"42"}}'
            and x.headers.get("Content-Type", "").startswith("application/json"), "the canonical EJSON document")
    answers["open"] = a

    a = fetch(urls["signed"], "POST", SIGNED_BODY, _signed_headers())
    _expect(prefix + "signed", a, 202, lambda x: x.body == b'{"received":"ord_8f14e45fceea167a","items":2}'
            and x.headers.get("Content-Type") == "application/json", "the setBody bytes and setHeader's Content-Type")
    answers["signed"] = a
    forged = fetch(urls["signed"], "POST", SIGNED_BODY, {**_signed_headers(), "X-Hook-Signature": "sha256=" + "0" * 64})
    _expect(prefix + "signed (forged signature)", forged, 401, lambda x: b"IncomingWebhookAuthFailed" in x.body,
            "a 401 envelope")
    answers["signed-forged"] = forged

    def endpoint_ok(x: Answer) -> bool:
        doc = json.loads(x.body)
        return (set(doc) == {"id", "createdAt", "status"} and re.fullmatch(r"[0-9a-f]{24}", str(doc["id"])) is not None
                and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", str(doc["createdAt"])) is not None)

    a = fetch(urls["endpoint"])
    _expect(prefix + "endpoint", a, 200, endpoint_ok, 'JSON {"id": <24 hex>, "createdAt": <ISO date>, "status": "ok"}')
    answers["endpoint"] = a
    return answers


# Headers that differ between any two answers (the clock), left out of the comparison.
VOLATILE_HEADERS = {"date"}
CO_ID = re.compile(rb"co_id=[0-9a-f]+")  # the request id in an error's log link


LINK = re.compile(rb'"link":"[^"]*"')


def compare_answers(new: dict[str, Answer], old: dict[str, Answer], new_base: str, old_base: str) -> list[str]:
    """How the baseline's answers differ from this tree's, for the same requests: status, header
    names and values (but VOLATILE_HEADERS) and body, with each server's own address and the
    request id (co_id) of an error's log link masked; for endpoint, whose body holds a fresh
    ObjectId and its date, the body's keys and its "status". An empty list: the same answers."""
    def masked(data: bytes, base: str) -> bytes:
        data = CO_ID.sub(b"co_id=*", data.replace(base.encode(), b"http://SERVER"))
        # the envelope's link: the baseline named a log page it did not serve; now "" (issue 9)
        return LINK.sub(b'"link":*', data)

    differences = []
    for subject in ("open", "signed", "signed-forged", "endpoint"):
        a, b = new[subject], old[subject]
        if a.status != b.status:
            differences.append(f"{subject}: status {a.status} here, {b.status} in the baseline")
        skipped = VOLATILE_HEADERS | ({"content-length"} if subject == "signed-forged" else set())  # the link's length
        ha = {k.lower(): masked(v.encode(), new_base) for k, v in a.headers.items() if k.lower() not in skipped}
        hb = {k.lower(): masked(v.encode(), old_base) for k, v in b.headers.items() if k.lower() not in skipped}
        if ha != hb:
            differences.append(f"{subject}: headers {sorted(ha.items())} here, {sorted(hb.items())} in the baseline")
        if subject == "endpoint":
            da, db = json.loads(a.body), json.loads(b.body)
            same = set(da) == set(db) and da.get("status") == db.get("status")
        else:
            same = masked(a.body, new_base) == masked(b.body, old_base)
        if not same:
            differences.append(f"{subject}: body {a.body[:200]!r} here, {b.body[:200]!r} in the baseline")
    return differences


def _signed_headers() -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Hook-Signature": SIGNATURE}


# ---------------------------------------------------------------------------------------
# wrk


LUA_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH_JSON {"duration_us":%d,"requests":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p75":%d,"p90":%d,"p99":%d,"p99_9":%d}}\\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
end
"""


def lua_string(data: bytes) -> str:
    """A Lua string literal holding ``data`` exactly."""
    safe = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.,:;/=+{}[]()@!#$%&*<>?|^~")
    return '"' + "".join(chr(b) if b in safe else f"\\{b:03d}" for b in data) + '"'


def write_lua(path: Path, method: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Path:
    """A wrk script: a fixed request (wrk builds it once, no Lua per request) and a JSON summary."""
    lines = [f"wrk.method = {lua_string(method.encode())}"]
    if body:
        lines.append(f"wrk.body = {lua_string(body)}")
    for name, value in (headers or {}).items():
        lines.append(f"wrk.headers[{lua_string(name.encode())}] = {lua_string(value.encode())}")
    path.write_text("\n".join(lines) + "\n" + LUA_DONE)
    return path


@dataclass
class Target:
    subject: str
    url: str
    script: Path
    processes: Callable[[], tuple[int, list[int]]]  # (front pid, worker pids) for CPU accounting


@dataclass
class Run:
    subject: str
    threads: int
    connections: int
    rep: int
    data: dict[str, Any] = field(default_factory=dict)


def run_wrk(target: Target, threads: int, connections: int, seconds: int) -> dict[str, Any]:
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s",
            "-s", str(target.script), target.url]
    front, workers = target.processes()
    before = {pid: cpu_ticks(pid) for pid in [front, *workers]}
    reaped_before = reaped_children_ticks(front)
    wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.time()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Workers that die during the run (a call whose caller went away stops its worker: wrk closes
    # its connections with calls in flight) and their replacements: a worker's CPU is its ticks
    # now (0 once gone) minus at the start, plus what the front has reaped since (cutime, cstime).
    _, workers_after = target.processes()
    after = {pid: cpu_ticks(pid) for pid in [front, *workers, *workers_after]}
    reaped = reaped_children_ticks(front) - reaped_before
    found = re.search(r"^BENCH_JSON (.*)$", done.stdout, re.M)
    if done.returncode != 0 or not found:
        raise HarnessError(f"wrk failed on {target.subject} ({' '.join(argv)}):\n{done.stdout}\n{done.stderr}")
    data = json.loads(found.group(1))
    requests = data["requests"]
    data["rps"] = requests / (data["duration_us"] / 1e6)
    data["non_2xx"] = data["errors"]["status"]
    data["socket_errors"] = sum(v for k, v in data["errors"].items() if k != "status")
    per_request = 1e6 / TICKS / max(requests, 1)  # µs of CPU per clock tick, per request
    data["cpu_us_per_request"] = {
        "front": round((after[front] - before[front]) * per_request, 1),
        "workers": round((sum(after[p] - before.get(p, 0) for p in after if p != front) + reaped) * per_request, 1),
        "wrk": round(((wrk_after.ru_utime + wrk_after.ru_stime) - (wrk_before.ru_utime + wrk_before.ru_stime))
                     * 1e6 / max(requests, 1), 1),
    }
    data["started_at"] = started
    data["argv"] = argv
    data["wrk_stdout"] = done.stdout
    return data


# ---------------------------------------------------------------------------------------
# Measurements


def load_rounds(targets: list[Target], loads: tuple[tuple[int, int], ...], reps: int, seconds: int,
                label: str, rotation: Callable[[int], list[Target]] | None = None) -> list[Run]:
    """reps x loads x targets wrk runs, alternating the targets inside each repetition (in the
    order ``rotation(rep)`` gives, when given: the same targets, possibly reordered)."""
    runs: list[Run] = []
    total = reps * len(loads) * len(targets)
    for rep in range(reps):
        for threads, connections in loads:
            for target in (rotation(rep) if rotation else targets):
                run = Run(target.subject, threads, connections, rep)
                run.data = run_wrk(target, threads, connections, seconds)
                runs.append(run)
                d = run.data
                print(f"  [{label} {len(runs):2d}/{total}] rep {rep + 1} c={connections:<2d} {target.subject:<17s} "
                      f"{d['rps']:9.0f} req/s  p50 {d['latency_us']['p50'] / 1000:6.2f} ms  "
                      f"p99 {d['latency_us']['p99'] / 1000:6.2f} ms"
                      + (f"  non-2xx {d['non_2xx']}" if d["non_2xx"] else "")
                      + (f"  socket errors {d['socket_errors']}" if d["socket_errors"] else ""), flush=True)
    return runs


def summarise(runs: list[Run], baseline: str = "ceiling") -> list[dict[str, Any]]:
    """Per (subject, concurrency): medians over repetitions, and ratios to the baseline run
    of the same repetition and concurrency (paired), whose median is quoted."""
    keys: list[tuple[str, int]] = []
    for r in runs:
        if (r.subject, r.connections) not in keys:
            keys.append((r.subject, r.connections))
    by = {(r.subject, r.connections, r.rep): r.data for r in runs}
    rows = []
    for subject, connections in keys:
        mine = sorted((r for r in runs if r.subject == subject and r.connections == connections), key=lambda r: r.rep)
        rps = [r.data["rps"] for r in mine]
        p50 = [r.data["latency_us"]["p50"] for r in mine]
        p99 = [r.data["latency_us"]["p99"] for r in mine]
        rps_ratio, p99_ratio = [], []
        for r in mine:
            base = by.get((baseline, connections, r.rep))
            if base:
                rps_ratio.append(r.data["rps"] / base["rps"])
                p99_ratio.append(r.data["latency_us"]["p99"] / base["latency_us"]["p99"])
        rows.append({
            "subject": subject, "concurrency": connections, "reps": len(mine),
            "rps": statistics.median(rps), "rps_all": rps,
            "p50_ms": statistics.median(p50) / 1000, "p99_ms": statistics.median(p99) / 1000,
            "rps_ratio": statistics.median(rps_ratio) if rps_ratio else None,
            "p99_ratio": statistics.median(p99_ratio) if p99_ratio else None,
            "cpu_us_per_request": {k: statistics.median(r.data["cpu_us_per_request"][k] for r in mine)
                                   for k in ("front", "workers", "wrk")},
            "non_2xx": sum(r.data["non_2xx"] for r in mine),
            "socket_errors": sum(r.data["socket_errors"] for r in mine),
        })
    return rows


def paired_rotation(targets: list[Target], prefix: str = BASELINE_PREFIX) -> Callable[[int], list[Target]]:
    """Each subject runs next to its baseline twin; who goes first flips every repetition
    (ceiling, open, baseline-open, signed, baseline-signed, ... then ceiling, baseline-open,
    open, ...), so that neither tree always runs right after the same one."""
    def order(rep: int) -> list[Target]:
        out = []
        for target in targets:
            if target.subject.startswith(prefix):
                continue
            twin = next((t for t in targets if t.subject == prefix + target.subject), None)
            pair = [target] if twin is None else [target, twin] if rep % 2 == 0 else [twin, target]
            out.extend(pair)
        return out
    return order


def summarise_pairs(runs: list[Run], prefix: str = BASELINE_PREFIX) -> list[dict[str, Any]]:
    """Per subject with a baseline twin, per concurrency: this tree (new) against the baseline
    (old). ``*_ratio`` = new median / old median; ``*_paired`` = the median of the per-repetition
    ratios new/old (same repetition, same concurrency), with their min and max, the bootstrap
    interval of that median (``paired_interval``) and what it reads as (``reading``: better,
    worse or within noise; ``bench/pairs.py``)."""
    def metric(run: Run, name: str) -> float:
        return run.data["rps"] if name == "rps" else run.data["latency_us"][name] / 1000

    by = {(r.subject, r.connections, r.rep): r for r in runs}
    pairs = []
    keys = dict.fromkeys((r.subject, r.connections) for r in runs)
    for subject, connections in keys:
        if subject.startswith(prefix) or (prefix + subject, connections) not in keys:
            continue
        new = [r for r in runs if r.subject == subject and r.connections == connections]
        old = [r for r in runs if r.subject == prefix + subject and r.connections == connections]
        row: dict[str, Any] = {"subject": subject, "baseline_subject": prefix + subject, "concurrency": connections,
                               "reps": len(new)}
        for name, key in (("rps", "rps"), ("p50", "p50_ms"), ("p99", "p99_ms")):
            new_median = statistics.median(metric(r, name) for r in new)
            old_median = statistics.median(metric(r, name) for r in old)
            per_rep = [metric(r, name) / metric(by[(prefix + subject, connections, r.rep)], name)
                       for r in new if (prefix + subject, connections, r.rep) in by]
            row[key] = {"new": new_median, "old": old_median, "ratio": new_median / old_median,
                        "paired": statistics.median(per_rep), "paired_min": min(per_rep),
                        "paired_max": max(per_rep), "paired_all": per_rep,
                        "paired_interval": median_interval(per_rep),
                        "reading": reading(per_rep, higher_is_better=name == "rps")}
        row["cpu_us_per_request"] = {
            side: {k: statistics.median(r.data["cpu_us_per_request"][k] for r in group) for k in ("front", "workers")}
            for side, group in (("new", new), ("old", old))}
        row["errors"] = {side: sum(r.data["non_2xx"] + r.data["socket_errors"] for r in group)
                         for side, group in (("new", new), ("old", old))}
        pairs.append(row)
    return pairs


def measure_startup(root: Path, logs: Path, samples: int) -> dict[str, Any]:
    """``atlas-fn serve`` on an app of STARTUP_FUNCTIONS drop-ins: process start → first 200."""
    app, functions = write_startup_app(root / "startup", STARTUP_FUNCTIONS)
    url_path = webhook_path(f"fn{STARTUP_FUNCTIONS - 1:03d}", service="http")
    results = []
    mem: dict[str, Any] = {}
    for i in range(samples):
        server = start_atlas_fn(f"startup-{i}", app, functions, logs)
        try:
            url = server.wait_listening()
            listening = server.listening_at - server.started
            while True:
                answer = fetch(url + url_path + "?size=3")
                if answer.status == 200:
                    if f'"fn{STARTUP_FUNCTIONS - 1:03d}"'.encode() not in answer.body:
                        raise HarnessError(f"start-up app: unexpected answer {answer.body[:200]!r}")
                    break
                if time.perf_counter() - server.started > 60:
                    raise HarnessError(f"start-up app: no 200 within 60 s; last answer {answer.status} {answer.body[:200]!r}")
                time.sleep(0.005)
            first = time.perf_counter() - server.started
            deadline = time.perf_counter() + 5  # the route table follows the listening line
            while (routes := sum(1 for s in server.lines if "/incoming_webhook/fn" in s)) < STARTUP_FUNCTIONS:
                if time.perf_counter() > deadline:
                    break
                time.sleep(0.01)
            if routes != STARTUP_FUNCTIONS:
                raise HarnessError(f"start-up app: the route table lists {routes} functions, not {STARTUP_FUNCTIONS}")
            results.append({"to_listening_s": listening, "to_first_200_s": first})
            print(f"  [start-up {i + 1}/{samples}] {STARTUP_FUNCTIONS} functions: listening after {listening:.2f} s, "
                  f"first 200 after {first:.2f} s", flush=True)
            if i == samples - 1:
                time.sleep(1.0)
                mem = memory_of(server)
        finally:
            server.stop()
    return {
        "functions": STARTUP_FUNCTIONS, "samples": results,
        "median_to_first_200_s": statistics.median(r["to_first_200_s"] for r in results),
        "median_to_listening_s": statistics.median(r["to_listening_s"] for r in results),
        "idle_memory": mem,
    }


# ---------------------------------------------------------------------------------------
# Report


def machine() -> dict[str, Any]:
    def text(argv: list[str]) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_total = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal:")), "?")
    versions = text([sys.executable, "-c", "import aiohttp, RestrictedPython, bson, sys; from importlib.metadata import version; "
                     "print(sys.version.split()[0], aiohttp.__version__, version('RestrictedPython'), version('pymongo'))"]).split()
    return {
        "cpu": cpu, "cpus": os.cpu_count(), "mem_total_kb": int(mem_total) if mem_total.isdigit() else None,
        "kernel": platform.release(), "python": versions[0] if versions else platform.python_version(),
        "aiohttp": versions[1] if len(versions) > 1 else None,
        "restrictedpython": versions[2] if len(versions) > 2 else None,
        "pymongo": versions[3] if len(versions) > 3 else None,
        "wrk": (text(["wrk", "--version"]).splitlines() or [""])[0],
        "git_head": text(["git", "rev-parse", "--short", "HEAD"]),
        "git_dirty_runtime": [line.strip() for line in text(["git", "status", "--porcelain", "--", "runtime"]).splitlines()],
        "runtime_sha256": runtime_fingerprint(),
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
    }


def runtime_fingerprint(root: Path = ROOT) -> str:
    """sha256 over runtime/**/*.py as they are on disk: the exact code measured, committed or not."""
    digest = hashlib.sha256()
    for path in sorted((root / "runtime").rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def verdicts(rows: list[dict[str, Any]], startup: dict[str, Any], worker_mb: float) -> list[dict[str, Any]]:
    def row(subject: str, c: int) -> dict[str, Any] | None:
        return next((r for r in rows if r["subject"] == subject and r["concurrency"] == c), None)

    signed64, ceiling64, open1, signed1 = row("signed", 64), row("ceiling", 64), row("open", 1), row("signed", 1)
    out = []
    if signed64 and ceiling64:  # (--subjects may leave a subject out: its targets are then not judged)
        out += [
            ("signed_throughput", signed64["rps_ratio"], 0.5, ">=",
             f"{signed64['rps_ratio']:.0%} of ceiling ({signed64['rps']:,.0f} vs {ceiling64['rps']:,.0f} req/s)"),
            ("signed_p99", signed64["p99_ratio"], 3.0, "<=",
             f"{signed64['p99_ratio']:.1f} x ceiling's p99 ({signed64['p99_ms']:.2f} vs {ceiling64['p99_ms']:.2f} ms)")]
    if open1:
        out.append(("open_p50", open1["p50_ms"], 1.0, "<=", f"{open1['p50_ms']:.2f} ms"))
    if signed1:
        out.append(("signed_p50", signed1["p50_ms"], 1.0, "<=", f"{signed1['p50_ms']:.2f} ms"))
    out += [
        ("startup", startup["median_to_first_200_s"], 2.0, "<=",
         f"{startup['median_to_first_200_s']:.2f} s (median of {len(startup['samples'])})"),
        ("worker_memory", worker_mb, 40.0, "<=", f"largest idle worker {worker_mb:.1f} MB RSS"),
    ]
    return [{"target": key, "goal": TARGETS[key], "value": value, "limit": limit,
             "met": value >= limit if op == ">=" else value <= limit, "shown": shown}
            for key, value, limit, op, shown in out]


def print_table(rows: list[dict[str, Any]], title: str) -> None:
    print(f"\n{title}")
    head = ("subject", "c", "req/s", "p50 ms", "p99 ms", "x ceil req/s", "x ceil p99",
            "front cpu us/req", "workers cpu us/req", "errors")
    body = [(r["subject"], str(r["concurrency"]), f"{r['rps']:,.0f}", f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}",
             "-" if r["rps_ratio"] is None else f"{r['rps_ratio']:.2f}",
             "-" if r["p99_ratio"] is None else f"{r['p99_ratio']:.2f}",
             f"{r['cpu_us_per_request']['front']:.0f}", f"{r['cpu_us_per_request']['workers']:.0f}",
             str(r["non_2xx"] + r["socket_errors"])) for r in rows]
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    for line in [head, *body]:
        print("  " + "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths))))


def print_pairs(pairs: list[dict[str, Any]], title: str) -> None:
    print(f"\n{title}")
    head = ("subject", "c", "", "new", "old", "new/old", "paired new/old", "min", "max",
            f"{CONFIDENCE:.0%} interval", "reading")
    body = []
    for p in pairs:
        for key, label, fmt in (("rps", "req/s", "{:,.0f}"), ("p50_ms", "p50 ms", "{:.3f}"), ("p99_ms", "p99 ms", "{:.3f}")):
            m = p[key]
            body.append((p["subject"], str(p["concurrency"]), label, fmt.format(m["new"]), fmt.format(m["old"]),
                         f"{m['ratio']:.3f}", f"{m['paired']:.3f}", f"{m['paired_min']:.3f}", f"{m['paired_max']:.3f}",
                         "{:.3f}-{:.3f}".format(*m["paired_interval"]), m["reading"]))
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    for line in [head, *body]:
        print("  " + "  ".join(cell.ljust(w) if i < 3 or i == len(head) - 1 else cell.rjust(w)
                               for i, (cell, w) in enumerate(zip(line, widths))))
    for p in pairs:
        if p["errors"]["new"] or p["errors"]["old"]:
            print(f"  WARNING: {p['subject']} c={p['concurrency']}: errors under load, new {p['errors']['new']}, "
                  f"old {p['errors']['old']}; its ratios are not comparable")


def baseline_verdicts(rows: list[dict[str, Any]]) -> list[str]:
    """The house refactor's targets (issue 8) as the paired runs read them: signed throughput at
    c=64 no lower than the baseline's, p50 at c=1 no higher. "within noise" means these runs
    cannot tell the trees apart (1 is inside the interval): more repetitions narrow it."""
    lines = [f"\n  Against the baseline (issue 8), paired medians with their {CONFIDENCE:.0%} bootstrap interval:"]
    for subject, c, key, goal in (("signed", 64, "rps", "req/s no lower"), ("open", 1, "p50_ms", "p50 no higher"),
                                  ("signed", 1, "p50_ms", "p50 no higher")):
        row = next((r for r in rows if r["subject"] == subject and r["concurrency"] == c), None)
        if row is None:
            continue
        m = row[key]
        low, high = m["paired_interval"]
        lines.append(f"    {subject} c={c} {goal}: {m['paired']:.3f} ({low:.3f}-{high:.3f}, {row['reps']} pairs): {m['reading']}")
    return lines


def print_memory(label: str, mem: dict[str, Any]) -> None:
    def mb(m: dict[str, Any], key: str) -> str:
        return f"{m.get(key, 0) / 1024:5.1f}"

    server = mem.get("server", {})
    print(f"  {label}: server RSS {mb(server, 'rss_kb')} MB, PSS {mb(server, 'pss_kb')} MB, USS {mb(server, 'uss_kb')} MB")
    for w in mem.get("workers", []):
        print(f"  {' ' * len(label)}  worker {w['pid']}: RSS {mb(w, 'rss_kb')} MB, PSS {mb(w, 'pss_kb')} MB, USS {mb(w, 'uss_kb')} MB")


# ---------------------------------------------------------------------------------------
# Main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="atlas-fn benchmarks against the ceiling (bench/README.md).")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 s per load, 1 repetition, 1 start-up sample")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON results (default {DEFAULT_OUT.relative_to(ROOT)})")
    parser.add_argument("--duration", type=int, help="seconds per wrk run (default 5; --quick 1)")
    parser.add_argument("--reps", type=int, help="repetitions (default 3; --quick 1)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (apps, server logs, wrk scripts)")
    parser.add_argument("--baseline", type=Path, metavar="DIR",
                        help="a second atlas-fn source tree (e.g. an older checkout): its server serves the same "
                             "bench app as the subjects baseline-open, baseline-signed, baseline-endpoint, in the "
                             "same rotation, and each pair's new/old ratios are reported")
    parser.add_argument("--subjects", metavar="LIST",
                        help=f"comma-separated subjects to load, of {', '.join(ALL_SUBJECTS)}, or 'all' (default "
                             f"{','.join(SUBJECTS[1:])}; the ceiling always runs)")
    args = parser.parse_args(argv)

    given = "".join((args.subjects or "").split())
    subjects = list(ALL_SUBJECTS) if given == "all" else [x for x in (given or ",".join(SUBJECTS[1:])).split(",") if x]
    unknown = [x for x in subjects if x not in ALL_SUBJECTS]
    if unknown or not subjects:
        parser.error(f"--subjects: {', '.join(unknown) or 'none given'}; choose from {', '.join(ALL_SUBJECTS)} or 'all'")
    if any(x in twins.DATA_SUBJECTS for x in subjects):
        subjects.append("data-direct")  # the data subjects' baseline runs whenever one of them does
    args.subjects = [x for x in ALL_SUBJECTS if x in subjects]
    if args.baseline is not None and any(x in twins.EXTRA_SUBJECTS for x in args.subjects):
        parser.error(f"--baseline: pairs only {', '.join(SUBJECTS[1:])}; leave out {', '.join(twins.EXTRA_SUBJECTS)}")
    if args.baseline is not None:
        args.baseline = args.baseline.resolve()
        if not (args.baseline / "runtime" / "__main__.py").is_file():
            parser.error(f"--baseline: {args.baseline} is not an atlas-fn source tree (no runtime/__main__.py)")
        if args.baseline == ROOT:
            parser.error("--baseline: that is this tree")

    if shutil.which("wrk") is None:
        print(f"bench: wrk is not installed; it is the load generator. Install it with:\n\n    {WRK_INSTALL}\n",
              file=sys.stderr)
        return 2
    seconds = args.duration or (1 if args.quick else 5)
    reps = args.reps or (1 if args.quick else 3)
    startup_samples = 1 if args.quick else 3

    tmp = Path(tempfile.mkdtemp(prefix="atlas-fn-bench-"))
    logs = tmp / "logs"
    logs.mkdir()
    servers: list[Server] = []
    started = time.time()
    try:
        results = run(args, tmp, logs, servers, seconds, reps, startup_samples)
    except HarnessError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    finally:
        for server in servers:
            server.stop()
        if args.keep:
            print(f"bench: kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    results["wall_s"] = round(time.time() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nbench: every raw run is in {args.out} (took {results['wall_s']:.0f} s)")
    return 0


def start_extras(urls: dict[str, str], answers: dict[str, Answer], server: Server, with_js: bool, with_data: bool,
                 logs: Path, servers: list[Server]) -> Server | None:
    """Add the extra subjects' URLs to ``urls`` and check each once: a JS twin must answer as its
    Python twin (in ``answers``) does; with data, seed the store, start data-direct on it, and
    data, data-js and data-direct must all answer twins.DATA_ANSWER. Returns data-direct's server."""
    base = server.url
    if with_js:
        urls.update({"open-js": base + webhook_path("open_js"), "signed-js": base + webhook_path("signed_js"),
                     "endpoint-js": base + f"/app/{APP_ID}/endpoint/bench-js"})
        differences = []
        for subject, python in twins.JS_TWINS.items():
            request = ("POST", SIGNED_BODY, _signed_headers()) if python == "signed" else ("GET", None, None)
            answers[subject] = fetch(urls[subject], *request)
            differences += twins.twin_differences(answers[python], answers[subject], subject)
        forged = fetch(urls["signed-js"], "POST", SIGNED_BODY, {**_signed_headers(), "X-Hook-Signature": "sha256=" + "0" * 64})
        _expect("signed-js (forged signature)", forged, 401, lambda x: b"IncomingWebhookAuthFailed" in x.body, "a 401 envelope")
        if differences:
            raise HarnessError("a JavaScript twin does not answer as its Python twin:\n  " + "\n  ".join(differences))
    if not with_data:
        return None
    uri = wait_store_uri(server)
    seed_store(uri)
    direct = start_data_direct(logs, uri)
    servers.append(direct)
    urls.update({"data": base + webhook_path("data"), "data-js": base + webhook_path("data_js"),
                 "data-direct": direct.wait_listening() + "/data"})
    for subject in twins.DATA_SUBJECTS:
        answers[subject] = a = fetch(urls[subject])
        _expect(subject, a, 200, lambda x: x.body == twins.DATA_ANSWER, repr(twins.DATA_ANSWER))
    return direct


def baseline_info(source: Path) -> dict[str, Any]:
    """What the baseline tree is: its commit, uncommitted runtime/ files and code fingerprint."""
    def git(*argv: str) -> str:
        try:
            return subprocess.run(["git", "-C", str(source), *argv], capture_output=True, text=True,
                                  timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {"dir": str(source), "git_head": git("rev-parse", "--short", "HEAD"),
            "git_dirty_runtime": [line.strip() for line in git("status", "--porcelain", "--", "runtime").splitlines()],
            "runtime_sha256": runtime_fingerprint(source)}


def run(args: argparse.Namespace, tmp: Path, logs: Path, servers: list[Server], seconds: int, reps: int,
        startup_samples: int) -> dict[str, Any]:
    info = machine()
    print(f"bench: {info['cpus']} CPUs ({info['cpu']}), Python {info['python']}, aiohttp {info['aiohttp']}, "
          f"{info['wrk']}; atlas-fn {info['git_head']}"
          + (f" with uncommitted runtime/ changes ({len(info['git_dirty_runtime'])} files)" if info["git_dirty_runtime"] else ""))
    baseline = None
    if args.baseline is not None:
        baseline = baseline_info(args.baseline)
        for source in (ROOT, args.baseline):  # each server must load its own tree's code
            if (found := runtime_root(source)) != source:
                raise HarnessError(f"started from {source}, `import runtime` loads {found}/runtime instead")
        print(f"bench: baseline {baseline['dir']} at {baseline['git_head'] or '?'}"
              + (f" with uncommitted runtime/ changes ({len(baseline['git_dirty_runtime'])} files)"
                 if baseline["git_dirty_runtime"] else ""))
    print(f"bench: {seconds} s per wrk run, {reps} repetitions, loads -t1 -c1 and -t2 -c64; "
          f"subjects ceiling, {', '.join(args.subjects)}{' and their baseline twins' if baseline else ''}; "
          f"load average {' '.join(info['loadavg_start'])}", flush=True)

    app, functions = write_bench_app(tmp / "bench")
    with_data = twins.write_extra_app(app, functions, args.subjects, _json)
    with_js = any(x in twins.JS_TWINS for x in args.subjects)
    # Every app without a MongoDB data source gets `mongodb-atlas` on an embedded store that starts
    # with serve, in <app>/.atlas-fn/data by default: servers of the same app at once (the worker
    # sweep, --baseline) would fight over its lock. Each gets a throw-away store of its own.
    serve_extra = data_memory_flag(ROOT)
    ceiling = start_ceiling(logs)
    servers.append(ceiling)
    main_server = start_atlas_fn("atlas-fn", app, functions, logs, extra=serve_extra)
    servers.append(main_server)
    old_server = None
    if args.baseline is not None:
        old_server = start_atlas_fn("atlas-fn-baseline", app, functions, logs, source=args.baseline,
                                    extra=data_memory_flag(args.baseline))
        servers.append(old_server)
    base = {"ceiling": ceiling.wait_listening(), "atlas-fn": main_server.wait_listening()}
    pool_line = next((s for s in main_server.lines if "listening on" in s), "")
    urls = {"ceiling": base["ceiling"] + "/ceiling", "open": base["atlas-fn"] + webhook_path("open"),
            "signed": base["atlas-fn"] + webhook_path("signed"), "endpoint": base["atlas-fn"] + ENDPOINT_PATH}
    answers = check_subjects(urls)
    direct = None
    if with_js or with_data:
        direct = start_extras(urls, answers, main_server, with_js, with_data, logs, servers)
    seen = {k: a.body.decode() for k, a in answers.items() if k != "signed-forged"}
    print(f"bench: {pool_line.strip()}\nbench: every subject answered as expected"
          + (" (each JS twin with its Python twin's status, headers and body)" if with_js else "")
          + (f"; data-direct on the same store, {answers['data-direct'].body.decode()}" if direct else ""), flush=True)
    if old_server is not None and baseline is not None:
        old_base = old_server.wait_listening()
        old_urls = {"open": old_base + webhook_path("open"), "signed": old_base + webhook_path("signed"),
                    "endpoint": old_base + ENDPOINT_PATH}
        old_answers = check_subjects(old_urls, prefix=BASELINE_PREFIX)
        differences = compare_answers(answers, old_answers, base["atlas-fn"], old_base)
        if differences:
            raise HarnessError("the baseline does not serve the same answers as this tree:\n  " + "\n  ".join(differences))
        baseline["main_server"] = next((s for s in old_server.lines if "listening on" in s), "").strip()
        baseline["worker_roots"] = {"new": worker_roots(main_server), "old": worker_roots(old_server)}
        for side, server, source in (("new", main_server, ROOT), ("old", old_server, args.baseline)):
            wrong = [r for r in baseline["worker_roots"][side] if r not in ("?", str(source))]
            if wrong:
                raise HarnessError(f"{server.name}'s workers run the code of {', '.join(wrong)}, not of {source}")
        baseline["memory_fresh"] = memory_of(old_server)
        print(f"bench: baseline {baseline['main_server']}\nbench: the baseline answers the same (status, headers, "
              f"bodies; workers from {', '.join(sorted(set(baseline['worker_roots']['old'])))})", flush=True)
    mem_fresh = memory_of(main_server)

    scripts = tmp / "wrk"
    scripts.mkdir()
    post = write_lua(scripts / "signed.lua", "POST", SIGNED_BODY, _signed_headers())
    get = write_lua(scripts / "get.lua", "GET")

    def procs(server: Server) -> Callable[[], tuple[int, list[int]]]:
        return lambda: (server.pid, server.children())

    # The ceiling gets the signed subject's exact request: same method, body and headers.
    scripts_of = {"open": get, "signed": post, "endpoint": get, "open-js": get, "signed-js": post, "endpoint-js": get,
                  "data": get, "data-js": get, "data-direct": get}
    targets = [Target("ceiling", urls["ceiling"], post, procs(ceiling))]
    for subject in args.subjects:
        if subject == "data-direct" and direct is not None:
            # its CPU: the direct process and the same store (a child of the atlas-fn server)
            targets.append(Target(subject, urls[subject], get, lambda: (direct.pid, [p for p in main_server.children()
                                                                                     if is_store(p)])))
            continue
        targets.append(Target(subject, urls[subject], scripts_of[subject], procs(main_server)))
        if old_server is not None:
            targets.append(Target(BASELINE_PREFIX + subject, old_urls[subject], scripts_of[subject], procs(old_server)))
    print("bench: warm-up (1 s per subject at c=64, not recorded)", flush=True)
    for target in targets:
        run_wrk(target, 2, 64, 1)
    print("bench: load" + (" (each subject beside its baseline twin, who goes first flipping every repetition)"
                           if old_server else ""), flush=True)
    rotation = paired_rotation(targets) if old_server else twins.group_rotation(targets) if (with_js or with_data) else None
    runs = load_rounds(targets, LOADS, reps, seconds, "load", rotation)
    rows = summarise(runs)
    ratio_rows = twins.summarise_ratios(runs)
    pairs = summarise_pairs(runs) if old_server else []
    time.sleep(1.0)
    mem_after = memory_of(main_server)
    main_server.stop()
    if old_server is not None and baseline is not None:
        baseline["memory_after_load"] = memory_of(old_server)
        old_server.stop()

    print(f"bench: signed at c=64 with --workers {', '.join(map(str, WORKER_COUNTS))} (ceiling in the rotation)", flush=True)
    sweep_servers = {}
    for count in WORKER_COUNTS:
        sweep_servers[count] = start_atlas_fn(f"atlas-fn-w{count}", app, functions, logs, workers=count,
                                              extra=serve_extra)
        servers.append(sweep_servers[count])
    sweep_targets = [Target("ceiling", urls["ceiling"], post, procs(ceiling))]
    for count, server in sweep_servers.items():
        url = server.wait_listening() + webhook_path("signed")
        a = fetch(url, "POST", SIGNED_BODY, _signed_headers())
        _expect(f"signed (--workers {count})", a, 202, lambda x: x.body == seen["signed"].encode(), "the same answer")
        sweep_targets.append(Target(f"signed-w{count}", url, post, procs(server)))
    for target in sweep_targets[1:]:
        run_wrk(target, 2, 64, 1)
    sweep_runs = load_rounds(sweep_targets, ((2, 64),), reps, seconds, "workers")
    sweep_rows = summarise(sweep_runs)
    for server in sweep_servers.values():
        server.stop()

    print("bench: start-up", flush=True)
    startup = measure_startup(tmp, logs, startup_samples)

    idle_workers = [w for m in (mem_after, startup["idle_memory"]) for w in m.get("workers", [])]
    worker_mb = max((w.get("rss_kb", 0) for w in idle_workers), default=0) / 1024
    verdict = verdicts(rows, startup, worker_mb)
    access_lines = sum(1 for _ in open(main_server.log_path, "rb"))

    print_table(rows, f"Results: median of {reps} repetitions of {seconds} s; ratios are paired per repetition "
                      "(same repetition, same concurrency), median quoted")
    if pairs and baseline is not None:
        print_pairs(pairs, f"This tree ({info['git_head']}) against the baseline ({baseline['git_head'] or '?'}, "
                           f"{baseline['dir']}): medians of {reps} repetitions; new/old = ratio of the medians; "
                           "paired = median of the per-repetition ratios, with their min and max")
        for line in baseline_verdicts(pairs):
            print(line)
    if ratio_rows:
        twins.print_ratios(ratio_rows, f"JavaScript against Python, and data through atlas-fn against direct: "
                                       f"paired ratios, median of {reps} repetitions")
    print_table(sweep_rows, "Signed at c=64 by worker count (--workers N)")
    failed = [r for r in rows + sweep_rows if r["non_2xx"] or r["socket_errors"]]
    for r in failed:
        print(f"  WARNING: {r['subject']} c={r['concurrency']}: {r['non_2xx']} non-2xx answers and "
              f"{r['socket_errors']} socket errors under load; its figures are not comparable")
    print(f"\nStart-up, {STARTUP_FUNCTIONS} drop-in functions: first 200 after "
          f"{startup['median_to_first_200_s']:.2f} s (listening after {startup['median_to_listening_s']:.2f} s), median of "
          f"{len(startup['samples'])}")
    print("\nIdle memory (MB)")
    print_memory("bench app, fresh  ", mem_fresh)
    print_memory("bench app, after load", mem_after)
    if baseline is not None:
        print_memory("baseline, after load ", baseline["memory_after_load"])
    print_memory(f"{STARTUP_FUNCTIONS}-function app  ", startup["idle_memory"])
    print("\nTargets (issue 5 §2)")
    for v in verdict:
        print(f"  [{'MET ' if v['met'] else 'MISS'}] {v['goal']}: {v['shown']}")
    if args.quick:
        print("  (--quick: one short repetition; a smoke test, not a measurement)")

    info["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    return {
        "issue": 5, "quick": args.quick, "command": " ".join([Path(sys.executable).name, "bench/run.py", *(sys.argv[1:])]),
        "machine": info, "settings": {"seconds_per_run": seconds, "reps": reps, "loads": [list(x) for x in LOADS],
                                      "subjects": ["ceiling", *args.subjects],
                                      "worker_counts": list(WORKER_COUNTS), "signed_body_bytes": len(SIGNED_BODY),
                                      "main_server": pool_line.strip(), "access_log_lines": access_lines},
        "baseline": baseline,
        "subject_answers": seen, "summary": rows, "baseline_pairs": pairs, "ratios": ratio_rows,
        "workers_summary": sweep_rows,
        "runs": [{"subject": r.subject, "threads": r.threads, "connections": r.connections, "rep": r.rep, **r.data}
                 for r in runs],
        "workers_runs": [{"subject": r.subject, "threads": r.threads, "connections": r.connections, "rep": r.rep, **r.data}
                         for r in sweep_runs],
        "startup": startup, "memory": {"bench_fresh": mem_fresh, "bench_after_load": mem_after,
                                       "startup_app": startup["idle_memory"]},
        "targets": verdict,
    }


if __name__ == "__main__":
    sys.exit(main())
