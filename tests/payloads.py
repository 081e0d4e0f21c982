"""A test helper: both builders of runtime.contract.request from a query as received, as
tests of request shapes and can_evaluate examples use them (production code goes through
runtime.contract.pipeline, which strips the secret once)."""

from __future__ import annotations

from typing import Any

from runtime.contract.call_spec import Kind
from runtime.contract.request import build_argument, build_context_request, strip_secret


def build_payload(*, method: str, url: str, raw_query: str, headers: list[tuple[str, str]], body: bytes,
                  remote: str, kind: Kind, service_type: str, route_or_url: str) -> tuple[dict[str, Any] | bytes, dict[str, Any]]:
    """``(argument, context_request)`` from a query as received (its ``secret`` removed here)."""
    stripped = strip_secret(raw_query)[0] or ""
    return (build_argument(method=method, raw_query=stripped, headers=headers, body=body, kind=kind, service_type=service_type),
            build_context_request(method=method, url=url, raw_query=stripped, headers=headers, remote=remote, kind=kind,
                                  route=route_or_url))
