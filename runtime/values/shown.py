"""How a value, and where it sits, appear in a message.

Owns: ``json_path`` (the place of a value: ``$.options.httpMethod``, ``$[4]``,
``$.can_evaluate["%%request.body"]``), ``shorten`` and ``show_value`` (a value cut to a length
a message can hold), and ``hidden`` (a value that is, or may be, a secret: its JSON type only).
Every message of atlas-fn that names a JSON path or shows a value uses these. Must not do I/O
or import anything of ``runtime``.
"""

from __future__ import annotations

import json
import re
from typing import Any

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SHOWN_CHARS = 60


def json_path(prefix: str, key: str | int) -> str:
    """``prefix`` extended by one key: ``[3]`` for an index, ``.name`` for an identifier, else the
    key quoted as a JSON string in brackets (``["x-key"]``; non-ASCII kept as it is)."""
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{prefix}[{key}]"
    text = key if isinstance(key, str) else str(key)
    if _IDENTIFIER.fullmatch(text):
        return f"{prefix}.{text}"
    return f"{prefix}[{json.dumps(text, ensure_ascii=False)}]"


def shorten(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text``, or its first ``limit - 3`` characters and ``...`` when it is longer than ``limit``."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


def show_value(value: Any, limit: int = SHOWN_CHARS) -> str:
    """A value that is not secret, as Python writes it, shortened: ``'GET'``, ``['a', 'b']``."""
    return shorten(repr(value), limit)


def json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {dict: "object", list: "array", str: "string"}.get(type(value), "null")


def hidden(value: Any) -> str:
    """How a value that is, or may be, a secret is shown in a message: by its JSON type only."""
    return f"a JSON {json_type(value)} (value not shown)"


def quoted(text: str, limit: int = 40) -> str:
    """A string a guest passed, quoted for its error message and cut to ``limit`` characters
    (``'abc…'``): guest API messages (``BSON.ObjectId``, ``utils.crypto``) use this form."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "…"
