"""One findOne + one insertOne through the service router vs pymongo directly, in the same run.

    python bench/data.py [--rounds 2000] [--warmup 200]

Starts the embedded store (runtime/services/store.py, memory, --sync-on-commit) and measures,
alternating the two subjects round by round so drift hits both alike:

* router: ``ServiceRequest`` with canonical EJSON args → ``runtime.services.router.handle`` →
  ``AsyncMongoClient`` → store, and the result back as canonical EJSON text (what the server does
  for a worker; the frames between worker and server are not included);
* direct: the same two operations on a bare ``AsyncMongoClient`` with the same options.

Prints the median (and p90) microseconds of each operation per subject and the ratio router /
direct. The difference is the router's cost: EJSON parse and write, argument checks, dispatch.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bson import ObjectId  # noqa: E402
from pymongo import AsyncMongoClient  # noqa: E402

from runtime.protocol.messages import ServiceRequest  # noqa: E402
from runtime.services.router import handle, open_services  # noqa: E402
from runtime.values import ejson  # noqa: E402

DOC = {"name": "Ada", "n": 42, "tags": ["a", "b"], "when": datetime.datetime(2026, 12, 6, tzinfo=datetime.timezone.utc)}


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1e6, ordered[int(len(ordered) * 0.9)] * 1e6


async def main(rounds: int, warmup: int) -> None:
    app = await open_services({"mongodb-atlas": "mongodb-atlas"}, memory=True, environ={})
    assert app.store is not None
    direct = AsyncMongoClient(app.store.uri, tz_aware=True, tzinfo=datetime.timezone.utc, retryWrites=False,
                              retryReads=False)
    coll = direct["bench"]["direct"]
    seed = {"_id": ObjectId(), **DOC}
    await coll.insert_one(seed)
    where = {"database": "bench", "collection": "routed"}
    await handle(ServiceRequest(1, 0, "mongodb-atlas", "insertOne", ejson.to_canonical({**where, "document": seed})), app)
    find_args = ejson.to_canonical({**where, "query": {"_id": seed["_id"]}})
    times: dict[str, list[float]] = {k: [] for k in ("router findOne", "router insertOne", "direct findOne",
                                                      "direct insertOne")}
    clock = time.perf_counter
    try:
        for i in range(warmup + rounds):
            keep = i >= warmup
            for subject in (("router", "direct") if i % 2 == 0 else ("direct", "router")):
                if subject == "router":
                    t0 = clock()
                    found = await handle(ServiceRequest(1, i, "mongodb-atlas", "findOne", find_args), app)
                    t1 = clock()
                    inserted = await handle(ServiceRequest(1, i, "mongodb-atlas", "insertOne",
                                                           ejson.to_canonical({**where, "document": dict(DOC)})), app)
                    t2 = clock()
                    assert found.ok and inserted.ok, (found.error, inserted.error)
                else:
                    t0 = clock()
                    doc = await coll.find_one({"_id": seed["_id"]})
                    t1 = clock()
                    await coll.insert_one(dict(DOC))
                    t2 = clock()
                    assert doc is not None
                if keep:
                    times[f"{subject} findOne"].append(t1 - t0)
                    times[f"{subject} insertOne"].append(t2 - t1)
    finally:
        await direct.close()
        await app.close()
    print(f"{rounds} rounds (after {warmup} warm-up), embedded SecantusDB with --sync-on-commit, "
          f"Python {sys.version.split()[0]}")
    print(f"{'operation':<12} {'router p50':>11} {'direct p50':>11} {'ratio':>6} {'router p90':>11} {'direct p90':>11}")
    for op in ("findOne", "insertOne"):
        r50, r90 = summary(times[f"router {op}"])
        d50, d90 = summary(times[f"direct {op}"])
        print(f"{op:<12} {r50:>9.0f}µs {d50:>9.0f}µs {r50 / d50:>6.2f} {r90:>9.0f}µs {d90:>9.0f}µs")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.warmup))
