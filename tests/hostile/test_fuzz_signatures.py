"""Property: a random or mutated signed message put to any of the three profiles gets a
contract 4xx code (or verifies, when the change left what is signed intact), never
another exception and never a hang: body bytes, each signature header, and the headers
of the other profiles, mutated byte by byte or replaced by any text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bank_adapter.core import profiles
from bank_adapter.core.keys import SigningKey, generate
from bank_adapter.core.signing import VerifyPolicy
from bank_adapter.core.wire import WireRequest
from bank_adapter.errors import AdapterError, Code
from tests.hostile.fuzz import FUZZ, mutated

NOW = datetime(2026, 1, 31, 6, 30, tzinfo=UTC)
PATH = "/v1/payments"
SIGNATURE_CODES = {
    Code.SIGNATURE_MISSING, Code.SIGNATURE_INVALID, Code.UNKNOWN_KEY,
    Code.ALGORITHM_NOT_ALLOWED, Code.MALFORMED_MESSAGE,
}  # fmt: skip
BODIES = {
    "json": b'{"messageId":"6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b","amount":"650.00"}',
    "xml": b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<PaymentNotification xmlns="urn:bank-adapter:v1">'
    b"<MessageId>6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b</MessageId><Amount>650.00</Amount>"
    b"</PaymentNotification>",
}
# One signer per profile, format and key kind worth telling apart.
SIGNERS = [
    ("jws", "json", "ES256", "EC-P256"),
    ("jws", "json", "PS256", "RSA"),
    ("xmldsig", "xml", "ECDSA-SHA256", "EC-P256"),
    ("xmldsig", "xml", "RSA-SHA256", "RSA"),
    ("http-sig", "json", "ed25519", "Ed25519"),
    ("http-sig", "xml", "rsa-pss-sha512", "RSA"),
]
KEYS = {kind: SigningKey(f"bank-{kind}", generate(kind)) for kind in ("EC-P256", "RSA", "Ed25519")}
PROFILES = profiles.new_profiles()
HEADER_NAMES = ["x-jws-signature", "signature", "signature-input", "content-digest"]


def signed_request(name: str, fmt: str, alg: str, kind: str) -> WireRequest:
    extra = (("X-Partner-Id", "BANK"),)
    content_type = f"application/{fmt}"
    signed = PROFILES[name].sign_request(
        "POST", PATH, content_type, BODIES[fmt], extra, KEYS[kind], alg, NOW
    )
    headers = {key.lower(): value for key, value in (*signed.headers, *extra)}
    return WireRequest("POST", PATH, headers | {"content-type": content_type}, signed.body)


REQUESTS = {signer: signed_request(*signer) for signer in SIGNERS}


def code_of(name: str, request: WireRequest, alg: str) -> Code | None:
    key = KEYS[profiles.key_kind_for(alg)]
    policy = VerifyPolicy({key.kid: key.public}, frozenset({alg}), NOW)
    try:
        PROFILES[name].verify_request(request, policy)
    except AdapterError as refused:
        return refused.code
    return None


def verdict(
    signer: tuple[str, str, str, str], change: Callable[[WireRequest], WireRequest]
) -> None:
    name, _, alg, _ = signer
    assert code_of(name, change(REQUESTS[signer]), alg) in {None, *SIGNATURE_CODES}


@pytest.mark.parametrize("signer", SIGNERS)
def test_the_genuine_requests_verify(signer: tuple[str, str, str, str]) -> None:
    assert code_of(signer[0], REQUESTS[signer], signer[2]) is None


@pytest.mark.parametrize("signer", SIGNERS)
@FUZZ
@given(data=st.data())
def test_mutated_bodies(signer: tuple[str, str, str, str], data: st.DataObject) -> None:
    body = data.draw(mutated(REQUESTS[signer].body))

    def change(request: WireRequest) -> WireRequest:
        return WireRequest(request.method, request.path, request.headers, body)

    verdict(signer, change)
    if body != REQUESTS[signer].body and signer[1] == "json":
        # Bodies signed as raw bytes: any change at all is caught.
        assert code_of(signer[0], change(REQUESTS[signer]), signer[2]) is not None


@pytest.mark.parametrize("signer", SIGNERS)
@FUZZ
@given(data=st.data())
def test_mutated_signature_headers(signer: tuple[str, str, str, str], data: st.DataObject) -> None:
    request = REQUESTS[signer]
    present = [name for name in HEADER_NAMES if name in request.headers]
    if not present:  # xmldsig: the signature is in the body
        return
    name = data.draw(st.sampled_from(present))
    raw = request.headers[name].encode("latin-1")
    value = data.draw(mutated(raw)).decode("latin-1")

    def change(original: WireRequest) -> WireRequest:
        return WireRequest(
            original.method, original.path, original.headers | {name: value}, original.body
        )

    verdict(signer, change)


@pytest.mark.parametrize("signer", SIGNERS)
@FUZZ
@given(
    headers=st.dictionaries(
        st.sampled_from([*HEADER_NAMES, "content-type", "x-partner-id"]),
        st.text(max_size=300),
        max_size=4,
    )
)
def test_any_text_in_any_signature_header(
    signer: tuple[str, str, str, str], headers: dict[str, str]
) -> None:
    def change(original: WireRequest) -> WireRequest:
        return WireRequest(
            original.method, original.path, original.headers | headers, original.body
        )

    verdict(signer, change)


@pytest.mark.parametrize("signer", SIGNERS)
@FUZZ
@given(body=st.binary(max_size=1024), path=st.sampled_from([PATH, "/v1/payments/status", "/%70"]))
def test_random_bodies_and_paths(signer: tuple[str, str, str, str], body: bytes, path: str) -> None:
    def change(original: WireRequest) -> WireRequest:
        return WireRequest(original.method, path, original.headers, body)

    verdict(signer, change)
