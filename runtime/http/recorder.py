"""``atlas-fn serve --record DIR``: every request written byte-exact with its answer, one file each.

Owns: the recording format (``FORMAT``; one JSON file per request, named so that a listing sorts
by arrival: ``<start ms>-<co_id>.json``) and its two sides: ``Recorder``, a request-event sink
(the event carries the raw request and answer: ``runtime.http.events``), and ``load``, which
reads a folder back for ``atlas-fn replay``. Bodies are base64 of
the exact bytes; header lines keep their order, case and bytes (latin-1 text); the request
target keeps its raw bytes. Secrets never reach the disk: the ``secret`` query parameter, the
signature headers and credential headers are ``REDACTED`` (``runtime.contract.proofs``), and
the validation verdict is kept so replay knows whether to sign right or wrong. A file is
written whole (a temporary name, then a rename). Must not raise into the request path (a failed
write is logged once per error kind) or decide anything about the request.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
from pathlib import Path
from typing import NamedTuple

from runtime.contract import proofs
from runtime.http.events import RequestEvent

FORMAT = "atlas-fn-recording/1"
log = logging.getLogger("atlas_fn.recorder")


class Exchange(NamedTuple):
    """One recorded request and its answer, as ``load`` reads it back."""

    name: str  # the file's name
    method: str
    target: str  # path and query as sent (the secret redacted)
    headers: list[tuple[str, str]]
    body: bytes
    status: int
    answer_headers: list[tuple[str, str]]
    answer: bytes
    window: tuple[float, float]  # when the call ran (Unix seconds): generated ids and dates fall inside
    validated: bool  # the request passed its route's validation


class Recorder:
    """An ``EventSink`` writing one file per request event into ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._failed: set[str] = set()

    def __call__(self, event: RequestEvent) -> None:
        try:
            ended = time.time()
            started = ended - event.milliseconds / 1000
            path, mark, query = event.target.partition("?")
            record = {
                "format": FORMAT, "co_id": event.co_id, "function": event.function, "verdict": event.verdict,
                "window": [round(started, 3), round(ended, 3)],
                "request": {"method": event.method, "target": path + mark + proofs.redacted_query(query),
                            "headers": proofs.redacted_headers([(n.decode("latin-1"), v.decode("latin-1"))
                                                                for n, v in event.headers]),
                            "body": base64.b64encode(event.body).decode("ascii")},
                "response": {"status": event.status, "headers": [list(pair) for pair in event.response_headers],
                             "body": base64.b64encode(event.response_body).decode("ascii")},
            }
            target = self.folder / f"{int(started * 1000):013d}-{event.co_id}.json"
            partial = target.with_suffix(".json.partial")
            partial.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
            os.replace(partial, target)
        except Exception as exc:  # noqa: BLE001 - a recording must never fail the request
            kind = type(exc).__name__
            if kind not in self._failed:
                self._failed.add(kind)
                log.error("atlas-fn --record: could not write a recording to %s: %s: %s", self.folder, kind, exc)


def load(folder: Path) -> list[Exchange]:
    """Every recording of ``folder``, in arrival order; a ValueError naming the file that is not one."""
    out = []
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            if record.get("format") != FORMAT:
                raise ValueError(f"its format is {record.get('format')!r}; expected {FORMAT!r}")
            request, response = record["request"], record["response"]
            out.append(Exchange(path.name, request["method"], request["target"], [tuple(h) for h in request["headers"]],
                                base64.b64decode(request["body"]), int(response["status"]),
                                [tuple(h) for h in response["headers"]], base64.b64decode(response["body"]),
                                (float(record["window"][0]), float(record["window"][1])),
                                ":ok" in record.get("verdict", "")))
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            raise ValueError(f"{path}: not an atlas-fn recording: {exc}") from None
    return out
