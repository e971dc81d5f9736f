"""Raw signature primitives shared by the `jws` and `http-sig` profiles.

Both profiles sign bytes with the same three families; only the names and the RSA
padding differ, so each profile keeps a name table over these objects. ECDSA signatures
are raw r||s of 32 bytes each (RFC 7518 section 3.4, RFC 9421 section 3.3.4), not DER.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from bank_adapter.core.keys import PrivateKeyObject, PublicKey, PublicKeyObject
from bank_adapter.core.signing import VerifyPolicy
from bank_adapter.errors import AdapterError, Code


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


def allowed(alg: object, table: Mapping[str, Algorithm], policy: VerifyPolicy) -> Algorithm:
    """The implementation of `alg` in a profile's `table`, if the partner may use it.

    An `alg` the table lacks (`none`, HMAC, anything unknown) is refused whatever a
    policy says: nothing can fall through to a keyless or shared-secret check.
    """
    if not isinstance(alg, str) or alg not in table:
        raise AdapterError(Code.ALGORITHM_NOT_ALLOWED, f"alg must be one of {', '.join(table)}")
    policy.check_algorithm(alg)
    return table[alg]


def check_fits(alg: object, algorithm: Algorithm, key: PublicKey) -> None:
    """`key` is of the kind `algorithm` signs with, else SIGNATURE_INVALID."""
    if key.kind != algorithm.key_kind:
        raise AdapterError(
            Code.SIGNATURE_INVALID,
            f"key {key.kid} is an {key.kind} key, {alg} needs {algorithm.key_kind}",
        )
