"""Redaction: credentials out of every message and log line the services write.

Owns: ``redact(text, secrets=())``, which removes the user-info part of any URI in the text
(``mongodb://user:pass@host`` → ``mongodb://***@host``, also ``mongodb+srv://`` and
``http(s)://``), the values of ``password=``/``secret=``/``token=``-like query parameters and
any exact secret strings given (the configured URI itself, its password). Must not do I/O.

Rule: a message that may hold a URI, a driver's error text or a store's log line goes through
``redact`` before it reaches a guest, a log or an exception.
"""

from __future__ import annotations

import re
from typing import Iterable
from urllib.parse import unquote, urlsplit

_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#\s@\"']*@)")
_SECRET_PARAMS = re.compile(
    r"(?P<key>(?:password|passwd|pwd|secret|token|apikey|api_key|access_key|secretkey|authmechanismproperties)=)"
    r"(?P<value>[^&\s\"',;]*)", re.IGNORECASE)
MASK = "***"


def uri_secrets(uri: str) -> tuple[str, ...]:
    """The strings of ``uri`` that must never be shown: the whole URI, its user info, its
    password (raw and percent-decoded)."""
    out = [uri]
    try:
        parts = urlsplit(uri)
    except ValueError:
        return tuple(out)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo = netloc.rsplit("@", 1)[0]
        out.append(userinfo)
        if ":" in userinfo:
            password = userinfo.split(":", 1)[1]
            out += [password, unquote(password)]
    return tuple(s for s in out if len(s) >= 3)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for secret in sorted(set(secrets), key=len, reverse=True):  # the longest first: the whole URI
        if secret:
            text = text.replace(secret, MASK)
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    return _SECRET_PARAMS.sub(lambda m: f"{m['key']}{MASK}", text)
