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
| the interpreter's codec cache, and ``encodings._cache`` | ``str.encode``/``bytes.decode``/``str(b, enc)``: every codec looked up is kept (about 440 names); ``encodings`` keeps every unknown name too, as None, for ever (memory as well) |
| the ObjectId generator's random bytes and counter | ``BSON.ObjectId()`` (``runtime.values.bsontypes.reset_object_ids``) |

Python has no call that clears the codec cache, but ``codecs.unregister`` clears it whole: a
search function of ours that finds nothing is registered at import, and unregistered and
registered again by each reset.

Filled once at import instead, so that every call starts from the same state: the
``_strptime`` module (imported on first ``strptime``) and ``EJSON.parse``'s decoder for guest
objects. What is *not* cleared, because no cheap way exists (THREAT_MODEL.md, section 5): the
codec modules a call imports (``encodings.cp1252`` on its first use: once per worker and
codec; importing all of them at boot would cost about 60 ms and 3.6 MB per worker), CPython's
per-type attribute cache and the adaptive interpreter's inline caches, the memory allocator's
free lists (visible through addresses in ``repr()``), and timing.
"""

from __future__ import annotations

import codecs
import encodings
import re

import _strptime

from runtime.values import bsontypes


def _finds_nothing(name: str) -> None:
    """A codec search function that exists to be unregistered: that clears the codec cache."""
    return None


codecs.register(_finds_nothing)


def reset_between_calls() -> None:
    """Clear every cache a call can fill that the next call could measure; a few µs (bench/reset.py)."""
    re.purge()
    with _strptime._cache_lock:
        _strptime._regex_cache.clear()
    codecs.unregister(_finds_nothing)  # clears the interpreter's codec cache
    codecs.register(_finds_nothing)
    encodings._cache.clear()
    bsontypes.reset_object_ids()
