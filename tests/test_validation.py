"""runtime.contract.validation: the §2 checks over raw bytes, with the §9 known-answer vectors."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from runtime.errors import AuthFailed
from runtime.contract.validation import GITHUB_SIGNATURE, Kind, Verdict, check, effective_method, failure, verify

# contract §9 vectors, byte-exact
V1_BODY = b'{"message":"MESSAGE"}'
V1_SIG = "sha256=828ee180512eaf8a6229eda7eea72323f68e9c0f0093b11a578b0544c5777862"
V2_SECRET = "Super5ecr3tPa55w0rd"
V2_BODY = b'{ "message": "Hello!" }'
V2_SIG = "sha256=d4f0537db4e230d7a6028a6f7c3bb1b57c9d16f39176d78697e559ac333e0b36"
V3_BODY = b'{"message":"Hello!"}'
V3_SIG = "sha256=038c963c2a22696ea9e1ad98fb5aeaeb1f336c0aecf5afdec273d35cad00cf84"
V4_SIG = "sha256=50d1c81c71e4fec2a6fb793ad4507e74de2d71e1acda4b5d4c3bcc8bb20c2d7e"
V5_SIG = "sha256=2e194b98b75890863bd6786f91afe85d12699483350bb8309797a7c43756bf64"
V6_SIG = "sha256=d70d88cd9adf9f928472cc95f58b1415a985df03f4e23841304ea1d1db05433e"
GH_SECRET = "It's a Secret to Everybody"
GH_BODY = b"Hello, World!"
V12_SIG = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
V13_SIG = "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59"


def webhook_signed(secret: str, body: bytes, signature: str | None) -> Verdict:
    headers = {} if signature is None else {"x-hook-signature": signature}
    return check("webhook", "http", "VERIFY_PAYLOAD", secret, body=body, query_secret=None, headers=headers)


def endpoint_signed(secret: str, body: bytes, signature: str | None) -> Verdict:
    headers = {} if signature is None else {"endpoint-signature": signature}
    return check("endpoint", "http", "VERIFY_PAYLOAD", secret, body=body, query_secret=None, headers=headers)


def github(secret: str, body: bytes, headers: dict[str, str]) -> Verdict:
    return check("webhook", "github", "", secret, body=body, query_secret=None, headers=headers)


# --- VERIFY_PAYLOAD: known answers -------------------------------------------------------


def test_vector_1_seed_webhook_signature_passes() -> None:  # contract §9 #1, §2.3
    assert webhook_signed("12345", V1_BODY, V1_SIG) == Verdict(True, "VERIFY_PAYLOAD", "signature matches")


def test_vector_1_with_one_extra_space_fails() -> None:  # contract §2.3: the raw body is hashed
    body = b'{"message": "MESSAGE"}'
    assert webhook_signed("12345", body, V1_SIG) == Verdict(False, "VERIFY_PAYLOAD", "signature mismatch")


def test_vector_2_live_endpoint_test_passes() -> None:  # contract §9 #2 [TEST]
    assert endpoint_signed(V2_SECRET, V2_BODY, V2_SIG) == Verdict(True, "VERIFY_PAYLOAD", "signature matches")


def test_vector_3_compact_signature_does_not_validate_vector_2_request() -> None:  # contract §9 #3
    assert endpoint_signed(V2_SECRET, V2_BODY, V3_SIG) == Verdict(False, "VERIFY_PAYLOAD", "signature mismatch")


def test_vector_3_compact_body_with_its_own_signature_passes() -> None:  # contract §9 #3
    assert endpoint_signed(V2_SECRET, V3_BODY, V3_SIG).ok


def test_vector_4_docs_example_signature_fails_for_the_curl_body() -> None:  # contract §9 #4, §10
    assert endpoint_signed("12345", V2_BODY, V4_SIG).detail == "signature mismatch"


def test_vector_5_raw_curl_body_signature_passes() -> None:  # contract §9 #5
    assert endpoint_signed("12345", V2_BODY, V5_SIG).ok


def test_vector_6_empty_body_is_signed_as_empty_string() -> None:  # contract §9 #6, §2.3 INF
    assert webhook_signed("12345", b"", V6_SIG) == Verdict(True, "VERIFY_PAYLOAD", "signature matches")


def test_hex_compares_case_insensitively() -> None:  # contract §2.3 decision
    assert webhook_signed("12345", V1_BODY, "sha256=" + V1_SIG[7:].upper()).ok


def test_wrong_secret_fails() -> None:  # contract §2.3
    assert webhook_signed("54321", V1_BODY, V1_SIG).detail == "signature mismatch"


def test_webhook_reads_x_hook_signature_not_endpoint_signature() -> None:  # contract §2.3
    verdict = check("webhook", "http", "VERIFY_PAYLOAD", "12345", body=V1_BODY, query_secret=None,
                    headers={"endpoint-signature": V1_SIG})
    assert verdict == Verdict(False, "VERIFY_PAYLOAD", "X-Hook-Signature header missing")


def test_endpoint_reads_endpoint_signature_not_x_hook_signature() -> None:  # contract §2.3
    verdict = check("endpoint", "http", "VERIFY_PAYLOAD", "12345", body=V1_BODY, query_secret=None,
                    headers={"x-hook-signature": V1_SIG})
    assert verdict == Verdict(False, "VERIFY_PAYLOAD", "Endpoint-Signature header missing")


def test_no_alias_x_stitch_signature() -> None:  # contract §2.3 decision, §10
    verdict = check("webhook", "http", "VERIFY_PAYLOAD", "12345", body=V1_BODY, query_secret=None,
                    headers={"x-stitch-signature": V1_SIG})
    assert verdict.detail == "X-Hook-Signature header missing"


# --- VERIFY_PAYLOAD: malformed values, each with its own detail -----------------------------


def test_documented_double_colon_typo_fails() -> None:  # contract §10: curl sends ":sha256=…"
    verdict = endpoint_signed("12345", V2_BODY, ":" + V5_SIG)
    assert verdict == Verdict(
        False, "VERIFY_PAYLOAD", "Endpoint-Signature header starts with ':sha256=' (a stray ':'); expected 'sha256=<hex>'"
    )


def test_missing_prefix_fails() -> None:  # contract §2.3 decision
    verdict = webhook_signed("12345", V1_BODY, V1_SIG[7:])
    assert verdict.detail == "X-Hook-Signature header does not start with 'sha256='"


def test_upper_case_prefix_fails() -> None:  # contract §2.3 decision: exactly "sha256="
    verdict = webhook_signed("12345", V1_BODY, "SHA256=" + V1_SIG[7:])
    assert verdict.detail == "X-Hook-Signature header does not start with 'sha256='"


def test_other_algorithm_fails() -> None:  # contract §2.3 decision
    verdict = webhook_signed("12345", V1_BODY, "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59")
    assert verdict.detail == "X-Hook-Signature header does not start with 'sha256='"


def test_non_hex_fails() -> None:  # contract §2.3 decision
    verdict = webhook_signed("12345", V1_BODY, "sha256=" + "z" * 64)
    assert verdict.detail == "X-Hook-Signature header is not hexadecimal after 'sha256='"


def test_wrong_length_fails() -> None:  # contract §2.3 decision
    verdict = webhook_signed("12345", V1_BODY, V1_SIG[:-1])
    assert verdict.detail == "X-Hook-Signature header has 63 hex digits after 'sha256='; expected 64"


def test_empty_hex_fails() -> None:  # contract §2.3 decision
    verdict = webhook_signed("12345", V1_BODY, "sha256=")
    assert verdict.detail == "X-Hook-Signature header has 0 hex digits after 'sha256='; expected 64"


def test_missing_header_fails() -> None:  # contract §2.3 decision
    assert webhook_signed("12345", V1_BODY, None) == Verdict(False, "VERIFY_PAYLOAD", "X-Hook-Signature header missing")


# --- SECRET_AS_QUERY_PARAM -------------------------------------------------------------------


def query(secret: str, query_secret: str | None, kind: Kind = "endpoint") -> Verdict:
    return check(kind, "http", "SECRET_AS_QUERY_PARAM", secret, body=b"", query_secret=query_secret, headers={})


def test_query_secret_matches() -> None:  # contract §2.2 [TEST passwordRequired]
    assert query(V2_SECRET, V2_SECRET) == Verdict(True, "SECRET_AS_QUERY_PARAM", "secret matches")


def test_query_secret_mismatch() -> None:  # contract §2.2
    assert query(V2_SECRET, "guess", kind="webhook") == Verdict(False, "SECRET_AS_QUERY_PARAM", "secret mismatch")


def test_query_secret_missing() -> None:  # contract §2.2
    assert query(V2_SECRET, None) == Verdict(False, "SECRET_AS_QUERY_PARAM", "secret query parameter missing")


def test_query_secret_is_case_sensitive() -> None:  # contract §2.2
    assert not query("okemo", "OKEMO").ok


def test_query_secret_with_non_ascii_characters() -> None:  # contract §2.2
    assert query("pässwörd", "pässwörd").ok


# --- NO_VALIDATION ---------------------------------------------------------------------------


def test_no_validation_passes() -> None:  # contract §2.1
    verdict = check("endpoint", "http", "NO_VALIDATION", "", body=b"x", query_secret=None, headers={})
    assert verdict == Verdict(True, "NO_VALIDATION", "no validation")


def test_empty_validation_method_means_no_validation() -> None:  # contract §2.1 INF (Data API "")
    verdict = check("endpoint", "http", "", "", body=b"x", query_secret=None, headers={})
    assert verdict == Verdict(True, "NO_VALIDATION", "no validation")


def test_unknown_validation_method_fails_closed() -> None:  # contract §2.1: only three modes exist
    verdict = check("endpoint", "http", "HMAC", "s", body=b"", query_secret=None, headers={})
    assert verdict == Verdict(False, "HMAC", "unknown validation method 'HMAC'")


# --- GitHub and Twilio (contract §2.5) -------------------------------------------------------


def test_vector_12_github_sha256_passes() -> None:  # contract §9 #12
    verdict = github(GH_SECRET, GH_BODY, {"x-hub-signature-256": V12_SIG})
    assert verdict == Verdict(True, "GITHUB_SIGNATURE", "signature matches")


def test_vector_13_github_sha1_passes_when_sha256_absent() -> None:  # contract §9 #13
    verdict = github(GH_SECRET, GH_BODY, {"x-hub-signature": V13_SIG})
    assert verdict == Verdict(True, "GITHUB_SIGNATURE", "signature matches")


def test_github_sha256_wins_over_sha1() -> None:  # contract §2.5: sha1 only if sha256 absent
    verdict = github(GH_SECRET, GH_BODY, {"x-hub-signature-256": "sha256=" + "0" * 64, "x-hub-signature": V13_SIG})
    assert verdict == Verdict(False, "GITHUB_SIGNATURE", "signature mismatch")


def test_github_sha1_mismatch() -> None:  # contract §2.5
    assert github(GH_SECRET, b"Hello, World?", {"x-hub-signature": V13_SIG}).detail == "signature mismatch"


def test_github_sha1_malformed() -> None:  # contract §2.5
    verdict = github(GH_SECRET, GH_BODY, {"x-hub-signature": V13_SIG + "00"})
    assert verdict.detail == "X-Hub-Signature header has 42 hex digits after 'sha1='; expected 40"


def test_github_without_either_header_fails() -> None:  # contract §2.5
    verdict = github(GH_SECRET, GH_BODY, {})
    assert verdict == Verdict(False, "GITHUB_SIGNATURE", "X-Hub-Signature-256 and X-Hub-Signature headers missing")


def test_github_with_empty_secret_passes() -> None:  # contract §2.5: checks only when the secret is set
    assert github("", GH_BODY, {}) == Verdict(True, "NO_VALIDATION", "no validation")


def test_github_ignores_validation_method() -> None:  # contract §2.5
    verdict = check("webhook", "github", "SECRET_AS_QUERY_PARAM", GH_SECRET, body=GH_BODY, query_secret=GH_SECRET,
                    headers={})
    assert verdict.method == "GITHUB_SIGNATURE" and not verdict.ok


def test_twilio_is_not_validated() -> None:  # contract §2.5 decision
    verdict = check("webhook", "twilio", "VERIFY_PAYLOAD", "x", body=b"Body=hi", query_secret=None, headers={})
    assert verdict == Verdict(True, "NO_VALIDATION", "no validation")


def test_effective_method() -> None:  # contract §2.1, §2.5
    assert effective_method("http", "VERIFY_PAYLOAD", "s") == "VERIFY_PAYLOAD"
    assert effective_method("http", "", "") == "NO_VALIDATION"
    assert effective_method("github", "", "s") == "GITHUB_SIGNATURE"
    assert effective_method("github", "", "") == "NO_VALIDATION"
    assert effective_method("twilio", "VERIFY_PAYLOAD", "s") == "NO_VALIDATION"


# --- secrecy and failure (contract §2.4) ---------------------------------------------------


@pytest.mark.parametrize("signature", [None, V1_SIG, V1_SIG[:-1], ":" + V1_SIG, "sha256=" + "g" * 64, "nope"])
def test_detail_never_holds_the_secret_or_the_expected_signature(signature: str | None) -> None:  # contract §2.4
    secret = "Super5ecr3tPa55w0rd"
    expected = hmac.new(secret.encode(), V1_BODY, hashlib.sha256).hexdigest()
    verdict = webhook_signed(secret, V1_BODY, signature)
    assert secret not in verdict.detail
    assert expected not in verdict.detail.lower()
    error = failure(verdict)
    assert isinstance(error, AuthFailed)
    assert secret not in error.message and expected not in error.message.lower()


@pytest.mark.parametrize(
    ("detail", "message"),
    [
        ("signature mismatch", "request signature did not match"),
        ("X-Hook-Signature header missing", "missing X-Hook-Signature header"),
        ("Endpoint-Signature header missing", "missing Endpoint-Signature header"),
        ("secret query parameter missing", "missing secret query parameter"),
        ("secret mismatch", "secret query parameter did not match"),
        ("X-Hub-Signature-256 and X-Hub-Signature headers missing", "missing X-Hub-Signature-256 or X-Hub-Signature header"),
        (
            "X-Hook-Signature header does not start with 'sha256='",
            "malformed request signature: X-Hook-Signature header does not start with 'sha256='",
        ),
        ("unknown validation method 'HMAC'", "request validation is misconfigured on this server"),
    ],
)
def test_failure_messages(detail: str, message: str) -> None:  # contract §2.4
    error = failure(Verdict(False, "VERIFY_PAYLOAD", detail))
    assert error.message == message
    assert (error.status, error.error_code) == (401, "IncomingWebhookAuthFailed")


@pytest.mark.parametrize("algorithm", ["sha256", "sha1"])
@pytest.mark.parametrize("secret", ["", "s", "Super5ecr3tPa55w0rd", "é" * 40, "k" * 64, "k" * 65, "x" * 300])
def test_signature_from_kept_key_states_is_rfc_2104_hmac(secret: str, algorithm: str) -> None:  # contract §2.3, §2.5
    """The check keeps each secret's padded key states and copies them per request (issue 8,
    bench): for keys empty, shorter than, as long as and longer than the hash's block, and on
    repeated use, it accepts exactly what ``hmac`` signs and refuses a changed body or secret."""
    header = {"sha256": "x-hub-signature-256", "sha1": "x-hub-signature"}[algorithm]
    for body in (b"", b"one", b"two" * 100, b"one"):
        good = f"{algorithm}=" + hmac.new(secret.encode("utf-8"), body, algorithm).hexdigest()
        verdict = verify(GITHUB_SIGNATURE, "webhook", secret, body=body, query_secret=None, headers={header: good})
        assert (verdict.ok, verdict.detail) == (True, "signature matches")
        for wrong_secret, wrong_body in ((secret, body + b" "), (secret + "x", body)):
            bad = verify(GITHUB_SIGNATURE, "webhook", wrong_secret, body=wrong_body, query_secret=None, headers={header: good})
            assert (bad.ok, bad.detail) == (False, "signature mismatch")
    if algorithm == "sha256":
        body = b'{"a":1}'
        good = "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
        assert webhook_signed(secret, body, good).ok
        assert not webhook_signed(secret + "x", body, good).ok


def test_a_passing_verdict_is_the_same_value_every_time() -> None:  # contract §2.1-§2.5
    """Passing verdicts are made once and shared (issue 8 bench): frozen values, equal to what
    the check would build, for every method that can pass."""
    import dataclasses

    sig = "sha256=" + hmac.new(b"s", b"{}", hashlib.sha256).hexdigest()
    cases = [
        (check("webhook", "http", "NO_VALIDATION", "", body=b"", query_secret=None, headers={}),
         Verdict(True, "NO_VALIDATION", "no validation")),
        (check("webhook", "http", "SECRET_AS_QUERY_PARAM", "s", body=b"", query_secret="s", headers={}),
         Verdict(True, "SECRET_AS_QUERY_PARAM", "secret matches")),
        (webhook_signed("s", b"{}", sig), Verdict(True, "VERIFY_PAYLOAD", "signature matches")),
        (github("s", b"{}", {"x-hub-signature-256": sig}), Verdict(True, GITHUB_SIGNATURE, "signature matches")),
    ]
    for got, expected in cases:
        assert got == expected
        with pytest.raises(dataclasses.FrozenInstanceError):
            got.ok = False  # type: ignore[misc]
