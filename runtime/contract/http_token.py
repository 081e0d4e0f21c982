"""The HTTP token: the characters a header name may hold (RFC 7230 ``tchar``).

Owns: ``TOKEN`` (the set Go's ``textproto.validHeaderFieldByte`` accepts, so the names Go's
server, and so App Services, let through) and how messages describe it. Used by request
parsing, ``can_evaluate`` header names and the response setters. Must not import anything.
"""

from __future__ import annotations

import string

TOKEN_SYMBOLS = "!#$%&'*+-.^_`|~"
TOKEN = frozenset(string.ascii_letters + string.digits + TOKEN_SYMBOLS)
ALLOWED_NAME = f"letters, digits and {TOKEN_SYMBOLS}"


def is_token(text: str) -> bool:
    """Whether ``text`` is a non-empty run of token characters."""
    return bool(text) and TOKEN.issuperset(text)
