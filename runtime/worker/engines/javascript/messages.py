"""App Services' wording for the engine's most common runtime errors.

Owns: ``app_services_message(name, message, stack, source_of)``, a pure rewrite of a QuickJS-ng
error message into the form App Services' JavaScript runtime gave (contract §5: the envelope's
``error`` is ``"<ErrorType>: <message>"``). App Services ran an otto-derived interpreter; its
forms, as observed (mongodb/stitch-examples#99: ``TypeError: Cannot access member 'post' of
undefined``) and as otto writes them:

| QuickJS-ng | App Services |
| --- | --- |
| ``cannot read property 'x' of undefined`` | ``Cannot access member 'x' of undefined`` |
| ``not a function`` (for ``o.f()``, ``f()``) | ``'f' is not a function`` (the callee's name, read from the source at the error's line and column) |
| ``x is not defined`` | ``'x' is not defined`` |

Anything else keeps QuickJS-ng's words, and so does a call whose callee has no name
(``o["k"]()``, ``(void 0)()``). Must not: do I/O, or change the error's name.
"""

from __future__ import annotations

import re
from typing import Callable

_READ = re.compile(r"cannot read property '(?P<member>.*)' of (?P<base>undefined|null)\Z", re.DOTALL)
_UNDEFINED = re.compile(r"(?P<name>[A-Za-z_$][\w$]*) is not defined\Z")
_FRAME = re.compile(r"\((?P<file>[^()]+):(?P<line>\d+):(?P<column>\d+)\)\s*\Z|at (?P<bare>[^\s()]+):(?P<bline>\d+):(?P<bcolumn>\d+)\s*\Z")
_CALLEE = re.compile(r"([A-Za-z_$][\w$]*)\s*(?:\?\.\s*)?\(")


def app_services_message(name: str, message: str, stack: str, source_of: Callable[[str], str | None]) -> str:
    """``message`` as App Services worded it, where we know how (see the table above)."""
    if name == "TypeError":
        read = _READ.match(message)
        if read is not None:
            return f"Cannot access member '{read['member']}' of {read['base']}"
        if message == "not a function":
            callee = _callee(stack, source_of)
            return f"'{callee}' is not a function" if callee else message
    if name == "ReferenceError":
        undefined = _UNDEFINED.match(message)
        if undefined is not None:
            return f"'{undefined['name']}' is not defined"
    return message


def _callee(stack: str, source_of: Callable[[str], str | None]) -> str | None:
    """The name of the function called at the top frame's position: the identifier right before
    the ``(`` of the call expression that spans that column."""
    for frame in stack.splitlines():
        found = _FRAME.search(frame)
        if found is None:
            continue
        file = found["file"] or found["bare"]
        line, column = int(found["line"] or found["bline"]), int(found["column"] or found["bcolumn"])
        source = source_of(file)
        if source is None:
            return None
        lines = source.splitlines()
        if not 1 <= line <= len(lines):
            return None
        text, at = lines[line - 1], column - 1
        for call in _CALLEE.finditer(text):
            if call.start() <= at < call.end():
                return call[1]
        return None
    return None
