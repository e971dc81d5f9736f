"""The `http-sig` profile: one test per rejection reason, round trips, RFC 9421 appendix B
vectors, and independent checks (the `http-message-signatures` library both ways, openssl
over the signature base)."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    algorithms,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from bank_adapter.core.httpsig import (
    REQUEST_COMPONENTS,
    RESPONSE_COMPONENTS,
    HttpSigProfile,
    adapter_algorithm,
    signature_base,
)
from bank_adapter.core.keys import (
    PrivateKeyObject,
    PublicKeyObject,
    SigningKey,
    public_pem,
)
from bank_adapter.core.signing import VerifyPolicy
from bank_adapter.core.wire import WireRequest
from bank_adapter.errors import AdapterError, Code
from tests.keyring import partner_keys, partner_policy

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
CREATED = int(NOW.timestamp())
PATH = "/v1/payments"
BODY = b'{"messageId":"8f0b6c5e-3c1e-4f7e-9a57-0c8f2b1d4e6a","amount":"650.00"}'
ALGORITHMS = ("rsa-pss-sha512", "rsa-v1_5-sha256", "ecdsa-p256-sha256", "ed25519")
KIND_OF = {
    "rsa-pss-sha512": "RSA",
    "rsa-v1_5-sha256": "RSA",
    "ecdsa-p256-sha256": "EC-P256",
    "ed25519": "Ed25519",
}
PROFILE = HttpSigProfile()
CONTRACT_IDS = tuple(f'"{name}"' for name in REQUEST_COMPONENTS)


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


def _signed(
    key: SigningKey, alg: str, body: bytes = BODY, now: datetime = NOW, partner: str = "RJHI"
) -> WireRequest:
    """A request as a bank sends it: Content-Type and X-Partner-Id plus the signature fields."""
    signed = PROFILE.sign_request(
        "POST", PATH, "application/json", body, (("X-Partner-Id", partner),), key, alg, now
    )
    assert signed.body == body
    headers = {"content-type": "application/json", "x-partner-id": partner}
    headers.update((name.lower(), value) for name, value in signed.headers)
    return WireRequest("POST", PATH, headers, body)


def _with(request: WireRequest, **headers: str | None) -> WireRequest:
    """The request with headers replaced (name_with_underscores) or removed (None)."""
    changed = dict(request.headers)
    for name, value in headers.items():
        changed.pop(name.replace("_", "-"), None)
        if value is not None:
            changed[name.replace("_", "-")] = value
    return replace(request, headers=changed)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _raw_sign(key: PrivateKeyObject, alg: str, data: bytes) -> bytes:
    """Sign as RFC 9421 section 3.3 says, without the module under test."""
    if isinstance(key, rsa.RSAPrivateKey):
        if alg == "rsa-pss-sha512":
            return key.sign(data, padding.PSS(padding.MGF1(hashes.SHA512()), 64), hashes.SHA512())
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return key.sign(data)


def _base(request: WireRequest, ids: Sequence[str], inner: str) -> bytes:
    """The signature base, built here independently: `ids` are serialised component ids."""
    values = {"@method": request.method, "@path": request.path, **request.headers}
    lines = [f"{cid}: {values[cid.split(chr(34))[1]]}" for cid in ids]
    return "\n".join([*lines, f'"@signature-params": {inner}']).encode("ascii")


def _forge(
    request: WireRequest,
    key: SigningKey,
    alg: str,
    *,
    ids: Sequence[str] = CONTRACT_IDS,
    params: str | None = None,
    label: str = "sig1",
) -> WireRequest:
    """Re-sign `request` with any component list, parameters and label."""
    params = f';created={CREATED};keyid="{key.kid}";alg="{alg}"' if params is None else params
    inner = f"({' '.join(ids)}){params}"
    signature = _raw_sign(key.private_key, alg, _base(request, ids, inner))
    return _with(
        request, signature_input=f"{label}={inner}", signature=f"{label}=:{_b64(signature)}:"
    )


def _code(request: WireRequest, policy: VerifyPolicy) -> Code:
    with pytest.raises(AdapterError) as caught:
        PROFILE.verify_request(request, policy)
    return caught.value.code


def _digest(body: bytes, algorithm: str = "sha-256") -> str:
    return f"{algorithm}=:{_b64(hashlib.new(algorithm.replace('-', ''), body).digest())}:"


# --- what verifies ----------------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_a_request_signed_with_each_algorithm_verifies(
    keys: dict[str, SigningKey], alg: str
) -> None:
    key = _key_for(keys, alg)
    verified = PROFILE.verify_request(_signed(key, alg), _policy(keys))
    assert verified.body == BODY
    assert verified.kid == key.kid


def test_sign_request_adds_exactly_the_three_fields(keys: dict[str, SigningKey]) -> None:
    key = keys["EC-P256"]
    signed = PROFILE.sign_request(
        "POST", PATH, "application/json", BODY, (("x-partner-id", "RJHI"),), key,
        "ecdsa-p256-sha256", NOW,
    )  # fmt: skip
    headers = dict(signed.headers)
    assert list(headers) == ["Content-Digest", "Signature-Input", "Signature"]
    assert headers["Content-Digest"] == _digest(BODY)
    assert headers["Signature-Input"] == (
        'sig1=("@method" "@path" "content-type" "content-digest" "x-partner-id")'
        f';created={CREATED};keyid="rjhi-ec-p256";alg="ecdsa-p256-sha256"'
    )


@pytest.mark.parametrize("kind", ["RSA", "EC-P256", "Ed25519"])
def test_a_response_verifies(keys: dict[str, SigningKey], kind: str) -> None:
    key = keys[kind]
    signed = PROFILE.sign_response(200, "application/json", BODY, key, NOW)
    headers = {"Content-Type": "application/json", **dict(signed.headers)}
    assert headers["Signature-Input"].startswith(
        'sig1=("@status" "content-type" "content-digest");'
    )
    assert f'alg="{adapter_algorithm(key)}"' in headers["Signature-Input"]
    assert PROFILE.verify_response(200, headers, BODY, _policy(keys)).kid == key.kid


def test_the_adapter_algorithm_follows_the_key_kind(keys: dict[str, SigningKey]) -> None:
    assert adapter_algorithm(keys["EC-P256"]) == "ecdsa-p256-sha256"
    assert adapter_algorithm(keys["RSA"]) == "rsa-pss-sha512"
    assert adapter_algorithm(keys["Ed25519"]) == "ed25519"


def test_components_may_come_in_any_order(keys: dict[str, SigningKey]) -> None:
    key = keys["EC-P256"]
    ids = tuple(f'"{name}"' for name in reversed(REQUEST_COMPONENTS))
    request = _forge(_signed(key, "ecdsa-p256-sha256"), key, "ecdsa-p256-sha256", ids=ids)
    assert PROFILE.verify_request(request, _policy(keys)).kid == key.kid


def test_the_parameters_are_reserialised_not_copied(keys: dict[str, SigningKey]) -> None:
    # RFC 9421 section 2.3: the base carries the serialisation of the parsed parameters,
    # so optional whitespace a sender's library left in the field does not matter.
    request = _signed(keys["EC-P256"], "ecdsa-p256-sha256")
    spaced = request.headers["signature-input"].replace("(", "(  ").replace('" "', '"   "')
    assert PROFILE.verify_request(_with(request, signature_input=spaced), _policy(keys))


def test_field_values_are_trimmed(keys: dict[str, SigningKey]) -> None:
    request = _with(
        _signed(keys["EC-P256"], "ecdsa-p256-sha256"), content_type=" application/json\t"
    )
    assert PROFILE.verify_request(request, _policy(keys))


def test_signatures_under_other_labels_are_ignored(keys: dict[str, SigningKey]) -> None:
    request = _signed(keys["EC-P256"], "ecdsa-p256-sha256")
    request = _with(
        request,
        signature_input=request.headers["signature-input"] + ', proxy=("@method");created=1',
        signature=request.headers["signature"] + ", proxy=:AAAA:",
    )
    assert PROFILE.verify_request(request, _policy(keys))


def test_an_old_created_is_accepted_freshness_is_the_timestamps_job(
    keys: dict[str, SigningKey],
) -> None:
    request = _signed(keys["EC-P256"], "ecdsa-p256-sha256", now=NOW - timedelta(days=7))
    assert PROFILE.verify_request(request, _policy(keys))


def test_a_created_slightly_ahead_is_tolerated(keys: dict[str, SigningKey]) -> None:
    request = _signed(keys["EC-P256"], "ecdsa-p256-sha256", now=NOW + timedelta(seconds=290))
    assert PROFILE.verify_request(request, _policy(keys))


def test_optional_standard_parameters_are_accepted(keys: dict[str, SigningKey]) -> None:
    key = keys["EC-P256"]
    params = (
        f';created={CREATED};expires={CREATED + 60};nonce="n-1";tag="bank";'
        f'keyid="{key.kid}";alg="ecdsa-p256-sha256"'
    )
    request = _forge(_signed(key, "ecdsa-p256-sha256"), key, "ecdsa-p256-sha256", params=params)
    assert PROFILE.verify_request(request, _policy(keys))


# --- one test per rejection reason ------------------------------------------------------


def test_missing_signature(keys: dict[str, SigningKey]) -> None:
    request = _with(_signed(keys["EC-P256"], "ecdsa-p256-sha256"), signature=None)
    assert _code(request, _policy(keys)) is Code.SIGNATURE_MISSING


def test_missing_signature_input(keys: dict[str, SigningKey]) -> None:
    request = _with(_signed(keys["EC-P256"], "ecdsa-p256-sha256"), signature_input=None)
    assert _code(request, _policy(keys)) is Code.SIGNATURE_MISSING


def test_missing_digest(keys: dict[str, SigningKey]) -> None:
    request = _with(_signed(keys["EC-P256"], "ecdsa-p256-sha256"), content_digest=None)
    assert _code(request, _policy(keys)) is Code.SIGNATURE_INVALID


def test_wrong_digest_even_if_signed(keys: dict[str, SigningKey]) -> None:
    key = keys["EC-P256"]
    request = _with(_signed(key, "ecdsa-p256-sha256"), content_digest=_digest(b"{}"))
    request = _forge(request, key, "ecdsa-p256-sha256")
    assert _code(request, _policy(keys)) is Code.SIGNATURE_INVALID


def test_digest_without_sha256_member(keys: dict[str, SigningKey]) -> None:
    key = keys["EC-P256"]
    request = _with(_signed(key, "ecdsa-p256-sha256"), content_digest=_digest(BODY, "sha-512"))
    request = _forge(request, key, "ecdsa-p256-sha256")
    assert _code(request, _policy(keys)) is Code.SIGNATURE_INVALID


def test_malformed_digest(keys: dict[str, SigningKey]) -> None:
    request = _with(_signed(keys["EC-P256"], "ecdsa-p256-sha256"), content_digest="sha-256=abc")
    assert _code(request, _policy(keys)) is Code.SIGNATURE_INVALID


def test_tampered_body(keys: dict[str, SigningKey]) -> None:
    request = _signed(keys["EC-P256"], "ecdsa-p256-sha256")
    tampered = replace(request, body=BODY.replace(b"650.00", b"065.00"))
    assert _code(tampered, _policy(keys)) is Code.SIGNATURE_INVALID


def test_covered_components_missing_x_partner_id(keys: dict[str, SigningKey]) -> None:
    key = keys["EC-P256"]
    ids = tuple(f'"{name}"' for name in REQUEST_COMPONENTS if name != "x-partner-id")
    request = _forge(_signed(key, "ecdsa-p256-sha256"), key, "ecdsa-p256-sha256", ids=ids)
    assert _code(request, _policy(keys)) is Code.SIGNATURE_INVALID


def test_covered_components_with_one_more(keys: dict[str, SigningKey]) -> None:
    key = keys["EC-P256"]
    request = _with(_signed(key, "ecdsa-p256-sha256"), date="Sun, 01 Mar 2026 09:30:00 GMT")
    ids = (*CONTRACT_IDS, '"date"')
    assert _code(_forge(request, key, "ecdsa-p256-sha256", ids=ids), _policy(keys)) is (
        Code.SIGNATURE_INVALID
    )


def test_covered_component_repeated(keys: dict[str, SigningKey]) -> None:
    key = keys["EC-P256"]
    ids = (*CONTRACT_IDS, '"@method"')
    request = _forge(_signed(key, "ecdsa-p256-sha256"), key, "ecdsa-p256-sha256", ids=ids)
    assert _code(request, _policy(keys)) is Code.SIGNATURE_INVALID


def test_covered_component_with_a_parameter(keys: dict[str, SigningKey]) -> None:
    key = keys["EC-P256"]
    ids = tuple(
        f'"{name}";sf' if name == "content-digest" else f'"{name}"' for name in REQUEST_COMPONENTS
    )
    request = _forge(_signed(key, "ecdsa-p256-sha256"), key, "ecdsa-p256-sha256", ids=ids)
    assert _code(request, _policy(keys)) is Code.SIGNATURE_INVALID


def test_wrong_label(keys: dict[str, SigningKey]) -> None:
    key = keys["EC-P256"]
    request = _forge(_signed(key, "ecdsa-p256-sha256"), key, "ecdsa-p256-sha256", label="sig2")
    assert _code(request, _policy(keys)) is Code.SIGNATURE_INVALID


def test_repeated_label(keys: dict[str, SigningKey]) -> None:
    request = _signed(keys["EC-P256"], "ecdsa-p256-sha256")
    doubled = f"{request.headers['signature']}, {request.headers['signature']}"
    assert _code(_with(request, signature=doubled), _policy(keys)) is Code.SIGNATURE_INVALID


@pytest.mark.parametrize(
    "value",
    [
        'sig1=("@method" "@path"',
        "sig1",
        'sig1=("@method";created=1',
        "sig1=:AAAA:",
        "sig1=(@method)",
    ],
)
def test_malformed_signature_input(keys: dict[str, SigningKey], value: str) -> None:
    request = _with(_signed(keys["EC-P256"], "ecdsa-p256-sha256"), signature_input=value)
    assert _code(request, _policy(keys)) is Code.SIGNATURE_INVALID


@pytest.mark.parametrize("value", ['sig1="AAAA"', "sig1=(:AAAA:)", "sig1=:not base64:", "sig1=?1"])
def test_signature_not_a_byte_sequence(keys: dict[str, SigningKey], value: str) -> None:
    request = _with(_signed(keys["EC-P256"], "ecdsa-p256-sha256"), signature=value)
    assert _code(request, _policy(keys)) is Code.SIGNATURE_INVALID


@pytest.mark.parametrize("alg", ["hmac-sha256", "ecdsa-p384-sha384", "ES256"])
def test_wrong_alg_param(keys: dict[str, SigningKey], alg: str) -> None:
    key = keys["EC-P256"]
    params = f';created={CREATED};keyid="{key.kid}";alg="{alg}"'
    request = _forge(_signed(key, "ecdsa-p256-sha256"), key, "ecdsa-p256-sha256", params=params)
    assert _code(request, _policy(keys)) is Code.ALGORITHM_NOT_ALLOWED


def test_alg_param_as_token_not_string(keys: dict[str, SigningKey]) -> None:
    key = keys["EC-P256"]
    params = f';created={CREATED};keyid="{key.kid}";alg=ecdsa-p256-sha256'
    request = _forge(_signed(key, "ecdsa-p256-sha256"), key, "ecdsa-p256-sha256", params=params)
    assert _code(request, _policy(keys)) is Code.ALGORITHM_NOT_ALLOWED


def test_algorithm_outside_the_partners_list(keys: dict[str, SigningKey]) -> None:
    request = _signed(keys["RSA"], "rsa-pss-sha512")
    policy = _policy(keys, frozenset({"ecdsa-p256-sha256"}))
    assert _code(request, policy) is Code.ALGORITHM_NOT_ALLOWED


def test_alg_not_matching_the_key_type(keys: dict[str, SigningKey]) -> None:
    key = keys["EC-P256"]
    params = f';created={CREATED};keyid="{key.kid}";alg="ed25519"'
    request = _forge(_signed(key, "ecdsa-p256-sha256"), key, "ecdsa-p256-sha256", params=params)
    assert _code(request, _policy(keys)) is Code.SIGNATURE_INVALID


@pytest.mark.parametrize(
    "params",
    [
        ';keyid="rjhi-ec-p256";alg="ecdsa-p256-sha256"',
        f';created={CREATED};alg="ecdsa-p256-sha256"',
        f';created={CREATED};keyid="rjhi-ec-p256"',
        f';created={CREATED};keyid="rjhi-ec-p256";alg="ecdsa-p256-sha256";context="x"',
        f';created={CREATED};created={CREATED};keyid="rjhi-ec-p256";alg="ecdsa-p256-sha256"',
    ],
    ids=["no-created", "no-keyid", "no-alg", "unknown-parameter", "repeated-parameter"],
)
def test_signature_parameters_not_the_contracts(keys: dict[str, SigningKey], params: str) -> None:
    key = keys["EC-P256"]
    request = _forge(_signed(key, "ecdsa-p256-sha256"), key, "ecdsa-p256-sha256", params=params)
    assert _code(request, _policy(keys)) is Code.SIGNATURE_INVALID


@pytest.mark.parametrize("created", [f"{CREATED + 301}", "?1", "1.5", '"now"'])
def test_created_in_the_future_or_not_an_integer(keys: dict[str, SigningKey], created: str) -> None:
    key = keys["EC-P256"]
    params = f';created={created};keyid="{key.kid}";alg="ecdsa-p256-sha256"'
    request = _forge(_signed(key, "ecdsa-p256-sha256"), key, "ecdsa-p256-sha256", params=params)
    assert _code(request, _policy(keys)) is Code.SIGNATURE_INVALID


def test_expired_signature(keys: dict[str, SigningKey]) -> None:
    key = keys["EC-P256"]
    params = f';created={CREATED - 60};expires={CREATED};keyid="{key.kid}";alg="ecdsa-p256-sha256"'
    request = _forge(_signed(key, "ecdsa-p256-sha256"), key, "ecdsa-p256-sha256", params=params)
    assert _code(request, _policy(keys)) is Code.SIGNATURE_INVALID


def test_unknown_keyid(keys: dict[str, SigningKey]) -> None:
    key = SigningKey("rjhi-unknown", keys["EC-P256"].private_key)
    assert _code(_signed(key, "ecdsa-p256-sha256"), _policy(keys)) is Code.UNKNOWN_KEY


def test_key_of_another_partner(keys: dict[str, SigningKey]) -> None:
    assert _code(_signed(keys["other"], "ecdsa-p256-sha256"), _policy(keys)) is Code.UNKNOWN_KEY


def test_another_partner_claiming_this_partners_keyid(keys: dict[str, SigningKey]) -> None:
    impostor = SigningKey(keys["EC-P256"].kid, keys["other"].private_key)
    assert _code(_signed(impostor, "ecdsa-p256-sha256"), _policy(keys)) is Code.SIGNATURE_INVALID


def test_expired_key(keys: dict[str, SigningKey]) -> None:
    policy = _policy(keys, not_after=NOW - timedelta(seconds=1))
    assert _code(_signed(keys["EC-P256"], "ecdsa-p256-sha256"), policy) is Code.UNKNOWN_KEY


def test_tampered_path(keys: dict[str, SigningKey]) -> None:
    request = replace(_signed(keys["EC-P256"], "ecdsa-p256-sha256"), path="/v1/payments/reversal")
    assert _code(request, _policy(keys)) is Code.SIGNATURE_INVALID


def test_tampered_method(keys: dict[str, SigningKey]) -> None:
    request = replace(_signed(keys["EC-P256"], "ecdsa-p256-sha256"), method="PUT")
    assert _code(request, _policy(keys)) is Code.SIGNATURE_INVALID


@pytest.mark.parametrize(
    ("name", "value"), [("x_partner_id", "NCBK"), ("content_type", "application/xml")]
)
def test_tampered_covered_header(keys: dict[str, SigningKey], name: str, value: str) -> None:
    request = _with(_signed(keys["EC-P256"], "ecdsa-p256-sha256"), **{name: value})
    assert _code(request, _policy(keys)) is Code.SIGNATURE_INVALID


@pytest.mark.parametrize("name", ["x_partner_id", "content_type"])
def test_covered_header_absent(keys: dict[str, SigningKey], name: str) -> None:
    request = _with(_signed(keys["EC-P256"], "ecdsa-p256-sha256"), **{name: None})
    assert _code(request, _policy(keys)) is Code.SIGNATURE_INVALID


def test_tampered_response_status(keys: dict[str, SigningKey]) -> None:
    signed = PROFILE.sign_response(200, "application/json", BODY, keys["EC-P256"], NOW)
    headers = {"content-type": "application/json", **dict(signed.headers)}
    with pytest.raises(AdapterError) as caught:
        PROFILE.verify_response(201, headers, BODY, _policy(keys))
    assert caught.value.code is Code.SIGNATURE_INVALID


def test_a_request_signature_does_not_pass_as_a_response(keys: dict[str, SigningKey]) -> None:
    request = _signed(keys["EC-P256"], "ecdsa-p256-sha256")
    with pytest.raises(AdapterError) as caught:
        PROFILE.verify_response(200, request.headers, BODY, _policy(keys))
    assert caught.value.code is Code.SIGNATURE_INVALID


def test_signing_a_request_without_x_partner_id_fails_loudly(keys: dict[str, SigningKey]) -> None:
    with pytest.raises(ValueError, match="x-partner-id"):
        PROFILE.sign_request(
            "POST", PATH, "application/json", BODY, (), keys["EC-P256"], "ecdsa-p256-sha256", NOW
        )


@pytest.mark.parametrize(("kind", "alg"), [("EC-P256", "ed25519"), ("RSA", "ES256")])
def test_signing_with_an_alg_the_key_cannot_serve_fails_loudly(
    keys: dict[str, SigningKey], kind: str, alg: str
) -> None:
    with pytest.raises(ValueError, match=r"Ed25519 key|cannot sign"):
        _signed(keys[kind], alg)


# --- properties -------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(body=st.binary(max_size=2048), alg=st.sampled_from(ALGORITHMS))
def test_round_trip_for_any_body(keys: dict[str, SigningKey], body: bytes, alg: str) -> None:
    verified = PROFILE.verify_request(_signed(_key_for(keys, alg), alg, body), _policy(keys))
    assert verified.body == body


@settings(max_examples=60, deadline=None)
@given(data=st.data(), alg=st.sampled_from(ALGORITHMS))
def test_flipping_any_body_byte_fails(keys: dict[str, SigningKey], data: Any, alg: str) -> None:
    request = _signed(_key_for(keys, alg), alg)
    body = bytearray(BODY)
    body[data.draw(st.integers(0, len(BODY) - 1))] ^= data.draw(st.integers(1, 255))
    assert _code(replace(request, body=bytes(body)), _policy(keys)) is Code.SIGNATURE_INVALID


@settings(max_examples=60, deadline=None)
@given(data=st.data(), alg=st.sampled_from(ALGORITHMS))
def test_flipping_any_signature_byte_fails(
    keys: dict[str, SigningKey], data: Any, alg: str
) -> None:
    # Bytes, not characters: RFC 8941 has parsers accept unused base64 bits, so two
    # spellings of one byte sequence are the same signature by design.
    request = _signed(_key_for(keys, alg), alg)
    signature = bytearray(base64.b64decode(request.headers["signature"].split(":")[1]))
    signature[data.draw(st.integers(0, len(signature) - 1))] ^= data.draw(st.integers(1, 255))
    changed = _with(request, signature=f"sig1=:{_b64(bytes(signature))}:")
    assert _code(changed, _policy(keys)) is Code.SIGNATURE_INVALID


# --- RFC 9421 appendix B --------------------------------------------------------------------

# Appendix B.1.4 test-key-ed25519 and B.1.3 test-key-ecc-p256 (public), published test keys.
RFC_ED25519_PRIVATE = b"""-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----
"""
RFC_ECC_P256_PUBLIC = b"""-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lf
w0EkjqF7xB4FivAxzic30tMM4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==
-----END PUBLIC KEY-----
"""


def test_rfc9421_b26_base_and_ed25519_signature_reproduce_exactly() -> None:
    params = (
        '("date" "@method" "@path" "@authority" "content-type" "content-length")'
        ';created=1618884473;keyid="test-key-ed25519"'
    )
    components = [
        ("date", "Tue, 20 Apr 2021 02:07:55 GMT"),
        ("@method", "POST"),
        ("@path", "/foo"),
        ("@authority", "example.com"),
        ("content-type", "application/json"),
        ("content-length", "18"),
    ]
    base = signature_base(components, params)
    assert base == (
        b'"date": Tue, 20 Apr 2021 02:07:55 GMT\n"@method": POST\n"@path": /foo\n'
        b'"@authority": example.com\n"content-type": application/json\n"content-length": 18\n'
        b'"@signature-params": ' + params.encode()
    )
    key = serialization.load_pem_private_key(RFC_ED25519_PRIVATE, password=None)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    assert _b64(key.sign(base)) == (
        "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw=="
    )


def test_rfc9421_b24_response_base_verifies_the_published_ecdsa_signature() -> None:
    params = (
        '("@status" "content-type" "content-digest" "content-length")'
        ';created=1618884473;keyid="test-key-ecc-p256"'
    )
    digest = (
        "sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l"
        "5aGgfLQ==:"
    )
    base = signature_base(
        [("@status", "200"), ("content-type", "application/json"), ("content-digest", digest),
         ("content-length", "23")],
        params,
    )  # fmt: skip
    raw = base64.b64decode(
        "wNmSUAhwb5LxtOtOpNa6W5xj067m5hFrj0XQ4fvpaCLx0NKocgPquLgyahnzDnDAUy5eCdlYUEkLIj+32oiasw=="
    )
    key = serialization.load_pem_public_key(RFC_ECC_P256_PUBLIC)
    assert isinstance(key, ec.EllipticCurvePublicKey)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key.verify(der, base, ec.ECDSA(hashes.SHA256()))  # raises if the base differs by a byte


def test_signature_base_refuses_non_ascii() -> None:
    with pytest.raises(ValueError, match="ascii"):
        signature_base([("x-partner-id", "RJHÏ")], '("x-partner-id")')


# --- another RFC 9421 implementation: http-message-signatures ---------------------------------

LIBRARY_ALGORITHMS = {
    "rsa-pss-sha512": algorithms.RSA_PSS_SHA512,
    "rsa-v1_5-sha256": algorithms.RSA_V1_5_SHA256,
    "ecdsa-p256-sha256": algorithms.ECDSA_P256_SHA256,
    "ed25519": algorithms.ED25519,
}


@dataclass
class _LibraryRequest:
    """The message shape the library reads; it needs an absolute URL."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _LibraryKeys(HTTPSignatureKeyResolver):
    private: PrivateKeyObject
    kid: str

    def resolve_public_key(self, key_id: str) -> PublicKeyObject | None:
        return self.private.public_key() if key_id == self.kid else None

    def resolve_private_key(self, key_id: str) -> PrivateKeyObject:
        return self.private


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_the_library_verifies_adapter_signed_requests(
    keys: dict[str, SigningKey], alg: str
) -> None:
    key = _key_for(keys, alg)
    now = datetime.now(UTC)  # the library judges `created` by the wall clock
    request = _signed(key, alg, now=now)
    message = _LibraryRequest("POST", f"http://adapter.test{PATH}", dict(request.headers))
    verifier = HTTPMessageVerifier(
        signature_algorithm=LIBRARY_ALGORITHMS[alg],
        key_resolver=_LibraryKeys(key.private_key, key.kid),
    )
    (result,) = verifier.verify(message, require_components=REQUEST_COMPONENTS, body=BODY)
    assert result.label == "sig1"
    assert result.body == BODY


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_requests_signed_by_the_library_verify(keys: dict[str, SigningKey], alg: str) -> None:
    key = _key_for(keys, alg)
    message = _LibraryRequest(
        "POST", f"http://adapter.test{PATH}",
        {"Content-Type": "application/json", "X-Partner-Id": "RJHI"},
    )  # fmt: skip
    signer = HTTPMessageSigner(
        signature_algorithm=LIBRARY_ALGORITHMS[alg],
        key_resolver=_LibraryKeys(key.private_key, key.kid),
    )
    signer.sign(
        message, key_id=key.kid, label="sig1", covered_component_ids=REQUEST_COMPONENTS, body=BODY
    )
    headers = {name.lower(): value for name, value in message.headers.items()}
    request = WireRequest("POST", PATH, headers, BODY)
    assert PROFILE.verify_request(request, _policy(keys, now=datetime.now(UTC))).kid == key.kid


@dataclass
class _LibraryResponse:
    status_code: int
    headers: dict[str, str]


def test_the_library_verifies_adapter_signed_responses(keys: dict[str, SigningKey]) -> None:
    key = keys["EC-P256"]
    signed = PROFILE.sign_response(404, "application/problem+json", BODY, key, datetime.now(UTC))
    message = _LibraryResponse(
        404, {"Content-Type": "application/problem+json", **dict(signed.headers)}
    )
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.ECDSA_P256_SHA256,
        key_resolver=_LibraryKeys(key.private_key, key.kid),
    )
    (result,) = verifier.verify(message, require_components=RESPONSE_COMPONENTS, body=BODY)
    assert result.body == BODY


# --- openssl over the signature base -------------------------------------------------------


def _openssl_verify(key: SigningKey, alg: str, request: WireRequest, tmp_path: Path) -> bool:
    """openssl's verdict on a request's signature, over a base this test rebuilds itself."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    inner = request.headers["signature-input"].removeprefix("sig1=")
    base = _base(request, CONTRACT_IDS, inner)
    raw = base64.b64decode(request.headers["signature"].split(":")[1])
    if alg == "ecdsa-p256-sha256":
        raw = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    files = {"pub": tmp_path / "pub.pem", "base": tmp_path / "base", "sig": tmp_path / "sig"}
    files["pub"].write_bytes(public_pem(key.private_key.public_key()))
    files["base"].write_bytes(base)
    files["sig"].write_bytes(raw)
    if alg == "ed25519":
        args = ["pkeyutl", "-verify", "-pubin", "-inkey", files["pub"], "-rawin",
                "-in", files["base"], "-sigfile", files["sig"]]  # fmt: skip
    else:
        digest = "-sha512" if alg == "rsa-pss-sha512" else "-sha256"
        pss = ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:64"]
        args = ["dgst", digest, *(pss if alg == "rsa-pss-sha512" else []),
                "-verify", files["pub"], "-signature", files["sig"], files["base"]]  # fmt: skip
    result = subprocess.run([openssl, *map(str, args)], capture_output=True, check=False)
    return result.returncode == 0


@pytest.mark.interop
@pytest.mark.parametrize("alg", ALGORITHMS)
def test_openssl_verifies_adapter_signatures(
    keys: dict[str, SigningKey], alg: str, tmp_path: Path
) -> None:
    key = _key_for(keys, alg)
    assert _openssl_verify(key, alg, _signed(key, alg), tmp_path)


@pytest.mark.interop
def test_openssl_refuses_a_signature_over_another_path(
    keys: dict[str, SigningKey], tmp_path: Path
) -> None:
    key = keys["EC-P256"]
    request = replace(_signed(key, "ecdsa-p256-sha256"), path="/v1/payments/reversal")
    assert not _openssl_verify(key, "ecdsa-p256-sha256", request, tmp_path)
