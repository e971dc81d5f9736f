"""The profiles' declarations (`core/profiles.py`) say what the profiles really do: every
algorithm a profile declares signs and verifies with a key of the kind it names, and with
no other kind; the formats are the contract's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bank_adapter.core import profiles
from bank_adapter.core.keys import SigningKey, generate
from bank_adapter.core.signing import VerifyPolicy
from bank_adapter.core.wire import WireRequest
from bank_adapter.errors import AdapterError

NOW = datetime(2026, 3, 1, tzinfo=UTC)
KINDS = ("RSA", "EC-P256", "Ed25519")
KEYS = {kind: SigningKey(f"k-{kind}", generate(kind)) for kind in KINDS}
BODIES = {
    "json": b'{"a": 1}',
    "xml": b'<?xml version="1.0"?>\n<ActivationRequest xmlns="urn:bank-adapter:v1"/>',
}
DECLARED = [
    (name, alg, kind) for name, table in profiles.KEY_KINDS.items() for alg, kind in table.items()
]


def test_the_contracts_profiles_and_formats() -> None:
    assert dict(profiles.FORMATS) == {
        "jws": {"json"}, "xmldsig": {"xml"}, "http-sig": {"json", "xml"},
    }  # fmt: skip
    assert {name: set(table) for name, table in profiles.KEY_KINDS.items()} == {
        "jws": {"RS256", "PS256", "ES256", "EdDSA"},
        "xmldsig": {"RSA-SHA256", "ECDSA-SHA256"},
        "http-sig": {"rsa-pss-sha512", "rsa-v1_5-sha256", "ecdsa-p256-sha256", "ed25519"},
    }
    assert set(profiles.new_profiles()) == set(profiles.FORMATS)


def sign_and_verify(name: str, alg: str, key: SigningKey) -> None:
    profile = profiles.new_profiles()[name]
    fmt = min(profiles.FORMATS[name])
    content_type = f"application/{fmt}"
    extra = (("X-Partner-Id", "BANK"),)
    signed = profile.sign_request(
        "POST", "/v1/activations", content_type, BODIES[fmt], extra, key, alg, NOW
    )
    headers = {name.lower(): value for name, value in (*signed.headers, *extra)}
    headers["content-type"] = content_type
    request = WireRequest("POST", "/v1/activations", headers, signed.body)
    profile.verify_request(request, VerifyPolicy({key.kid: key.public}, frozenset({alg}), NOW))


@pytest.mark.parametrize(("name", "alg", "kind"), DECLARED)
def test_each_declared_algorithm_works_with_its_key_kind(name: str, alg: str, kind: str) -> None:
    sign_and_verify(name, alg, KEYS[kind])


@pytest.mark.parametrize(("name", "alg", "kind"), DECLARED)
def test_each_declared_algorithm_refuses_the_other_key_kinds(
    name: str, alg: str, kind: str
) -> None:
    for other in set(KINDS) - {kind}:
        with pytest.raises((ValueError, AdapterError)):
            sign_and_verify(name, alg, KEYS[other])


def test_algorithm_names_do_not_overlap_across_profiles() -> None:
    assert len({alg for _, alg, _ in DECLARED}) == len(DECLARED)
    assert profiles.key_kind_for("PS256") == "RSA"
    with pytest.raises(KeyError):
        profiles.key_kind_for("HS256")
