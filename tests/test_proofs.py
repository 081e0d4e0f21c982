"""Where a request carries its secret (runtime/contract/proofs.py): signing with a route's own
secret passes the route's own validation (contract §2.2, §2.3, §2.5), and redaction leaves no
secret and keeps everything else byte for byte."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict

from runtime.contract import proofs, validation
from runtime.contract.call_spec import CallSpec
from runtime.contract.can_evaluate import ALWAYS
from runtime.contract.request import strip_secret


def spec(method: str, kind: str = "webhook", service_type: str = "http") -> CallSpec:
    return CallSpec("f", kind, service_type, method, "/f.py", True, ALWAYS, secret="s3cr&t")  # type: ignore[arg-type]


@pytest.mark.parametrize(("method", "kind", "service_type"), [
    (validation.VERIFY_PAYLOAD, "webhook", "http"), (validation.VERIFY_PAYLOAD, "endpoint", "http"),
    (validation.SECRET_AS_QUERY_PARAM, "webhook", "http"), (validation.SECRET_AS_QUERY_PARAM, "endpoint", "http"),
    (validation.GITHUB_SIGNATURE, "webhook", "github"),
])
def test_a_signed_request_passes_its_route_s_validation(method: str, kind: str, service_type: str) -> None:
    chosen = spec(method, kind, service_type)
    body = b'{"a": 1}'
    query, headers = proofs.signed(chosen, body, "a=1&secret=REDACTED&b=2", [("X-Hook-Signature", "REDACTED")])
    _, query_secret = strip_secret(query)
    verdict = validation.verify(method, kind, chosen.secret, body=body, query_secret=query_secret,  # type: ignore[arg-type]
                                headers=CIMultiDict(headers))
    assert verdict.ok, verdict.detail
    if method == validation.SECRET_AS_QUERY_PARAM:
        assert query == "a=1&secret=s3cr%26t&b=2"  # replaced where it stood


def test_redaction_keeps_all_but_the_secrets() -> None:
    assert proofs.redacted_query("secret=abc&page=2&Secret=keep") == "secret=REDACTED&page=2&Secret=keep"
    assert proofs.redacted_query("") == ""
    headers = [("x-hook-signature", "sha256=ab"), ("Authorization", "Bearer t"), ("APIKEY", "k"), ("X-Other", "v")]
    assert proofs.redacted_headers(headers) == [("x-hook-signature", "REDACTED"), ("Authorization", "REDACTED"),
                                                ("APIKEY", "REDACTED"), ("X-Other", "v")]
