"""Every console page in a real browser, on a laptop and a tablet, in English and Arabic,
saved as screenshots: a day of the repository's sandbox banks (payments across the
hours, reversals, activations, a forged request, a suspended bank, a reconciliation with
breaks), the clock fixed so that a key is about to expire.

By default the screenshots go to a temporary directory (each is checked to be a PNG of
the device's width). `scripts/console-screenshots` sets CONSOLE_SCREENSHOTS to refresh
the ones in docs/screenshots/ that the README and docs/console.md show.

Screenshots are about rendering, so this module runs on SQLite only; every behaviour on
the pages is tested on both engines in the other modules.
"""

from __future__ import annotations

import asyncio
import os
import struct
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bank_adapter.client import PartnerClient, PartnerConfig
from bank_adapter.clock import RIYADH
from bank_adapter.sandbox import partner_config
from tests.conftest import MovableClock
from tests.console.conftest import LAPTOP, TABLET, log_in

ROOT = Path(__file__).resolve().parents[2]
SANDBOX_PARTNERS = ROOT / "partners"
DEVICES = {"laptop": LAPTOP, "tablet": TABLET}
MAX_HEIGHT = 2400  # CSS pixels: long pages are cut there, the repository stays small
# 19 days before NCBK's retiring key's not_after (2027-01-31): the warning shows.
MORNING = datetime(2027, 1, 12, 8, 5, tzinfo=RIYADH)
SERVICES = [("TRAFFIC_VIOLATION", "300.00"), ("IQAMA_RENEWAL", "650.00"),
            ("EXIT_REENTRY_VISA", "200.00"), ("RESIDENT_ID_ISSUE", "162.50")]  # fmt: skip


@pytest.fixture
def partners_dir() -> Path:
    return SANDBOX_PARTNERS


@pytest.fixture
def clock() -> MovableClock:
    """The service starts on the morning of the day shown."""
    moving = MovableClock()
    moving.set(MORNING - timedelta(hours=1))
    return moving


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'adapter.db'}"


def bank(service: Any, partner_id: str) -> PartnerClient:
    return PartnerClient(
        service.url,
        partner_config(SANDBOX_PARTNERS, partner_id),
        adapter_keys=service.adapter_keys,
        session=service.http,
        clock=service.runtime.clock,
    )


async def a_day_of_traffic(service: Any, clock: Any) -> dict[str, str]:
    """Payments from 08:00 to 14:00, some reversed; activations; a forged request."""
    refs: dict[str, list[tuple[str, str, str]]] = {}
    people = [(await service.register())[0] for _ in range(5)]
    count = 0
    for hour in range(7):
        clock.set(MORNING + timedelta(hours=hour, minutes=7 * hour))
        for partner_id in ("RJHI", "NCBK", "SABB", "RIBL")[: 2 + hour % 3]:
            for _ in range(1 + (hour + len(refs.get(partner_id, []))) % 2):
                service_code, amount = SERVICES[count % len(SERVICES)]
                bill = await service.bill(people[count % 5], amount, serviceCode=service_code)
                ref = f"{partner_id}-20270112-{count:05d}"
                reply = await bank(service, partner_id).replies.pay(
                    bank_payment_ref=ref, bill_number=bill, amount=amount, channel="APP"
                )
                assert reply.status == 200, reply.error
                refs.setdefault(partner_id, []).append((ref, bill, amount))
                count += 1
        id_number, mobile = await service.register()
        reply = await bank(service, "RJHI" if hour % 2 else "NCBK").replies.activate(
            id_number=id_number, mobile=mobile, channel="ATM", bank_customer_ref=f"c-{hour}"
        )
        assert reply.status == 200, reply.error
    for partner_id, index in (("RJHI", 2), ("SABB", 0)):
        reply = await bank(service, partner_id).replies.reverse(
            bank_payment_ref=refs[partner_id][index][0],
            reason="customer disputed the debit",
            channel="APP",
        )
        assert reply.status == 200, reply.error
    forged = bank(service, "RJHI")  # signing with another bank's key: UNKNOWN_KEY
    other_key = partner_config(SANDBOX_PARTNERS, "NCBK").key
    forged.config = PartnerConfig("RJHI", "json", "jws", other_key, "ES256")
    reply = await forged.replies.payment_status(bank_payment_ref="X", channel="APP")
    assert reply.code == "UNKNOWN_KEY"
    reply = await bank(service, "BSFR").replies.payment_status(bank_payment_ref="X", channel="APP")
    assert reply.code == "PARTNER_SUSPENDED"
    await service.admin(
        "POST", "/internal/v1/partners/SABB/suspend",
        {"reason": "settlement dispute under review", "operator": "Fahad (treasury)"},
    )  # fmt: skip
    clock.set(MORNING + timedelta(hours=6, minutes=15))
    rjhi = refs["RJHI"]
    rows = [f"{ref},{bill},{amount},2027-01-12T09:00:00+03:00,POSTED" for ref, bill, amount in rjhi]
    rows[0] = rows[0].replace(f",{rjhi[0][2]},", ",1.00,")  # AMOUNT_MISMATCH
    rows[1] = rows[1].replace(f",{rjhi[1][1]},", ",9999999999999,")  # BILL_MISMATCH
    del rows[3]  # MISSING_AT_BANK
    rows.append("RJHI-20270112-99999,1000000000010,300.00,2027-01-12T09:00:00+03:00,POSTED")
    rows.append(rows[4])  # DUPLICATE_AT_BANK
    settlement = "bank_payment_ref,bill_number,amount,paid_at,status\n" + "\n".join(rows) + "\n"
    return {"settlement": settlement, "bill": rjhi[2][1], "payment_ref": rjhi[2][0]}


def png_width(path: Path) -> int:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", path
    width: int = struct.unpack(">I", header[16:20])[0]
    return width


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """Where the screenshots go: CONSOLE_SCREENSHOTS, or a temporary directory."""
    directory = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path / "screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


async def test_every_page_on_a_laptop_and_a_tablet_in_english_and_arabic(
    browser, service, clock, tmp_path, out
):
    day = await a_day_of_traffic(service, clock)
    page = await browser.new_page()

    async def shoot(name: str, path: str, language: str, device: str) -> Path:
        await page.set_viewport_size(DEVICES[device])  # type: ignore[arg-type]
        await page.goto(f"{service.url}/console/lang/{language}?next={path}")
        await page.wait_for_selector(f"html[lang={language}] main h1")
        target = out / f"{name}-{language}-{device}.png"
        height = await page.evaluate("document.documentElement.scrollHeight")
        clip = {
            "x": 0,
            "y": 0,
            "width": DEVICES[device]["width"],
            "height": min(height, MAX_HEIGHT),
        }
        await page.screenshot(path=str(target), full_page=True, clip=clip)  # type: ignore[arg-type]
        return target

    taken = [await shoot("login", "/console/login", lang, dev) for lang in ("en", "ar")
             for dev in DEVICES]  # fmt: skip
    await page.goto(service.url + "/console/lang/en?next=/console/login")
    await log_in(page, service.url)
    run_url = await reconcile(page, service.url, day["settlement"], tmp_path)
    payment = await page_of_payment(page, service.url, day["payment_ref"])
    pages = {
        "today": "/console/today",
        "partners": "/console/partners",
        "day-close": "/console/day-close?partner=RJHI&date=2027-01-12",
        "reconciliation": run_url,
        "payments": f"/console/payments?q={day['bill']}",
        "payment": payment,
        "events": "/console/events",
        "audit": "/console/audit",
    }
    for name, path in pages.items():
        for language in ("en", "ar"):
            for device in DEVICES:
                taken.append(await shoot(name, path, language, device))

    assert len(taken) == 2 * 2 * (len(pages) + 1)
    for path in taken:
        device = path.stem.rsplit("-", 1)[1]
        assert await asyncio.to_thread(png_width, path) == DEVICES[device]["width"], path


async def reconcile(page: Any, url: str, settlement: str, tmp_path: Path) -> str:
    file = tmp_path / "rjhi-2027-01-12.csv"
    await asyncio.to_thread(file.write_text, settlement, encoding="utf-8")
    await page.goto(url + "/console/day-close?partner=RJHI&date=2027-01-12")
    await page.set_input_files("form.upload input[name=bank_file]", str(file))
    await page.click("form.upload button[type=submit]")
    await page.wait_for_selector("text=Breaks found")
    return str(page.url).removeprefix(url)


async def page_of_payment(page: Any, url: str, ref: str) -> str:
    await page.goto(f"{url}/console/payments?q={ref}")
    link = page.locator("table a").first
    href = await link.get_attribute("href")
    assert href is not None
    return str(href)
