"""Text from callers and functions, made safe to write as part of one log line.

Owns: which characters may not reach a log line as they are, and the two ways of writing them:
``console_line`` (a function's console output: ``\\u00XX``) and ``path`` (a request path:
percent-encoded UTF-8, as a caller would have sent it). Refused: C0 controls (U+0000-U+001F,
line breaks and ESC included), DEL, C1 controls (U+0080-U+009F, U+0085 NEXT LINE included),
the Unicode line and paragraph separators U+2028/U+2029, and the bidirectional controls
U+202A-U+202E and U+2066-U+2069, which reorder what a terminal or a log viewer shows (a line
can be made to read as another). Must not do I/O or import aiohttp.

Cost: no Python call per character. ASCII text (a flag CPython keeps, so the test is free) goes
through one ``str.translate`` with a precomputed table (a list up to U+2069, about 70 KB of
entries, whose lookups never miss); other text is first scanned in C for a refused character,
and translated only when it holds one. Figures: ``bench/escape.py``.
"""

from __future__ import annotations

import re

REFUSED = frozenset([*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029,
                     *range(0x202A, 0x202F), *range(0x2066, 0x206A)])

_TOP = max(REFUSED) + 1


def _table(escape: dict[int, str]) -> list[str | int]:
    """A ``str.translate`` table indexed by code point up to the last refused one: every other
    character maps to itself, so a lookup never misses (a miss costs translate an exception)."""
    return [escape.get(code, code) for code in range(_TOP)]


_CONSOLE = _table({code: f"\\u{code:04x}" for code in REFUSED})
_PATH = _table({code: "".join(f"%{byte:02X}" for byte in chr(code).encode("utf-8")) for code in REFUSED})
_FIND = re.compile("[" + "".join(f"\\U{code:08x}" for code in sorted(REFUSED)) + "]")


def console_line(text: str) -> str:
    """A console line as one log line: ``a\\nb`` → ``a\\u000ab``; other text as it is."""
    if text.isascii() or _FIND.search(text) is not None:
        return text.translate(_CONSOLE)
    return text


def path(text: str) -> str:
    """A decoded request path for the access line: a refused character is written percent-encoded
    again (``%0A``, ``%E2%80%AE``), so the caller cannot forge, hide or reorder a log line."""
    if text.isascii() or _FIND.search(text) is not None:
        return text.translate(_PATH)
    return text
