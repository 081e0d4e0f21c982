"""How the server and a worker process talk: length-prefixed frames over a socket pair.

Owns: the frame layout and the incremental parser both sides use; what goes into a frame's
meta is ``runtime.protocol.messages``. Must not do I/O itself.

A frame is ``>II`` (meta length, body length), the meta bytes, then the body bytes, so a
request or response body crosses the pipe as it is, never re-encoded. One write per frame,
one parse per frame.

- server → worker: meta is ``marshal`` data. The worker trusts its server.
- worker → server: meta is JSON. The server does **not** trust a worker (a function that
  escaped the sandbox owns its worker), so it never unmarshals or unpickles what comes back,
  and it caps every frame.
"""

from __future__ import annotations

import json
import marshal
import struct
from typing import Any

from runtime.errors import ProtocolError

__all__ = ["HEADER", "MAX_META", "ProtocolError", "encode_call", "encode_reply", "decode_reply", "FrameReader"]

HEADER = struct.Struct(">II")
MAX_META = 4 * 1024 * 1024


def encode_call(meta: Any, body: bytes = b"") -> bytes:
    packed = marshal.dumps(meta)
    return HEADER.pack(len(packed), len(body)) + packed + body


# Made once, not per frame: json.dumps with options builds a new encoder for every call (3.7 µs
# for a reply's meta; 0.9 with the encoder kept), and json.loads looks for a BOM and the
# encoding of the bytes it is given (3.3 µs; 1.1 scanning the UTF-8 text). No cycle check: a
# meta is made of the worker's own lists, tuples and strings.
_SCAN = json.JSONDecoder().scan_once


def _not_json(value: Any) -> Any:
    raise TypeError(f"a {type(value).__name__} cannot go into a reply's meta")


if json.encoder.c_make_encoder is not None:  # CPython's _json, always there in practice
    _CHUNKS = json.encoder.c_make_encoder(None, _not_json, json.encoder.c_encode_basestring, None, ":", ",",
                                          False, False, True)

    def _encode(meta: Any) -> str:
        return "".join(_CHUNKS(meta, 0))
else:  # pragma: no cover - an interpreter without _json
    _encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False,
                               default=_not_json).encode


def encode_reply(meta: Any, body: bytes = b"") -> bytes:
    packed = _encode(meta).encode("utf-8", "surrogatepass")
    return HEADER.pack(len(packed), len(body)) + packed + body


def decode_reply(meta: bytes) -> Any:
    """A worker's meta: one JSON value in UTF-8, as ``encode_reply`` writes it (no whitespace
    around it); which values are allowed is ``messages.read_from_worker``'s to say."""
    try:
        text = meta.decode("utf-8", "surrogatepass")
        value, end = _SCAN(text, 0)
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"reply meta is not JSON: {exc}") from None
    except StopIteration as stop:  # the scanner found no value where one must start
        raise ProtocolError(f"reply meta is not JSON: no value at character {stop.value}") from None
    except ValueError as exc:
        raise ProtocolError(f"reply meta is not JSON: {exc}") from None
    if end != len(text):
        raise ProtocolError(f"reply meta is not JSON: extra data at character {end}")
    return value


class FrameReader:
    """Feed bytes in as they arrive; take whole frames out."""

    def __init__(self, max_body: int) -> None:
        self._buffer = bytearray()
        self._max_body = max_body

    def feed(self, data: bytes) -> list[tuple[bytes, bytes]]:
        self._buffer += data
        frames = []
        while len(self._buffer) >= HEADER.size:
            meta_len, body_len = HEADER.unpack_from(self._buffer)
            if meta_len > MAX_META or body_len > self._max_body:
                raise ProtocolError(f"frame too large (meta {meta_len} bytes, body {body_len} bytes)")
            end = HEADER.size + meta_len + body_len
            if len(self._buffer) < end:
                break
            meta = bytes(self._buffer[HEADER.size:HEADER.size + meta_len])
            body = bytes(self._buffer[HEADER.size + meta_len:end])
            del self._buffer[:end]
            frames.append((meta, body))
        return frames
