"""utils.crypto.encrypt/decrypt/sign/verify and utils.jwt: contract §8.3 and the §9 #9–#11 vectors."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from runtime.values import cipher, jwt
from runtime.values.bsontypes import BSON, Binary

# §9 #9
AES_CIPHERTEXT = "WPBuIvJ6Bity43Uh822dW8QlVYVJaFUiDeUjlTiJXzptUuTYIKPlXekBQAJb"
AES_KEY = "603082712271C525E087BD999A4E0738"
# §9 #10, #11
TOKEN_10 = ("eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvZSBTY2htb2UiLCJpYXQiOjE1NjU3"
            "MjEyMjMxODd9.-QL15ldu2BYuJokNWT6YRiwZQIiIpvq6Kyv-C6qslNdNiUVxo8zqLJZ1iEkNf2yZKMIrQuMCtIC1tzd2H31AxA")
TOKEN_11 = ("eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvZSBFeGFtcGxlIiwiaWF0IjoxNTY1"
            "NzIxMjIzMTg3fQ.xqxUgCruIxHpZWB9LUuhQDRRS0y_oC-aawPAgrlO5opblUjRE4pl-sCVV3PzZ1apobnp4KEhzdFLW7Rr4kmolg")


def _pems(key):
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    public_format = (serialization.PublicFormat.PKCS1 if isinstance(key, rsa.RSAPrivateKey)
                     else serialization.PublicFormat.SubjectPublicKeyInfo)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, public_format).decode()
    return private, public


RSA_PRIVATE, RSA_PUBLIC = _pems(rsa.generate_private_key(public_exponent=65537, key_size=2048))
EC_KEYS = {bits: _pems(ec.generate_private_key(curve)) for bits, curve in
           (("256", ec.SECP256R1()), ("384", ec.SECP384R1()), ("512", ec.SECP521R1()))}


def test_vector_9_decrypt_the_documented_ciphertext() -> None:
    plain = cipher.decrypt("aes", BSON.Binary.fromBase64(AES_CIPHERTEXT), AES_KEY)
    assert type(plain) is Binary and plain.text() == "MongoDB is great!"
    raw = base64.b64decode(AES_CIPHERTEXT)
    assert raw[:12].hex() == "58f06e22f27a062b72e37521" and raw[-16:].hex() == "895f3a6d52e4d820a3e55de90140025b"


@pytest.mark.parametrize("key", ["k" * 16, "k" * 24, "k" * 32])
def test_encrypt_is_nonce_ciphertext_tag_and_decrypts(key: str) -> None:
    data = cipher.encrypt("aes", "héllo", key)
    assert type(data) is Binary and len(data) == 12 + len("héllo".encode()) + 16
    assert cipher.decrypt("aes", data, key).text() == "héllo"
    assert cipher.encrypt("aes", "héllo", key) != data  # a fresh nonce each time


def test_encrypt_and_decrypt_refusals_name_what_is_allowed() -> None:
    with pytest.raises(ValueError, match=r"utils.crypto.encrypt: the key must be 16, 24 or 32 bytes, got 5"):
        cipher.encrypt("aes", "x", "12345")
    with pytest.raises(ValueError, match=r"utils.crypto.encrypt: the encryption type must be 'aes', got 'des'"):
        cipher.encrypt("des", "x", "k" * 16)
    with pytest.raises(ValueError, match=r"does not decrypt with this key"):
        cipher.decrypt("aes", BSON.Binary.fromBase64(AES_CIPHERTEXT), "x" * 32)
    with pytest.raises(ValueError, match=r"shorter than a nonce and a tag \(28 bytes\)"):
        cipher.decrypt("aes", b"short", "k" * 16)
    with pytest.raises(TypeError, match=r"the message must be a string or a BSON.Binary, got 'dict'"):
        cipher.encrypt("aes", {}, "k" * 16)


@pytest.mark.parametrize("scheme", ["pss", "pkcs1v15"])
def test_sign_and_verify_rsa(scheme: str) -> None:
    signature = cipher.sign("rsa", "message", RSA_PRIVATE, scheme)
    assert type(signature) is Binary and len(signature) == 256
    assert cipher.verify("rsa", "message", RSA_PUBLIC, signature, scheme) is True
    assert cipher.verify("rsa", "messagE", RSA_PUBLIC, signature, scheme) is False
    other = "pkcs1v15" if scheme == "pss" else "pss"
    assert cipher.verify("rsa", "message", RSA_PUBLIC, signature, other) is False


def test_pkcs1v15_signatures_are_deterministic_and_pss_is_the_default() -> None:
    assert cipher.sign("rsa", "m", RSA_PRIVATE, "pkcs1v15") == cipher.sign("rsa", "m", RSA_PRIVATE, "pkcs1v15")
    assert cipher.verify("rsa", "m", RSA_PUBLIC, cipher.sign("rsa", "m", RSA_PRIVATE))


def test_sign_refusals() -> None:
    with pytest.raises(ValueError, match="the signature scheme must be one of 'pss', 'pkcs1v15', got 'raw'"):
        cipher.sign("rsa", "m", RSA_PRIVATE, "raw")
    with pytest.raises(ValueError, match="the private key is not an unencrypted PEM private key"):
        cipher.sign("rsa", "m", "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n")
    with pytest.raises(ValueError, match="utils.crypto.sign: the private key is not an RSA key"):
        cipher.sign("rsa", "m", EC_KEYS["256"][0])
    with pytest.raises(ValueError, match="the public key is not a PEM public key"):
        cipher.verify("rsa", "m", RSA_PRIVATE, b"x")


def test_vector_10_decode_the_documented_token() -> None:
    payload = jwt.decode(TOKEN_10, "SuperSecret", False, ["HS512"])
    assert payload == {"sub": "1234567890", "name": "Joe Schmoe", "iat": 1565721223187.0}
    assert type(payload["iat"]) is float  # contract §10: decoded numbers are doubles


def test_vector_11_encode_gives_the_documented_token() -> None:
    claims = {"sub": "1234567890", "name": "Joe Example", "iat": 1565721223187}
    assert jwt.encode("HS512", claims, "SuperSecret") == TOKEN_11
    header = json.loads(base64.urlsafe_b64decode(TOKEN_11.split(".")[0] + "=="))
    assert header == {"alg": "HS512", "typ": "JWT"}


@pytest.mark.parametrize("method", jwt.METHODS)
def test_every_method_round_trips_and_a_wrong_key_fails(method: str) -> None:
    family, bits = method[:2], method[2:]
    if family == "HS":
        sign_key = verify_key = wrong = "secret"
        wrong = "other"
    elif family == "ES":
        sign_key, verify_key = EC_KEYS[bits]
        wrong = EC_KEYS["256" if bits != "256" else "384"][1]
    else:
        sign_key, verify_key = RSA_PRIVATE, RSA_PUBLIC
        wrong = _pems(rsa.generate_private_key(public_exponent=65537, key_size=2048))[1] if bits == "256" else None
    token = jwt.encode(method, {"n": 1, "s": "x"}, sign_key, {"kid": "k1"})
    both = jwt.decode(token, verify_key, True)
    assert both == {"header": {"alg": method, "typ": "JWT", "kid": "k1"}, "payload": {"n": 1.0, "s": "x"}}
    if wrong is not None:
        with pytest.raises(ValueError):
            jwt.decode(token, wrong)


def test_decode_refusals() -> None:
    with pytest.raises(ValueError, match=r"signed with 'HS512', which is not one of the accepted signing methods \['HS256'\]"):
        jwt.decode(TOKEN_10, "SuperSecret", False, ["HS256"])
    with pytest.raises(ValueError, match="utils.jwt.decode: signature is invalid"):
        jwt.decode(TOKEN_10, "wrong")
    none_token = "eyJhbGciOiJub25lIn0.eyJhIjoxfQ."
    with pytest.raises(ValueError, match="signing method 'none' is not supported"):
        jwt.decode(none_token, "")
    with pytest.raises(ValueError, match="a token has three parts separated by '.', this one has 2"):
        jwt.decode("a.b", "k")
    expired = jwt.encode("HS256", {"exp": 100}, "k")
    with pytest.raises(ValueError, match="token is expired"):
        jwt.decode(expired, "k")
    assert jwt.decode(expired, "k", now=lambda: 99.0) == {"exp": 100.0}
    early = jwt.encode("HS256", {"nbf": 100}, "k")
    with pytest.raises(ValueError, match="token is not valid yet"):
        jwt.decode(early, "k", now=lambda: 99.0)
    with pytest.raises(ValueError, match="the signing method must be one of HS256"):
        jwt.encode("none", {}, "k")
    with pytest.raises(TypeError, match="the payload must be an object"):
        jwt.encode("HS256", [1], "k")


# --- the same functions from JavaScript (issue 11 §3: each engine only binds the calls) ----------

def test_the_vectors_from_javascript() -> None:
    """§9 #9–#11 through the JS engine's `utils` (runtime/values/guest_utils.py, bound by the bridge)."""
    from tests.javascript.harness import run

    ran = run(f'''exports = () => {{
      const plain = utils.crypto.decrypt("aes", BSON.Binary.fromBase64("{AES_CIPHERTEXT}"), "{AES_KEY}");
      const decoded = utils.jwt.decode("{TOKEN_10}", "SuperSecret", false, ["HS512"]);
      const encoded = utils.jwt.encode("HS512", {{sub: "1234567890", name: "Joe Example", iat: 1565721223187}}, "SuperSecret");
      const signature = utils.crypto.sign("rsa", "a message", {json.dumps(RSA_PRIVATE)}, "pkcs1v15");
      let refused;
      try {{ utils.crypto.encrypt("des", "x", "k") }} catch (e) {{ refused = e.message }}
      return [plain instanceof BSON.Binary, plain.text(), decoded, encoded,
              utils.crypto.verify("rsa", "a message", {json.dumps(RSA_PUBLIC)}, signature, "pkcs1v15"),
              utils.crypto.verify("rsa", "another", {json.dumps(RSA_PUBLIC)}, signature, "pkcs1v15"), refused];
    }}''')
    plain_is_binary, text, decoded, encoded, verified, forged, refused = ran.json()
    assert (plain_is_binary, text) == (True, "MongoDB is great!")
    assert decoded == {"sub": "1234567890", "name": "Joe Schmoe", "iat": 1565721223187}
    assert encoded == TOKEN_11 and verified is True and forged is False
    with pytest.raises(ValueError) as python_refusal:
        cipher.encrypt("des", "x", "k")
    assert refused == str(python_refusal.value)  # the same rule, the same words
