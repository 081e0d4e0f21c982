"""Hot reload (issue 12 §1): an edit reaches the next request without a restart.

Real worker pools under the aiohttp test client, and the real watcher (inotify through
``watchfiles``): each test edits files on disk and waits for the *answer* to change (or for
the reloader's generation to move), with a deadline that only bounds a failure — never a
fixed sleep. The real ``atlas-fn serve`` process is in ``tests/test_serve_problems.py``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest

from runtime.app.snapshot import assemble
from runtime.http.reload import Reloader, Source
from runtime.http.server import RELOADER, build_app
from runtime.settings import Settings
from tests.conftest import AtlasTestServer, write_app, INSPECTOR_LINK
from tests.test_cli import alive
from tests.waiting import DEADLINE, until

HOOK = "/api/client/v2.0/app/local/service/http/incoming_webhook"


def fn(value: Any) -> str:
    return f"def exports(payload, response):\n    return {value!r}\n"


Reloading = Callable[..., Awaitable[tuple[Any, Reloader]]]


@pytest.fixture
def reloading(aiohttp_client: Any) -> Reloading:
    """Serve an app as ``atlas-fn serve`` does (the tolerant build, its source given), with a
    real worker pool; returns the client and the reloader once the folders are watched."""

    async def make(app_dir: Path | None, functions_dir: Path | None = None, environ: dict[str, str] | None = None,
                   **settings: Any) -> tuple[Any, Reloader]:
        settings.setdefault("workers", 1)
        chosen = Settings(**settings)
        built = assemble(app_dir, functions_dir, chosen, environ or {})
        assert built.snapshot is not None, built.problems
        source = Source(app_dir, functions_dir, environ or {}, built.problems)
        client = await aiohttp_client(AtlasTestServer(build_app(built.snapshot, chosen, source=source), chosen))
        reloader = client.app[RELOADER]
        if chosen.reload:
            await asyncio.wait_for(reloader.watching.wait(), DEADLINE)
        return client, reloader

    return make


async def answer_becomes(client: Any, url: str, wanted: Callable[[int, str], bool], what: str,
                         headers: dict[str, str] | None = None) -> tuple[int, str]:
    """GET ``url`` (with ``headers``) until its (status, body) is ``wanted``; fails after DEADLINE
    with the last answer."""
    deadline = asyncio.get_running_loop().time() + DEADLINE
    while True:
        resp = await client.get(url, headers=headers)
        got = (resp.status, await resp.text())
        if wanted(*got):
            return got
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {DEADLINE} s: {what}; last answer {got}")
        await asyncio.sleep(0.01)


def is_(status: int, body: str) -> Callable[[int, str], bool]:
    return lambda s, b: (s, b) == (status, body)


async def test_an_edited_function_answers_with_its_new_code(reloading: Reloading, tmp_path: Path) -> None:
    functions = write_app(tmp_path / "functions", {"hello.py": fn("one"), "other.py": fn("other")})
    client, reloader = await reloading(None, functions)
    assert (await (await client.get(f"{HOOK}/hello")).text()) == '"one"'
    (functions / "hello.py").write_text(fn("two"))
    await answer_becomes(client, f"{HOOK}/hello", is_(200, '"two"'), "the edited function's answer")
    assert reloader.generation >= 2 and reloader.last_reload_at is not None and reloader.problems == ()
    assert (await (await client.get(f"{HOOK}/other")).text()) == '"other"'


async def test_a_javascript_function_and_a_node_modules_package_reload(reloading: Reloading, tmp_path: Path) -> None:
    functions = write_app(tmp_path / "functions", {
        "greet.js": "exports = function () { return require('shout')('hi'); };",
        "node_modules/shout/index.js": "module.exports = (s) => s.toUpperCase();",
        "node_modules/shout/package.json": {"name": "shout", "main": "index.js"},
    })
    client, _ = await reloading(None, functions)
    assert (await (await client.get(f"{HOOK}/greet")).text()) == '"HI"'
    (functions / "node_modules/shout/index.js").write_text("module.exports = (s) => s + '!';")
    await answer_becomes(client, f"{HOOK}/greet", is_(200, '"hi!"'), "the package's new code")


async def test_an_added_file_is_served_and_a_removed_one_404s(reloading: Reloading, tmp_path: Path) -> None:
    functions = write_app(tmp_path / "functions", {"hello.py": fn("one")})
    client, _ = await reloading(None, functions)
    assert (await client.get(f"{HOOK}/added")).status == 404
    (functions / "added.py").write_text(fn("new"))
    await answer_becomes(client, f"{HOOK}/added", is_(200, '"new"'), "the added drop-in")
    (functions / "added.py").unlink()
    status, body = await answer_becomes(client, f"{HOOK}/added", lambda s, b: s == 404, "the removed drop-in's 404")
    assert json.loads(body)["error_code"] == "IncomingWebhookNotFound"


async def test_a_value_and_a_secret_take_effect(reloading: Reloading, tmp_path: Path) -> None:
    """Contract §7.3: a value from values/, an endpoint's secret from secrets.json."""
    app = write_app(tmp_path / "app", {
        "functions/greet.py": "def exports(payload, response):\n    return context.values.get('greeting')\n",
        "functions/config.json": [{"name": "greet"}],
        "values/greeting.json": {"name": "greeting", "value": "hello"},
        "secrets.json": {"gate": "one"},
        "https_endpoints/config.json": [{"route": "/greet", "http_method": "GET", "function_name": "greet",
                                         "validation_method": "SECRET_AS_QUERY_PARAM", "secret_name": "gate",
                                         "respond_result": True}],
    })
    client, _ = await reloading(app)
    url = "/app/local/endpoint/greet"
    assert (await client.get(url + "?secret=one")).status == 200
    (app / "values/greeting.json").write_text(json.dumps({"name": "greeting", "value": "bonjour"}))
    await answer_becomes(client, url + "?secret=one", is_(200, '"bonjour"'), "the new value")
    (app / "secrets.json").write_text(json.dumps({"gate": "two"}))
    await answer_becomes(client, url + "?secret=two", is_(200, '"bonjour"'), "the new secret accepted")
    assert (await client.get(url + "?secret=one")).status == 401


async def test_a_broken_edit_keeps_the_last_good_version_and_is_logged_once(
        reloading: Reloading, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "atlas_fn.reload")
    functions = write_app(tmp_path / "functions", {"greet.py": fn("one"), "other.py": fn("a")})
    client, reloader = await reloading(None, functions)
    (functions / "greet.py").write_text("def exports(payload, response)\n    return 'broken'\n")
    await until(lambda: reloader.problems != (), what="the broken edit seen")
    assert [str(p) for p in reloader.problems] == ["functions/greet.py: line 1: SyntaxError: expected ':' at statement: "
                                                   "'def exports(payload, response)'"]
    assert reloader.kept == ("functions/greet.py",)
    assert (await (await client.get(f"{HOOK}/greet")).text()) == '"one"'  # the last good version
    # another edit: served, and the problem still there is not said again
    (functions / "other.py").write_text(fn("b"))
    await answer_becomes(client, f"{HOOK}/other", is_(200, '"b"'), "the other file's edit")
    assert (await (await client.get(f"{HOOK}/greet")).text()) == '"one"'
    said = [r.getMessage() for r in caplog.records if "greet.py" in r.getMessage() and "SyntaxError" in r.getMessage()]
    assert said == ["atlas-fn: reload: functions/greet.py: line 1: SyntaxError: expected ':' at statement: "
                    "'def exports(payload, response)'"]
    (functions / "greet.py").write_text(fn("fixed"))
    await answer_becomes(client, f"{HOOK}/greet", is_(200, '"fixed"'), "the fixed file")
    assert reloader.problems == () and reloader.kept == ()
    assert any(r.getMessage() == "atlas-fn: reload: 1 problem fixed" for r in caplog.records)


async def test_a_config_edit_with_a_new_problem_keeps_the_last_configuration(reloading: Reloading, tmp_path: Path) -> None:
    """A webhook whose config breaks keeps serving as it was (the whole configuration stays at
    its last good version); function files are still read again."""
    app = write_app(tmp_path / "app", {
        "functions/hook.py": fn("hook"), "functions/drop.py": fn("drop"),
        "services/svc/config.json": {"name": "svc", "type": "http"},
        "services/svc/incoming_webhooks/hook/config.json": {"name": "hook", "function_name": "hook",
                                                             "options": {"httpMethod": "GET", "validationMethod": "NO_VALIDATION"},
                                                             "respond_result": True},
    })
    client, reloader = await reloading(app)
    url = "/api/client/v2.0/app/local/service/svc/incoming_webhook/hook"
    assert (await (await client.get(url)).text()) == '"hook"'
    (app / "services/svc/incoming_webhooks/hook/config.json").write_text('{"name": "hook", ')
    await until(lambda: reloader.problems != (), what="the broken config seen")
    assert reloader.kept == ("the configuration",)
    assert [p.file for p in reloader.problems] == ["app/services/svc/incoming_webhooks/hook/config.json"]
    (app / "functions/hook.py").write_text(fn("hook 2"))
    await answer_becomes(client, url, is_(200, '"hook 2"'), "the function edit, under the kept configuration")
    assert (await client.get(f"{HOOK}/drop")).status == 200


async def test_calls_in_flight_finish_on_the_old_generation(reloading: Reloading, tmp_path: Path) -> None:
    """A slow call started before the edit answers with the old code while a call after it
    runs the new code; the old generation's workers are gone once it has answered; the data
    service is the server's, not the generation's: the same in-memory store serves both."""
    old = ("def exports(payload, response):\n"
           "    gates = context.services.get('mongodb-atlas').db('t').collection('gates')\n"
           "    while gates.findOne({'open': True}) is None:\n"
           "        pass\n"
           "    return 'old'\n")
    new = ("def exports(payload, response):\n"
           "    context.services.get('mongodb-atlas').db('t').collection('gates').insertOne({'open': True})\n"
           "    return 'new'\n")
    functions = write_app(tmp_path / "functions", {"gate.py": old})
    client, reloader = await reloading(None, functions, data="memory", timeout=60.0)
    first = client.app[RELOADER].front.generation
    old_pids = first.runner.pids()
    slow = asyncio.ensure_future(client.get(f"{HOOK}/gate"))
    await until(lambda: any(w.calls for w in first.runner.workers), what="the slow call running in a worker")
    (functions / "gate.py").write_text(new)
    await until(lambda: reloader.generation == 2, what="generation 2 serving")
    assert not slow.done()
    fresh = await client.get(f"{HOOK}/gate")
    assert (fresh.status, await fresh.text()) == (200, '"new"')
    answered = await asyncio.wait_for(slow, DEADLINE)
    assert (answered.status, await answered.text()) == (200, '"old"')
    await until(lambda: not any(alive(pid) for pid in old_pids), what=lambda: f"old workers {old_pids} gone")
    assert reloader.front.generation.runner.pids() and set(reloader.front.generation.runner.pids()).isdisjoint(old_pids)


async def test_no_worker_of_an_old_generation_is_left(reloading: Reloading, tmp_path: Path) -> None:
    functions = write_app(tmp_path / "functions", {"n.py": fn(0)})
    client, reloader = await reloading(None, functions, workers=2)
    seen: set[int] = set(reloader.front.generation.runner.pids())
    for n in range(1, 4):
        (functions / "n.py").write_text(fn(n))
        await answer_becomes(client, f"{HOOK}/n", is_(200, f'{{"$numberInt":"{n}"}}'), f"version {n}")
        pool = reloader.front.generation.runner  # serving from its first worker; the second joins
        await until(lambda: len(pool.pids()) == 2, what="the new generation's second worker")
        seen |= set(pool.pids())
    current = set(reloader.front.generation.runner.pids())
    await until(lambda: not reloader.retiring and not any(alive(pid) for pid in seen - current),
                what="every old generation retired, its workers gone")
    assert len(seen - current) == 6


async def test_no_reload_serves_what_it_started_with(reloading: Reloading, tmp_path: Path) -> None:
    """``--no-reload``: a server watching the same folder is the witness that the edit happened."""
    functions = write_app(tmp_path / "functions", {"hello.py": fn("one")})
    fixed, fixed_reloader = await reloading(None, functions, reload=False)
    witness, _ = await reloading(None, functions)
    (functions / "hello.py").write_text(fn("two"))
    await answer_becomes(witness, f"{HOOK}/hello", is_(200, '"two"'), "the witness reloaded")
    assert (await (await fixed.get(f"{HOOK}/hello")).text()) == '"one"'
    assert fixed_reloader.generation == 1 and not fixed_reloader.watching.is_set()


async def test_a_route_whose_function_failed_to_load_answers_the_envelope(reloading: Reloading, tmp_path: Path) -> None:
    """Serving with problems (README): the others answer; the broken one names its problem,
    and starts answering once fixed."""
    functions = write_app(tmp_path / "functions", {"good.py": fn("good"), "bad.py": "import os\n" + fn("bad")})
    client, reloader = await reloading(None, functions)
    problem = ("functions/bad.py: line 1: import statements are not allowed (import os); use the globals context, "
               "utils, EJSON, JSON, BSON and console.")
    assert [str(p) for p in reloader.problems] == [problem]
    assert (await (await client.get(f"{HOOK}/good")).text()) == '"good"'
    resp = await client.get(f"{HOOK}/bad")
    assert resp.status == 500
    envelope = await resp.json()
    assert INSPECTOR_LINK.fullmatch(envelope.pop("link"))
    assert envelope == {"error": f"webhook 'bad' is not served: {problem}", "error_code": "FunctionSyntaxError"}
    (functions / "bad.py").write_text(fn("mended"))
    await answer_becomes(client, f"{HOOK}/bad", is_(200, '"mended"'), "the mended function")


async def test_an_editors_burst_of_events_is_one_reload(reloading: Reloading, tmp_path: Path) -> None:
    """A save as editors do it (a backup, a temporary file renamed over the original, a
    touch): several events, one rebuild. The next edit is the second: nothing came between."""
    functions = write_app(tmp_path / "functions", {"hello.py": fn("one")})
    client, reloader = await reloading(None, functions)
    target = functions / "hello.py"
    (functions / "hello.py~").write_text(target.read_text())
    (functions / ".hello.py.swp").write_text("swap")
    (functions / "hello.py.tmp").write_text(fn("two"))
    (functions / "hello.py.tmp").rename(target)
    target.touch()
    await answer_becomes(client, f"{HOOK}/hello", is_(200, '"two"'), "the saved version")
    target.write_text(fn("three"))
    await answer_becomes(client, f"{HOOK}/hello", is_(200, '"three"'), "the next save")
    assert reloader.reloads == 2


def test_what_the_watcher_ignores(tmp_path: Path) -> None:
    """Hidden entries (the embedded store's .atlas-fn/, editors' swap files) and __pycache__;
    never node_modules/ (JavaScript packages are part of the app)."""
    reloader = Reloader(front=None, settings=Settings(data=str(tmp_path / "data")), source=None, start_runner=None)
    roots = [tmp_path / "app"]
    assert reloader.relevant(tmp_path / "app/functions/hello.py", roots)
    assert reloader.relevant(tmp_path / "app/functions/node_modules/pkg/index.js", roots)
    assert not reloader.relevant(tmp_path / "app/.atlas-fn/data/journal", roots)
    assert not reloader.relevant(tmp_path / "app/functions/.hello.py.swp", roots)
    assert not reloader.relevant(tmp_path / "app/functions/__pycache__/x.pyc", roots)
    assert not reloader.relevant(tmp_path / "data/collection.wt", [tmp_path])  # --data inside a watched folder


async def test_a_new_data_source_is_reachable_without_restarting_the_store(reloading: Reloading, tmp_path: Path) -> None:
    """Spec §8.6.1: the services a call may reach are the app's. A data source added on disk
    is reachable after the reload (the server's ServiceHost is renamed); the store keeps
    running and keeps its data (a restarted in-memory store would have lost it)."""
    count = ("def exports(payload, response):\n"
             "    name = payload.query.get('svc')\n"
             "    notes = context.services.get(name).db('t').collection('notes')\n"
             "    notes.insertOne({'from': name})\n"
             "    return notes.countDocuments({})\n")
    app = write_app(tmp_path / "app", {"functions/count.py": count})
    client, reloader = await reloading(app, data="memory")
    assert (await (await client.get(f"{HOOK}/count?svc=mongodb-atlas")).text()) == '{"$numberInt":"1"}'
    write_app(app, {"data_sources/mydb/config.json": {"name": "mydb", "type": "mongodb-atlas"}})
    await until(lambda: "mydb" in reloader.front.generation.snapshot.boot.services, what="the new service in the boot")
    resp = await client.get(f"{HOOK}/count?svc=mydb")
    assert (resp.status, await resp.text()) == (200, '{"$numberInt":"2"}')  # the same store, its first note kept
