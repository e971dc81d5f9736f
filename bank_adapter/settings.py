"""Settings, read once from the environment (contract section 8) and passed down.

Secrets may be given directly or as `<NAME>_FILE` naming a file that holds them, so
they can come from a secrets mount instead of the process environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PREFIX = "BANK_ADAPTER_"


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    partners_dir: Path
    signing_key_file: Path | None
    signing_kid: str
    admin_token: str | None
    host: str
    port: int
    sandbox: bool
    otp_key: bytes | None
    var_dir: Path
    fees_file: Path
    max_body_bytes: int = 64 * 1024
    max_clock_skew_s: int = 300
    message_retention_days: int = 7
    db_busy_timeout_s: float = 5.0
    purge_interval_s: float = 3600.0
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_client_ca_file: Path | None = None
    # Other adapter public keys to publish at /v1/keys during a rotation: kid -> PEM file.
    extra_public_keys: tuple[tuple[str, Path], ...] = ()
    console_idle_timeout_s: int = 15 * 60

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        env = _Env(environ)
        var_dir = Path(env.get("VAR_DIR") or "var")
        return cls(
            # A PostgreSQL URL holds a password: a secret, so `_FILE` works for it too.
            database_url=env.secret("DATABASE_URL") or f"sqlite:///{var_dir / 'bank-adapter.db'}",
            partners_dir=Path(env.get("PARTNERS_DIR") or "partners"),
            signing_key_file=env.path("SIGNING_KEY"),
            signing_kid=env.get("SIGNING_KID") or "adapter-1",
            admin_token=env.secret("ADMIN_TOKEN"),
            host=env.get("HOST") or "127.0.0.1",
            port=env.integer("PORT", 8080, 0, 65535),
            sandbox=env.flag("SANDBOX"),
            otp_key=_encode(env.secret("OTP_KEY")),
            var_dir=var_dir,
            fees_file=Path(env.get("FEES_FILE") or "fees.toml"),
            max_body_bytes=env.integer("MAX_BODY_BYTES", 64 * 1024, 1024, 16 * 1024 * 1024),
            max_clock_skew_s=env.integer("MAX_CLOCK_SKEW", 300, 1, 86_400),
            message_retention_days=env.integer("MESSAGE_RETENTION_DAYS", 7, 7, 3650),
            db_busy_timeout_s=float(env.integer("DB_BUSY_TIMEOUT_MS", 5000, 1, 600_000)) / 1000,
            purge_interval_s=float(env.integer("PURGE_INTERVAL_MS", 3_600_000, 10, 86_400_000))
            / 1000,
            tls_cert_file=_tls_cert(env),
            tls_key_file=env.path("TLS_KEY"),
            tls_client_ca_file=env.path("TLS_CLIENT_CA"),
            extra_public_keys=env.key_files("EXTRA_PUBLIC_KEYS"),
            console_idle_timeout_s=env.integer("CONSOLE_IDLE_MINUTES", 15, 1, 480) * 60,
        )


def _tls_cert(env: _Env) -> Path | None:
    """TLS_CERT; a key or client CA without it would quietly leave TLS (and client
    certificate checks) off, so that is refused."""
    cert = env.path("TLS_CERT")
    for name in ("TLS_KEY", "TLS_CLIENT_CA"):
        if cert is None and env.get(name) is not None:
            raise SettingsError(f"{PREFIX}{name} is set without {PREFIX}TLS_CERT")
    return cert


def _encode(value: str | None) -> bytes | None:
    return value.encode("utf-8") if value is not None else None


class _Env:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def get(self, name: str) -> str | None:
        value = self._environ.get(PREFIX + name)
        return value if value else None

    def path(self, name: str) -> Path | None:
        value = self.get(name)
        return Path(value) if value else None

    def secret(self, name: str) -> str | None:
        direct = self.get(name)
        if direct is not None:
            return direct
        file_name = self.get(name + "_FILE")
        if file_name is None:
            return None
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(f"{PREFIX}{name}_FILE: cannot read {file_name}: {exc}") from exc

    def key_files(self, name: str) -> tuple[tuple[str, Path], ...]:
        """`kid=path,kid=path` pairs."""
        raw = self.get(name)
        if raw is None:
            return ()
        pairs = []
        for item in raw.split(","):
            kid, sep, path = item.strip().partition("=")
            if not sep or not kid or not path:
                raise SettingsError(f"{PREFIX}{name}: expected kid=path[,kid=path], got {item!r}")
            pairs.append((kid, Path(path)))
        return tuple(pairs)

    def flag(self, name: str) -> bool:
        value = (self.get(name) or "0").lower()
        if value not in {"0", "1", "true", "false", "yes", "no"}:
            raise SettingsError(f"{PREFIX}{name}: expected 1 or 0, got {value!r}")
        return value in {"1", "true", "yes"}

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{PREFIX}{name}: expected an integer, got {raw!r}") from None
        if not low <= value <= high:
            raise SettingsError(f"{PREFIX}{name}: {value} is outside {low}..{high}")
        return value
