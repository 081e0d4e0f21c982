"""The example app (``app_config/`` and ``functions/`` at the top of the repository), as the
tests rely on it: exactly what its own files define, and nothing about whatever else a user
has dropped beside them.

A user trying atlas-fn puts a function file of their own into ``functions/``; it becomes a
drop-in webhook of service ``http`` (README: drop-in functions). Tests of the example app
therefore check that each of the example's own routes is there exactly as its config defines
it, and that anything more is exactly the drop-in of a function the user added; never a count
of everything in the folder.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterable

from runtime.app.snapshot import prepare
from runtime.settings import Settings
from tests.conftest import EXAMPLE_APP, EXAMPLE_FUNCTIONS, EXAMPLE_ID

Row = tuple[str, str, str, str]  # methods, URL path, function, validation: a row of the route table

SERVICE = f"/api/client/v2.0/app/{EXAMPLE_ID}/service"

# app_config/services/webhooks/incoming_webhooks/*/config.json, each served by functions/<name>.py
CONFIGURED: dict[str, Row] = {
    "hello": ("ANY", f"{SERVICE}/webhooks/incoming_webhook/hello", "hello", "NO_VALIDATION"),
    "respond": ("ANY", f"{SERVICE}/webhooks/incoming_webhook/respond", "respond", "NO_VALIDATION"),
    "secret_query": ("GET", f"{SERVICE}/webhooks/incoming_webhook/secret_query", "secret_query", "SECRET_AS_QUERY_PARAM"),
    "signed": ("POST", f"{SERVICE}/webhooks/incoming_webhook/signed", "signed", "VERIFY_PAYLOAD"),
}
# function files that no config names: served as drop-ins (notes.js reads and writes data)
DROP_INS = ("ping", "notes")
FUNCTIONS = (*CONFIGURED, *DROP_INS)  # every function file the example ships
ENDPOINTS = 0  # the example has no https_endpoints/


def drop_in(name: str) -> Row:
    """The route a function file no config names gets: webhook ``name`` of service ``http``,
    any method, NO_VALIDATION."""
    return ("ANY", f"{SERVICE}/http/incoming_webhook/{name}", name, "NO_VALIDATION")


ROUTES: frozenset[Row] = frozenset([*CONFIGURED.values(), *(drop_in(name) for name in DROP_INS)])


def added_functions(app_dir: Path = EXAMPLE_APP, functions_dir: Path = EXAMPLE_FUNCTIONS) -> list[str]:
    """The functions the app loader finds beyond the example's own: what a user added."""
    prepared = prepare(app_dir, functions_dir, Settings(), environ={})
    return sorted({f.name for f in prepared.app.functions} - set(FUNCTIONS))


def expected_rows(app_dir: Path = EXAMPLE_APP, functions_dir: Path = EXAMPLE_FUNCTIONS) -> set[Row]:
    return set(ROUTES) | {drop_in(name) for name in added_functions(app_dir, functions_dir)}


def assert_example_routes(rows: Iterable[Row], app_dir: Path = EXAMPLE_APP,
                          functions_dir: Path = EXAMPLE_FUNCTIONS) -> list[str]:
    """``rows`` (the route table of the example app, as served or printed) hold each of the
    example's own routes exactly as its config defines it, once, and besides them exactly one
    drop-in per function a user added — nothing else. Returns the added functions' names."""
    rows = list(rows)
    added = added_functions(app_dir, functions_dir)
    assert len(rows) == len(set(rows)), f"a route listed twice: {rows}"
    missing = ROUTES - set(rows)
    assert not missing, f"the example's own routes are missing or changed: {sorted(missing)}; got {rows}"
    assert set(rows) - ROUTES == {drop_in(name) for name in added}, (
        f"routes beyond the example's own must be exactly the drop-ins of the functions added ({added}): {rows}")
    return added


CHECK_SUMMARY = re.compile(r"ok: app '(?P<app>[^']*)': (?P<webhooks>\d+) webhooks, (?P<endpoints>\d+) endpoints, "
                           r"(?P<files>\d+) function files compiled\n")


def assert_example_check_summary(stdout: str, app_dir: Path = EXAMPLE_APP,
                                 functions_dir: Path = EXAMPLE_FUNCTIONS) -> list[str]:
    """``atlas-fn check``'s one line on the example app: its id; its webhooks (four configured,
    two drop-ins) and no endpoint; its six function files; plus one webhook and one file per
    function a user added. Returns the added functions' names."""
    match = CHECK_SUMMARY.fullmatch(stdout)
    assert match, stdout
    added = added_functions(app_dir, functions_dir)
    got = {k: match[k] if k == "app" else int(match[k]) for k in ("app", "webhooks", "endpoints", "files")}
    assert got == {"app": EXAMPLE_ID, "webhooks": len(CONFIGURED) + len(DROP_INS) + len(added), "endpoints": ENDPOINTS,
                   "files": len(FUNCTIONS) + len(added)}, (stdout, added)
    return added


def parse_route_table(lines: list[str]) -> list[Row]:
    """The rows of the route table ``serve`` prints under its header line (cells hold no
    spaces; columns are padded with them)."""
    header, *rows = lines
    assert header.split() == ["METHODS", "PATH", "FUNCTION", "VALIDATION"], header
    parsed = [tuple(line.split()) for line in rows]
    assert all(len(row) == 4 for row in parsed), rows
    return parsed  # type: ignore[return-value]
