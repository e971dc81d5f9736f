"""Self-signed X.509 certificates for tests, built with cryptography's x509 builder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from bank_adapter.core.keys import PrivateKeyObject


def self_signed(
    key: PrivateKeyObject,
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    name: str = "test bank signing",
) -> x509.Certificate:
    """Valid from yesterday for a year unless told otherwise."""
    now = datetime.now(UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(days=1))
        .not_valid_after(not_after or now + timedelta(days=365))
        .sign(key, None if _is_ed25519(key) else hashes.SHA256())
    )


def certificate_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _is_ed25519(key: PrivateKeyObject) -> bool:
    return type(key).__name__.startswith("Ed25519")
