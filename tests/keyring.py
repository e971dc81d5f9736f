"""Keys for signature-profile tests: a partner's key of every kind, and a stranger's."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from bank_adapter.core.keys import PrivateKeyObject, PublicKey, SigningKey
from bank_adapter.core.signing import VerifyPolicy

KINDS = ("RSA", "EC-P256", "Ed25519")


def quick_key(kind: str) -> PrivateKeyObject:
    if kind == "RSA":  # 2048 bits: the shortest the adapter accepts, and quick to make
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "EC-P256":
        return ec.generate_private_key(ec.SECP256R1())
    return ed25519.Ed25519PrivateKey.generate()


def partner_keys() -> dict[str, SigningKey]:
    """RJHI's key of each kind (by kind), and another partner's EC key ("other")."""
    made = {kind: SigningKey(f"rjhi-{kind.lower()}", quick_key(kind)) for kind in KINDS}
    made["other"] = SigningKey("ncbk-ec-p256", quick_key("EC-P256"))
    return made


def partner_policy(
    keys: Mapping[str, SigningKey],
    algorithms: Iterable[str],
    now: datetime,
    not_after: datetime | None = None,
) -> VerifyPolicy:
    """RJHI's policy: its own keys, never the other partner's."""
    registered = {
        key.kid: PublicKey(key.kid, key.private_key.public_key(), not_after)
        for name, key in keys.items()
        if name != "other"
    }
    return VerifyPolicy(registered, frozenset(algorithms), now)
