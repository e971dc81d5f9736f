"""Partner policy: one frozen object per `partners/<ID>.toml`, built once at start-up.

A file that cannot be used stops start-up with a message naming the file and the field,
so a typo never turns into a bank that silently cannot sign in.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeGuard

from bank_adapter.core import profiles
from bank_adapter.core.keys import KeyFormatError, PublicKey, key_kind, read_public_pem

CHANNELS = frozenset({"APP", "WEB", "IVR", "ATM", "KIOSK"})
FORMATS = {"json": "application/json", "xml": "application/xml"}
_ID = re.compile(r"^[A-Z]{4}$")
_KNOWN_FIELDS = {
    "id", "name", "format", "signature", "channels", "algorithms",
    "strong_auth_channels", "cutoff", "suspended", "keys", "rate_limit", "sandbox",
}  # fmt: skip
_KEY_FIELDS = {"kid", "public_key", "not_after"}
_RATE_LIMIT_FIELDS = {"requests_per_second", "burst"}


class PartnerConfigError(ValueError):
    """A partner file that cannot be used; the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    requests_per_second: float
    burst: int


@dataclass(frozen=True, slots=True)
class Partner:
    id: str
    name: str
    format: str  # "json" or "xml"
    signature: str  # "jws", "xmldsig" or "http-sig"
    channels: frozenset[str]
    algorithms: frozenset[str]
    strong_auth_channels: frozenset[str]
    cutoff: time
    suspended: bool
    keys: Mapping[str, PublicKey]
    rate_limit: RateLimit | None = None

    @property
    def content_type(self) -> str:
        return FORMATS[self.format]


def load_partners(directory: Path, *, sandbox: bool) -> dict[str, Partner]:
    """Every `<ID>.toml` in `directory`, by id.

    A file marked `sandbox = true` (its keys are public test keys) is refused unless the
    service runs in sandbox mode, so test keys can never sign real traffic.
    """
    try:
        paths = sorted(path for path in directory.iterdir() if path.suffix == ".toml")
    except OSError as exc:
        raise PartnerConfigError(
            f"{directory}: cannot read the partners directory ({exc.strerror}); "
            "BANK_ADAPTER_PARTNERS_DIR names it (one <ID>.toml per bank)"
        ) from exc
    partners: dict[str, Partner] = {}
    for path in paths:
        partner = load_partner(path, sandbox=sandbox)
        partners[partner.id] = partner
    return partners


def load_partner(path: Path, *, sandbox: bool) -> Partner:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PartnerConfigError(f"{path}: cannot read: {exc}") from exc
    reader = _Reader(path, data)
    if reader.boolean("sandbox", False) and not sandbox:
        raise reader.fail(
            "sandbox",
            "a sandbox partner (test keys) outside sandbox mode; to try the sandbox, set "
            "BANK_ADAPTER_SANDBOX=1 (scripts/sandbox does, and leaves var/sandbox.toml for "
            "the other commands); in production, remove this file from the partners directory",
        )
    return reader.partner()


class _Reader:
    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data

    def fail(self, field: str, message: str) -> PartnerConfigError:
        return PartnerConfigError(f"{self.path}: field `{field}`: {message}")

    def partner(self) -> Partner:
        self.refuse_unknown("", self.data, _KNOWN_FIELDS)
        partner_id = self.string("id")
        if not _ID.match(partner_id):
            raise self.fail("id", f"{partner_id!r} is not a 4-letter capital bank code")
        if self.path.stem != partner_id:
            raise self.fail("id", f"{partner_id!r} does not match the file name {self.path.name}")
        fmt = self.choice("format", FORMATS)
        signature = self.choice("signature", profiles.FORMATS)
        if fmt not in profiles.FORMATS[signature]:
            raise self.fail("signature", f"profile {signature!r} cannot sign {fmt} messages")
        algorithms = self.string_set("algorithms", set(profiles.KEY_KINDS[signature]))
        if not algorithms:
            raise self.fail("algorithms", "at least one algorithm is required")
        channels = self.string_set("channels", CHANNELS)
        return Partner(
            id=partner_id,
            name=self.string("name"),
            format=fmt,
            signature=signature,
            channels=channels,
            algorithms=algorithms,
            strong_auth_channels=self.string_set("strong_auth_channels", CHANNELS, ["ATM"]),
            cutoff=self.cutoff(),
            suspended=self.boolean("suspended", False),
            keys=MappingProxyType(self.keys(signature, algorithms)),
            rate_limit=self.rate_limit(),
        )

    def string(self, field: str) -> str:
        value = self.data.get(field)
        if not isinstance(value, str) or not value:
            raise self.fail(field, "a non-empty string is required")
        return value

    def choice(self, field: str, allowed: Mapping[str, object]) -> str:
        value = self.string(field)
        if value not in allowed:
            raise self.fail(field, f"{value!r} is not one of {sorted(allowed)}")
        return value

    def boolean(self, field: str, default: bool) -> bool:
        value = self.data.get(field, default)
        if not isinstance(value, bool):
            raise self.fail(field, "true or false is required")
        return value

    def string_set(
        self, field: str, allowed: set[str] | frozenset[str], default: list[str] | None = None
    ) -> frozenset[str]:
        value = self.data.get(field, default)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.fail(field, "a list of strings is required")
        bad = sorted(set(value) - set(allowed))
        if bad:
            raise self.fail(field, f"{bad[0]!r} is not one of {sorted(allowed)}")
        return frozenset(value)

    def cutoff(self) -> time:
        raw = self.data.get("cutoff", "23:59")
        if not isinstance(raw, str) or not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", raw):
            raise self.fail("cutoff", f"{raw!r} is not HH:MM (Asia/Riyadh)")
        hours, minutes = raw.split(":")
        return time(int(hours), int(minutes))

    def rate_limit(self) -> RateLimit | None:
        raw = self.data.get("rate_limit")
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise self.fail("rate_limit", "a table with requests_per_second and burst is required")
        self.refuse_unknown("rate_limit.", raw, _RATE_LIMIT_FIELDS)
        rps = raw.get("requests_per_second")
        burst = raw.get("burst", rps)
        if not _positive_number(rps) or not _positive_number(burst) or burst < 1:
            raise self.fail("rate_limit", "needs requests_per_second > 0 and burst >= 1")
        return RateLimit(float(rps), int(burst))

    def refuse_unknown(self, prefix: str, table: Mapping[str, object], known: set[str]) -> None:
        unknown = sorted(set(table) - known)
        if unknown:
            raise self.fail(prefix + unknown[0], "unknown field")

    def keys(self, signature: str, algorithms: frozenset[str]) -> dict[str, PublicKey]:
        entries = self.data.get("keys")
        if not isinstance(entries, list) or not entries:
            raise self.fail("keys", "at least one [[keys]] entry is required")
        usable_kinds = {profiles.KEY_KINDS[signature][alg] for alg in algorithms}
        keys: dict[str, PublicKey] = {}
        for index, entry in enumerate(entries):
            key = self.key(f"keys[{index}]", entry)
            if key.kid in keys:
                raise self.fail(f"keys[{index}].kid", f"{key.kid!r} appears twice")
            if key_kind(key.key) not in usable_kinds:
                raise self.fail(
                    f"keys[{index}].public_key",
                    f"a {key_kind(key.key)} key cannot sign with {sorted(algorithms)}",
                )
            keys[key.kid] = key
        return keys

    def key(self, where: str, entry: object) -> PublicKey:
        if not isinstance(entry, dict):
            raise self.fail(where, "a table with kid and public_key is required")
        # A misspelt not_after would otherwise leave a retired key valid for ever.
        self.refuse_unknown(f"{where}.", entry, _KEY_FIELDS)
        kid, pem_path = entry.get("kid"), entry.get("public_key")
        if not isinstance(kid, str) or not kid:
            raise self.fail(f"{where}.kid", "a non-empty string is required")
        if not isinstance(pem_path, str) or not pem_path:
            raise self.fail(f"{where}.public_key", "a file path is required")
        try:
            material = read_public_pem((self.path.parent / pem_path).read_bytes())
        except OSError as exc:
            raise self.fail(
                f"{where}.public_key", f"cannot read {pem_path}: {exc.strerror}"
            ) from exc
        except KeyFormatError as exc:
            raise self.fail(f"{where}.public_key", f"{pem_path}: {exc}") from exc
        configured = self.not_after(f"{where}.not_after", entry.get("not_after"))
        # A certificate's validity bounds its key, like not_after: the earlier end wins.
        ends = [end for end in (configured, material.not_after) if end is not None]
        return PublicKey(kid, material.key, min(ends, default=None), material.not_before)

    def not_after(self, where: str, raw: object) -> datetime | None:
        if raw is None:
            return None
        if isinstance(raw, datetime):
            value = raw
        elif isinstance(raw, str):
            try:
                value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            except ValueError:
                raise self.fail(where, f"{raw!r} is not an RFC 3339 date-time") from None
        else:
            raise self.fail(where, "an RFC 3339 date-time is required")
        if value.tzinfo is None:
            raise self.fail(where, "the date-time needs an offset (e.g. Z)")
        return value


def _positive_number(value: object) -> TypeGuard[int | float]:
    # TOML has inf and nan, and Python's bool is an int: none of them is a rate.
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )
