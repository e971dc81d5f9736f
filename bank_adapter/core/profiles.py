"""The signature profiles of the contract (section 2), and what they declare, gathered.

Each profile class says once which formats it can carry and which algorithms it knows,
with the key kind each needs; the partner files' checks, the runtime and the sandbox read
these tables from here rather than keeping their own copies.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from bank_adapter.core.httpsig import HttpSigProfile
from bank_adapter.core.jws import JwsProfile
from bank_adapter.core.signing import SignatureProfile
from bank_adapter.core.xmldsig import XmlDsigProfile

PROFILE_TYPES: Final = (JwsProfile, XmlDsigProfile, HttpSigProfile)

# Profile name -> the formats ("json", "xml") it can sign.
FORMATS: Final[Mapping[str, frozenset[str]]] = MappingProxyType(
    {profile.name: profile.formats for profile in PROFILE_TYPES}
)
# Profile name -> {algorithm name -> key kind}.
KEY_KINDS: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {profile.name: profile.key_kinds for profile in PROFILE_TYPES}
)


def new_profiles() -> dict[str, SignatureProfile]:
    """One instance of each profile, by name (each keeps its own key caches)."""
    return {profile.name: profile() for profile in PROFILE_TYPES}


def key_kind_for(algorithm: str) -> str:
    """The key kind `algorithm` needs, whatever the profile (the names do not overlap)."""
    for kinds in KEY_KINDS.values():
        if algorithm in kinds:
            return kinds[algorithm]
    raise KeyError(algorithm)
