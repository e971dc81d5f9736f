"""Shared fixtures: real keys, a real partners directory, a real database, and the
service on a real loopback port, with a clock the test can move.

Whatever uses `settings` (so every test of the running `service`) runs twice: on an
SQLite file (`[sqlite]`) and on a fresh database of a throwaway PostgreSQL server
(`[postgresql]`, see `tests/pg.py`).
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from aiohttp import web
from hypothesis import settings as hypothesis_settings

from bank_adapter.client import PartnerClient, PartnerConfig, fetch_adapter_keys
from bank_adapter.core.keys import PrivateKeyObject, SigningKey, generate, public_pem
from bank_adapter.domain.ids import luhn_complete
from bank_adapter.settings import Settings
from bank_adapter.store import migrate
from bank_adapter.web.app import build_app
from bank_adapter.web.runtime import build_runtime

pytest_plugins = ["tests.pg", "tests.logleak"]

# Property tests draw the same examples on every run of the suite (derandomize) and have no
# deadline: a CI failure then means the code changed, never that a busy machine was slow
# or a lucky draw came up. `HYPOTHESIS_PROFILE=long` explores: random and 2,000 examples.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, deadline=None)
hypothesis_settings.register_profile("long", max_examples=2000, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ADMIN_TOKEN = "test-admin-token-0123456789"
ROOT = Path(__file__).resolve().parents[1]
ENGINES = ("sqlite", "postgresql")


@dataclass
class MovableClock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    offset: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **kwargs: float) -> None:
        self.offset += timedelta(**kwargs)

    def set(self, moment: datetime) -> None:
        """From now on the clock reads `moment`, and runs on from there."""
        self.offset = moment - datetime.now(UTC)


@dataclass(frozen=True)
class TestPartner:
    id: str
    format: str
    signature: str
    algorithm: str
    key: SigningKey
    toml_extra: str = ""
    channels: tuple[str, ...] = ("APP", "WEB", "IVR", "ATM")


def _key(kind: str, kid: str) -> SigningKey:
    return SigningKey(kid, generate(kind))


@pytest.fixture(scope="session")
def test_partners() -> dict[str, TestPartner]:
    partners = [
        TestPartner("JWSA", "json", "jws", "ES256", _key("EC-P256", "jwsa-1")),
        TestPartner("XMLA", "xml", "xmldsig", "ECDSA-SHA256", _key("EC-P256", "xmla-1")),
        TestPartner("XMLR", "xml", "xmldsig", "RSA-SHA256", _key("RSA", "xmlr-1")),
        TestPartner("HSJA", "json", "http-sig", "ecdsa-p256-sha256", _key("EC-P256", "hsja-1")),
        TestPartner("HSXA", "xml", "http-sig", "ed25519", _key("Ed25519", "hsxa-1")),
        TestPartner("JWSR", "json", "jws", "PS256", _key("RSA", "jwsr-1")),
        TestPartner(
            "SUSP", "json", "jws", "ES256", _key("EC-P256", "susp-1"), "suspended = true\n"
        ),
        TestPartner(
            "LIMT",
            "json",
            "jws",
            "ES256",
            _key("EC-P256", "limt-1"),
            "[rate_limit]\nrequests_per_second = 1\nburst = 2\n",
        ),
        # Refused before their signature is read, yet answered in their own profile.
        TestPartner(
            "XSUS",
            "xml",
            "xmldsig",
            "ECDSA-SHA256",
            _key("EC-P256", "xsus-1"),
            "suspended = true\n",
        ),
        TestPartner(
            "HSUS", "json", "http-sig", "ed25519", _key("Ed25519", "hsus-1"), "suspended = true\n"
        ),
        TestPartner(
            "XLIM",
            "xml",
            "http-sig",
            "ecdsa-p256-sha256",
            _key("EC-P256", "xlim-1"),
            "[rate_limit]\nrequests_per_second = 1\nburst = 2\n",
        ),
    ]
    return {partner.id: partner for partner in partners}


def write_partner(
    directory: Path,
    partner: TestPartner,
    extra_keys: Sequence[tuple[str, PrivateKeyObject, str]] = (),
) -> None:
    keys_dir = directory / "keys"
    keys_dir.mkdir(parents=True, exist_ok=True)
    (keys_dir / f"{partner.key.kid}.pem").write_bytes(
        public_pem(partner.key.private_key.public_key())
    )
    channels = ", ".join(f'"{channel}"' for channel in partner.channels)
    toml = (
        f'id = "{partner.id}"\nname = "Test {partner.id}"\nformat = "{partner.format}"\n'
        f'signature = "{partner.signature}"\nchannels = [{channels}]\n'
        f'algorithms = ["{partner.algorithm}"]\ncutoff = "23:00"\n'
    )
    head, _, table = partner.toml_extra.partition("[")
    toml += head
    toml += f'\n[[keys]]\nkid = "{partner.key.kid}"\npublic_key = "keys/{partner.key.kid}.pem"\n'
    for kid, key, not_after in extra_keys:
        (keys_dir / f"{kid}.pem").write_bytes(public_pem(key.public_key()))
        toml += (
            f'\n[[keys]]\nkid = "{kid}"\npublic_key = "keys/{kid}.pem"\nnot_after = "{not_after}"\n'
        )
    if table:
        toml += "\n[" + table
    (directory / f"{partner.id}.toml").write_text(toml)


@pytest.fixture(scope="session")
def expired_key() -> SigningKey:
    return _key("EC-P256", "jwsa-old")


@pytest.fixture
def partners_dir(
    tmp_path: Path, test_partners: dict[str, TestPartner], expired_key: SigningKey
) -> Path:
    directory = tmp_path / "partners"
    for partner in test_partners.values():
        extra = (
            [(expired_key.kid, expired_key.private_key, "2020-01-01T00:00:00Z")]
            if partner.id == "JWSA"
            else []
        )
        write_partner(directory, partner, extra)
    return directory


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new database at the head revision (PostgreSQL) or a new SQLite file's URL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'adapter.db'}"
    url: str = request.getfixturevalue("pg_database")
    return url


@pytest.fixture(params=ENGINES)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database without tables, for tests of the migrations themselves."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    url: str = request.getfixturevalue("pg_empty_database")
    return url


@pytest.fixture
def settings(tmp_path: Path, partners_dir: Path, database_url: str) -> Settings:
    return Settings.from_env(
        {
            "BANK_ADAPTER_DATABASE_URL": database_url,
            "BANK_ADAPTER_PARTNERS_DIR": str(partners_dir),
            "BANK_ADAPTER_ADMIN_TOKEN": ADMIN_TOKEN,
            "BANK_ADAPTER_SANDBOX": "1",
            "BANK_ADAPTER_VAR_DIR": str(tmp_path / "var"),
            "BANK_ADAPTER_FEES_FILE": str(ROOT / "fees.toml"),
        }
    )


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@dataclass
class Service:
    url: str
    runtime: Any
    http: aiohttp.ClientSession
    adapter_keys: dict[str, Any]
    partners: dict[str, TestPartner]

    def client(
        self, partner_id: str, key: SigningKey | None = None, algorithm: str | None = None
    ) -> PartnerClient:
        partner = self.partners[partner_id]
        config = PartnerConfig(
            partner_id,
            partner.format,
            partner.signature,
            key or partner.key,
            algorithm or partner.algorithm,
        )
        return PartnerClient(
            self.url,
            config,
            adapter_keys=self.adapter_keys,
            session=self.http,
            clock=self.runtime.clock,
        )

    async def register(
        self, prefix: str | None = None, mobile: str | None = None, **extra: Any
    ) -> tuple[str, str]:
        """A fresh pending account (or one with `extra` fields); returns (id_number, mobile)."""
        id_number = luhn_complete(
            prefix or "1" + "".join(secrets.choice("0123456789") for _ in range(8))
        )
        mobile = mobile or "+9665" + "".join(secrets.choice("0123456789") for _ in range(8))
        body = {
            "idNumber": id_number,
            "mobile": mobile,
            "biometricEnrolled": True,
            "idExpiry": "2031-01-01",
        }
        body.update(extra)
        status, data = await self.admin("POST", "/internal/v1/accounts", body)
        assert status in (200, 201), data
        return id_number, mobile

    async def bill(self, id_number: str, amount: str = "650.00", **extra: Any) -> str:
        """A platform-issued UNPAID bill; returns its number."""
        body = {"idNumber": id_number, "serviceCode": "TRAFFIC_VIOLATION", "amount": amount}
        body |= {"dueDate": "2031-01-01"} | extra
        status, data = await self.admin("POST", "/internal/v1/bills", body)
        assert status == 201, data
        return str(data["billNumber"])

    async def otp(self, mobile: str) -> str:
        """The code in the last SMS the sandbox outbox holds for `mobile`."""
        status, data = await self.admin("GET", f"/internal/v1/sms?mobile={quote(mobile)}")
        assert status == 200, data
        match = re.search(r"\b(\d{6})\b", data["messages"][-1]["text"])
        assert match is not None
        return match.group(1)

    async def admin(
        self, method: str, path: str, body: Any = None, token: str = ADMIN_TOKEN
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"}
        async with self.http.request(
            method, self.url + path, json=body, headers=headers
        ) as response:
            return response.status, await response.json(content_type=None)


@pytest.fixture
async def service(
    settings: Settings, clock: MovableClock, test_partners: dict[str, TestPartner]
) -> AsyncIterator[Service]:
    runtime = build_runtime(settings, clock)
    await migrate.upgrade(runtime.store.engine)
    runner = web.AppRunner(build_app(runtime), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        keys = await fetch_adapter_keys(url, http)
        yield Service(url, runtime, http, keys, test_partners)
    await runner.cleanup()
    await _settle_aiosqlite_threads()


async def _settle_aiosqlite_threads() -> None:
    """Wait for the worker threads of failed SQLite connections (tests that swap in a
    broken database make some) to finish. aiosqlite stops such a thread without waiting
    for it, and a thread that finishes after the test's event loop closed dies on
    "Event loop is closed": an unhandled thread exception, so a random test's error."""
    for thread in threading.enumerate():
        if thread.name.endswith("(_connection_worker_thread)"):
            await asyncio.to_thread(thread.join, 1.0)
