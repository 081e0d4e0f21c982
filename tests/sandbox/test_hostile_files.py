"""Every hostile function file under tests/fixtures/hostile/ gets exactly the outcome it states.

Issue 4 §2. Each fixture is one attack; its first line says what must happen to it:

    # expect: compile-error "<fragment of one problem>"
    # expect: runtime-error <ExceptionName> "<fragment of the message>"
    # expect: ok <JSON of the return value>
    # expect: killed <error_code> "<fragment of the error text>"
    # expect: isolated <JSON of the return value, on every call>

An optional ``# xfail: <reason>`` line marks an outcome that is wrong today because of a
module this suite may not change; the guarantees of the outcome are still asserted, and
the test fails once the wrong part is fixed, so the line gets removed.

compile-error, runtime-error and ok files run in this process through the real compiler,
policy, guest API and ``runtime.worker.invoke.Invoker`` (the worker's own code, without the
process): fast, and exact about messages. killed and isolated files run through the real
worker pool behind the real aiohttp app (the ``serve`` fixture): a killed call must get
its App Services error envelope while a concurrent well-behaved call succeeds and the
pool refills; an isolated file is called twice by one worker and must return the same
value each time.
"""

from __future__ import annotations

import asyncio
import json
import marshal
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runtime.protocol import messages
from runtime.values import bsontypes, ejson
from runtime.values.bsontypes import BSON, Binary
from runtime.worker.invoke import Invoker
from runtime.contract.response import Response
from runtime.worker.engines.python import _SHARED
from runtime.worker.engines.python.compiler import CompileFailed, compile_function
from runtime.worker.console import Console
from runtime.worker.engines.python.guest import Context, Values, to_attrdicts
from runtime.worker.engines.python.policy import fresh_globals
from runtime.http.server import RUNNER
from tests.conftest import ROOT, NoServices, Serve, write_app
from tests.waiting import until

HOSTILE = ROOT / "tests" / "fixtures" / "hostile"
THREAT_MODEL = ROOT / "THREAT_MODEL.md"
OUTCOMES = ("compile-error", "runtime-error", "ok", "killed", "isolated")
_EXPECT = re.compile(r"# expect: (?P<outcome>[a-z-]+)(?: (?P<rest>.*))?\Z")
_NAMED = re.compile(r"(?P<name>[A-Za-z]+) (?P<text>\".*\")\Z")

# In-process calls: an endpoint answering JSON, so the return value reads back as plain JSON.
VALUES = {"greeting": "Hello", "list": [1, 2, 3]}
BODY = b'{"k":1}'
OUR_VALUE_MODULES = ("runtime.values.bsontypes", "runtime.values.bson_rare", "runtime.values.bson_namespace")  # the guest's BSON value classes
CALL = messages.Call(
    call_id=1, function="hostile", kind="endpoint", service_type="http", method="POST", url="http://127.0.0.1:8080/hostile",
    raw_query="a=1", headers=((b"X-A", b"b"), (b"Content-Type", b"application/json")), remote="127.0.0.1",
    respond_result=True, route="/hostile", format="JSON", body=BODY,
)

# Pool calls: short limits, two workers (one for the attack, one for the bystander).
TIMEOUT = 1.0
ISOLATED_TIMEOUT = 2.0
MEMORY_MB = 256
GOOD = "def exports(payload, response):\n    return {'ok': True}\n"


@dataclass(frozen=True)
class Expectation:
    outcome: str
    name: str = ""  # exception name (runtime-error) or App Services error_code (killed)
    text: str = ""  # message fragment (compile-error, runtime-error, killed)
    value: Any = None  # return value (ok, isolated)
    xfail: str = ""


def expectation(path: Path) -> Expectation:
    lines = path.read_text(encoding="utf-8").splitlines()
    match = _EXPECT.match(lines[0]) if lines else None
    if not match or match["outcome"] not in OUTCOMES:
        raise AssertionError(f"{path.name}: the first line must be '# expect: <{'|'.join(OUTCOMES)}> ...', not {lines[:1]}")
    outcome, rest = match["outcome"], match["rest"] or ""
    xfail = next((line[len("# xfail: "):] for line in lines[1:] if line.startswith("# xfail: ")), "")
    if outcome in ("ok", "isolated"):
        return Expectation(outcome, value=json.loads(rest), xfail=xfail)
    if outcome == "compile-error":
        return Expectation(outcome, text=json.loads(rest), xfail=xfail)
    named = _NAMED.match(rest)
    if not named:
        raise AssertionError(f"{path.name}: '{outcome}' needs a name and a quoted fragment, got {rest!r}")
    return Expectation(outcome, name=named["name"], text=json.loads(named["text"]), xfail=xfail)


def fixtures(*outcomes: str) -> list[Any]:
    chosen = [p for p in sorted(HOSTILE.glob("*.py")) if expectation(p).outcome in outcomes]
    return [pytest.param(p, id=p.stem) for p in chosen]


def settle(expect: Expectation, fragment_ok: bool, detail: str) -> None:
    """The last assertion of a test: the stated fragment, or the documented xfail."""
    if expect.xfail:
        if fragment_ok:
            pytest.fail(f"fixed: remove the '# xfail' line of this fixture ({expect.xfail})")
        pytest.xfail(f"{expect.xfail} [now: {detail}]")
    assert fragment_ok, detail


# --- in process ------------------------------------------------------------------------------

def invoke(path: Path) -> tuple[dict[str, Any], bytes]:
    """One call in this process; the reply as a dict of its fields (``error`` as code and message)."""
    code = compile_function(path.read_text(encoding="utf-8"), path.name)
    invoker = Invoker(messages.Boot(
        (messages.FunctionArtifact("hostile", "python", path.name, marshal.dumps(code)),),
        {"id": "hostile-app", "clientAppId": "hostile-app", "name": "hostile"},
        VALUES, {"tag": "test", "values": {"region": "local"}}, messages.Limits(memory_mb=MEMORY_MB),
    ))
    reply = invoker.call(CALL, NoServices())
    meta: dict[str, Any] = {"status": reply.status, "headers": list(reply.headers), "logs": list(reply.logs)}
    if reply.error is not None:
        meta["error"] = {"code": reply.error[0], "message": reply.error[1]}
    if reply.recycle:
        meta["recycle"] = True
    return meta, reply.body


@pytest.mark.parametrize("path", fixtures("compile-error"))
def test_refused_at_compile_time(path: Path) -> None:
    expect = expectation(path)
    with pytest.raises(CompileFailed) as failed:
        compile_function(path.read_text(encoding="utf-8"), path.name)
    messages = [p.message for p in failed.value.problems]
    settle(expect, any(expect.text in m for m in messages), f"{expect.text!r} not in {messages}")


@pytest.mark.parametrize("path", fixtures("runtime-error"))
def test_raises_at_run_time(path: Path) -> None:
    expect = expectation(path)
    meta, body = invoke(path)
    assert "error" in meta, f"no error: {meta} {body[:200]!r}"
    assert meta["error"]["code"] == "FunctionExecutionError"
    message = meta["error"]["message"]
    assert message == expect.name or message.startswith(f"{expect.name}: "), message
    # What is not an Exception (GeneratorExit, BaseException…) or is a MemoryError ends the worker.
    assert meta.get("recycle", False) == (expect.name in ("GeneratorExit", "BaseException", "MemoryError")), meta
    settle(expect, expect.text in message, f"{expect.text!r} not in {message!r}")


@pytest.mark.parametrize("path", fixtures("ok"))
def test_harmless(path: Path) -> None:
    expect = expectation(path)
    meta, body = invoke(path)
    if "error" in meta:
        settle(expect, False, f"failed: {meta['error']}")
    settle(expect, (json.loads(body) if body else None) == expect.value, f"{body[:300]!r} != {expect.value!r}")


# --- through the real worker pool ------------------------------------------------------------

def url(name: str) -> str:
    return f"/api/client/v2.0/app/hostile-app/service/http/incoming_webhook/{name}"


def pool_app(tmp_path: Path, hostile: Path) -> Path:
    app = write_app(tmp_path / "app", {
        "realm_config.json": {"app_id": "hostile-app", "name": "hostile"},
        "values/list.json": {"name": "list", "value": VALUES["list"], "from_secret": False},
        "functions/good.py": GOOD,
    })
    shutil.copyfile(hostile, app / "functions" / "hostile.py")
    return app


async def envelope(resp: Any) -> tuple[int, str, str]:
    data = await resp.read()
    body = json.loads(data) if resp.content_type == "application/json" else None
    if type(body) is not dict:  # not an error envelope at all
        return resp.status, "", data[:200].decode("utf-8", "replace")
    return resp.status, body.get("error_code", ""), body.get("error", "")


async def refilled(client: Any, before: list[int], replaced: bool) -> None:
    """Every worker idle again, and the attacked one replaced when its call had to end it."""
    pool = client.app[RUNNER]
    await until(lambda: len(pool.idle) == pool.size and (pool.pids() != before or not replaced),
                what=lambda: f"the pool did not refill: {pool.pids()} idle={len(pool.idle)} (before {before})")


@pytest.mark.parametrize("path", fixtures("killed"))
async def test_stopped_at_its_limit(serve: Serve, tmp_path: Path, path: Path) -> None:
    expect = expectation(path)
    client = await serve(pool_app(tmp_path, path), None, workers=2, timeout=TIMEOUT, memory_mb=MEMORY_MB)
    before = client.app[RUNNER].pids()
    pool = client.app[RUNNER]
    attack = asyncio.ensure_future(client.post(url("hostile"), data=b"{}"))
    # the attack has reached a worker: it is running there, or has already ended there (a
    # worker's end of a call is recorded in last_run; nothing else has run yet)
    await until(lambda: any(w.calls for w in pool.workers) or pool.last_run or attack.done(), what="the attack in a worker")
    bystander = await client.get(url("good"))
    assert bystander.status == 200 and await bystander.json() == {"ok": True}
    status, code, text = await envelope(await attack)
    stopped = (status, code) == (400, expect.name) and expect.text in text
    if expect.xfail and not stopped:
        settle(expect, False, f"{(status, code, text)} is not (400, {expect.name!r}, …{expect.text!r}…)")
    assert (status, code) == (400, expect.name), (status, code, text)
    assert expect.text in text, f"{expect.text!r} not in {text!r}"
    # a call stopped at its time or memory limit takes its worker with it
    await refilled(client, before, replaced=code == "ExecutionTimeLimitExceeded" or "memory limit" in text)
    after = await asyncio.gather(*(client.get(url("good")) for _ in range(2)))
    assert [r.status for r in after] == [200, 200]
    settle(expect, True, "")


@pytest.mark.parametrize("path", fixtures("isolated"))
async def test_calls_share_nothing(serve: Serve, tmp_path: Path, path: Path) -> None:
    expect = expectation(path)
    client = await serve(pool_app(tmp_path, path), None, workers=1, timeout=ISOLATED_TIMEOUT)
    pid = client.app[RUNNER].pids()
    answers = []
    for _ in range(3):
        resp = await client.post(url("hostile"), data=b"{}")
        body = await resp.read()
        answers.append(ejson.parse(body) if resp.status == 200 else (resp.status, body[:200]))
    same_worker = client.app[RUNNER].pids() == pid
    settle(expect, same_worker and answers == [expect.value] * 3, f"answers {answers} (one worker throughout: {same_worker})")


# --- the suite itself --------------------------------------------------------------------------

def test_the_suite_is_at_least_sixty_files_each_stating_its_attack() -> None:
    files = sorted(HOSTILE.glob("*.py"))
    assert len(files) >= 60, len(files)
    for path in files:
        expectation(path)
        lines = path.read_text(encoding="utf-8").splitlines()
        comment = [line for line in lines[1:] if line.startswith("#")]
        assert comment and lines[1].startswith("# "), f"{path.name}: say what the attack is under the expect line"


def _code_of(path: Path) -> str:
    return "\n".join(line for line in path.read_text(encoding="utf-8").splitlines() if not line.lstrip().startswith("#"))


def exposed_names() -> dict[str, list[str]]:
    """Every name guest code is handed, read off the real objects: global → its public members."""
    console = Console()
    context = Context(request={"httpMethod": "GET"}, values=Values({}), app={"id": "x"}, environment={"tag": "", "values": {}})
    g = fresh_globals(lambda *a: None, {**_SHARED, "console": console, "context": context})
    names: dict[str, list[str]] = {n: [] for n in g["__builtins__"] if not n.startswith("_")}

    def public(obj: Any, base: type = object) -> list[str]:
        return sorted(n for n in dir(obj) if not n.startswith("_") and n not in dir(base))

    names["payload"] = public(dict)  # an AttrDict: the dict methods are how it is changed
    names["payload.body"] = public(Binary, bytes)
    names["response"] = public(Response)
    names["context"] = public(context) + ["functions", "services", "http"]
    names["context.values"] = public(context.values)
    names["console"] = public(console)
    for glob in ("utils", "EJSON", "JSON"):
        names[glob] = sorted(object.__getattribute__(g[glob], "_members"))
    names["utils.crypto"] = sorted(object.__getattribute__(g["utils"].crypto, "_members"))
    names["utils.jwt"] = sorted(object.__getattribute__(g["utils"].jwt, "_members"))
    names["BSON"] = public(BSON)
    for constructor in public(BSON):
        names[f"BSON.{constructor}"] = public(getattr(BSON, constructor))
    # the values the constructors make: "BSON.X()" lists the members of an X value
    names["BSON.ObjectId()"] = public(bsontypes.ObjectId)
    names["BSON.Binary()"] = public(Binary, bytes)
    names["BSON.Long()"] = public(bsontypes.Long, int)
    names["BSON.Decimal128()"] = public(bsontypes.Decimal128)
    names["BSON.BSONRegExp()"] = public(bsontypes.BSONRegExp)
    names["BSON.Timestamp()"] = public(bsontypes.Timestamp)
    names["BSON.MinKey()"] = public(bsontypes.MinKey)
    names["BSON.MaxKey()"] = public(bsontypes.MaxKey)
    return names


def test_the_bson_values_are_facades_with_the_contract_s_members_only() -> None:
    """Red-team finding F9: no pymongo class or method reaches guest code through a BSON value."""
    names = exposed_names()
    assert {key: names[key] for key in names if key.endswith("()")} == {
        "BSON.ObjectId()": ["equals", "getTimestamp", "toHexString", "toString"],
        "BSON.Binary()": ["subtype", "text", "toBase64", "toHex"],
        "BSON.Long()": ["toNumber", "toString"],
        "BSON.Decimal128()": ["toString"],
        "BSON.BSONRegExp()": ["options", "pattern", "try_compile"],
        "BSON.Timestamp()": ["i", "t"],
        "BSON.MinKey()": [],
        "BSON.MaxKey()": [],
    }
    made = [BSON.ObjectId(), BSON.Binary(b""), BSON.Long(1), BSON.Decimal128("1"), BSON.BSONRegExp("a"),
            BSON.Timestamp(1, 1), BSON.MinKey(), BSON.MaxKey()]
    assert all(type(value).__module__ in OUR_VALUE_MODULES for value in made)
    assert not any(type(value).__module__.startswith("bson") for value in ejson.parse(
        '[{"$oid":"5d505646cf6d4fe581014ab2"},{"$numberLong":"1"},{"$numberDecimal":"1"},{"$binary":{"base64":"","subType":"09"}},'
        '{"$regularExpression":{"pattern":"a","options":"i"}},{"$timestamp":{"t":1,"i":1}},{"$minKey":1},{"$maxKey":1},'
        '{"$uuid":"00112233-4455-6677-8899-aabbccddeeff"}]'))
    assert [name for name in public_of(BSON) if hasattr(getattr(BSON, name), "instance_type")] == []


def public_of(obj: Any) -> list[str]:
    return sorted(n for n in dir(obj) if not n.startswith("_"))


def test_every_exposed_global_and_member_is_attacked() -> None:
    code = "\n".join(_code_of(p) for p in HOSTILE.glob("*.py"))
    missing = []
    for glob, members in exposed_names().items():
        *parents, last = glob.split(".")
        if last.endswith("()"):  # a value's members: the constructor itself is checked under its own name
            pass
        elif not re.search(rf"\.{last}\b" if parents else rf"(?<![\w.]){last}\b", code):
            missing.append(glob)
        missing += [f"{glob}.{m}" for m in members if not re.search(rf"\.{m}\b|[\"']{m}[\"']", code)]
    assert not missing, f"no hostile file touches: {missing}"


def test_the_threat_model_names_only_fixtures_that_exist() -> None:
    text = THREAT_MODEL.read_text(encoding="utf-8")
    named = set(re.findall(r"`([a-z0-9_]+)\.py`", text))
    existing = {p.stem for p in HOSTILE.glob("*.py")}
    assert named - existing == set(), f"THREAT_MODEL.md names fixtures that do not exist: {sorted(named - existing)}"
    assert existing - named == set(), f"THREAT_MODEL.md does not cite: {sorted(existing - named)}"


def test_a_crawl_from_the_bson_values_reaches_no_third_party_object() -> None:
    """Red-team finding F9, as a crawl: from every BSON value guest code can make or parse, every
    public attribute (through the guest's getattr) and every method callable without arguments,
    three levels deep, yields nothing of pymongo's, numpy's or any other package outside the
    standard library and runtime.values (bytes methods that need an argument are not called)."""
    import inspect

    from runtime.worker.engines.python.policy import guarded_getattr

    starts = [BSON.ObjectId(), BSON.Binary(b"\x03\x00", 9), BSON.Long(5), BSON.Decimal128("1.5"),
              BSON.BSONRegExp("(a)", "i"), BSON.Timestamp(1, 2), BSON.MinKey(), BSON.MaxKey(), *BSON.__dict__.values(),
              *ejson.parse('[{"$oid":"5d505646cf6d4fe581014ab2"},{"$numberLong":"1"},{"$numberDecimal":"1"},'
                           '{"$binary":{"base64":"AwA=","subType":"09"}},{"$uuid":"00112233-4455-6677-8899-aabbccddeeff"},'
                           '{"$regularExpression":{"pattern":"a","options":"i"}},{"$timestamp":{"t":1,"i":1}},'
                           '{"$minKey":1},{"$maxKey":1},{"$date":"2023-05-05T01:02:03.456Z"}]')]
    seen: set[int] = set()
    foreign: list[str] = []

    def allowed(value: Any) -> bool:
        module = type(value).__module__ or ""
        return module in ("builtins", "datetime", "re", *OUR_VALUE_MODULES) or module.startswith("_")

    def walk(value: Any, path: str, depth: int) -> None:
        if id(value) in seen or depth > 3:
            return
        seen.add(id(value))
        if not allowed(value):
            foreign.append(f"{path}: {type(value).__module__}.{type(value).__qualname__}")
            return
        for name in dir(value):
            if name.startswith("_"):
                continue
            try:
                member = guarded_getattr(value, name)
            except Exception:  # noqa: BLE001 - refused by the guard: not reachable
                continue
            walk(member, f"{path}.{name}", depth + 1)
            if callable(member) and not isinstance(value, type):
                try:
                    required = [p for p in inspect.signature(member).parameters.values()
                                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
                except (TypeError, ValueError):
                    continue
                if not required and name not in ("clear", "pop", "popitem"):
                    try:
                        walk(member(), f"{path}.{name}()", depth + 1)
                    except Exception:  # noqa: BLE001 - a method that refuses to run reaches nothing
                        pass

    for index, start in enumerate(starts):
        walk(start, f"start[{index}]", 0)
    assert foreign == []
