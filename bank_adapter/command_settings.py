"""Settings as the command reads them: the environment over the sandbox's settings file,
with the database URL checked before anything is opened.

`scripts/sandbox` leaves `var/sandbox.toml` (under BANK_ADAPTER_VAR_DIR) behind: sandbox
mode, its admin token, host and port. The operator commands run from the same directory
(`statement`, `reconcile`, `partners check`, `demo`, ...) read it, so the README's
commands work against the running sandbox as written; a variable set in the environment
still wins, and a file named by BANK_ADAPTER_CONFIG replaces it altogether. `serve`
never reads it: sandbox mode (test keys accepted, the SMS outbox open) must not switch
on because a file was left lying in a production directory.
"""

from __future__ import annotations

import importlib.util
import tomllib
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.exc import ArgumentError

from bank_adapter.settings import PREFIX, Settings, SettingsError
from bank_adapter.store.engine import async_url

SANDBOX_FILE = "sandbox.toml"
CONFIG_VARIABLE = PREFIX + "CONFIG"
# What scripts/sandbox writes, in the config file's spelling (variable names, lower case).
SANDBOX_KEYS = frozenset(
    {"sandbox", "admin_token", "host", "port", "database_url", "partners_dir", "fees_file"}
)


def sandbox_file(environ: Mapping[str, str]) -> Path:
    return Path(environ.get(PREFIX + "VAR_DIR") or "var") / SANDBOX_FILE


def sandbox_defaults(environ: Mapping[str, str]) -> dict[str, str]:
    """The sandbox file's settings as variables, when there is one and no config file
    is named; the caller lets the environment's own variables win."""
    path = sandbox_file(environ)
    if CONFIG_VARIABLE in environ or not path.is_file():
        return {}
    return read_sandbox_file(path)


def read_sandbox_file(path: Path) -> dict[str, str]:
    """The file's settings as the variables they stand for (`port = 8081` -> PORT "8081")."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(
            f"{path}: cannot read: {exc}; run scripts/sandbox again or delete the file"
        ) from None
    unknown = sorted(set(data) - SANDBOX_KEYS)
    if unknown:
        raise SettingsError(f"{path}: unknown setting(s) {', '.join(unknown)}")
    return {PREFIX + key.upper(): _variable(value) for key, value in data.items()}


def _variable(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def load(environ: Mapping[str, str]) -> Settings:
    settings = Settings.from_env(environ)
    check_database_url(settings.database_url)
    return settings


def check_database_url(url: str) -> None:
    """Refuse, without echoing the URL (it may hold a password), one the service cannot use."""
    hint = "use sqlite:///path/to/file.db or postgresql://user:password@host:5432/dbname"
    try:
        backend = async_url(url).get_backend_name()
    except ArgumentError:
        raise SettingsError(f"BANK_ADAPTER_DATABASE_URL is not a database URL; {hint}") from None
    except ValueError as exc:
        raise SettingsError(f"BANK_ADAPTER_DATABASE_URL: {exc}; {hint}") from None
    if backend == "postgresql" and importlib.util.find_spec("asyncpg") is None:
        raise SettingsError(
            "BANK_ADAPTER_DATABASE_URL names PostgreSQL, whose driver is not installed; "
            "install it with pip install 'bank-adapter[postgres]'"
        )
