"""Load with hostile calls against a real `atlas-fn serve` process (issue 4 §4).

A real server (`python -m runtime serve --port 0 --workers 2 --timeout 1 --memory-mb 200`)
gets N requests over real HTTP (aiohttp ClientSession) at concurrency C; a third of them are
hostile. Every well-behaved request must get its exact answer (status and body bytes), every
hostile one its exact §5 envelope (status, error_code, error), the server must stay up, its
workers must be replaced, no worker may be left behind after SIGTERM, the server log must hold
no traceback and no 500, and the server process's memory must stay flat: VmRSS of the server
process (not its workers) is sampled after a warm-up, every 100 ms during the run and after
it; the figures are printed and written to `<pytest tmp dir>/load_memory.json`.

The mix. Well-behaved (two thirds), in equal parts: GET `echo?i=` (a JSON object back),
POST `total` (parses a JSON body, sums it), PUT `made?i=` (status 201, a header, a text body).
Hostile (one third):

* `loop` — `while True: pass`: holds a worker for the whole `--timeout` (1 s), then 400
  ExecutionTimeLimitExceeded. Few of them: with 2 workers each costs half a second of the
  run's wall time.
* `victim` — holds an 80 MB string, then loops: the test finds the worker running it (RSS
  above 90 MB, steady, while its CPU time grows — no other call looks like that: `growing`
  cannot burn 30 ms of CPU without its RSS moving) and SIGKILLs it by pid; that call gets 400
  FunctionExecutionError "...killed (SIGKILL)...", the pool refills, nothing else fails.
  Victims are sent one at a time, spread over the run, by a task of their own.
* `big_alloc` (`'a' * 10**10`) and `growing` (a list of 1 MB strings) — 400
  FunctionExecutionError "the function exceeded the memory limit of 200 MB"; the worker is
  recycled.
* `recurse` (unbounded recursion) — 400 FunctionExecutionError "RecursionError: ...".
* `raises` (`raise ValueError`) — 400 FunctionExecutionError "ValueError: boom <i>".
* the red-team findings of issue 9, in turn: `forge` (F1: an unraisable report full of control
  characters; 200 "forged"), `escape_flood` (F3: a 524,000-character console line of U+0085;
  200 "logged"), `regex_cache` (F6: 200 patterns compiled; 200 "compiled"), `regex_flags` (F8:
  integer regex flags; 400 TypeError) and `as_vector` (F9: pymongo's `Binary.as_vector`; 400
  AttributeError).

`test_calls_queued_behind_a_recycled_worker_are_sent_again` pins down, deterministically,
the one failure this load test found (see its docstring).

Sizes. Bounded (runs by default, well under 60 s): 150 requests at concurrency 20 after a
30-request warm-up; hostile 50 = 4 loops, 2 victims, 8 each of big_alloc, growing, recurse,
raises, 12 findings. Full (`@pytest.mark.slow`; `pytest --run-slow` or `-m slow`): 1000 requests
at concurrency 50 after a 100-request warm-up; hostile 333 = 24 loops, 8 victims, 50 each of
big_alloc and growing, 45 each of recurse and raises, and 111 findings (a third) — about 12 s of worker time in loops plus ~180
worker respawns: 25-40 s of load on 2 shared cores, under a minute in all.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from runtime.host import dispatch
from runtime.http.server import RUNNER
from tests.conftest import INSPECTOR_LINK, ROOT, Serve, call_in, write_app
from tests.waiting import Lines, until, worker_pids

MEMORY_MB = 200
TIMEOUT_S = 1
WORKERS = 2
MEMORY_GROWTH_LIMIT_KB = 20 * 1024

FUNCTIONS = {
    "echo.py": "def exports(payload, response):\n    return {'i': payload.query['i'], 'm': context.request.httpMethod}\n",
    "total.py": (
        "def exports(payload, response):\n"
        "    data = EJSON.parse(payload.body.text())\n"
        "    return {'i': data['i'], 'sum': sum(data['xs'])}\n"
    ),
    "made.py": (
        "def exports(payload, response):\n"
        "    response.setStatusCode(201)\n"
        "    response.setHeader('X-Call', payload.query['i'])\n"
        "    response.setBody('made ' + payload.query['i'])\n"
    ),
    "loop.py": "def exports(payload, response):\n    while True:\n        pass\n",
    "victim.py": "def exports(payload, response):\n    marker = 'k' * (80 * 1024 * 1024)\n    while True:\n        pass\n",
    "big_alloc.py": "def exports(payload, response):\n    return len('a' * (10 ** 10))\n",
    "growing.py": "def exports(payload, response):\n    chunks = []\n    while True:\n        chunks.append('x' * 1000000)\n",
    "recurse.py": "def down(n):\n    return down(n + 1)\n\ndef exports(payload, response):\n    return down(0)\n",
    "raises.py": "def exports(payload, response):\n    raise ValueError('boom ' + payload.query['i'])\n",
    # red-team round two (issue 9), each as its fixture or finding describes it
    "forge.py": (ROOT / "tests/fixtures/hostile/log_forge_unraisable.py").read_text(),  # F1
    "escape_flood.py": "def exports(payload, response):\n    console.log('\\x85' * 524000)\n    return 'logged'\n",  # F3
    "regex_cache.py": ("def exports(payload, response):\n    for i in range(200):\n"  # F6
                       "        BSON.BSONRegExp('a{%d}b' % i, 'i').try_compile()\n    return 'compiled'\n"),
    "regex_flags.py": "def exports(payload, response):\n    return BSON.BSONRegExp('a', 128)\n",  # F8
    "as_vector.py": "def exports(payload, response):\n    return BSON.Binary('\\x03\\x00', 9).as_vector(True)\n",  # F9
}
FINDINGS = ("forge", "escape_flood", "regex_cache", "regex_flags", "as_vector")

MEMORY_ERROR = f"the function exceeded the memory limit of {MEMORY_MB} MB"
KILLED = f"the function's worker process was killed (SIGKILL); the memory limit is {MEMORY_MB} MB"


@dataclass(frozen=True)
class Mix:
    total: int  # requests measured, victims included
    concurrency: int
    warmup: int
    loops: int
    victims: int
    big_alloc: int
    growing: int
    recurse: int
    raises: int
    findings: int  # calls of the red-team findings, the kinds of FINDINGS in turn

    @property
    def hostile(self) -> int:
        return self.loops + self.victims + self.big_alloc + self.growing + self.recurse + self.raises + self.findings


BOUNDED = Mix(total=150, concurrency=20, warmup=30, loops=4, victims=2, big_alloc=8, growing=8, recurse=8, raises=8,
              findings=12)
FULL = Mix(total=1000, concurrency=50, warmup=100, loops=24, victims=8, big_alloc=50, growing=50, recurse=45, raises=45,
           findings=111)  # a third of the hostile calls drawn from the red-team findings (issue 9)


@dataclass(frozen=True)
class Call:
    kind: str
    i: int
    method: str = "GET"
    body: bytes = b""

    def path(self) -> str:
        return f"/api/client/v2.0/app/local/service/http/incoming_webhook/{self.kind}?i={self.i}"


def plan(mix: Mix, seed: int, first: int = 0, *, warmup: bool = False) -> list[Call]:
    """The main stream in a seeded random order (victims excluded: their own task sends them)."""
    rng = random.Random(seed)
    if warmup:  # every code path once or more, but no call that holds a worker for seconds
        hostile = ["big_alloc", "growing", "recurse", "raises"] * max(1, mix.warmup // 12)
        good = mix.warmup - len(hostile)
    else:
        hostile = (["loop"] * mix.loops + ["big_alloc"] * mix.big_alloc + ["growing"] * mix.growing
                   + ["recurse"] * mix.recurse + ["raises"] * mix.raises
                   + [FINDINGS[n % len(FINDINGS)] for n in range(mix.findings)])
        good = mix.total - mix.hostile
    kinds = hostile + [("echo", "total", "made")[n % 3] for n in range(good)]
    rng.shuffle(kinds)
    calls = []
    for n, kind in enumerate(kinds, start=first):
        if kind == "total":
            xs = [rng.randrange(-1000, 1000) for _ in range(rng.randrange(1, 20))]
            calls.append(Call(kind, n, "POST", json.dumps({"i": n, "xs": xs}).encode()))
        elif kind == "made":
            calls.append(Call(kind, n, "PUT"))
        else:
            calls.append(Call(kind, n))
    return calls


def expected(call: Call) -> tuple[int, bytes] | tuple[int, str, str]:
    """(status, body) for a well-behaved call; (status, error_code, error) for a hostile one
    (an error ending in '...' is a prefix)."""
    if call.kind == "echo":
        return 200, b'{"i":"%d","m":"GET"}' % call.i
    if call.kind == "total":
        total = sum(json.loads(call.body)["xs"])
        return 200, b'{"i":{"$numberInt":"%d"},"sum":{"$numberInt":"%d"}}' % (call.i, total)
    if call.kind == "made":
        return 201, b"made %d" % call.i
    if call.kind in ("forge", "escape_flood", "regex_cache"):
        return 200, {"forge": b'"forged"', "escape_flood": b'"logged"', "regex_cache": b'"compiled"'}[call.kind]
    return {
        "loop": (400, "ExecutionTimeLimitExceeded", "execution time limit exceeded"),
        "victim": (400, "FunctionExecutionError", KILLED),
        "big_alloc": (400, "FunctionExecutionError", MEMORY_ERROR),
        "growing": (400, "FunctionExecutionError", MEMORY_ERROR),
        "recurse": (400, "FunctionExecutionError", "RecursionError: maximum recursion depth exceeded..."),
        "raises": (400, "FunctionExecutionError", f"ValueError: boom {call.i}"),
        "regex_flags": (400, "FunctionExecutionError",
                        "TypeError: BSON.BSONRegExp: the options must be a string of the letters ilmsux, got 'int'"),
        "as_vector": (400, "FunctionExecutionError", "AttributeError: 'Binary' object has no attribute 'as_vector'"),
    }[call.kind]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def mismatch(call: Call, got: Answer, base: str) -> str | None:
    """Why ``got`` is not the exact answer ``call`` must get, or None."""
    want = expected(call)
    if len(want) == 2:
        ok = (got.status, got.body) == want and (call.kind != "made" or got.headers.get("X-Call") == str(call.i))
        return None if ok else f"{call}: got {got.status} {got.body[:200]!r}, want {want[0]} {want[1]!r}"
    status, code, error = want
    try:
        envelope = json.loads(got.body)
    except ValueError:
        return f"{call}: not JSON: {got.status} {got.body[:200]!r}"
    exact = error[:-3] if error.endswith("...") else None
    if (got.status != status or got.headers.get("Content-Type") != "application/json" or not isinstance(envelope, dict)
            or set(envelope) != {"error", "error_code", "link"} or envelope["error_code"] != code
            or not (envelope["error"].startswith(exact) if exact is not None else envelope["error"] == error)
            or not INSPECTOR_LINK.fullmatch(envelope["link"])):
        return f"{call}: got {got.status} {envelope!r}, want {status} {code} {error!r}"
    return None


# --- the server process and /proc ----------------------------------------------------------

def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def cpu_ticks(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])  # utime + stime


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@dataclass
class Server:
    proc: subprocess.Popen[str]
    base: str
    log: Path
    seen_workers: set[int] = field(default_factory=set)

    def workers(self) -> list[int]:
        pids = worker_pids(self.proc.pid)
        self.seen_workers.update(pids)
        return pids


def start_server(tmp_path: Path) -> Server:
    functions = write_app(tmp_path / "functions", FUNCTIONS)
    log = tmp_path / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_FN_")}
    with log.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "runtime", "serve", "--functions", str(functions), "--port", "0",
             "--workers", str(WORKERS), "--timeout", str(TIMEOUT_S), "--memory-mb", str(MEMORY_MB),
             "--no-reload"],  # production: no spare process for a reload among the workers it counts
            cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=stderr, text=True)
    banner = Lines(proc.stdout).next()  # type: ignore[arg-type]
    match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", banner)
    if not match:
        proc.kill()
        proc.wait()
        raise AssertionError(f"the server did not start: {banner!r}\n{log.read_text()}")
    return Server(proc, match.group(1), log)


async def settle_pool(server: Server, timeout: float = 20.0) -> list[int]:
    """Wait until the server has exactly WORKERS live workers (respawns finished)."""
    found: list[int] = []

    def settled() -> bool:
        pids = server.workers()
        if len(pids) == WORKERS and all(alive(pid) for pid in pids):
            found[:] = pids
            return True
        return False

    await until(settled, timeout=timeout, what=lambda: f"the pool did not refill: workers {server.workers()}")
    return found


async def steady_rss(pid: int, period: float = 0.1, tolerance_kb: int = 256, timeout: float = 20.0) -> int:
    """The server's VmRSS once it holds still: two samples ``period`` apart within
    ``tolerance_kb`` (the sampling period is the measurement's own: what "holds still" means).
    Waits for the server to have finished what the last requests and respawns left it doing,
    instead of assuming a fixed pause is enough."""
    samples = [rss_kb(pid)]
    deadline = time.monotonic() + timeout
    while True:
        await asyncio.sleep(period)  # the sampling period, not a guess at how long anything takes
        samples.append(rss_kb(pid))
        last, now = samples[-2], samples[-1]
        if last is not None and now is not None and abs(now - last) <= tolerance_kb:
            return now
        if time.monotonic() >= deadline:
            raise AssertionError(f"the server's RSS never held still: {samples[-20:]} kB")


async def find_victim(server: Server, done: asyncio.Future[Any]) -> int | None:
    """The pid of the worker running `victim`: RSS over 90 MB and steady (±2 MB) while the
    process burns at least 3 clock ticks of CPU. None if the call ended first."""
    first: dict[int, tuple[int, int]] = {}
    while not done.done():
        for pid in server.workers():
            rss, ticks = rss_kb(pid), cpu_ticks(pid)
            if rss is None or ticks is None or rss < 90 * 1024:
                first.pop(pid, None)
                continue
            rss0, ticks0 = first.setdefault(pid, (rss, ticks))
            if abs(rss - rss0) > 2 * 1024:
                first[pid] = (rss, ticks)
            elif ticks - ticks0 >= 3:
                return pid
        await asyncio.sleep(0.01)  # a poll of /proc while the call lasts: the period bounds no outcome
    return None


# --- the run ---------------------------------------------------------------------------------

async def send(session: aiohttp.ClientSession, base: str, call: Call) -> Answer:
    async with session.request(call.method, base + call.path(), data=call.body or None) as resp:
        return Answer(resp.status, dict(resp.headers), await resp.read())


async def run_load(tmp_path: Path, mix: Mix, seed: int) -> dict[str, Any]:
    server = start_server(tmp_path)
    pid = server.proc.pid
    failures: list[str] = []
    try:
        first_workers = await settle_pool(server)
        timeout = aiohttp.ClientTimeout(total=120)
        connector = aiohttp.TCPConnector(limit=mix.concurrency)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            gate = asyncio.Semaphore(mix.concurrency)
            completed = 0
            progress = asyncio.Condition()  # notified each time a call completes

            async def one(call: Call) -> None:
                nonlocal completed
                async with gate:
                    try:
                        got = await send(session, server.base, call)
                    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                        failures.append(f"{call}: {type(exc).__name__}: {exc}")
                        return
                    finally:
                        completed += 1
                        async with progress:
                            progress.notify_all()
                problem = mismatch(call, got, server.base)
                if problem:
                    failures.append(problem)

            async def victims(first_i: int) -> int:
                killed = 0
                for j in range(mix.victims):
                    due = (j + 1) * (mix.total - mix.victims) // (mix.victims + 1)
                    async with progress:
                        await progress.wait_for(lambda: completed >= due)
                    call = Call("victim", first_i + j)
                    async with gate:
                        answer = asyncio.ensure_future(send(session, server.base, call))
                        target = await find_victim(server, answer)
                        if target is None:
                            failures.append(f"{call}: its worker was never found to kill; got {await answer}")
                            continue
                        os.kill(target, signal.SIGKILL)
                        killed += 1
                        problem = mismatch(call, await answer, server.base)
                    if problem:
                        failures.append(problem)
                return killed

            # warm-up: every code path, then let the respawns finish before measuring
            await asyncio.gather(*(one(call) for call in plan(mix, seed, 0, warmup=True)))
            await settle_pool(server)
            before = await steady_rss(pid)
            assert not failures, "warm-up:\n" + "\n".join(failures[:20])

            samples: list[int] = []
            stop = asyncio.Event()

            async def sample() -> None:
                while not stop.is_set():
                    value = rss_kb(pid)
                    if value is not None:
                        samples.append(value)
                    server.workers()
                    await asyncio.sleep(0.1)  # the sampling period of the memory figures

            calls = plan(mix, seed + 1, 10_000)
            completed = 0
            sampler = asyncio.ensure_future(sample())
            started = time.monotonic()
            results = await asyncio.gather(victims(20_000), *(one(call) for call in calls))
            elapsed = time.monotonic() - started
            stop.set()
            await sampler
            killed = results[0]

            last_workers = await settle_pool(server)
            after = await steady_rss(pid)
            final = await send(session, server.base, Call("echo", 99_999))
            assert (final.status, final.body) == (200, b'{"i":"99999","m":"GET"}')

        assert server.proc.poll() is None, "the server died"
        assert not failures, f"{len(failures)} wrong answers:\n" + "\n".join(failures[:30])
        assert killed == mix.victims
        assert set(last_workers).isdisjoint(first_workers), "workers were not replaced"
        assert before is not None and after is not None and samples
        figures = {
            "requests": mix.total, "concurrency": mix.concurrency, "warmup_requests": mix.warmup,
            "hostile": mix.hostile, "mix": {k: getattr(mix, k) for k in ("loops", "victims", "big_alloc", "growing", "recurse", "raises")},
            "seconds": round(elapsed, 2), "requests_per_second": round(mix.total / elapsed, 1),
            "server_rss_kb": {"before": before, "during_max": max(samples), "during_min": min(samples),
                              "during_samples": len(samples), "after": after},
            "growth_kb": {"after": after - before, "peak": max(samples) - before},
            "worker_processes_seen": len(server.seen_workers), "workers_sigkilled_by_test": killed,
        }
    finally:
        if server.proc.poll() is None:
            server.proc.send_signal(signal.SIGTERM)
            try:
                code = server.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait()
                raise
            assert code == 0
    # the server reaps its workers before it exits (WorkerPool.close): none is left at its exit
    assert [p for p in server.seen_workers if alive(p)] == [], "orphan workers after SIGTERM"
    log = server.log.read_text(errors="replace")
    assert "Traceback" not in log
    assert " status=500 " not in log and "internal error" not in log
    figures["workers_left_after_sigterm"] = 0
    report = tmp_path / "load_memory.json"
    report.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\nload: {json.dumps(figures)}\nload: figures written to {report}")
    assert figures["growth_kb"]["after"] < MEMORY_GROWTH_LIMIT_KB, figures
    assert figures["growth_kb"]["peak"] < MEMORY_GROWTH_LIMIT_KB, figures
    return figures


async def test_load_bounded(tmp_path: Path) -> None:
    """CI's version: 150 requests at concurrency 20, a third hostile (see the module docstring)."""
    await run_load(tmp_path, BOUNDED, seed=150)


@pytest.mark.slow
async def test_load_full(tmp_path: Path) -> None:
    """Issue 4 §4: 1000 requests at concurrency 50, a third hostile (see the module docstring)."""
    await run_load(tmp_path, FULL, seed=1000)


SWITCH = (
    "def exports(payload, response):\n"
    "    if payload.query.get('mode') == 'bomb':\n"
    "        return len('a' * (10 ** 10))\n"
    "    return payload.query.get('n')\n"
)


async def test_calls_queued_behind_a_recycled_worker_are_sent_again(serve: Serve, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by the load test: with queue_depth > 1, calls written behind a call whose worker
    then recycles itself (MemoryError) were answered "worker process exited unexpectedly
    (code 0)" — they never started, and must run on another worker.

    Deterministic: the dispatch policy's clock is taken out (young and fast always hold after a
    normal run), and the worker is stopped (SIGSTOP) while the bomb and the calls behind it are
    written to it, so none of them can end before all are seen written; then it goes on."""
    monkeypatch.setattr(dispatch, "QUEUE_BEHIND_SECONDS", 3600.0)
    monkeypatch.setattr(dispatch, "FAST_SECONDS", 3600.0)
    functions = write_app(tmp_path / "f", {"switch.py": SWITCH})
    client = await serve(None, functions, workers=1, queue_depth=4, memory_mb=MEMORY_MB)
    pool = client.app[RUNNER]
    url = "/api/client/v2.0/app/local/service/http/incoming_webhook/switch"

    def held() -> int:
        return sum(len(w.calls) for w in pool.workers) + len(pool.waiters)

    for _ in range(3):
        await until(lambda: len(pool.idle) == 1, what="one idle worker")
        for _ in range(2):  # the function's last run ended normally (fast): calls may be written behind it
            assert (await client.get(url + "?n=warm")).status == 200
        [worker] = list(pool.workers)
        os.kill(worker.pid, signal.SIGSTOP)
        try:
            bomb = asyncio.ensure_future(client.get(url + "?mode=bomb"))
            await until(lambda: held() == 1, what="the bomb written to the worker")
            behind = [asyncio.ensure_future(client.get(url + f"?n={i}")) for i in range(20)]
            await until(lambda: held() == 21, what=lambda: f"21 calls in the pool, not {held()}")
            queue = [call_in(call.frame).raw_query for call in worker.calls]
            assert (queue[0], len(queue), len(pool.waiters)) == ("mode=bomb", 4, 17)  # three written behind the bomb
        finally:
            os.kill(worker.pid, signal.SIGCONT)
        results = await asyncio.gather(bomb, *behind)
        assert (results[0].status, (await results[0].json())["error"]) == (400, MEMORY_ERROR)
        assert [(r.status, await r.read()) for r in results[1:]] == [(200, f'"{i}"'.encode()) for i in range(20)]
