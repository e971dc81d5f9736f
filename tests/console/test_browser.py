"""The console in a real headless browser (Debian's chromium, driven by Playwright), as an
operator uses it: log in, suspend a bank and see its next signed request refused, resume
it, reconcile a settlement file and download the breaks, and what is refused: a forged
form, an idle session. Every wait is for something to appear, never a fixed sleep."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

from bank_adapter.console.partner_state import PartnerStates
from tests.console.conftest import TABLET, log_in, pay_today


async def inquiry(service, partner_id: str, bill_number: str) -> tuple[int, str | None]:
    reply = await service.client(partner_id).replies.inquire_bills(
        channel="APP", bill_number=bill_number
    )
    return reply.status, reply.code


def suspended(service, partner_id: str) -> bool:
    states: PartnerStates = service.runtime.partner_states
    return states.suspended(service.runtime.partners[partner_id])


async def test_suspend_refuses_the_banks_next_request_and_resume_admits_it(browser, service):
    id_number, _ = await service.register()
    bill = await service.bill(id_number, "120.00")
    assert (await inquiry(service, "JWSA", bill))[0] == 200
    page = await browser.new_page()
    await log_in(page, service.url)

    await page.click("nav >> text=Partners")
    await page.fill("#JWSA input[name=reason]", "fraud alert from the bank")
    await page.click("#JWSA button:has-text('Suspend')")
    await page.wait_for_selector("#JWSA .badge:has-text('suspended')")

    assert await inquiry(service, "JWSA", bill) == (403, "PARTNER_SUSPENDED")
    decision = await page.inner_text("#JWSA .decision")
    assert "Noura Operator" in decision
    assert "fraud alert from the bank" in decision

    await page.fill("#JWSA input[name=reason]", "the bank rotated its key")
    await page.click("#JWSA button:has-text('Resume')")
    await page.wait_for_selector("#JWSA .badge:has-text('active')")
    assert await inquiry(service, "JWSA", bill) == (200, None)

    await page.click("nav >> text=Audit log")
    await page.wait_for_selector("td:has-text('partner.resume')")
    log = await page.inner_text("main")
    assert "fraud alert from the bank" in log
    assert "the bank rotated its key" in log


async def test_reconcile_an_upload_see_the_breaks_and_download_them(browser, service, tmp_path):
    paid = await pay_today(service, "JWSA", count=4)
    settlement = paid.settlement(tmp_path / "jwsa-settlement.csv")
    page = await browser.new_page()
    await log_in(page, service.url)

    await page.click("nav >> text=Day close")
    form = "form.upload"
    await page.select_option(f"{form} select[name=partner]", "JWSA")
    await page.fill(f"{form} input[name=date]", paid.day)
    await page.set_input_files(f"{form} input[name=bank_file]", str(settlement))
    await page.click(f"{form} button[type=submit]")
    await page.wait_for_selector("text=Breaks found")  # the page refreshes until the job ends

    amount = await page.inner_text(f"tr:has-text('{paid.refs[1]}')")
    assert "AMOUNT_MISMATCH" in amount
    assert "651.00" in amount
    assert "650.00" in amount
    assert await page.is_visible(f"tr:has-text('MISSING_AT_BANK'):has-text('{paid.refs[2]}')")
    assert await page.is_visible("tr:has-text('MISSING_AT_ADAPTER')")

    await page.click("a.card:has-text('AMOUNT_MISMATCH')")
    await page.wait_for_url("**class=AMOUNT_MISMATCH")
    assert not await page.is_visible("td:has-text('MISSING_AT_BANK')")

    async with page.expect_download() as started:
        await page.click("text=Download breaks (CSV)")
    download = await started.value
    text = await asyncio.to_thread(Path(str(await download.path())).read_text, encoding="utf-8")
    rows = list(csv.reader(text.splitlines()))
    assert rows[0][0] == "class"
    assert sorted(row[0] for row in rows[1:]) == [
        "AMOUNT_MISMATCH", "MISSING_AT_ADAPTER", "MISSING_AT_BANK"
    ]  # fmt: skip
    assert download.suggested_filename.endswith("breaks.csv")


async def test_a_forged_csrf_token_is_refused_in_the_browser(browser, service):
    page = await browser.new_page()
    await log_in(page, service.url)
    await page.goto(service.url + "/console/partners")
    await page.eval_on_selector("#JWSA input[name=csrf]", "field => field.value = 'forged'")
    await page.fill("#JWSA input[name=reason]", "should not happen")
    async with page.expect_response(lambda response: "/suspend" in response.url) as answer:
        await page.click("#JWSA button:has-text('Suspend')")
    assert (await answer.value).status == 403
    await page.wait_for_selector("text=did not come from this console")
    assert not suspended(service, "JWSA")


async def test_an_idle_session_ends_at_the_login_form(browser, service, clock):
    page = await browser.new_page()
    await log_in(page, service.url)
    clock.advance(minutes=16)
    await page.click("nav >> text=Partners")
    await page.wait_for_url("**/console/login?next=/console/partners")
    assert await page.is_visible("input[name=token]")


async def test_arabic_pages_are_right_to_left(browser, service):
    page = await browser.new_page()
    await page.set_viewport_size(TABLET)
    await log_in(page, service.url)
    await page.click("a.lang")
    await page.wait_for_selector("html[dir=rtl]")
    assert await page.evaluate("document.documentElement.lang") == "ar"
    assert await page.inner_text("h1") == "اليوم"

    width = TABLET["width"]
    heading = await page.locator("h1").bounding_box()
    assert heading is not None
    assert heading["x"] + heading["width"] > width * 0.8  # starts at the right
    headers = page.locator("table >> nth=0 >> th")
    first, last = await headers.first.bounding_box(), await headers.last.bounding_box()
    assert first is not None
    assert last is not None
    assert first["x"] > last["x"]  # columns run right to left

    await page.click("a.lang")  # and back
    await page.wait_for_selector("html[dir=ltr]")
