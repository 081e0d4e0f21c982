"""``atlas-fn replay --check``: is a replayed answer the recorded one? Pure, over plain values.

Owns: ``differences(recorded, replayed)``, each difference one line naming where (``status``,
``header X-Name``, ``body $.path``) and what changed. Headers: every header the function or
atlas-fn set, compared by name (case-insensitive) and value, repeated lines in order; the
transport's own (Date, Server, Content-Length, Connection, Keep-Alive, Transfer-Encoding) are
not compared. Bodies that are JSON on both sides are compared value by value (Extended JSON
read as values; an error envelope's ``link``, which names the request's own inspector entry,
is not compared); other bodies byte for byte.

The rule for values generated during a call (README, "Record and replay"): two ObjectIds (``{"$oid"}``,
or 24-hex-digit strings in plain JSON) compare equal when each one's timestamp lies inside
its own call's window (the recorded call's for the recorded one, the replayed call's for the
other), widened by ``SLACK_SECONDS`` for the whole-second timestamp of an ObjectId and for
clocks; two dates (``{"$date"}``, or ISO-8601 strings in plain JSON) likewise. Any other
difference of these values is a difference. Must not do I/O.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, NamedTuple

from runtime.values.shown import json_path, shorten

SLACK_SECONDS = 1.0
TRANSPORT = frozenset({"date", "server", "content-length", "connection", "keep-alive", "transfer-encoding"})
MAX_SHOWN = 120
_HEX24 = re.compile(r"[0-9a-fA-F]{24}\Z")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?\Z")


class Answer(NamedTuple):
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    window: tuple[float, float]  # when the call ran (Unix seconds)


def differences(recorded: Answer, replayed: Answer) -> list[str]:
    out = []
    if recorded.status != replayed.status:
        out.append(f"status: {recorded.status} -> {replayed.status}")
    out += _headers(recorded.headers, replayed.headers)
    before, after = _json(recorded.body), _json(replayed.body)
    if before is not _NOT_JSON and after is not _NOT_JSON:
        if _envelope(before) and _envelope(after):  # §5: its link names this request's inspector entry
            before, after = {**before, "link": ""}, {**after, "link": ""}
        out += [f"body {line}" for line in _values("$", before, after, recorded.window, replayed.window)]
    elif recorded.body != replayed.body:
        out.append(f"body: {_shown(recorded.body)} -> {_shown(replayed.body)}")
    return out


def _headers(before: list[tuple[str, str]], after: list[tuple[str, str]]) -> list[str]:
    def by_name(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name, value in pairs:
            if name.lower() not in TRANSPORT:
                out.setdefault(name.lower(), []).append(value)
        return out

    old, new = by_name(before), by_name(after)
    return [f"header {name}: {_listed(old.get(name))} -> {_listed(new.get(name))}"
            for name in sorted(old.keys() | new.keys()) if old.get(name) != new.get(name)]


def _listed(values: list[str] | None) -> str:
    return "(absent)" if values is None else ", ".join(json.dumps(v) for v in values)


_NOT_JSON = object()


def _json(body: bytes) -> Any:
    if not body:
        return _NOT_JSON
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _NOT_JSON


def _values(path: str, a: Any, b: Any, window_a: tuple[float, float], window_b: tuple[float, float]) -> list[str]:
    if _generated(a, b, window_a, window_b):
        return []
    if isinstance(a, dict) and isinstance(b, dict) and not (_wrapper(a) or _wrapper(b)):
        out = []
        for key in list(a) + [k for k in b if k not in a]:
            step = json_path(path, key)
            if key not in b:
                out.append(f"{step}: {_shown(a[key])} -> (absent)")
            elif key not in a:
                out.append(f"{step}: (absent) -> {_shown(b[key])}")
            else:
                out += _values(step, a[key], b[key], window_a, window_b)
        return out
    if isinstance(a, list) and isinstance(b, list):
        out = [line for i, (x, y) in enumerate(zip(a, b)) for line in _values(json_path(path, i), x, y, window_a, window_b)]
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} items -> {len(b)} items")
        return out
    if a == b and type(a) is type(b):
        return []
    return [f"{path}: {_shown(a)} -> {_shown(b)}"]


def _envelope(value: Any) -> bool:
    return isinstance(value, dict) and "error_code" in value and isinstance(value.get("link"), str)


def _wrapper(value: dict[str, Any]) -> bool:
    """An Extended JSON value (``{"$numberInt": "42"}``, ``{"$date": …}``): compared and shown whole."""
    return len(value) == 1 and next(iter(value)).startswith("$")


def _generated(a: Any, b: Any, window_a: tuple[float, float], window_b: tuple[float, float]) -> bool:
    """Both values were generated during their own calls (the module's rule)."""
    for moment in (_objectid_seconds, _date_seconds):
        when_a, when_b = moment(a), moment(b)
        if when_a is not None and when_b is not None:
            return _inside(when_a, window_a) and _inside(when_b, window_b)
    return False


def _inside(when: float, window: tuple[float, float]) -> bool:
    return window[0] - SLACK_SECONDS <= when <= window[1] + SLACK_SECONDS


def _objectid_seconds(value: Any) -> float | None:
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("$oid"), str):
        value = value["$oid"]
    if isinstance(value, str) and _HEX24.match(value):
        return float(int(value[:8], 16))
    return None


def _date_seconds(value: Any) -> float | None:
    if isinstance(value, dict) and len(value) == 1 and "$date" in value:
        value = value["$date"]
        if isinstance(value, dict) and isinstance(value.get("$numberLong"), str):
            try:
                return int(value["$numberLong"]) / 1000
            except ValueError:
                return None
    if isinstance(value, str) and _ISO.match(value):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _shown(value: Any) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else json.dumps(value, ensure_ascii=False)
    return shorten(text, MAX_SHOWN)
