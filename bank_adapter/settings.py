"""Settings, read once from the environment (contract section 8) and passed down.

Secrets may be given directly or as `<NAME>_FILE` naming a file that holds them, so
they can come from a secrets mount instead of the process environment.

Fail closed. A secret, or a setting naming key material, that is set but empty or only
whitespace (in the variable or in its file) is an operator's mistake, never "no secret":
an empty admin token would let an empty bearer in, an empty client CA would quietly turn
client certificates off. `from_env` refuses it with a one-line error naming the setting.
Ordinary settings (port, host, flags) that are set but empty count as unset.

An optional TOML file named by `BANK_ADAPTER_CONFIG` holds the same settings: its keys
are the variable names without the prefix, in lower case (`admin_token`,
`admin_token_file`, `port`, ...); a value is a string, an integer or a boolean. The
environment overrides the file setting by setting (a variable `X` or `X_FILE` replaces
the file's `x` and `x_file` both), and the file's values meet every rule a variable does.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PREFIX = "BANK_ADAPTER_"
CONFIG_VARIABLE = PREFIX + "CONFIG"
FILE_SUFFIX = "_FILE"

# Secrets: given directly or through `<NAME>_FILE`. A PostgreSQL URL holds a password.
SECRETS = ("ADMIN_TOKEN", "OTP_KEY", "DATABASE_URL")
# Paths naming key material or the trust anchors of client certificates.
KEY_PATHS = ("SIGNING_KEY", "TLS_CERT", "TLS_KEY", "TLS_CLIENT_CA")
ORDINARY = (
    "PARTNERS_DIR", "SIGNING_KID", "HOST", "PORT", "SANDBOX", "VAR_DIR", "FEES_FILE",
    "MAX_BODY_BYTES", "INTERNAL_MAX_BODY_BYTES", "MAX_CLOCK_SKEW", "MESSAGE_RETENTION_DAYS",
    "DB_BUSY_TIMEOUT_MS", "PURGE_INTERVAL_MS", "EXTRA_PUBLIC_KEYS", "CONSOLE_IDLE_MINUTES",
    "OTP_MAX_PER_HOUR", "WORKERS", "ADMIN_HOST", "ADMIN_PORT",
)  # fmt: skip
MAX_WORKERS = 64
# Every setting the config file may hold (LOG_LEVEL is read by the command before the
# settings, so it stays an environment variable).
FILE_KEYS = frozenset(
    name.lower() for name in (*SECRETS, *(s + FILE_SUFFIX for s in SECRETS), *KEY_PATHS, *ORDINARY)
)


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
    # POST /internal/v1/bills takes up to 1,000 bills: about 5 MB even with both
    # descriptions at 200 characters, each written as a JSON escape.
    internal_max_body_bytes: int = 8 * 1024 * 1024
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
    otp_max_per_hour: int = 5  # OTPs sent for one account in any rolling hour, all banks
    # `serve` processes sharing the listening sockets (see `bank_adapter.serve`).
    workers: int = 1
    # The admin listener: when set, the internal API, the console and /metrics are served
    # there only (see `web.listener_split`).
    admin_host: str | None = None
    admin_port: int | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        env = _Env(with_config_file(environ))
        var_dir = Path(env.get("VAR_DIR") or "var")
        admin_host, admin_port = _admin_listener(env)
        return cls(
            database_url=env.secret("DATABASE_URL") or f"sqlite:///{var_dir / 'bank-adapter.db'}",
            partners_dir=Path(env.get("PARTNERS_DIR") or "partners"),
            signing_key_file=env.key_path("SIGNING_KEY"),
            signing_kid=env.get("SIGNING_KID") or "adapter-1",
            admin_token=env.secret("ADMIN_TOKEN"),
            host=env.get("HOST") or "127.0.0.1",
            port=env.integer("PORT", 8080, 0, 65535),
            sandbox=env.flag("SANDBOX"),
            otp_key=_encode(env.secret("OTP_KEY")),
            var_dir=var_dir,
            fees_file=Path(env.get("FEES_FILE") or "fees.toml"),
            max_body_bytes=env.integer("MAX_BODY_BYTES", 64 * 1024, 1024, 16 * 1024 * 1024),
            internal_max_body_bytes=env.integer(
                "INTERNAL_MAX_BODY_BYTES", 8 * 1024 * 1024, 1024, 64 * 1024 * 1024
            ),
            max_clock_skew_s=env.integer("MAX_CLOCK_SKEW", 300, 1, 86_400),
            message_retention_days=env.integer("MESSAGE_RETENTION_DAYS", 7, 7, 3650),
            db_busy_timeout_s=float(env.integer("DB_BUSY_TIMEOUT_MS", 5000, 1, 600_000)) / 1000,
            purge_interval_s=float(env.integer("PURGE_INTERVAL_MS", 3_600_000, 10, 86_400_000))
            / 1000,
            tls_cert_file=_tls_cert(env),
            tls_key_file=env.key_path("TLS_KEY"),
            tls_client_ca_file=env.key_path("TLS_CLIENT_CA"),
            extra_public_keys=env.key_files("EXTRA_PUBLIC_KEYS"),
            console_idle_timeout_s=env.integer("CONSOLE_IDLE_MINUTES", 15, 1, 480) * 60,
            otp_max_per_hour=env.integer("OTP_MAX_PER_HOUR", 5, 1, 100),
            workers=env.integer("WORKERS", 1, 1, MAX_WORKERS),
            admin_host=admin_host,
            admin_port=admin_port,
        )

    @property
    def admin_address(self) -> tuple[str, int] | None:
        if self.admin_port is None:
            return None
        return (self.admin_host or self.host, self.admin_port)


def with_config_file(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` over the settings of the file `BANK_ADAPTER_CONFIG` names, if any."""
    merged = {name: value for name, value in environ.items() if name.startswith(PREFIX)}
    config = merged.pop(CONFIG_VARIABLE, None)
    if config is None:
        return merged
    if not config.strip():
        raise SettingsError(f"{CONFIG_VARIABLE} is set but empty")
    given = {name: value for name, value in merged.items() if _overrides(name, value)}
    overridden = {_setting_of(name) for name in given}
    from_file = read_config_file(Path(config))
    return {n: v for n, v in from_file.items() if _setting_of(n) not in overridden} | given


def read_config_file(path: Path) -> dict[str, str]:
    """The file's settings as the variables they stand for (`port = 8443` -> PORT "8443")."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{CONFIG_VARIABLE}: cannot read {path}: {exc}") from None
    unknown = sorted(set(data) - FILE_KEYS)
    if unknown:
        raise SettingsError(f"{path}: unknown setting(s) {', '.join(unknown)}")
    return {PREFIX + key.upper(): _file_value(path, key, value) for key, value in data.items()}


def _file_value(path: Path, key: str, value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | str):
        return str(value)
    raise SettingsError(f"{path}: {key} must be a string, an integer or a boolean")


def _setting_of(variable: str) -> str:
    """ADMIN_TOKEN for BANK_ADAPTER_ADMIN_TOKEN and BANK_ADAPTER_ADMIN_TOKEN_FILE alike."""
    name = variable.removeprefix(PREFIX)
    base = name.removesuffix(FILE_SUFFIX)
    return base if base in SECRETS else name


def _overrides(variable: str, value: str) -> bool:
    # An empty ordinary variable counts as unset, so it leaves the file's value in place;
    # an empty secret replaces it, and is then refused.
    return bool(value) or _setting_of(variable) in (*SECRETS, *KEY_PATHS)


def _tls_cert(env: _Env) -> Path | None:
    """TLS_CERT; a key or client CA without it would quietly leave TLS (and client
    certificate checks) off, so that is refused."""
    cert = env.key_path("TLS_CERT")
    for name in ("TLS_KEY", "TLS_CLIENT_CA"):
        if cert is None and env.get(name) is not None:
            raise SettingsError(f"{PREFIX}{name} is set without {PREFIX}TLS_CERT")
    return cert


def _admin_listener(env: _Env) -> tuple[str | None, int | None]:
    """ADMIN_HOST and ADMIN_PORT; the host alone means nothing, and the admin port must
    not be the public one (one of the two listeners would fail to bind)."""
    port = env.integer("ADMIN_PORT", 0, 1, 65535) if env.get("ADMIN_PORT") else None
    host = env.get("ADMIN_HOST")
    if port is None:
        if host is not None:
            raise SettingsError(f"{PREFIX}ADMIN_HOST is set without {PREFIX}ADMIN_PORT")
        return None, None
    if port == env.integer("PORT", 8080, 0, 65535):
        raise SettingsError(
            f"{PREFIX}ADMIN_PORT: {port} is also {PREFIX}PORT; give the admin listener a port "
            "of its own, or unset it to serve everything on one port"
        )
    return host, port


def _encode(value: str | None) -> bytes | None:
    return value.encode("utf-8") if value is not None else None


def _set_but_empty(name: str) -> SettingsError:
    return SettingsError(f"{PREFIX}{name} is set but empty; unset it or give it a value")


class _Env:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def get(self, name: str) -> str | None:
        value = self._environ.get(PREFIX + name)
        return value if value else None

    def required_if_set(self, name: str) -> str | None:
        """The variable's value; set but blank is refused rather than taken as unset."""
        value = self._environ.get(PREFIX + name)
        if value is not None and not value.strip():
            raise _set_but_empty(name)
        return value

    def key_path(self, name: str) -> Path | None:
        value = self.required_if_set(name)
        return Path(value) if value is not None else None

    def secret(self, name: str) -> str | None:
        direct = self.required_if_set(name)
        file_name = self.required_if_set(name + FILE_SUFFIX)
        if direct is not None and file_name is not None:
            raise SettingsError(
                f"{PREFIX}{name} and {PREFIX}{name}{FILE_SUFFIX}: set one, not both"
            )
        if file_name is None:
            return direct
        try:
            value = Path(file_name).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(
                f"{PREFIX}{name}{FILE_SUFFIX}: cannot read {file_name}: {exc}"
            ) from None
        if not value:
            raise SettingsError(f"{PREFIX}{name}{FILE_SUFFIX}: {file_name} is empty")
        return value

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
