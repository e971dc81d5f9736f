"""The `jws` profile: one test per rejection reason, round trips, and independent checks
(openssl over the exact signing input, joserfc as another JOSE implementation)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jws as joserfc_jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import ECKey, RSAKey
from joserfc.registry import HeaderParameter

from bank_adapter.core.jws import SIGNATURE_HEADER, JwsProfile, adapter_algorithm
from bank_adapter.core.keys import (
    PrivateKeyObject,
    PublicKey,
    SigningKey,
    jwk,
    private_pem,
    public_pem,
)
from bank_adapter.core.signing import VerifyPolicy
from bank_adapter.core.wire import WireRequest
from bank_adapter.errors import AdapterError, Code
from tests.keyring import partner_keys, partner_policy, quick_key

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
PATH = "/v1/payments"
BODY = b'{"messageId":"8f0b6c5e-3c1e-4f7e-9a57-0c8f2b1d4e6a","amount":"650.00"}'
ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
KIND_OF = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC-P256", "EdDSA": "Ed25519"}
PROFILE = JwsProfile()


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    return partner_keys()


def _policy(
    keys: Mapping[str, SigningKey],
    algorithms: frozenset[str] = frozenset(ALGORITHMS),
    now: datetime = NOW,
    not_after: datetime | None = None,
) -> VerifyPolicy:
    return partner_policy(keys, algorithms, now, not_after)


def _key_for(keys: Mapping[str, SigningKey], alg: str) -> SigningKey:
    return keys[KIND_OF[alg]]


def _signed(key: SigningKey, alg: str, body: bytes = BODY, path: str = PATH) -> str:
    signed = PROFILE.sign_request(
        "POST", path, "application/json", body, (("X-Partner-Id", "RJHI"),), key, alg, NOW
    )
    assert signed.body == body
    assert [name for name, _ in signed.headers] == [SIGNATURE_HEADER]
    return signed.headers[0][1]


def _request(
    signature: str | None, body: bytes = BODY, method: str = "POST", path: str = PATH
) -> WireRequest:
    headers = {"content-type": "application/json", "x-partner-id": "RJHI"}
    if signature is not None:
        headers[SIGNATURE_HEADER.lower()] = signature
    return WireRequest(method, path, headers, body)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _raw_sign(key: PrivateKeyObject, alg: str, data: bytes) -> bytes:
    """Sign as any JOSE implementation would, without the module under test."""
    if isinstance(key, rsa.RSAPrivateKey):
        scheme = (
            padding.PKCS1v15() if alg == "RS256" else padding.PSS(padding.MGF1(hashes.SHA256()), 32)
        )
        return key.sign(data, scheme, hashes.SHA256())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return key.sign(data)


def _forge(header: Mapping[str, Any], key: PrivateKeyObject | None, body: bytes = BODY) -> str:
    """A detached JWS with any protected header, signed by `key` (or unsigned)."""
    protected = _b64(json.dumps(header).encode())
    signing_input = f"{protected}.{_b64(body)}".encode()
    signature = b"" if key is None else _raw_sign(key, str(header.get("alg")), signing_input)
    return f"{protected}..{_b64(signature)}"


def _request_header(key: SigningKey, alg: str, **changes: Any) -> dict[str, Any]:
    return {"alg": alg, "kid": key.kid, "htm": "POST", "htu": PATH, **changes}


def _code(request: WireRequest, policy: VerifyPolicy) -> Code:
    with pytest.raises(AdapterError) as caught:
        PROFILE.verify_request(request, policy)
    return caught.value.code


# --- what verifies ----------------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_a_request_signed_with_each_algorithm_verifies(
    keys: dict[str, SigningKey], alg: str
) -> None:
    key = _key_for(keys, alg)
    verified = PROFILE.verify_request(_request(_signed(key, alg)), _policy(keys))
    assert verified.body == BODY
    assert verified.kid == key.kid
    assert verified.xml_root is None


@pytest.mark.parametrize("kind", ["RSA", "EC-P256", "Ed25519"])
def test_a_response_carries_alg_and_kid_only_and_verifies(
    keys: dict[str, SigningKey], kind: str
) -> None:
    key = keys[kind]
    signed = PROFILE.sign_response(200, "application/json", BODY, key, NOW)
    ((name, value),) = signed.headers
    assert name == SIGNATURE_HEADER
    assert json.loads(_unb64(value.split(".")[0])) == {
        "alg": adapter_algorithm(key),
        "kid": key.kid,
    }
    verified = PROFILE.verify_response(200, {"X-JWS-Signature": value}, BODY, _policy(keys))
    assert verified.kid == key.kid


def test_the_adapter_algorithm_follows_the_key_kind(keys: dict[str, SigningKey]) -> None:
    assert adapter_algorithm(keys["EC-P256"]) == "ES256"
    assert adapter_algorithm(keys["RSA"]) == "RS256"
    assert adapter_algorithm(keys["Ed25519"]) == "EdDSA"


def test_ecdsa_signatures_are_raw_r_s_not_der(keys: dict[str, SigningKey]) -> None:
    value = _signed(keys["EC-P256"], "ES256")
    assert len(_unb64(value.split("..")[1])) == 64


def test_an_unknown_header_member_such_as_typ_is_ignored(keys: dict[str, SigningKey]) -> None:
    key = keys["EC-P256"]
    value = _forge(_request_header(key, "ES256", typ="JOSE"), key.private_key)
    assert PROFILE.verify_request(_request(value), _policy(keys)).kid == key.kid


# --- one test per rejection reason ------------------------------------------------------


def test_missing_signature(keys: dict[str, SigningKey]) -> None:
    assert _code(_request(None), _policy(keys)) is Code.SIGNATURE_MISSING


def test_empty_signature_header_counts_as_missing(keys: dict[str, SigningKey]) -> None:
    assert _code(_request(""), _policy(keys)) is Code.SIGNATURE_MISSING


def test_tampered_body(keys: dict[str, SigningKey]) -> None:
    value = _signed(keys["EC-P256"], "ES256")
    tampered = BODY.replace(b"650.00", b"065.00")
    assert _code(_request(value, body=tampered), _policy(keys)) is Code.SIGNATURE_INVALID


def test_unknown_kid(keys: dict[str, SigningKey]) -> None:
    key = SigningKey("rjhi-unknown", keys["EC-P256"].private_key)
    assert _code(_request(_signed(key, "ES256")), _policy(keys)) is Code.UNKNOWN_KEY


def test_missing_kid(keys: dict[str, SigningKey]) -> None:
    key = keys["EC-P256"]
    header = {"alg": "ES256", "htm": "POST", "htu": PATH}
    assert _code(_request(_forge(header, key.private_key)), _policy(keys)) is Code.UNKNOWN_KEY


def test_key_of_another_partner(keys: dict[str, SigningKey]) -> None:
    assert _code(_request(_signed(keys["other"], "ES256")), _policy(keys)) is Code.UNKNOWN_KEY


def test_another_partner_claiming_this_partners_kid(keys: dict[str, SigningKey]) -> None:
    impostor = SigningKey(keys["EC-P256"].kid, keys["other"].private_key)
    assert _code(_request(_signed(impostor, "ES256")), _policy(keys)) is Code.SIGNATURE_INVALID


def test_expired_key(keys: dict[str, SigningKey]) -> None:
    policy = _policy(keys, not_after=NOW - timedelta(seconds=1))
    assert _code(_request(_signed(keys["EC-P256"], "ES256")), policy) is Code.UNKNOWN_KEY


@pytest.mark.parametrize("allowed", [frozenset(ALGORITHMS), frozenset({*ALGORITHMS, "none"})])
def test_alg_none_is_refused_even_if_a_policy_lists_it(
    keys: dict[str, SigningKey], allowed: frozenset[str]
) -> None:
    value = _forge(_request_header(keys["EC-P256"], "none"), None)
    assert _code(_request(value), _policy(keys, allowed)) is Code.ALGORITHM_NOT_ALLOWED


@pytest.mark.parametrize("allowed", [frozenset(ALGORITHMS), frozenset({*ALGORITHMS, "HS256"})])
def test_hs256_keyed_with_the_public_key_is_refused(
    keys: dict[str, SigningKey], allowed: frozenset[str]
) -> None:
    # The classic confusion attack: HMAC with the partner's published public key as secret.
    key = keys["RSA"]
    protected = _b64(json.dumps(_request_header(key, "HS256")).encode())
    secret = public_pem(key.private_key.public_key())
    mac = hmac.new(secret, f"{protected}.{_b64(BODY)}".encode(), hashlib.sha256).digest()
    value = f"{protected}..{_b64(mac)}"
    assert _code(_request(value), _policy(keys, allowed)) is Code.ALGORITHM_NOT_ALLOWED


def test_algorithm_outside_the_partners_list(keys: dict[str, SigningKey]) -> None:
    value = _signed(keys["EC-P256"], "ES256")
    policy = _policy(keys, frozenset({"RS256"}))
    assert _code(_request(value), policy) is Code.ALGORITHM_NOT_ALLOWED


def test_alg_missing(keys: dict[str, SigningKey]) -> None:
    header = {"kid": keys["EC-P256"].kid, "htm": "POST", "htu": PATH}
    value = _forge(header, None)
    assert _code(_request(value), _policy(keys)) is Code.ALGORITHM_NOT_ALLOWED


def test_key_type_not_matching_alg(keys: dict[str, SigningKey]) -> None:
    # ES256 is allowed, but the kid names the partner's RSA key.
    header = _request_header(keys["RSA"], "ES256")
    value = _forge(header, keys["EC-P256"].private_key)
    assert _code(_request(value), _policy(keys)) is Code.SIGNATURE_INVALID


def test_wrong_htu(keys: dict[str, SigningKey]) -> None:
    value = _signed(keys["EC-P256"], "ES256", path="/v1/payments/reversal")
    assert _code(_request(value), _policy(keys)) is Code.SIGNATURE_INVALID


def test_wrong_htm(keys: dict[str, SigningKey]) -> None:
    value = _signed(keys["EC-P256"], "ES256")
    assert _code(_request(value, method="PUT"), _policy(keys)) is Code.SIGNATURE_INVALID


@pytest.mark.parametrize("member", ["htm", "htu"])
def test_request_without_htm_or_htu(keys: dict[str, SigningKey], member: str) -> None:
    key = keys["EC-P256"]
    header = _request_header(key, "ES256")
    del header[member]
    assert _code(_request(_forge(header, key.private_key)), _policy(keys)) is Code.SIGNATURE_INVALID


def test_embedded_jwk_is_never_used_to_verify(keys: dict[str, SigningKey]) -> None:
    # An attacker signs with its own key, embeds that key, and names the partner's kid.
    attacker = quick_key("EC-P256")
    embedded = jwk(PublicKey("attacker", attacker.public_key()))
    header = _request_header(
        keys["EC-P256"], "ES256", jwk=embedded, jku="https://evil.example/jwks"
    )
    assert _code(_request(_forge(header, attacker)), _policy(keys)) is Code.SIGNATURE_INVALID


def test_embedded_jwk_without_kid_finds_no_key(keys: dict[str, SigningKey]) -> None:
    attacker = quick_key("EC-P256")
    embedded = jwk(PublicKey("attacker", attacker.public_key()))
    header = {"alg": "ES256", "htm": "POST", "htu": PATH, "jwk": embedded}
    assert _code(_request(_forge(header, attacker)), _policy(keys)) is Code.UNKNOWN_KEY


def test_attached_jws_is_refused_even_when_valid(keys: dict[str, SigningKey]) -> None:
    protected, signature = _signed(keys["EC-P256"], "ES256").split("..")
    attached = f"{protected}.{_b64(BODY)}.{signature}"
    assert _code(_request(attached), _policy(keys)) is Code.SIGNATURE_INVALID


@pytest.mark.parametrize(
    "mangle",
    [
        lambda p, s: f"{p}..{s}=",  # padding
        lambda p, s: f"{p}..{s[:-2]}+/",  # the standard alphabet, not the URL-safe one
        lambda p, s: f"{p}..{s[:-1]}",  # a length no base64 has
        lambda p, s: f"{p}..{s[:10]} {s[10:]}",  # a space Python's decoder would skip
        lambda p, s: f"{p}..{s[:-1]}\u00e9",  # not ASCII
        lambda p, s: f"{p}.{s}",  # two segments
        lambda p, s: f"{p}...{s}",  # four segments
    ],
)
def test_bad_base64_or_shape(keys: dict[str, SigningKey], mangle: Any) -> None:
    protected, signature = _signed(keys["EC-P256"], "ES256").split("..")
    assert _code(_request(mangle(protected, signature)), _policy(keys)) is Code.SIGNATURE_INVALID


def test_non_canonical_base64_of_the_same_signature(keys: dict[str, SigningKey]) -> None:
    # 64 bytes take 86 characters; the last carries 2 bits and 4 unused ones.
    protected, signature = _signed(keys["EC-P256"], "ES256").split("..")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(signature[-1])
    twin = signature[:-1] + alphabet[last ^ 1]
    assert _unb64(twin) == _unb64(signature)
    assert _code(_request(f"{protected}..{twin}"), _policy(keys)) is Code.SIGNATURE_INVALID


@pytest.mark.parametrize(
    "protected",
    [
        b"not json",
        b'["alg", "ES256"]',
        b'{"alg":"ES256","alg":"none","kid":"rjhi-ec-p256","htm":"POST","htu":"/v1/payments"}',
        b'{"alg":"ES256","kid":"rjhi-ec-p256","htm":"POST","htu":"/v1/payments","crit":["exp"]}',
        b'{"alg":"ES256","kid":"rjhi-ec-p256","htm":"POST","htu":"/v1/payments","b64":false}',
        b'{"alg":"ES256","kid":"\xff"}',
        b"\xff\xfe{}",
    ],
    ids=["not-json", "array", "repeated-member", "crit", "b64-false", "not-utf8", "utf16-bom"],
)
def test_bad_protected_header(keys: dict[str, SigningKey], protected: bytes) -> None:
    segment = _b64(protected)
    signing_input = f"{segment}.{_b64(BODY)}".encode()
    value = f"{segment}..{_b64(_raw_sign(keys['EC-P256'].private_key, 'ES256', signing_input))}"
    assert _code(_request(value), _policy(keys)) is Code.SIGNATURE_INVALID


def test_der_encoded_ecdsa_signature_is_refused(keys: dict[str, SigningKey]) -> None:
    protected, signature = _signed(keys["EC-P256"], "ES256").split("..")
    raw = _unb64(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    value = f"{protected}..{_b64(der)}"
    assert _code(_request(value), _policy(keys)) is Code.SIGNATURE_INVALID


def test_tampered_response(keys: dict[str, SigningKey]) -> None:
    signed = PROFILE.sign_response(200, "application/json", BODY, keys["EC-P256"], NOW)
    with pytest.raises(AdapterError) as caught:
        PROFILE.verify_response(200, dict(signed.headers), BODY + b" ", _policy(keys))
    assert caught.value.code is Code.SIGNATURE_INVALID


def test_unsigned_response(keys: dict[str, SigningKey]) -> None:
    with pytest.raises(AdapterError) as caught:
        PROFILE.verify_response(200, {}, BODY, _policy(keys))
    assert caught.value.code is Code.SIGNATURE_MISSING


@pytest.mark.parametrize(
    ("kind", "alg"), [("EC-P256", "RS256"), ("RSA", "ES256"), ("EC-P256", "HS256")]
)
def test_signing_with_an_alg_the_key_cannot_serve_fails_loudly(
    keys: dict[str, SigningKey], kind: str, alg: str
) -> None:
    with pytest.raises(ValueError, match=r"RSA key|EC P-256 key|cannot sign"):
        _signed(keys[kind], alg)


# --- properties -------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(body=st.binary(max_size=2048), alg=st.sampled_from(ALGORITHMS))
def test_round_trip_for_any_body(keys: dict[str, SigningKey], body: bytes, alg: str) -> None:
    key = _key_for(keys, alg)
    verified = PROFILE.verify_request(_request(_signed(key, alg, body), body=body), _policy(keys))
    assert verified.body == body


@settings(max_examples=60, deadline=None)
@given(data=st.data(), alg=st.sampled_from(ALGORITHMS))
def test_flipping_any_body_byte_fails(keys: dict[str, SigningKey], data: Any, alg: str) -> None:
    value = _signed(_key_for(keys, alg), alg)
    index = data.draw(st.integers(0, len(BODY) - 1))
    flip = data.draw(st.integers(1, 255))
    body = bytearray(BODY)
    body[index] ^= flip
    assert _code(_request(value, body=bytes(body)), _policy(keys)) is Code.SIGNATURE_INVALID


@settings(max_examples=100, deadline=None)
@given(data=st.data(), alg=st.sampled_from(ALGORITHMS))
def test_changing_any_character_of_the_header_fails(
    keys: dict[str, SigningKey], data: Any, alg: str
) -> None:
    value = _signed(_key_for(keys, alg), alg)
    index = data.draw(st.integers(0, len(value) - 1))
    replacement = data.draw(
        st.characters(min_codepoint=0x21, max_codepoint=0x7E).filter(lambda c: c != value[index])
    )
    changed = value[:index] + replacement + value[index + 1 :]
    with pytest.raises(AdapterError):
        PROFILE.verify_request(_request(changed), _policy(keys))


# --- independent implementations ----------------------------------------------------------


def _openssl(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    return subprocess.run([openssl, *map(str, args)], capture_output=True, check=False)


def _der(raw: bytes) -> bytes:
    return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))


def _openssl_verify(key: SigningKey, alg: str, value: str, body: bytes, tmp_path: Path) -> bool:
    """openssl's verdict on a detached JWS, over the signing input it rebuilds itself."""
    protected, signature = value.split("..")
    raw = _unb64(signature)
    (tmp_path / "pub.pem").write_bytes(public_pem(key.private_key.public_key()))
    (tmp_path / "input").write_bytes(f"{protected}.{_b64(body)}".encode())
    (tmp_path / "sig").write_bytes(_der(raw) if alg == "ES256" else raw)
    if alg == "EdDSA":
        result = _openssl(
            "pkeyutl", "-verify", "-pubin", "-inkey", tmp_path / "pub.pem", "-rawin",
            "-in", tmp_path / "input", "-sigfile", tmp_path / "sig",
        )  # fmt: skip
        return result.returncode == 0
    pss = (
        ("-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32")
        if alg == "PS256"
        else ()
    )
    result = _openssl(
        "dgst", "-sha256", *pss, "-verify", tmp_path / "pub.pem",
        "-signature", tmp_path / "sig", tmp_path / "input",
    )  # fmt: skip
    return result.returncode == 0 and b"Verified OK" in result.stdout


@pytest.mark.interop
@pytest.mark.parametrize("alg", ALGORITHMS)
def test_openssl_verifies_adapter_signatures(
    keys: dict[str, SigningKey], alg: str, tmp_path: Path
) -> None:
    key = _key_for(keys, alg)
    assert _openssl_verify(key, alg, _signed(key, alg), BODY, tmp_path)


@pytest.mark.interop
@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_openssl_refuses_a_signature_over_another_body(
    keys: dict[str, SigningKey], alg: str, tmp_path: Path
) -> None:
    key = _key_for(keys, alg)
    assert not _openssl_verify(key, alg, _signed(key, alg), BODY + b" ", tmp_path)


@pytest.mark.interop
def test_an_es256_signature_made_by_openssl_verifies(
    keys: dict[str, SigningKey], tmp_path: Path
) -> None:
    key = keys["EC-P256"]
    protected = _b64(json.dumps(_request_header(key, "ES256")).encode())
    (tmp_path / "key.pem").write_bytes(private_pem(key.private_key))
    (tmp_path / "input").write_bytes(f"{protected}.{_b64(BODY)}".encode())
    result = _openssl("dgst", "-sha256", "-sign", tmp_path / "key.pem", tmp_path / "input")
    assert result.returncode == 0
    r, s = decode_dss_signature(result.stdout)
    value = f"{protected}..{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
    assert PROFILE.verify_request(_request(value), _policy(keys)).kid == key.kid


_JOSERFC_HEADERS = {
    "htm": HeaderParameter("HTTP method", "str"),
    "htu": HeaderParameter("HTTP URI", "str"),
}


def _joserfc_key(key: SigningKey) -> ECKey | RSAKey:
    private = key.private_key
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return ECKey.import_key(private)
    assert isinstance(private, rsa.RSAPrivateKey)
    return RSAKey.import_key(private)


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256"])
def test_joserfc_verifies_adapter_signatures(keys: dict[str, SigningKey], alg: str) -> None:
    key = _key_for(keys, alg)
    registry = joserfc_jws.JWSRegistry(header_registry=_JOSERFC_HEADERS, algorithms=[alg])
    value = _signed(key, alg)
    obj = joserfc_jws.deserialize_compact(value, _joserfc_key(key), registry=registry, payload=BODY)
    assert obj.headers()["htu"] == PATH
    with pytest.raises(BadSignatureError):
        joserfc_jws.deserialize_compact(value, _joserfc_key(key), registry=registry, payload=b"{}")


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256"])
def test_a_detached_jws_made_by_joserfc_verifies(keys: dict[str, SigningKey], alg: str) -> None:
    key = _key_for(keys, alg)
    registry = joserfc_jws.JWSRegistry(header_registry=_JOSERFC_HEADERS, algorithms=[alg])
    header = _request_header(key, alg)
    attached = joserfc_jws.serialize_compact(header, BODY, _joserfc_key(key), registry=registry)
    value = joserfc_jws.detach_content(attached)
    assert PROFILE.verify_request(_request(value), _policy(keys)).kid == key.kid
