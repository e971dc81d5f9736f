"""Key objects, parsed once at start-up and handed around as objects, never as PEM.

Loading a private key from PEM costs milliseconds (OpenSSL checks it); signing with an
already-loaded key costs microseconds. Nothing on the request path parses a key.

Weak keys are refused at load, whoever supplies them: RSA under 2048 bits, with a public
exponent under 65537 (e = 3 invites the low-exponent attacks on PKCS #1 v1.5; an even one
does not even load), or with an even modulus (no product of two odd primes). A
certificate's validity bounds the key it carries (`KeyMaterial.not_before`/`not_after`):
a certificate that expired is a key past its `not_after`, answered UNKNOWN_KEY, never
trusted for ever.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

PublicKeyObject = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
PrivateKeyObject = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


MIN_RSA_BITS = 2048
MIN_RSA_EXPONENT = 65537


class KeyFormatError(ValueError):
    """A PEM that is not a supported public/private key or certificate."""


@dataclass(frozen=True, slots=True)
class PublicKey:
    kid: str
    key: PublicKeyObject
    not_after: datetime | None = None
    not_before: datetime | None = None

    def usable_at(self, now: datetime) -> bool:
        started = self.not_before is None or self.not_before <= now
        return started and (self.not_after is None or now < self.not_after)

    @property
    def kind(self) -> str:
        return key_kind(self.key)

    def pem(self) -> str:
        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private_key: PrivateKeyObject

    @property
    def public(self) -> PublicKey:
        return PublicKey(self.kid, self.private_key.public_key())

    @property
    def kind(self) -> str:
        return key_kind(self.private_key.public_key())


def key_kind(key: PublicKeyObject) -> str:
    """'RSA', 'EC-P256' or 'Ed25519': what decides which algorithms a key can serve."""
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA"
    if isinstance(key, ec.EllipticCurvePublicKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise KeyFormatError(f"EC curve {key.curve.name} is not supported (P-256 only)")
        return "EC-P256"
    return "Ed25519"


@dataclass(frozen=True, slots=True)
class KeyMaterial:
    """A public key as read from a PEM, with the validity of its certificate, if any."""

    key: PublicKeyObject
    not_before: datetime | None = None
    not_after: datetime | None = None


def load_public_pem(data: bytes) -> PublicKeyObject:
    """A SubjectPublicKeyInfo PEM or an X.509 certificate PEM (its key is used)."""
    return read_public_pem(data).key


def read_public_pem(data: bytes) -> KeyMaterial:
    """The key of a SubjectPublicKeyInfo or X.509 certificate PEM, with the certificate's
    validity; KeyFormatError for anything else or a weak key."""
    certificate: x509.Certificate | None = None
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            certificate = x509.load_pem_x509_certificate(data)
            key: object = certificate.public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise KeyFormatError(f"not a public key or certificate PEM: {exc}") from exc
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise KeyFormatError(f"unsupported key type {type(key).__name__}")
    check_strength(key)
    if certificate is None:
        return KeyMaterial(key)
    return KeyMaterial(key, certificate.not_valid_before_utc, certificate.not_valid_after_utc)


def check_strength(key: PublicKeyObject) -> None:
    """KeyFormatError for a key no partner or adapter may use (see the module's doc)."""
    key_kind(key)
    if not isinstance(key, rsa.RSAPublicKey):
        return
    numbers = key.public_numbers()
    if key.key_size < MIN_RSA_BITS:
        raise KeyFormatError(
            f"RSA key of {key.key_size} bits is too short ({MIN_RSA_BITS} at least)"
        )
    if numbers.e < MIN_RSA_EXPONENT:  # an even one cryptography refuses to load at all
        raise KeyFormatError(
            f"RSA public exponent {numbers.e} is refused ({MIN_RSA_EXPONENT} at least)"
        )
    if numbers.n % 2 == 0:
        raise KeyFormatError("RSA modulus is even: not a product of two primes")


def load_private_pem(data: bytes) -> PrivateKeyObject:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFormatError(f"not an unencrypted private key PEM: {exc}") from exc
    if not isinstance(
        key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
    ):
        raise KeyFormatError(f"unsupported key type {type(key).__name__}")
    check_strength(key.public_key())
    return key


def generate(kind: str) -> PrivateKeyObject:
    """A fresh key pair of kind 'EC-P256' (recommended), 'RSA' (3072 bits) or 'Ed25519'."""
    if kind == "EC-P256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "RSA":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    if kind == "Ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise KeyFormatError(f"unknown key kind {kind!r} (EC-P256, RSA or Ed25519)")


def private_pem(key: PrivateKeyObject) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def public_pem(key: PublicKeyObject) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uint(n: int, size: int | None = None) -> str:
    length = size if size is not None else max(1, (n.bit_length() + 7) // 8)
    return _b64u(n.to_bytes(length, "big"))


def jwk(public: PublicKey) -> dict[str, str]:
    """RFC 7517 JWK of a public key, with `kid` and the contract's extra `pem` member."""
    key = public.key
    entry: dict[str, str]
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        entry = {"kty": "RSA", "n": _uint(numbers.n), "e": _uint(numbers.e)}
    elif isinstance(key, ec.EllipticCurvePublicKey):
        numbers_ec = key.public_numbers()
        entry = {
            "kty": "EC",
            "crv": "P-256",
            "x": _uint(numbers_ec.x, 32),
            "y": _uint(numbers_ec.y, 32),
        }
    else:
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        entry = {"kty": "OKP", "crv": "Ed25519", "x": _b64u(raw)}
    entry["kid"] = public.kid
    entry["use"] = "sig"
    entry["pem"] = public.pem()
    if public.not_after is not None:
        entry["not_after"] = public.not_after.isoformat().replace("+00:00", "Z")
    return entry
