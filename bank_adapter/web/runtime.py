"""Everything a running service holds, built once at start-up and passed to handlers."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from bank_adapter.clock import Clock
from bank_adapter.console.partner_state import PartnerStates
from bank_adapter.core.keys import (
    KeyFormatError,
    PublicKey,
    SigningKey,
    generate,
    load_private_pem,
    load_public_pem,
    private_pem,
)
from bank_adapter.core.profiles import new_profiles
from bank_adapter.core.signing import SignatureProfile
from bank_adapter.domain.fees import FeeSchedule, load_fee_schedule
from bank_adapter.metrics import Metrics
from bank_adapter.partners import Partner, load_partners
from bank_adapter.settings import Settings, SettingsError
from bank_adapter.store.repository import Store
from bank_adapter.web.ratelimit import RateLimiter


@dataclass
class Runtime:
    settings: Settings
    partners: Mapping[str, Partner]
    store: Store
    signing_key: SigningKey
    otp_key: bytes
    fees: FeeSchedule
    clock: Clock
    profiles: Mapping[str, SignatureProfile]
    extra_public_keys: tuple[PublicKey, ...] = ()
    metrics: Metrics = field(default_factory=Metrics)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    partner_states: PartnerStates = field(default_factory=PartnerStates)

    page_token_key: bytes = field(init=False)

    def __post_init__(self) -> None:
        # Derived from the OTP secret, so every instance shares it without a new setting.
        self.page_token_key = hmac.digest(self.otp_key, b"statement page tokens", hashlib.sha256)
        self.store.observe(self.metrics)

    @property
    def published_keys(self) -> list[PublicKey]:
        """The signing key first, then keys announced for (or retiring from) rotation."""
        return [self.signing_key.public, *self.extra_public_keys]


RUNTIME = web.AppKey("runtime", Runtime)


def build_runtime(
    settings: Settings, clock: Clock, store: Store | None = None, metrics: Metrics | None = None
) -> Runtime:
    return Runtime(
        settings=settings,
        partners=load_partners(settings.partners_dir, sandbox=settings.sandbox),
        store=store or Store.open(settings.database_url, busy_timeout_s=settings.db_busy_timeout_s),
        signing_key=load_signing_key(settings),
        otp_key=load_otp_key(settings),
        fees=load_fee_schedule(settings.fees_file),
        clock=clock,
        profiles=new_profiles(),
        extra_public_keys=load_extra_public_keys(settings),
        metrics=metrics or Metrics(),
    )


def load_extra_public_keys(settings: Settings) -> tuple[PublicKey, ...]:
    keys = []
    for kid, path in settings.extra_public_keys:
        try:
            keys.append(PublicKey(kid, load_public_pem(path.read_bytes())))
        except OSError as exc:
            raise SettingsError(
                f"BANK_ADAPTER_EXTRA_PUBLIC_KEYS: cannot read {path}: {exc}"
            ) from exc
    return tuple(keys)


def load_signing_key(settings: Settings) -> SigningKey:
    """The adapter's key; in sandbox mode one is made under var/ on first start."""
    path = settings.signing_key_file
    if path is None:
        if not settings.sandbox:
            raise SettingsError("BANK_ADAPTER_SIGNING_KEY is required outside sandbox mode")
        path = settings.var_dir / "adapter-signing-key.pem"
        if not path.exists():
            _write_secret(path, private_pem(generate("EC-P256")))
    try:
        key = SigningKey(settings.signing_kid, load_private_pem(path.read_bytes()))
    except (OSError, KeyFormatError) as exc:
        raise SettingsError(f"BANK_ADAPTER_SIGNING_KEY: cannot use {path}: {exc}") from exc
    # Every profile must be able to answer with it: XML-DSig has no Ed25519.
    if not _adapter_key_ok(key):
        raise SettingsError(
            f"BANK_ADAPTER_SIGNING_KEY: {path} must be EC P-256 (recommended) or RSA 2048+"
        )
    return key


def _adapter_key_ok(key: SigningKey) -> bool:
    private = key.private_key
    if isinstance(private, rsa.RSAPrivateKey):
        return private.key_size >= 2048
    return key.kind == "EC-P256"


def load_otp_key(settings: Settings) -> bytes:
    """The OTP hashing secret; generated under var/ when not configured."""
    if settings.otp_key is not None:
        return settings.otp_key
    path = settings.var_dir / "otp-key"
    if not path.exists():
        _write_secret(path, secrets.token_hex(32).encode("ascii"))
    key = path.read_bytes().strip()
    if not key:
        raise SettingsError(f"BANK_ADAPTER_OTP_KEY: the generated key file {path} is empty")
    return key


def _write_secret(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.chmod(0o600)
    tmp.replace(path)
