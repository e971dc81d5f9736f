"""A bank's side of its partner file: who it is, its format, profile, key and algorithm.

The signature profiles are loaded on first use, so a JSON bank never imports the XML
stack (lxml, xmlsec): that comes with the `xml` extra of the client distribution.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from bank_adapter.core.keys import SigningKey, load_private_pem
from bank_adapter.core.signing import SignatureProfile

CONTENT_TYPES = {"json": "application/json", "xml": "application/xml"}
# The adapter answers with its own key; any algorithm its key kind allows is accepted.
RESPONSE_ALGORITHMS = frozenset(
    {"ES256", "RS256", "PS256", "EdDSA", "RSA-SHA256", "ECDSA-SHA256"}
    | {"ecdsa-p256-sha256", "rsa-pss-sha512", "rsa-v1_5-sha256", "ed25519"}
)
XML_EXTRA_MISSING = (
    "XML support needs lxml and xmlsec: pip install 'bank-adapter-client[xml]'"
    " (the full bank-adapter distribution has them)"
)


@dataclass(frozen=True, slots=True)
class PartnerConfig:
    partner_id: str
    format: str  # "json" or "xml"
    signature: str  # "jws", "xmldsig" or "http-sig"
    key: SigningKey
    algorithm: str

    @classmethod
    def from_key_file(
        cls,
        partner_id: str,
        *,
        format: str,
        signature: str,
        algorithm: str,
        kid: str,
        key_file: Path | str,
    ) -> PartnerConfig:
        """The settings of the bank's partner file, with its private key read from PEM."""
        key = SigningKey(kid, load_private_pem(Path(key_file).read_bytes()))
        return cls(partner_id, format, signature, key, algorithm)

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]


@functools.cache
def profile_for(name: str) -> SignatureProfile:
    """The signature profile `name` ("jws", "http-sig" or "xmldsig"), imported on demand."""
    if name == "jws":
        from bank_adapter.core.jws import JwsProfile

        return JwsProfile()
    if name == "http-sig":
        from bank_adapter.core.httpsig import HttpSigProfile

        return HttpSigProfile()
    if name == "xmldsig":
        try:
            from bank_adapter.core.xmldsig import XmlDsigProfile
        except ImportError as exc:
            raise ImportError(XML_EXTRA_MISSING) from exc
        return XmlDsigProfile()
    raise ValueError(f"unknown signature profile {name!r} (jws, http-sig or xmldsig)")
