"""Every hostile JavaScript file under tests/fixtures/hostile_js/ gets exactly the outcome it states.

Each file is one attack; its first line says what must happen to it:

    // expect: ok <JSON of the return value>
    // expect: runtime-error <ErrorName> "<fragment of the message>"
    // expect: isolated <JSON of the return value, on every call>
    // expect: killed <error_code> "<fragment of the error text>"
    // expect: killed-ok <JSON of the return value>
    // expect: compile-error "<fragment of the problem>"

ok, runtime-error and isolated files run at engine level (the real compiler, engine, prelude
and guest API in this process, short limits); an isolated file is run twice by one engine and
must return the same value each time. killed and killed-ok files run in a worker-like child
process (``tests/javascript/child.py``: the real ``Invoker`` under RLIMIT_AS and RLIMIT_CPU,
killed by the parent at a wall-time limit), because they concern memory and time.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.worker.engines.javascript import CompileFailed, JavaScriptError, compile as compile_js
from tests.javascript.harness import StandInHost, engine_with, run

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ROOT / "tests" / "fixtures" / "hostile_js"
CHILD = ROOT / "tests" / "javascript" / "child.py"
FILES = sorted(HOSTILE.glob("*.js"))
_EXPECT = re.compile(r"// expect: (?P<outcome>[a-z-]+) (?P<rest>.*)\Z")
_NAMED = re.compile(r"(?P<name>[A-Za-z]+) \"(?P<text>.*)\"\Z")
KEY = "functions/hostile.js"
LIMITS = {"time_limit": 2.0, "memory_limit": 32 * 1024 * 1024}
# the app's services as the attacks see them; the stand-in server answers these two operations
SERVICES = {"mongodb-atlas": "mongodb-atlas", "gh": "github", "web": "http"}
ANSWERS = {"mongodb-atlas/find": lambda args: '[{"a":{"$numberInt":"1"}},{"a":{"$numberInt":"2"}}]',
           "mongodb-atlas/findOne": lambda args: '{"a":{"$numberInt":"1"}}'}
CHILD_CPU_SECONDS, CHILD_MEMORY_MB, CHILD_WALL_SECONDS = 1.0, 256, 20  # the engine stops at 0.9 s


def expectation(path: Path) -> tuple[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    match = _EXPECT.match(lines[0])
    assert match, f"{path.name}: the first line must be '// expect: <outcome> …'"
    assert lines[1].startswith("// attack: ") and lines[2].startswith("// must: "), f"{path.name}: say the attack and what must happen"
    return match["outcome"], match["rest"]


def test_the_suite_has_at_least_forty_attacks_each_with_a_known_outcome() -> None:
    assert len(FILES) >= 40
    for path in FILES:
        assert expectation(path)[0] in {"ok", "runtime-error", "isolated", "killed", "killed-ok", "compile-error"}, path.name


def in_child(path: Path) -> dict:
    done = subprocess.run([sys.executable, "-I", str(CHILD), str(path), str(CHILD_CPU_SECONDS), str(CHILD_MEMORY_MB)],
                          capture_output=True, text=True, timeout=CHILD_WALL_SECONDS, cwd=ROOT, env={})
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_hostile_file(path: Path) -> None:
    outcome, rest = expectation(path)
    source = path.read_text(encoding="utf-8")
    if path.name == "proto_key_from_request.js":  # this attack comes in with the request
        argument = {"query": {"__proto__": "x"}, "headers": {"__proto__": ["from the client"]}, "body": None}
        assert run(source, argument, filename=KEY, **LIMITS).json() == json.loads(rest)
        return
    if outcome == "compile-error":
        with pytest.raises(CompileFailed) as failed:
            compile_js(source, KEY)
        assert json.loads(rest) in str(failed.value)
    elif outcome == "ok":
        assert run(source, filename=KEY, host=StandInHost(ANSWERS), services=SERVICES, **LIMITS).json() == json.loads(rest)
    elif outcome == "isolated":
        engine = engine_with({KEY: source}, **LIMITS)
        values = [run(source, filename=KEY, engine=engine, host=StandInHost(ANSWERS), services=SERVICES).json() for _ in range(2)]
        assert values == [json.loads(rest)] * 2
    elif outcome == "runtime-error":
        named = _NAMED.match(rest)
        assert named, f"{path.name}: runtime-error <Name> \"<text>\""
        with pytest.raises(Exception) as info:
            run(source, filename=KEY, host=StandInHost(ANSWERS), services=SERVICES, **LIMITS)
        assert type(info.value).__name__ == named["name"], info.value
        assert named["text"] in str(info.value)
        assert isinstance(info.value, JavaScriptError)
    elif outcome == "killed":
        named = _NAMED.match(rest)
        assert named, f"{path.name}: killed <code> \"<text>\""
        reply = in_child(path)
        assert reply["error"] is not None, reply
        code, message = reply["error"]
        assert code == named["name"] and named["text"] in message, reply
    elif outcome == "killed-ok":
        reply = in_child(path)
        assert reply["error"] is None and json.loads(reply["body"]) == json.loads(rest), reply
        assert reply["logs"] == ["WARN atlas-fn: un-awaited work was stopped: execution time limit exceeded"]
