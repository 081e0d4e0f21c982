"""Hostile function files against the service facades (tests/services/hostile/, one attack per
file, the first line stating the outcome as in tests/fixtures/hostile/): run in the sandbox with
``context.services``/``context.http`` from ``build_services`` and a Host that forwards to the
real router (embedded store; no ATLAS_FN_HTTP_ALLOW). The meta-test reads every public name off
the real facade classes and fails when one is added that no hostile file touches."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from runtime.services.router import AppServices
from runtime.values import ejson
from runtime.worker.engines.python import services as facades
from tests.sandbox.test_hostile_files import _code_of, expectation
from tests.services.conftest import LoopThread, RouterHost
from tests.services.test_python_facade import run_guest

HOSTILE = Path(__file__).parent / "hostile"
FILES = sorted(HOSTILE.glob("*.py"))

@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem) for p in FILES])
def test_each_attack_gets_its_stated_outcome(loop_thread: LoopThread, embedded: AppServices, path: Path) -> None:
    expect = expectation(path)
    assert expect.outcome in ("ok", "runtime-error"), f"{path.name}: only ok and runtime-error run here"
    host = RouterHost(loop_thread, embedded)
    if expect.outcome == "runtime-error":
        with pytest.raises(Exception) as raised:
            run_guest(path.read_text(encoding="utf-8"), host)
        assert type(raised.value).__name__ == expect.name and expect.text in str(raised.value)
        return
    result = run_guest(path.read_text(encoding="utf-8"), host)
    assert json.loads(ejson.to_json(result)) == expect.value

def facade_names() -> dict[str, list[str]]:
    """Every facade class → its public members (what guest code can name)."""
    out = {}
    for cls in (facades.Services, facades.MongoClient, facades.Admin, facades.Database, facades.Collection,
                facades.Cursor, facades.Http):
        out[cls.__name__] = sorted(n for n in vars(cls) if not n.startswith("_"))
    out["OtherService"] = ["<any action>"]
    return out

def test_every_facade_member_is_attacked() -> None:
    code = "\n".join(_code_of(p) for p in FILES)
    missing = [f"{cls}.{member}" for cls, members in facade_names().items() for member in members
               if member != "<any action>" and not re.search(rf"\.{member}\b|[\"']{member}[\"']", code)]
    assert 'get("gh")' in code, "the third-party facade is not attacked"
    assert not missing, f"no hostile file touches: {missing}"
    assert facade_names()["Collection"] == sorted([
        "aggregate", "bulkWrite", "count", "countDocuments", "deleteMany", "deleteOne", "distinct", "find", "findOne",
        "findOneAndDelete", "findOneAndReplace", "findOneAndUpdate", "insertMany", "insertOne", "replaceOne",
        "updateMany", "updateOne"])

def test_each_file_states_its_attack() -> None:
    assert len(FILES) >= 4
    for path in FILES:
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines[1].startswith("# attack: "), path.name
        assert any(line.startswith("# must: ") for line in lines), path.name

def _unused(value: Any) -> None: ...
