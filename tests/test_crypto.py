"""runtime.values.crypto: utils.crypto.hmac / hash and the request signature (contract §8.3, §2.3, §2.5, §9)."""

from __future__ import annotations

import pytest

from runtime.values import crypto
from runtime.values.bsontypes import BSON, Binary


# --- known-answer vectors (contract §9) ----------------------------------------------------

@pytest.mark.parametrize(
    ("vector", "secret", "body", "expected"),
    [
        # §9 #1: the seed webhook signature of the docs (§2.3).
        (1, "12345", b'{"message":"MESSAGE"}', "828ee180512eaf8a6229eda7eea72323f68e9c0f0093b11a578b0544c5777862"),
        # §9 #2: the live endpoint test hashes the raw body, spaces included (§2.3).
        (2, "Super5ecr3tPa55w0rd", b'{ "message": "Hello!" }',
         "d4f0537db4e230d7a6028a6f7c3bb1b57c9d16f39176d78697e559ac333e0b36"),
        # §9 #3: the compact body gives another signature, which must not validate #2's request.
        (3, "Super5ecr3tPa55w0rd", b'{"message":"Hello!"}',
         "038c963c2a22696ea9e1ad98fb5aeaeb1f336c0aecf5afdec273d35cad00cf84"),
        # §9 #4: the docs' endpoint example, as printed (§10).
        (4, "12345", b'{"message":"Hello!"}', "50d1c81c71e4fec2a6fb793ad4507e74de2d71e1acda4b5d4c3bcc8bb20c2d7e"),
        # §9 #5: what that example's curl body really needs (§10).
        (5, "12345", b'{ "message": "Hello!" }', "2e194b98b75890863bd6786f91afe85d12699483350bb8309797a7c43756bf64"),
        # §9 #6: an absent body is signed as the empty string (INF §2.3).
        (6, "12345", b"", "d70d88cd9adf9f928472cc95f58b1415a985df03f4e23841304ea1d1db05433e"),
        # §9 #12: GitHub's X-Hub-Signature-256 example (§2.5).
        (12, "It's a Secret to Everybody", b"Hello, World!",
         "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
    ],
)
def test_signature_vectors(vector: int, secret: str, body: bytes, expected: str) -> None:
    assert crypto.signature(secret, body) == f"sha256={expected}"
    assert crypto.signature(secret.encode(), body) == f"sha256={expected}"
    assert crypto.hmac(body.decode(), secret, "sha256", "hex") == expected
    assert crypto.hmac(Binary(body), secret) == expected


def test_vector_2_and_3_differ() -> None:
    """§9 #2-#3: the raw body and its compact form sign differently (§2.3)."""
    key = "Super5ecr3tPa55w0rd"
    assert crypto.signature(key, b'{ "message": "Hello!" }') != crypto.signature(key, b'{"message":"Hello!"}')


def test_vector_7_hmac_base64() -> None:
    """§9 #7: utils.crypto.hmac("hello!", "super-secret", "sha256", "base64") (§8.3)."""
    assert crypto.hmac("hello!", "super-secret", "sha256", "base64") == "SUXd6PRMaTXXgBGaGsIHzaDWgTSa6C3D44lRGrvRak0="


def test_vector_8_hash_sha256() -> None:
    """§9 #8: utils.crypto.hash("sha256", "hello!") answers a BSON.Binary (§8.3)."""
    digest = crypto.hash("sha256", "hello!")
    assert type(digest) is Binary and digest.subtype == 0
    assert digest.toBase64() == "zgYJL7lI2f+sfRo3bkBLJrdXW8wR7gWkYV/vT+w6MIs="
    assert digest.toHex() == "ce06092fb948d9ffac7d1a376e404b26b7575bcc11ee05a4615fef4fec3a308b"


def test_vector_13_github_sha1() -> None:
    """§9 #13: GitHub's X-Hub-Signature, HMAC-SHA1 (§2.5)."""
    assert "sha1=" + crypto.hmac("Hello, World!", "It's a Secret to Everybody", "sha1") == \
        "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59"


# --- the rest of the surface -----------------------------------------------------------------

def test_hmac_defaults_are_sha256_hex() -> None:
    assert crypto.hmac("hello!", "super-secret") == crypto.hmac("hello!", "super-secret", "sha256", "hex")


def test_hmac_sha512_and_bytes_arguments() -> None:
    by_text = crypto.hmac("hé", "clé", "sha512", "hex")
    assert len(by_text) == 128
    assert crypto.hmac("hé".encode(), "clé".encode(), "sha512", "hex") == by_text
    assert crypto.hmac(BSON.Binary.fromText("hé"), BSON.Binary.fromText("clé"), "sha512") == by_text


@pytest.mark.parametrize(
    ("algorithm", "hex_digest"),
    [
        ("sha1", "8f7d88e901a5ad3a05d8cc0de93313fd76028f8c"),
        ("md5", "5a8dd3ad0756a93ded72b823b19dd877"),
    ],
)
def test_hash_other_algorithms(algorithm: str, hex_digest: str) -> None:
    assert crypto.hash(algorithm, "hello!").toHex() == hex_digest
    assert crypto.hash(algorithm, b"hello!").toHex() == hex_digest
    assert crypto.hash(algorithm, Binary(b"hello!", 5)).toHex() == hex_digest


def test_lone_surrogate_is_hashed_as_replacement_character() -> None:
    assert crypto.hash("sha256", "a\ud800") == crypto.hash("sha256", "a\ufffd")


def test_signature_is_lowercase_hex() -> None:
    value = crypto.signature("12345", b"x")
    assert value.startswith("sha256=") and value[7:] == value[7:].lower() and len(value) == 7 + 64


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: crypto.hmac("x", "k", "md5"), ValueError,
         "utils.crypto.hmac: hash must be one of 'sha1', 'sha256', 'sha512', got 'md5'"),
        (lambda: crypto.hmac("x", "k", "SHA256"), ValueError,
         "utils.crypto.hmac: hash must be one of 'sha1', 'sha256', 'sha512', got 'SHA256'"),
        (lambda: crypto.hmac("x", "k", "sha256", "raw"), ValueError,
         "utils.crypto.hmac: output must be one of 'hex', 'base64', got 'raw'"),
        (lambda: crypto.hmac("x", "k", 256), TypeError,
         "utils.crypto.hmac: hash must be one of 'sha1', 'sha256', 'sha512', got a value of type 'int'"),
        (lambda: crypto.hmac(1, "k"), TypeError, "utils.crypto.hmac: input must be a string or a BSON.Binary, got 'int'"),
        (lambda: crypto.hmac("x", None), TypeError,
         "utils.crypto.hmac: secret must be a string or a BSON.Binary, got 'NoneType'"),
        (lambda: crypto.hash("sha512", "x"), ValueError,
         "utils.crypto.hash: the algorithm must be one of 'sha1', 'sha256', 'md5', got 'sha512'"),
        (lambda: crypto.hash("sha256", ["x"]), TypeError,
         "utils.crypto.hash: data must be a string or a BSON.Binary, got 'list'"),
        (lambda: crypto.signature("k", "body"), TypeError, "signature: the body must be the raw bytes, got 'str'"),
        (lambda: crypto.signature(12345, b""), TypeError,
         "signature: the secret must be a string or a BSON.Binary, got 'int'"),
    ],
)
def test_refusals_name_the_function_and_what_is_allowed(call: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as caught:
        call()  # type: ignore[operator]
    assert str(caught.value) == message


def test_long_bad_choice_is_cut() -> None:
    with pytest.raises(ValueError) as caught:
        crypto.hmac("x", "k", "s" * 100)
    assert str(caught.value).endswith(f"got {'s' * 40!r}…")
