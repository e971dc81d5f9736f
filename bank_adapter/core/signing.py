"""The seam every signature profile plugs into (`jws`, `xmldsig`, `http-sig`).

A profile verifies a partner's request against that partner's registered keys only and
returns what was verified; it signs the adapter's responses. The mirror operations
(sign a request, verify a response) serve the bank-side SDK and the tests.

Failures raise `AdapterError` with SIGNATURE_MISSING, SIGNATURE_INVALID, UNKNOWN_KEY,
ALGORITHM_NOT_ALLOWED or MALFORMED_MESSAGE (bytes that do not parse, DTDs, entities).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from bank_adapter.core.keys import PublicKey, SigningKey
from bank_adapter.core.wire import Headers, WireRequest

if TYPE_CHECKING:
    # Only the XML profiles fill `xml_root`; a JSON-only client never loads lxml.
    from lxml import etree


@dataclass(frozen=True, slots=True)
class VerifyPolicy:
    """Who may sign: the partner's keys (by kid) and the algorithms it is allowed."""

    keys: Mapping[str, PublicKey]
    algorithms: frozenset[str]
    now: datetime

    def key_for(self, kid: str | None) -> PublicKey:
        """The registered, unexpired key `kid`, or UNKNOWN_KEY."""
        from bank_adapter.errors import AdapterError, Code

        key = self.keys.get(kid) if kid else None
        if key is None or not key.usable_at(self.now):
            raise AdapterError(
                Code.UNKNOWN_KEY, "the signing key is not registered for this partner"
            )
        return key

    def check_algorithm(self, alg: str | None) -> str:
        from bank_adapter.errors import AdapterError, Code

        if alg is None or alg not in self.algorithms:
            raise AdapterError(
                Code.ALGORITHM_NOT_ALLOWED, f"algorithm {alg!r} is not allowed for this partner"
            )
        return alg


@dataclass(frozen=True, slots=True)
class Verified:
    """What the signature covered, and nothing else.

    `body` is the exact verified bytes. For XML profiles `xml_root` is the parsed root of
    that same document (parsed once, hardened), whose `ds:Signature`, if any, has been
    checked; downstream code decodes from it and never re-reads the raw request.
    """

    body: bytes
    kid: str
    xml_root: etree._Element | None = None


@dataclass(frozen=True, slots=True)
class Signed:
    """A message ready to send: body (changed only by enveloped signatures) plus headers."""

    body: bytes
    headers: Headers


class SignatureProfile(Protocol):
    """A profile also declares, once, the formats it can carry and the algorithms it knows
    with the key kind each needs (`core.profiles` gathers them for the whole service)."""

    name: str
    formats: frozenset[str]
    key_kinds: Mapping[str, str]  # algorithm name -> "RSA", "EC-P256" or "Ed25519"

    def verify_request(self, request: WireRequest, policy: VerifyPolicy) -> Verified: ...

    def sign_response(
        self, status: int, content_type: str, body: bytes, key: SigningKey, now: datetime
    ) -> Signed: ...

    def sign_request(
        self,
        method: str,
        path: str,
        content_type: str,
        body: bytes,
        extra_headers: Headers,
        key: SigningKey,
        alg: str,
        now: datetime,
    ) -> Signed: ...

    def verify_response(
        self,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        policy: VerifyPolicy,
    ) -> Verified: ...
