"""Red-team finding F6: what one call leaves in its worker's caches, the next call could time.

A sender compiling patterns and a receiver timing the same compiles passed 4 bits per call
pair through ``re``'s cache. ``reset_between_calls()`` (the worker loop calls it after every
call) clears every such cache guest code can fill; these tests run two guest calls in one
process with it between them, and check the state the second call starts from, not timings.
"""

from __future__ import annotations

import encodings
import re

import _strptime
import pytest

from runtime.values import bsontypes, ejson, ejson_parse
from runtime.worker.engines.python import reset_between_calls
from runtime.worker.engines.python.guest import AttrDict
from tests.sandbox.guestrun import run

SENDER = '''
def exports(payload, response):
    for bit in range(8):
        BSON.BSONRegExp("sender-bit-" + str(bit)).try_compile()
    BSON.BSONRegExp("(a)").try_compile().sub("<\\\\1>", "a")
    BSON.BSONRegExp("(a)").try_compile().match("a").expand("\\\\1")
    moment = EJSON.parse('{"$date": "2023-05-05T01:02:03.456Z"}')
    moment.strptime("05 2023", "%d %Y")
    for name in ["cp1252", "no-such-codec-7", "utf-16-le"]:
        try:
            "x".encode(name)
        except LookupError:
            pass
    return [BSON.ObjectId().toString() for _ in range(3)]
'''
RECEIVER = "def exports(payload, response):\n    return BSON.ObjectId().toString()\n"


TEMPLATES = getattr(re, "_compile_repl", None) or getattr(re, "_compile_template")  # 3.11; 3.12 renamed it


def caches() -> dict[str, object]:
    return {
        "re": len(re._cache),  # type: ignore[attr-defined]
        "re templates": TEMPLATES.cache_info().currsize,
        "strptime": len(_strptime._regex_cache),  # type: ignore[attr-defined]
        "codec names": len(encodings._cache),  # type: ignore[attr-defined]
    }


def test_a_call_s_caches_are_empty_for_the_next_call() -> None:
    reset_between_calls()
    baseline = caches()
    assert baseline == {"re": 0, "re templates": 0, "strptime": 0, "codec names": 0}
    ids = run(SENDER)[0]
    filled = caches()
    assert all(filled[name] > 0 for name in filled), filled  # the sender did reach every cache
    reset_between_calls()
    assert caches() == baseline
    receiver = run(RECEIVER)[0]
    # the receiver's ObjectId shares neither the sender's random bytes nor its counter's run
    assert receiver[8:18] != ids[0][8:18]


def test_the_sender_s_patterns_are_gone_from_re_s_cache() -> None:
    reset_between_calls()
    run(SENDER)
    assert any("sender-bit-" in str(key) for key in re._cache)  # type: ignore[attr-defined]
    reset_between_calls()
    assert not any("sender-bit-" in str(key) for key in re._cache)  # type: ignore[attr-defined]


def test_objectids_of_consecutive_calls_do_not_count_on_from_each_other() -> None:
    """pymongo's process-wide counter told a call how many ObjectIds the calls before it made."""
    first = run(SENDER)[0]
    reset_between_calls()
    second = run(SENDER)[0]
    assert first[0][8:18] != second[0][8:18]
    assert [int(i[18:], 16) for i in first] == [(int(first[0][18:], 16) + n) % (1 << 24) for n in range(3)]


def test_what_a_first_call_would_fill_is_filled_at_import() -> None:
    """Lazily built state is a trace too (the first call pays for it): it is built at import."""
    assert AttrDict in ejson_parse._DECODERS  # type: ignore[attr-defined]
    assert "_strptime" in __import__("sys").modules


def test_reset_is_importable_from_the_engine_package() -> None:
    import runtime.worker.engines.python as engine
    assert engine.reset_between_calls is reset_between_calls and "reset_between_calls" in engine.__all__


@pytest.fixture(autouse=True)
def _clean() -> None:
    reset_between_calls()



CODEC_CACHE = r'''
import codecs, encodings, json, sys
sys.path.insert(0, sys.argv[1])
from runtime.worker.engines.python import reset_between_calls
from tests.sandbox.guestrun import run

asked = []
def recording(name):
    asked.append(name)
    return encodings.search_function(name)

codecs.unregister(encodings.search_function)  # so that every miss of the cache is seen here
codecs.register(recording)
GUEST = """
def exports(payload, response):
    return ["x".encode(name).decode(name) for name in ["windows+1252", "windows++1252", "windows+1252", "Shift-JIS"]]
"""
first = run(GUEST)[0]
after_first = list(asked)
reset_between_calls()
second = run(GUEST)[0]
print(json.dumps({"first": first, "second": second, "after_first": after_first, "after_second": asked[len(after_first):]}))
'''


def test_the_codec_cache_is_cleared_between_calls() -> None:
    """Every codec a call looks up stays in the interpreter's codec cache, a trace a later call can
    time (one bit per codec, about 440). In a subprocess: the test swaps the process's codec
    search function to see each miss of the cache."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent.parent
    done = subprocess.run([sys.executable, "-c", CODEC_CACHE, str(root)], capture_output=True, text=True, check=True, cwd=root)
    report = json.loads(done.stdout)
    assert report["first"] == report["second"] == ["x", "x", "x", "x"]
    # CPython normalises the name (windows++1252 is windows_1252); within a call the cache answers
    # the repeated codec, and the next call finds the cache empty again
    assert report["after_first"] == report["after_second"] == ["windows_1252", "shift_jis"]


async def test_calls_in_one_real_worker_make_unrelated_objectids(serve, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Through the real pool: three calls in one worker. Without the reset, their ObjectIds share
    the worker's random bytes and count on from each other, telling a call which worker it is in
    and how many ObjectIds the calls before it made."""
    from runtime.http.server import RUNNER
    from tests.conftest import write_app

    functions = write_app(tmp_path / "f", {"oid.py": "def exports(payload, response):\n    return BSON.ObjectId()\n"})
    client = await serve(None, functions, workers=1)
    pid = client.app[RUNNER].pids()
    ids = []
    for _ in range(3):
        answer = await client.get("/api/client/v2.0/app/local/service/http/incoming_webhook/oid")
        ids.append(ejson.parse(await answer.read()).toString())
    assert client.app[RUNNER].pids() == pid  # one worker throughout
    assert len({oid[8:18] for oid in ids}) == 3, ids
