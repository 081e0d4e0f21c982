"""Export files written as App Services' own tools write them, and edited in place.

Owns: ``export_json`` (Go's ``json.MarshalIndent`` with four spaces: ``<``, ``>``, ``&``,
U+2028 and U+2029 escaped, other text as UTF-8), ``JsonDoc`` (one JSON file holding a top-level
array or object, with planned appends and replacements that keep every byte that does not
change, in the file's own indentation), and ``write_atomically``. Must not know what the files
mean: the conversion rules are ``runtime.tools.migrate``'s.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.errors import ExportFileError


_WHITESPACE = re.compile(r"[ \t\n\r]*")
_GO_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_GO_ESCAPED = re.compile("[<>&\u2028\u2029]")
DEFAULT_INDENT = "    "


def export_json(value: Any, indent: str = DEFAULT_INDENT, level: int = 0) -> str:
    """``value`` as Go's ``json.MarshalIndent(value, "", indent)`` writes it, every line after
    the first prefixed with ``level`` indents (to nest it in an enclosing container). The
    escaped characters only ever occur inside strings, so replacing them in the text is safe."""
    text = _GO_ESCAPED.sub(lambda match: _GO_ESCAPES[match.group()], json.dumps(value, indent=indent, ensure_ascii=False))
    return text.replace("\n", "\n" + indent * level) if level else text


@dataclass
class _Member:
    key: str | None  # None in an array
    value: Any
    start: int  # where the member's text starts (its key, in an object)
    value_start: int
    end: int


class JsonDoc:
    """One JSON file holding a top-level array (``"["``) or object (``"{"``), with planned edits.
    ``render`` splices the edits into the original text, keeping every other byte."""

    def __init__(self, path: Path, opener: str) -> None:
        self.path = path
        self.opener = opener
        self.reasons: list[str] = []
        self.original: bytes | None = path.read_bytes() if path.is_file() else None
        self.exists = self.original is not None
        self.bom = ""
        self.text = ""
        self.members: list[_Member] = []
        self.open_at = self.close_at = 0
        if self.original is not None:
            self._parse(self.original)
        self.replaced: dict[int, Any] = {}  # member index → new value
        self.added: list[tuple[str | None, Any]] = []

    def _parse(self, data: bytes) -> None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ExportFileError(f"{self.path}: not UTF-8 text") from None
        if text.startswith("\ufeff"):
            self.bom, text = "\ufeff", text[1:]
        self.text = text
        try:
            self.open_at, self.close_at, self.members = _members(text, self.opener)
        except (ValueError, IndexError):
            kind = "an array" if self.opener == "[" else "an object"
            raise ExportFileError(f"{self.path}: not {kind} of JSON values (did it change while migrate ran?)") from None

    def values(self) -> list[Any]:
        current = [self.replaced.get(index, member.value) for index, member in enumerate(self.members)]
        return current + [value for _, value in self.added]

    def as_object(self) -> dict[str, Any]:
        pairs = [(member.key, self.replaced.get(index, member.value)) for index, member in enumerate(self.members)]
        return dict([*pairs, *self.added])  # type: ignore[list-item]

    def append(self, value: Any, reason: str) -> None:
        self.added.append((None, value))
        self.reasons.append(reason)

    def replace(self, index: int, value: Any, reason: str) -> None:
        if index >= len(self.members):  # an entry this plan added
            key, _ = self.added[index - len(self.members)]
            self.added[index - len(self.members)] = (key, value)
        else:
            self.replaced[index] = value
        self.reasons.append(reason)

    def set_key(self, key: str, value: Any, reason: str) -> None:
        for index, member in enumerate(self.members):
            if member.key == key:
                self.replaced[index] = value
                self.reasons.append(reason)
                return
        self.added = [(k, v) for k, v in self.added if k != key] + [(key, value)]
        self.reasons.append(reason)

    def render(self) -> bytes | None:
        if not self.replaced and not self.added:
            return None
        if not self.exists:
            whole = self.values() if self.opener == "[" else self.as_object()
            return (export_json(whole) + "\n").encode("utf-8")
        indent = self._indent()
        text, out, at = self.text, [], 0
        for index, member in enumerate(self.members):
            if index in self.replaced:
                out += [text[at:member.value_start], export_json(self.replaced[index], indent, 1)]
                at = member.end
        new = [self._member_text(key, value, indent) for key, value in self.added]
        if new and self.members:
            last = self.members[-1].end
            out += [text[at:last], "".join(f",\n{indent}{item}" for item in new)]
            at = last
        elif new:
            out += [text[at:self.open_at + 1], "\n" + ",\n".join(indent + item for item in new) + "\n"]
            at = self.close_at
        out.append(text[at:])
        return (self.bom + "".join(out)).encode("utf-8")

    def _member_text(self, key: str | None, value: Any, indent: str) -> str:
        prefix = "" if key is None else export_json(key) + ": "
        return prefix + export_json(value, indent, 1)

    def _indent(self) -> str:
        """The file's own indentation unit: the whitespace before its first member on that line."""
        if not self.members:
            return DEFAULT_INDENT
        start = self.members[0].start
        line_start = self.text.rfind("\n", 0, start)
        prefix = self.text[line_start + 1:start]
        if line_start == -1 or not prefix or prefix.strip(" \t"):
            return DEFAULT_INDENT
        return prefix


def _members(text: str, opener: str) -> tuple[int, int, list[_Member]]:
    """``(index of the opening bracket, index of the closing one, members with their spans)``
    of a top-level JSON array or object; ``ValueError``/``IndexError`` when it is not one."""
    decoder = json.JSONDecoder()
    closer = "]" if opener == "[" else "}"
    at = _WHITESPACE.match(text, 0).end()  # type: ignore[union-attr]
    if text[at] != opener:
        raise ValueError("not the expected container")
    open_at = at
    at = _WHITESPACE.match(text, at + 1).end()  # type: ignore[union-attr]
    members: list[_Member] = []
    if text[at] == closer:
        return open_at, at, members
    while True:
        start, key = at, None
        if opener == "{":
            if text[at] != '"':
                raise ValueError("a key must be a string")
            key, at = json.decoder.scanstring(text, at + 1)  # type: ignore[attr-defined]
            at = _WHITESPACE.match(text, at).end()  # type: ignore[union-attr]
            if text[at] != ":":
                raise ValueError("':' expected")
            at = _WHITESPACE.match(text, at + 1).end()  # type: ignore[union-attr]
        value, end = decoder.raw_decode(text, at)
        members.append(_Member(key, value, start, at, end))
        at = _WHITESPACE.match(text, end).end()  # type: ignore[union-attr]
        if text[at] == ",":
            at = _WHITESPACE.match(text, at + 1).end()  # type: ignore[union-attr]
            continue
        if text[at] != closer:
            raise ValueError(f"'{closer}' expected")
        if text[at + 1:].strip(" \t\n\r"):
            raise ValueError("text after the container")
        return open_at, at, members


def write_atomically(path: Path, content: bytes, *, secret: bool) -> None:
    """Write atomically (a temporary file in the same folder, then rename), keeping an existing
    file's permissions; a new secrets file is 0600, other new files follow the umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o7777 if path.exists() else (0o600 if secret else 0o666)
    temporary = path.with_name(f".{path.name}.atlas-fn-migrate")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
        if path.exists():
            os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
