"""What the inspector page shows of a request: a kept ``RequestEvent`` as plain JSON-ready dicts.

Owns: the list row and the decision trace of one request (route, validation and signature
forensics, function and engine, console, traceback, response calls, answer, timings), masking
(the ``secret`` query parameter and every query parameter or header whose name says it holds a
credential: signatures, Authorization, cookies, API keys, passwords, tokens), and bytes shown as
text or hex. Pure: plain values in, plain values out. Must not do I/O, import aiohttp, or show
a secret or a signature's digits; it does not escape for HTML (the page sets text, never markup).
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple
from urllib.parse import unquote

from runtime.contract.forensics import describe_signature, signature_forensics
from runtime.contract.validation import GITHUB_SIGNATURE, VERIFY_PAYLOAD
from runtime.http.events import RequestEvent, steps

# a query parameter or header whose lower-cased name holds one of these is masked wherever it is shown
CREDENTIAL_WORDS = ("secret", "signature", "authorization", "password", "passwd", "token", "apikey", "api-key",
                    "api_key", "cookie", "session")
MASK = "•••"
HEX_ROW = 16


class Kept(NamedTuple):
    """One request in the inspector's ring: its number, wall time, event (bodies possibly cut)
    and the sizes before cutting; ``resent_from`` is the co_id it re-sends, or ""."""

    seq: int
    at: float
    event: RequestEvent
    body_size: int  # the request body's size; the event keeps it only when it is small enough to re-send
    response_size: int
    resent_from: str = ""


def is_credential(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in CREDENTIAL_WORDS)


def mask_value(name: str, value: str) -> str:
    """A credential's value as shown: its scheme or algorithm kept (``Bearer``, ``sha256=``), its
    length said, the rest masked."""
    if "signature" in name.lower():
        algorithm = value.partition("=")[0] if "=" in value[:8] else "sha256"
        return describe_signature(value, algorithm)
    scheme, space, _ = value.partition(" ")
    kept = f"{scheme} " if space and scheme.isalpha() and len(scheme) <= 16 else ""
    return f"{kept}{MASK} (masked, {len(value)} characters)"


def mask_target(target: str) -> str:
    """The request target with the value of every credential query parameter masked (the raw
    encoding of everything else kept)."""
    path, mark, query = target.partition("?")
    if not mark:
        return target
    parts = []
    for part in query.split("&"):
        name, equals, value = part.partition("=")
        if equals and is_credential(unquote(name.replace("+", " "))):
            value = MASK
        parts.append(f"{name}{equals}{value}")
    return f"{path}?{'&'.join(parts)}"


def header_pairs(raw: tuple[tuple[bytes, bytes], ...]) -> list[tuple[str, str]]:
    return [(name.decode("latin-1"), value.decode("utf-8", "replace")) for name, value in raw]


def masked_headers(pairs: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> list[list[str]]:
    return [[name, mask_value(name, value) if is_credential(name) else value] for name, value in pairs]


def shown_bytes(data: bytes, size: int) -> dict[str, Any]:
    """Bytes as UTF-8 text when they are, else as a hex dump; ``size`` is the whole body's,
    ``shown`` how many of its bytes ``data`` holds."""
    out: dict[str, Any] = {"size": size, "shown": len(data), "text": None, "hex": None}
    try:
        out["text"] = data.decode("utf-8")
    except UnicodeDecodeError:
        out["hex"] = "\n".join(
            f"{at:08x}  {data[at:at + HEX_ROW].hex(' '):<{HEX_ROW * 3 - 1}}  "
            + "".join(chr(b) if 32 <= b < 127 else "." for b in data[at:at + HEX_ROW])
            for at in range(0, len(data), HEX_ROW))
    return out


def verdict_parts(verdict: str) -> dict[str, Any] | None:
    """The front's ``"METHOD:ok (detail)"`` as a dict; None when validation did not run."""
    if verdict == "-":
        return None
    method, _, rest = verdict.partition(":")
    state, _, detail = rest.partition(" (")
    return {"method": method, "ok": state == "ok", "detail": detail.removesuffix(")")}


def _stamp(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1000):03d}Z"


def summary(kept: Kept) -> dict[str, Any]:
    """A row of the list, newest first on the page."""
    event = kept.event
    verdict = verdict_parts(event.verdict)
    return {"seq": kept.seq, "co_id": event.co_id, "at": _stamp(kept.at), "method": event.method,
            "target": mask_target(event.target or event.path), "status": event.status,
            "milliseconds": round(event.milliseconds, 3), "function": event.function,
            "validation_ok": None if verdict is None else verdict["ok"], "error": event.error,
            "resent_from": kept.resent_from}


def detail(kept: Kept, engines: dict[str, str], resendable_bytes: int) -> dict[str, Any]:
    """The decision trace of one request, in the order the request went through the server."""
    event = kept.event
    spec = event.spec
    request_headers = header_pairs(event.headers)
    verdict = verdict_parts(event.verdict)
    body_kept = kept.body_size == len(event.body)
    if verdict is not None and not verdict["ok"] and spec is not None and spec.validation in (VERIFY_PAYLOAD, GITHUB_SIGNATURE):
        if body_kept:
            first: dict[str, str] = {}
            for name, value in request_headers:
                first.setdefault(name.lower(), value)
            verdict["forensics"] = signature_forensics(spec.validation, spec.kind, spec.secret, event.body, first)
        else:
            verdict["forensics_missing"] = f"the body of {kept.body_size} bytes was not kept (over {resendable_bytes} bytes)"
    route = None
    if spec is not None:
        route = {"name": spec.name, "kind": spec.kind, "service_type": spec.service_type, "route": spec.route,
                 "validation": spec.validation, "respond_result": spec.respond_result, "legacy": spec.legacy,
                 "function_file": spec.function_key, "engine": engines.get(spec.function_key, _engine_of(spec.function_key))}
    return {
        **summary(kept),
        "path": event.path,
        "remote": event.remote,
        "request": {"headers": masked_headers(request_headers), "body": shown_bytes(event.body, kept.body_size)},
        "route": route,
        "validation": verdict,
        "console": list(event.logs),
        "traceback": event.traceback,
        "calls": list(event.calls),
        "response": {"status": event.status, "headers": masked_headers(event.response_headers),
                     "body": shown_bytes(event.response_body, kept.response_size)},
        "timings": [[step, round(ms, 3)] for step, ms in steps(event.timings)],
        "resendable": not refusal_to_resend(kept, resendable_bytes),
        "resend_refusal": refusal_to_resend(kept, resendable_bytes),
    }


def refusal_to_resend(kept: Kept, resendable_bytes: int) -> str:
    """Why a kept request cannot be re-sent byte for byte, or "" when it can."""
    event = kept.event
    if not event.target:
        return "the request's target was not recorded"
    if kept.body_size != len(event.body):
        return (f"the request body of {kept.body_size} bytes was not kept for re-sending (the inspector keeps up to "
                f"{resendable_bytes} bytes)")
    declared = next((value for name, value in event.headers if name.lower() == b"content-length"), None)
    if declared is not None and declared.strip() != str(kept.body_size).encode():
        return (f"the server answered before reading the request body ({declared.decode('latin-1')[:20]} bytes "
                "declared), so there is none to re-send")
    chunked = any(name.lower() == b"transfer-encoding" for name, _ in event.headers)
    if chunked and not event.body and (event.spec is None or event.status in (408, 413, 429)):
        return "the server answered before reading the chunked request body, so there is none to re-send"
    return ""


def _engine_of(function_key: str) -> str:
    return "javascript" if function_key.endswith(".js") else "python" if function_key.endswith(".py") else "-"
