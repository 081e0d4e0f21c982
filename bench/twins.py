"""The opt-in subjects of bench/run.py: JavaScript twins and the data subjects, and their ratios.

Owns: the function files and configs of ``open-js``, ``signed-js``, ``endpoint-js`` (each does
exactly what its Python twin does, as App Services JS), of ``data`` / ``data-js`` (one
``findOne`` and one ``insertOne`` on ``mongodb-atlas`` ``bench.c`` per request) and the
``mongodb-atlas`` data source they need; their URL paths; the comparison of a twin's answer
with its Python twin's; the rotation that keeps each group of twins side by side; and the
ratio tables (JS / Python, through atlas-fn / direct). ``data-direct`` itself is
bench/ceiling_data.py. Must not start processes or run wrk (bench/run.py does both).
"""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path
from typing import Any, Callable, Sequence

JS_TWINS = {"open-js": "open", "signed-js": "signed", "endpoint-js": "endpoint"}
DATA_SUBJECTS = ("data", "data-js", "data-direct")
EXTRA_SUBJECTS = (*JS_TWINS, *DATA_SUBJECTS)
# Side by side in the rotation; the order inside a group flips every repetition.
GROUPS = (("open", "open-js"), ("signed", "signed-js"), ("endpoint", "endpoint-js"), DATA_SUBJECTS)
# (numerator, denominator) of each ratio table row.
RATIOS = (("open-js", "open"), ("signed-js", "signed"), ("endpoint-js", "endpoint"),
          ("data", "data-direct"), ("data-js", "data-direct"), ("data-js", "data"))
SEED = {"_id": "seed", "v": 42}
DATA_ANSWER = b'{"seen":{"$numberInt":"42"},"inserted":true}'
STORE_LINE = re.compile(r"atlas-fn: data: embedded store at (mongodb://\S+?)/?\s")

JS_FILES = {
    "open_js.js": """\
// bench subject `open-js`: the twin of open.py. NO_VALIDATION, respond_result -> canonical EJSON.
exports = function (payload, response) {
  return {ok: true, subject: "open", n: 42};
};
""",
    "signed_js.js": """\
// bench subject `signed-js`: the twin of signed.py. VERIFY_PAYLOAD; parse the body, answer through the setters.
exports = function (payload, response) {
  const event = EJSON.parse(payload.body.text());
  response.setStatusCode(202);
  response.setHeader("Content-Type", "application/json");
  response.setBody(JSON.stringify({received: event.id, items: event.items.length}));
};
""",
    "endpoint_js.js": """\
// bench subject `endpoint-js`: the twin of endpoint.py. HTTPS endpoint GET /bench-js, return_type JSON.
exports = function (request, response) {
  const oid = new BSON.ObjectId();
  return {id: oid, createdAt: oid.getTimestamp(), status: "ok"};
};
""",
}
DATA_FILES = {
    "data.py": """\
# bench subject `data`: one findOne and one insertOne on the embedded store per request.
def exports(payload, response):
    c = context.services.get("mongodb-atlas").db("bench").collection("c")
    found = c.findOne({"_id": "seed"})
    inserted = c.insertOne({"subject": "data", "n": 42})
    return {"seen": found["v"], "inserted": inserted.insertedId is not None}
""",
    "data_js.js": """\
// bench subject `data-js`: the twin of data.py, awaiting each operation.
exports = async function (payload, response) {
  const c = context.services.get("mongodb-atlas").db("bench").collection("c");
  const found = await c.findOne({_id: "seed"});
  const inserted = await c.insertOne({subject: "data", n: 42});
  return {seen: found.v, inserted: inserted.insertedId !== undefined && inserted.insertedId !== null};
};
""",
}


def webhook_name(subject: str) -> str:
    return subject.replace("-", "_")


def write_extra_app(app: Path, functions: Path, subjects: Sequence[str], write_json: Callable[[Path, Any], None]) -> bool:
    """Add the chosen extra subjects' functions and configs to the bench app (all JS twins when
    any is chosen; the data pair and the ``mongodb-atlas`` data source when any data subject is).
    True when the app now has data: the server must then be started with ``--data memory``."""
    js = any(s in JS_TWINS for s in subjects)
    data = any(s in DATA_SUBJECTS for s in subjects)
    hooks = app / "services/bench/incoming_webhooks"
    if js:
        for name in ("open", "signed"):  # each twin's config is its Python twin's, renamed
            config = json.loads((hooks / name / "config.json").read_text())
            write_json(hooks / f"{name}_js/config.json", {**config, "name": f"{name}_js"})
        endpoints = json.loads((app / "https_endpoints/config.json").read_text())
        twin = dict(endpoints[0], route="/bench-js", function_name="endpoint_js")
        write_json(app / "https_endpoints/config.json", [*endpoints, twin])
        for name, text in JS_FILES.items():
            (functions / name).write_text(text)
    if data:
        for name in ("data", "data_js"):
            write_json(hooks / name / "config.json", {
                "name": name, "options": {"httpMethod": "GET", "validationMethod": "NO_VALIDATION"},
                "respond_result": True})
        write_json(app / "data_sources/mongodb-atlas/config.json", {"name": "mongodb-atlas", "type": "mongodb-atlas"})
        for name, text in DATA_FILES.items():
            (functions / name).write_text(text)
    return data


def store_uri(lines: Sequence[str]) -> str | None:
    """The embedded store's URI from the server's stdout, or None when it has printed none yet."""
    for line in lines:
        found = STORE_LINE.search(line + " ")
        if found:
            return found.group(1) + "/"
    return None


def twin_differences(python: Any, js: Any, subject: str) -> list[str]:
    """How a JS twin's answer differs from its Python twin's (``run.Answer`` values): status,
    headers but Date, and body bytes; for endpoint (a fresh ObjectId and its date) the body's
    keys, "status" and the shapes of "id" and "createdAt"."""
    out = []
    if python.status != js.status:
        out.append(f"{subject}: status {js.status}, its Python twin {python.status}")
    ha = {k.lower(): v for k, v in python.headers.items() if k.lower() != "date"}
    hb = {k.lower(): v for k, v in js.headers.items() if k.lower() != "date"}
    if ha != hb:
        out.append(f"{subject}: headers {sorted(hb.items())}, its Python twin {sorted(ha.items())}")
    if subject.startswith("endpoint"):
        a, b = json.loads(python.body), json.loads(js.body)
        if set(a) != set(b) or a.get("status") != b.get("status") or not re.fullmatch(r"[0-9a-f]{24}", str(b.get("id"))) \
                or not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", str(b.get("createdAt"))):
            out.append(f"{subject}: body {js.body[:200]!r}, its Python twin {python.body[:200]!r}")
    elif python.body != js.body:
        out.append(f"{subject}: body {js.body[:200]!r}, its Python twin {python.body[:200]!r}")
    return out


def group_rotation(targets: list[Any]) -> Callable[[int], list[Any]]:
    """Targets in their order, but each group of GROUPS that is present kept together (at the
    place of its first member), its order reversed every other repetition: ceiling, open,
    open-js, signed, signed-js, ..., data, data-js, data-direct, then ceiling, open-js, open, ...
    ``targets`` have a ``subject``."""
    def order(rep: int) -> list[Any]:
        out: list[Any] = []
        for target in targets:
            if target in out:
                continue
            group = next((g for g in GROUPS if target.subject in g), (target.subject,))
            members = [t for name in group for t in targets if t.subject == name]
            out.extend(members if rep % 2 == 0 else members[::-1])
        return out
    return order


def summarise_ratios(runs: Sequence[Any]) -> list[dict[str, Any]]:
    """Per RATIOS row present and concurrency: req/s, p50, p99 and CPU per request (front +
    workers, µs) of numerator and denominator: medians over repetitions, ``ratio`` = ratio of
    the medians, ``paired`` = median of the per-repetition ratios (with min and max).
    ``runs`` are ``run.Run`` values."""
    def metric(run: Any, name: str) -> float:
        d = run.data
        if name == "rps":
            return d["rps"]
        if name == "cpu":
            return d["cpu_us_per_request"]["front"] + d["cpu_us_per_request"]["workers"]
        return d["latency_us"][name] / 1000

    by = {(r.subject, r.connections, r.rep): r for r in runs}
    rows = []
    for num, den in RATIOS:
        for c in sorted({r.connections for r in runs}):
            top = [r for r in runs if r.subject == num and r.connections == c]
            bottom = [r for r in runs if r.subject == den and r.connections == c]
            if not top or not bottom:
                continue
            row: dict[str, Any] = {"subject": num, "against": den, "concurrency": c, "reps": len(top),
                                   "errors": sum(r.data["non_2xx"] + r.data["socket_errors"] for r in top + bottom)}
            for name in ("rps", "p50", "p99", "cpu"):
                a = statistics.median(metric(r, name) for r in top)
                b = statistics.median(metric(r, name) for r in bottom)
                per_rep = [metric(r, name) / metric(by[(den, c, r.rep)], name) for r in top if (den, c, r.rep) in by]
                row[name] = {"subject": a, "against": b, "ratio": a / b if b else None,
                             "paired": statistics.median(per_rep), "paired_min": min(per_rep),
                             "paired_max": max(per_rep), "paired_all": per_rep}
            # time per request: the inverse of the throughput ratio
            row["time_per_request_ratio"] = 1 / row["rps"]["paired"]
            rows.append(row)
    return rows


def print_ratios(rows: list[dict[str, Any]], title: str) -> None:
    print(f"\n{title}")
    head = ("subject / against", "c", "req/s", "time/req", "p50", "p99", "cpu/req", "req/s paired min-max", "errors")
    body = [(f"{r['subject']} / {r['against']}", str(r["concurrency"]), f"{r['rps']['paired']:.2f}",
             f"{r['time_per_request_ratio']:.2f}", f"{r['p50']['paired']:.2f}", f"{r['p99']['paired']:.2f}",
             f"{r['cpu']['paired']:.2f}", f"{r['rps']['paired_min']:.2f}-{r['rps']['paired_max']:.2f}",
             str(r["errors"])) for r in rows]
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    for line in [head, *body]:
        print("  " + "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths))))
    print("  (each a paired ratio: the median over repetitions of subject / against in the same repetition and "
          "concurrency; time/req = 1 / the req/s ratio; cpu/req = server + its children, µs per request)")
