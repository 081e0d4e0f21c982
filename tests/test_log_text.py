"""runtime.contract.log_text: what may not reach a log line as it is, and how it is written.

Red-team finding: bidi controls (U+202A-U+202E, U+2066-U+2069) reached the log as they are, and
the old escaping made one Python call per refused character (409 ms for 524,000 × U+0085).
"""

from __future__ import annotations

import sys
from typing import Any, Callable

import pytest

from runtime.contract import log_text

BIDI = [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]
REFUSED = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029, *BIDI]


def test_the_refused_characters_are_exactly_c0_del_c1_the_separators_and_the_bidi_controls() -> None:
    assert log_text.REFUSED == frozenset(REFUSED)
    assert len(log_text.REFUSED) == 32 + 1 + 32 + 2 + 9


@pytest.mark.parametrize("code", REFUSED, ids=lambda code: f"U+{code:04X}")
def test_each_refused_character_is_escaped_in_console_lines(code: int) -> None:
    assert log_text.console_line(f"a{chr(code)}b") == f"a\\u{code:04x}b"
    assert log_text.console_line(f"é{chr(code)}") == f"é\\u{code:04x}"


@pytest.mark.parametrize("code", REFUSED, ids=lambda code: f"U+{code:04X}")
def test_each_refused_character_is_percent_encoded_in_paths(code: int) -> None:
    encoded = "".join(f"%{byte:02X}" for byte in chr(code).encode())
    assert log_text.path(f"/a{chr(code)}b") == f"/a{encoded}b"
    assert log_text.path(f"/é{chr(code)}") == f"/é{encoded}"


def test_bidi_controls_cannot_reorder_a_log_line() -> None:
    assert log_text.path("/app/x/endpoint/\u202egpj.exe") == "/app/x/endpoint/%E2%80%AEgpj.exe"
    assert log_text.console_line("user \u2066admin\u2069 \u202b") == "user \\u2066admin\\u2069 \\u202b"


@pytest.mark.parametrize("text", ["", "plain ascii /path?x=1 %0A", "é中文 \U0001F600 \u200b \u00a0 \u2027 \u202f \u2065 \u206a"])
def test_other_text_is_kept_as_it_is(text: str) -> None:
    assert log_text.console_line(text) == text
    assert log_text.path(text) == text


def test_the_old_escaping_of_c0_c1_and_separators_is_kept() -> None:
    """What runtime/http/server.py writes today for these, so switching changes only the bidi controls."""
    import re
    control = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
    text = "".join(chr(c) for c in range(0x2100)) + "é\U0001F600"
    assert log_text.console_line(text) == control.sub(lambda m: f"\\u{ord(m.group()):04x}", text).translate(
        {code: f"\\u{code:04x}" for code in BIDI})
    assert log_text.path(text) == control.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), text).translate(
        {code: "".join(f"%{b:02X}" for b in chr(code).encode()) for code in BIDI})


def python_calls(function: Callable[[str], str], text: str) -> int:
    calls = 0

    def profile(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        calls += event == "call"

    sys.setprofile(profile)
    try:
        function(text)
    finally:
        sys.setprofile(None)
    return calls


@pytest.mark.parametrize("text", ["\x85" * 524_000, "\u202e" * 100_000, "a\n" * 100_000, "中\n" * 100_000],
                         ids=["U+0085", "bidi", "ascii", "cjk"])
def test_escaping_makes_no_python_call_per_character(text: str) -> None:
    """Linear in C: the cost per MB is in bench/escape.py; here, that no Python code runs per character."""
    assert python_calls(log_text.console_line, text) == 1  # the function itself, nothing per character
    assert python_calls(log_text.path, text) == 1
