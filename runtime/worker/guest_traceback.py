"""The traceback of a failed call, in the user's files only: what ``invoke``, the server log and
the inspector show beside the error's message (issue 12 §6: file and line).

Owns: ``guest_traceback(exc, files)``, turning a guest failure into text: for Python, the frames
of the function files (RestrictedPython compiles each with its shown name, e.g.
``functions/x.py``), innermost last, repeated frames collapsed as Python does, then the §5
``"<ErrorType>: <message>"`` line; for JavaScript, that line and the engine's stack, already
mapped to the files' own names and lines (``GuestError.stack``). Frames of atlas-fn's own code
are dropped (they say nothing to the user, and would show the server's layout). The text is cut
to ``MAX_TRACEBACK_CHARS`` (the protocol's bound), keeping its end (the innermost frames and the
error). Must not read files (a worker holds none: no source lines are shown), escape the text
(the log escapes what it writes, ``runtime.contract.log_text``), or import asyncio or aiohttp.
"""

from __future__ import annotations

import traceback
from typing import Collection

from runtime.errors import GuestError
from runtime.protocol.messages import MAX_TRACEBACK_CHARS


def guest_traceback(exc: BaseException, files: Collection[str], describe: str) -> str:
    """``describe`` is the error line the envelope shows; "" when no frame of ``files`` is known."""
    try:
        if isinstance(exc, GuestError):
            stack = (exc.stack or "").strip("\n")
            return _cut(f"{describe}\n{stack}") if stack else ""
        frames = [traceback.FrameSummary(frame.f_code.co_filename, line, frame.f_code.co_name, lookup_line=False, line="")
                  for frame, line in traceback.walk_tb(exc.__traceback__) if frame.f_code.co_filename in files]
    except Exception:  # noqa: BLE001 - a guest's odd exception must not turn into the worker's failure
        return ""
    if not frames:
        return ""
    text = "".join(traceback.StackSummary.from_list(frames).format())
    return _cut(f"Traceback (most recent call last):\n{text}{describe}")


def _cut(text: str) -> str:
    if len(text) <= MAX_TRACEBACK_CHARS:
        return text
    note = "… (the traceback's first {} characters are cut)\n"
    keep = MAX_TRACEBACK_CHARS - len(note) - 12
    return note.format(len(text) - keep) + text[-keep:]
