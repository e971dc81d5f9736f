"""The adapter's own signing key must serve every profile: EC P-256 or RSA 2048+."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from bank_adapter.core.keys import generate, private_pem
from bank_adapter.settings import SettingsError
from bank_adapter.web.runtime import load_signing_key


def weak_rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 1024)  # noqa: S505 - the weak key being refused


@pytest.mark.parametrize(
    ("name", "make", "accepted"),
    [
        ("ec", lambda: generate("EC-P256"), True),
        ("rsa3072", lambda: generate("RSA"), True),
        ("ed25519", lambda: generate("Ed25519"), False),  # XML-DSig cannot answer with it
        ("rsa1024", lambda: weak_rsa(), False),
    ],
)
def test_adapter_signing_key_kinds(settings, tmp_path, name, make, accepted):
    path = tmp_path / f"{name}.pem"
    path.write_bytes(private_pem(make()))
    configured = dataclasses.replace(settings, signing_key_file=path)
    if accepted:
        assert load_signing_key(configured).kid == configured.signing_kid
    else:
        with pytest.raises(SettingsError, match=r"^BANK_ADAPTER_SIGNING_KEY: .*(EC P-256|2048)"):
            load_signing_key(configured)
