"""Micro-benchmark: the cost of ``reset_between_calls()`` (runtime.worker.engines.python.residue).

Prints the median and 99th percentile in µs of the reset alone, after a call that filled
nothing and after one that filled every cache it clears, beside a whole in-process guest call
for scale. Run from the repository root: ``python bench/reset.py [runs]``.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runtime.worker.engines.python import reset_between_calls  # noqa: E402
from tests.sandbox.guestrun import run  # noqa: E402

TRIVIAL = "def exports(payload, response):\n    return {'ok': True}\n"
FILLER = '''
def exports(payload, response):
    for n in range(20):
        BSON.BSONRegExp("p" + str(n)).try_compile().sub("<\\\\g<0>>", "p1")
    EJSON.parse('{"$date": "2023-05-05T01:02:03.456Z"}').strptime("05 2023", "%d %Y")
    for name in ["cp1252", "nope-" + str(BSON.ObjectId())]:
        try:
            "x".encode(name)
        except LookupError:
            pass
    return BSON.ObjectId().toString()
'''


def timed(before: Callable[[], object], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        before()
        started = time.perf_counter()
        reset_between_calls()
        samples.append((time.perf_counter() - started) * 1e6)
    return sorted(samples)


def report(label: str, samples: list[float]) -> None:
    print(f"{label:46s} median {statistics.median(samples):8.1f} µs   p99 {samples[int(len(samples) * 0.99)]:8.1f} µs")


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    report("reset after a trivial call", timed(lambda: run(TRIVIAL), runs))
    report("reset after a call filling every cache", timed(lambda: run(FILLER), runs))
    calls = []
    for _ in range(runs):
        started = time.perf_counter()
        run(TRIVIAL)
        calls.append((time.perf_counter() - started) * 1e6)
    report("for scale: guestrun.run of a trivial function", sorted(calls))


if __name__ == "__main__":
    main()
