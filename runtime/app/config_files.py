"""Reading an app's JSON files: every problem with its file and JSON path, typed field access.

Owns: ``Report`` (problems, each file named relative to the parent of its root folder),
``read_json``/``read_object`` (a file to data, or a problem with its line and column; no
traceback for any bytes), ``Fields`` (typed reads of one JSON object, each misfit a problem
naming the JSON path, the value — or only its type where it may hold a secret — and what is
allowed), and the folder listings the loader walks. Must not know what an App Services app
holds: that is ``runtime.app.config``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from runtime.errors import ConfigProblem
from runtime.values.shown import hidden, json_path, show_value

MAX_NESTING = 100  # arrays/objects in one config file: BSON's (and so App Services') own limit

UNREADABLE = object()
KINDS: dict[str, tuple[tuple[type, ...], str]] = {
    "a boolean": ((bool,), "true, false"),
    "a string": ((str,), "a JSON string"),
    "an object": ((dict,), "a JSON object"),
    "a rule expression": ((dict, bool), "a JSON object, true, false"),
}


class Report:
    """Collects problems, naming each file relative to the parent of its root folder."""

    def __init__(self) -> None:
        self.roots: list[Path] = []
        self.problems: list[ConfigProblem] = []

    def show(self, path: Path) -> str:
        for root in self.roots:
            if path.is_relative_to(root):
                return path.relative_to(root.parent).as_posix()
        return path.as_posix()

    def add(self, file: Path | str, where: str, message: str) -> None:
        shown = file if isinstance(file, str) else self.show(file)
        self.problems.append(ConfigProblem(shown, where, message))


@dataclass
class Fields:
    """Typed reads of one JSON object in one file; each misfit becomes a problem."""

    report: Report
    file: Path
    obj: Mapping[str, Any]
    at: str = "$"
    quiet: bool = False  # the object itself was wrong: do not also report its missing fields

    def where(self, key: str) -> str:
        return json_path(self.at, key)

    def problem(self, key: str, message: str) -> None:
        self.report.add(self.file, self.where(key), message)

    def get(
        self, key: str, kind: str, default: Any = None, *, required: bool = False, hide: bool = False,
        allowed: str | None = None,
    ) -> Any:  # fmt: skip
        """The value; ``default`` when absent or null; None (reported) when of the wrong type.

        ``hide`` shows a wrong value by its JSON type only (it may be a secret); ``allowed``
        replaces the kind's own description of what is allowed.
        """
        types, allowed = KINDS[kind][0], allowed or KINDS[kind][1]
        value = self.obj.get(key)
        if value is None:
            if required and not self.quiet:
                self.problem(key, f"missing; allowed: {allowed}")
            return default
        if isinstance(value, types):
            return value
        self.problem(key, f"{hidden(value) if hide else show_value(value)} is not {kind}; allowed: {allowed}")
        return None

    def choice(self, key: str, choices: tuple[str, ...], noun: str, default: str | None = None) -> str | None:
        """One of ``choices``; ``default`` when absent, null or "" (required when no default)."""
        value = self.obj.get(key)
        allowed = ", ".join(choices)
        if value is None or (value == "" and default is not None):
            if default is None and not self.quiet:
                self.problem(key, f"missing; allowed: {allowed}")
            return default
        if isinstance(value, str) and value in choices:
            return value
        self.problem(key, f"{show_value(value)} is not {noun}; allowed: {allowed}")
        return None

    def child(self, key: str, *, hide: bool = False) -> Fields:
        value = self.get(key, "an object", {}, hide=hide)
        return Fields(self.report, self.file, value or {}, self.where(key), quiet=value is None)

    def strings(self, *keys: str) -> None:
        for key in keys:
            self.get(key, "a string")

    def name_matches(self, expected: str, noun: str) -> None:
        name = self.get("name", "a string")
        if name is not None and name != expected:
            self.problem("name", f"{show_value(name)} does not match its {noun} {expected!r}; allowed: {expected!r}")

    def extra(self, known: tuple[str, ...]) -> dict[str, Any]:
        return {key: value for key, value in self.obj.items() if key not in known}


def read_json(report: Report, path: Path) -> Any:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as error:
        report.add(path, "", f"cannot be read: {error.strerror or error}")
        return UNREADABLE
    except UnicodeDecodeError as error:
        report.add(path, "", f"byte {error.start} is not UTF-8; allowed: UTF-8 JSON text")
        return UNREADABLE
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        report.add(path, f"line {error.lineno} column {error.colno}", f"invalid JSON: {error.msg}")
        return UNREADABLE
    except ValueError:  # an integer literal longer than Python converts (sys.get_int_max_str_digits)
        limit = sys.get_int_max_str_digits()
        report.add(path, "", f"a number has more than {limit} digits; allowed: numbers of at most {limit} digits")
        return UNREADABLE
    except RecursionError:  # nested deeper than the parser recurses
        data = UNREADABLE
    if data is UNREADABLE or deeper_than(data, MAX_NESTING):
        deep = f"arrays and objects nest more than {MAX_NESTING} levels deep"
        report.add(path, "", f"{deep}; allowed: at most {MAX_NESTING} levels (BSON's limit)")
        return UNREADABLE
    return data


def deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays/objects nest more than ``limit`` deep (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


def read_object(report: Report, path: Path, *, hide: bool = False) -> Fields | None:
    """The file's JSON object; ``hide`` shows any other document by its JSON type only (a
    webhook's config holds its secret in ``options.secret``)."""
    data = read_json(report, path)
    if data is UNREADABLE:
        return None
    if not isinstance(data, dict):
        report.add(path, "$", f"{hidden(data) if hide else show_value(data)} is not an object; allowed: a JSON object")
        return None
    return Fields(report, path, data)


def visible(folder: Path | None) -> list[Path]:
    if folder is None or not folder.is_dir():
        return []
    return sorted(entry for entry in folder.iterdir() if not entry.name.startswith("."))


def subfolders(folder: Path | None) -> list[Path]:
    return [entry for entry in visible(folder) if entry.is_dir()]


def json_files(folder: Path | None) -> list[Path]:
    return [entry for entry in visible(folder) if entry.is_file() and entry.suffix == ".json"]


def not_a_folder(path: Path) -> str:
    return "is a file, not a folder" if path.exists() else "no such folder"
