"""What one call leaves behind in its worker for the next call to measure, cleared between calls.

Owns: ``reset_between_calls()``, which the worker loop calls after every call (before the
next one starts), and the list of process-wide caches guest code can fill. Red-team finding
F6: a sender compiling regular expressions and a receiver timing the same compiles passed
4 bits per call pair through ``re``'s cache on one worker. Must not import asyncio or aiohttp.

Cleared (each is filled by something guest code can do):

| cache | filled by |
| --- | --- |
| ``re._cache`` and ``re``'s template cache (``re.purge``) | ``BSONRegExp.try_compile``, ``Pattern.sub`` with a template, ``Match.expand``, ``EJSON.parse`` of ISO dates (json_util's ``strptime``) |
| ``_strptime._regex_cache`` | ``datetime.strptime`` on a datetime value, ``EJSON.parse`` of ISO ``$date`` strings |
| ``encodings._cache`` | ``str.encode``/``bytes.decode``/``str(b, enc)`` with any codec name, unknown names too (held as None for ever, so also memory) |
| the ObjectId generator's random bytes and counter | ``BSON.ObjectId()`` (``runtime.values.bsontypes.reset_object_ids``) |

Filled once at import instead, so that every call starts from the same state: the
``_strptime`` module (imported on first ``strptime``) and ``EJSON.parse``'s decoder for guest
objects. What is *not* cleared, because no cheap way exists (THREAT_MODEL.md, section 5): the
interpreter's own codec cache (known codecs under any spelling of their name), CPython's
per-type attribute cache and the adaptive interpreter's inline caches, the memory allocator's
free lists (visible through addresses in ``repr()``), and timing.
"""

from __future__ import annotations

import encodings
import re

import _strptime

from runtime.values import bsontypes


def reset_between_calls() -> None:
    """Clear every cache a call can fill that the next call could measure; a few µs (bench/reset.py)."""
    re.purge()
    with _strptime._cache_lock:
        _strptime._regex_cache.clear()
    encodings._cache.clear()
    bsontypes.reset_object_ids()
