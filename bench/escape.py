"""Micro-benchmark: the cost of making text safe for one log line (runtime.contract.log_text).

Prints, per input, the best of N runs in ms and in ms per MB of UTF-8 input, for the new
functions and for the regex-with-a-Python-call-per-character escaping runtime/http/server.py
used before (``old``). Run from the repository root: ``python bench/escape.py``.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runtime.contract import log_text  # noqa: E402

_OLD = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def old_console_line(text: str) -> str:
    return _OLD.sub(lambda m: f"\\u{ord(m.group()):04x}", text) if _OLD.search(text) else text


def old_path(text: str) -> str:
    return _OLD.sub(lambda m: "".join(f"%{byte:02X}" for byte in m.group().encode()), text)


CASES = {
    "524,000 x U+0085 (the report's case)": "\x85" * 524_000,
    "1 MB ASCII, clean": "GET /app/x/endpoint/route?q=1 " * 34_000,
    "1 MB ASCII, a newline every 100": ("a" * 99 + "\n") * 10_000,
    "1 MB CJK, clean": "中" * 333_000,
    "1 MB CJK, a newline every 100": ("中" * 99 + "\n") * 3_360,
    "1 MB of U+202E": "\u202e" * 333_000,
}
SUBJECTS: dict[str, Callable[[str], str]] = {
    "console_line": log_text.console_line, "path": log_text.path,
    "old console": old_console_line, "old path": old_path,
}


def best(function: Callable[[str], str], text: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function(text)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(f"best of {runs}; ms (ms per MB of UTF-8)")
    print(f"{'input':40s}" + "".join(f"{name:>22s}" for name in SUBJECTS))
    for label, text in CASES.items():
        megabytes = len(text.encode("utf-8", "surrogatepass")) / 1e6
        row = [best(function, text, runs) * 1000 for function in SUBJECTS.values()]
        print(f"{label:40s}" + "".join(f"{ms:>10.1f} ({ms / megabytes:>7.1f})" for ms in row))


if __name__ == "__main__":
    main()
