"""Raw signature primitives shared by the `jws` and `http-sig` profiles.

Both profiles sign bytes with the same three families; only the names and the RSA
padding differ, so each profile keeps a name table over these objects. ECDSA signatures
are raw r||s of 32 bytes each (RFC 7518 section 3.4, RFC 9421 section 3.3.4), not DER.
"""

from __future__ import annotations

from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from bank_adapter.core.keys import PrivateKeyObject, PublicKeyObject


class Algorithm(Protocol):
    key_kind: str

    def sign(self, key: PrivateKeyObject, data: bytes) -> bytes: ...

    def verify(self, key: PublicKeyObject, signature: bytes, data: bytes) -> bool: ...


class Rsa:
    key_kind = "RSA"

    def __init__(self, scheme: padding.AsymmetricPadding, digest: hashes.HashAlgorithm) -> None:
        self._padding = scheme
        self._digest = digest

    def sign(self, key: PrivateKeyObject, data: bytes) -> bytes:
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("this algorithm needs an RSA key")
        return key.sign(data, self._padding, self._digest)

    def verify(self, key: PublicKeyObject, signature: bytes, data: bytes) -> bool:
        if not isinstance(key, rsa.RSAPublicKey):
            return False
        try:
            key.verify(signature, data, self._padding, self._digest)
        except InvalidSignature:
            return False
        return True


class EcdsaP256:
    """ECDSA P-256 with SHA-256, raw r||s signatures."""

    key_kind = "EC-P256"
    _ecdsa = ec.ECDSA(hashes.SHA256())

    def sign(self, key: PrivateKeyObject, data: bytes) -> bytes:
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("this algorithm needs an EC P-256 key")
        r, s = decode_dss_signature(key.sign(data, self._ecdsa))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def verify(self, key: PublicKeyObject, signature: bytes, data: bytes) -> bool:
        if not isinstance(key, ec.EllipticCurvePublicKey) or len(signature) != 64:
            return False
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        try:
            key.verify(encode_dss_signature(r, s), data, self._ecdsa)
        except InvalidSignature:
            return False
        return True


class Ed25519:
    key_kind = "Ed25519"

    def sign(self, key: PrivateKeyObject, data: bytes) -> bytes:
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise ValueError("this algorithm needs an Ed25519 key")
        return key.sign(data)

    def verify(self, key: PublicKeyObject, signature: bytes, data: bytes) -> bool:
        if not isinstance(key, ed25519.Ed25519PublicKey):
            return False
        try:
            key.verify(signature, data)
        except InvalidSignature:
            return False
        return True
