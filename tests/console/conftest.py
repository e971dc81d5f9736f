"""The console as an operator's browser sees it: a logged-in HTTP client with its own
cookie jar, a second service instance on the same database, and settlement files."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import BrowserContext, async_playwright
from playwright.async_api import Page as BrowserPage

from bank_adapter.domain.payments import business_date
from bank_adapter.settings import Settings
from bank_adapter.store import migrate
from bank_adapter.web.app import build_app
from bank_adapter.web.runtime import Runtime, build_runtime
from tests.conftest import ADMIN_TOKEN, Service

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
NONCE = re.compile(r'name="nonce" value="([^"]+)"')
HEADER = "bank_payment_ref,bill_number,amount,paid_at,status\n"


@dataclass
class Page:
    status: int
    text: str
    headers: Mapping[str, str]
    url: str

    @property
    def csrf(self) -> str:
        match = CSRF.search(self.text)
        assert match is not None, self.text[:2000]
        return match.group(1)


@dataclass
class Console:
    """An operator's browser session over plain HTTP (cookies kept, redirects followed)."""

    url: str
    http: aiohttp.ClientSession

    async def get(self, path: str, **kwargs: Any) -> Page:
        async with self.http.get(self.url + path, **kwargs) as response:
            return await _page(response)

    async def post(self, path: str, data: Any, **kwargs: Any) -> Page:
        async with self.http.post(self.url + path, data=data, **kwargs) as response:
            return await _page(response)

    async def login(self, operator: str = "Noura Operator", token: str = ADMIN_TOKEN) -> Page:
        form = await self.get("/console/login")
        match = NONCE.search(form.text)
        assert match is not None
        fields = {"operator": operator, "token": token, "nonce": match.group(1), "next": ""}
        return await self.post("/console/login", fields)

    async def submit(self, path: str, fields: Mapping[str, str], *, page: str) -> Page:
        """POST `fields` with the CSRF token of `page`, as the form on it would."""
        token = (await self.get(page)).csrf
        return await self.post(path, {"csrf": token, **fields})

    def cookie(self, name: str) -> str | None:
        for cookie in self.http.cookie_jar:
            if cookie.key == name:
                return cookie.value
        return None


async def _page(response: aiohttp.ClientResponse) -> Page:
    return Page(response.status, await response.text(), response.headers, str(response.url))


@pytest.fixture
async def console_client(service: Service) -> AsyncIterator[Console]:
    # unsafe=True: keep cookies of an IP-address host (the service is on 127.0.0.1).
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        yield Console(service.url, http)


@pytest.fixture
async def console(console_client: Console) -> Console:
    page = await console_client.login()
    assert page.status == 200, page.text[:500]
    assert page.url.endswith("/console/today")
    return console_client


@asynccontextmanager
async def running_instance(settings: Settings, clock: Any) -> AsyncIterator[tuple[str, Runtime]]:
    """An instance of the service on `settings` (its database migrated): (url, runtime)."""
    runtime = build_runtime(settings, clock)
    await migrate.upgrade(runtime.store.engine)
    runner = web.AppRunner(build_app(runtime), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        yield f"http://127.0.0.1:{port}", runtime
    finally:
        await runner.cleanup()


@pytest.fixture
async def second_instance(settings: Settings, clock: Any) -> AsyncIterator[tuple[str, Runtime]]:
    """Another instance of the service on the same database."""
    async with running_instance(settings, clock) as instance:
        yield instance


@dataclass(frozen=True)
class PaidDay:
    """Payments a bank made today, and its settlement file for them with known breaks."""

    partner_id: str
    day: str
    refs: list[str]
    bills: list[str]
    payment_ids: list[str]
    id_number: str
    mobile: str

    def settlement(self, path: Path) -> Path:
        """Ledger: refs 0-3 posted. File: 0 as is, 1 with another amount, 2 left out,
        3 as is, plus one reference the adapter never saw."""
        paid_at = "2026-01-01T10:00:00+03:00"
        rows = [
            f"{self.refs[0]},{self.bills[0]},650.00,{paid_at},POSTED",
            f"{self.refs[1]},{self.bills[1]},651.00,{paid_at},POSTED",
            f"{self.refs[3]},{self.bills[3]},650.00,{paid_at},POSTED",
            f"NEVER-SEEN-{self.refs[0]},{self.bills[0]},10.00,{paid_at},POSTED",
        ]
        path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
        return path


async def pay_today(service: Service, partner_id: str = "JWSA", count: int = 4) -> PaidDay:
    id_number, mobile = await service.register()
    client = service.client(partner_id)
    refs, bills, payment_ids = [], [], []
    for _ in range(count):
        bill = await service.bill(id_number, "650.00")
        ref = "BPR-" + secrets.token_hex(6)
        reply = await client.replies.pay(
            bank_payment_ref=ref, bill_number=bill, amount="650.00", channel="APP"
        )
        assert reply.status == 200, reply.error
        refs.append(ref)
        bills.append(bill)
        payment_ids.append(str(reply.message.payment_id))  # type: ignore[union-attr]
    cutoff = service.runtime.partners[partner_id].cutoff
    day = business_date(service.runtime.clock(), cutoff).isoformat()
    return PaidDay(partner_id, day, refs, bills, payment_ids, id_number, mobile)


def now_of(service: Service) -> datetime:
    moment: datetime = service.runtime.clock()
    return moment


# --- a real browser: Debian's chromium driven by Playwright ------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
LAPTOP = {"width": 1366, "height": 900}
TABLET = {"width": 768, "height": 1024}
WAIT_MS = 60_000  # every wait is for a condition; this only bounds a hung browser


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `scripts/setup --dev` installs Debian's chromium")
    return CHROMIUM


@pytest.fixture
async def browser(tmp_path: Path, chromium: Path) -> AsyncIterator[BrowserContext]:
    """A fresh headless chromium profile (the system's browser: Playwright downloads none)."""
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(chromium),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=LAPTOP,  # type: ignore[arg-type]
            accept_downloads=True,
        )
        context.set_default_timeout(WAIT_MS)
        context.set_default_navigation_timeout(WAIT_MS)
        try:
            yield context
        finally:
            await context.close()


async def log_in(page: BrowserPage, url: str, operator: str = "Noura Operator") -> None:
    await page.goto(url + "/console/login")
    await page.fill("input[name=operator]", operator)
    await page.fill("input[name=token]", ADMIN_TOKEN)
    await page.click("form.login button[type=submit]")
    await page.wait_for_url("**/console/today")
