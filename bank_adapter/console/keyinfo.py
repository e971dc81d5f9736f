"""When each partner key stops being usable: its `not_after`, and, for a key given as an
X.509 certificate, the certificate's own end of validity, whichever comes first.

The partner loader keeps only the key of a certificate, so the certificate dates are
read here, once at start-up, from the same files (`[[keys]] public_key`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from cryptography import x509

from bank_adapter.partners import Partner

WARN_DAYS: Final = 30
_CERTIFICATE: Final = b"-----BEGIN CERTIFICATE-----"


@dataclass(frozen=True, slots=True)
class KeyExpiry:
    kid: str
    kind: str
    not_after: datetime | None  # from the partner file
    certificate_not_after: datetime | None

    @property
    def expires(self) -> datetime | None:
        dates = [d for d in (self.not_after, self.certificate_not_after) if d is not None]
        return min(dates) if dates else None

    def days_left(self, now: datetime) -> int | None:
        expires = self.expires
        return None if expires is None else (expires - now).days

    def warning(self, now: datetime) -> str | None:
        """ "expired", "expiring" (within WARN_DAYS) or None."""
        days = self.days_left(now)
        if days is None or days > WARN_DAYS:
            return None
        return "expired" if self.expires is not None and self.expires <= now else "expiring"


def key_expiries(directory: Path, partners: Mapping[str, Partner]) -> dict[str, list[KeyExpiry]]:
    certificates = {pid: _certificate_dates(directory / f"{pid}.toml") for pid in partners}
    return {
        pid: [
            KeyExpiry(kid, key.kind, key.not_after, certificates[pid].get(kid))
            for kid, key in partner.keys.items()
        ]
        for pid, partner in partners.items()
    }


def _certificate_dates(path: Path) -> dict[str, datetime]:
    """kid -> the certificate's notAfter, for the keys of `path` given as certificates.
    The file was loaded successfully at start-up; anything unreadable now is skipped."""
    try:
        entries = tomllib.loads(path.read_text(encoding="utf-8")).get("keys", [])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    dates = {}
    for entry in entries:
        try:
            pem = (path.parent / entry["public_key"]).read_bytes()
            if _CERTIFICATE in pem:
                certificate = x509.load_pem_x509_certificate(pem)
                dates[str(entry["kid"])] = certificate.not_valid_after_utc
        except (OSError, KeyError, TypeError, ValueError):
            continue
    return dates
