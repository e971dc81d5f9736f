"""The conformance kit judges real banks: the SDK playing a good bank passes every rule in
every profile, and each wrong bank fails (or does not pass) exactly its rule.

The kit runs in-process here (the same app `conformance serve` builds, on a real
loopback port and a real SQLite file); `test_command.py` runs the real command.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bank_adapter.client import AnswerLostError
from bank_adapter.clock import system_clock
from bank_adapter.conformance.serve import build_kit
from bank_adapter.sandbox import partner_config
from bank_adapter.settings import Settings
from tests.conformance.banks import WRONG_BANKS, Bank, expected_statuses, run_bank, statuses

ROOT = Path(__file__).resolve().parents[2]
PARTNERS = ROOT / "partners"


@asynccontextmanager
async def kit(tmp_path: Path, partner_id: str) -> AsyncIterator[Bank]:
    settings = Settings.from_env(
        {
            "BANK_ADAPTER_VAR_DIR": str(tmp_path / "var"),
            "BANK_ADAPTER_FEES_FILE": str(ROOT / "fees.toml"),
        }
    )
    app, _ = await build_kit(
        settings, PARTNERS / f"{partner_id}.toml", system_clock, tmp_path / "kit"
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with aiohttp.ClientSession() as http:
            yield Bank(f"http://127.0.0.1:{port}", partner_config(PARTNERS, partner_id), http)
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("partner_id", ["RJHI", "NCBK", "RIBL", "SABB"])
async def test_the_sdk_as_a_good_bank_passes_every_rule_in_every_profile(tmp_path, partner_id):
    async with kit(tmp_path, partner_id) as bank:
        await run_bank(bank)
        report = await bank.report()
    assert statuses(report) == expected_statuses(None), report
    assert (report["passed"], report["failed"], report["notExercised"]) == (10, 0, 0)
    assert report["partner"] == partner_id


@pytest.mark.parametrize("mistake", sorted(WRONG_BANKS))
async def test_a_wrong_bank_fails_exactly_its_rule(tmp_path, mistake):
    async with kit(tmp_path, "RJHI") as bank:
        await run_bank(bank, mistake)
        report = await bank.report()
    assert statuses(report) == expected_statuses(mistake), report
    rule = next(r for r in report["rules"] if r["id"] == WRONG_BANKS[mistake][2])
    if rule["status"] == "fail":
        assert rule["evidence"], "a failure names the MessageIds it rests on"


async def test_a_tampered_body_is_reported_with_the_check_that_failed(tmp_path):
    async with kit(tmp_path, "RJHI") as bank:
        await bank.load_fixtures()
        await bank.send_a_tampered_body()
        report = await bank.report()
    rule = next(r for r in report["rules"] if r["id"] == "SIG-REQUEST")
    assert rule["status"] == "fail"
    assert "at check 'signature'" in rule["detail"]
    assert len(rule["evidence"]) == 1


async def test_the_lost_answer_was_stored_before_the_connection_closed(tmp_path):
    """The retry is answered from the stored payment: the same PaymentId, posted once."""
    async with kit(tmp_path, "RJHI") as bank:
        await bank.load_fixtures()
        client = bank.client()
        bill = bank.bill("lost_answer")
        sent = dict(
            bank_payment_ref="LOST-1", bill_number=bill["billNumber"], amount=bill["amount"]
        )
        with pytest.raises(AnswerLostError):
            await client.pay(**sent, channel="APP")
        first = await client.payment_status(bank_payment_ref="LOST-1", channel="APP")
        again = await client.pay(**sent, channel="ATM")  # later requests are answered
        assert (first.status, again.status) == ("POSTED", "POSTED")
        assert first.payment_id == again.payment_id
        pages = [p async for p in client.statement_pages(business_date=bank.day)]
        assert [e.bank_payment_ref for e in pages[-1].entries] == ["LOST-1"]


async def test_requests_to_the_sandbox_paths_count_for_no_rule(tmp_path):
    async with kit(tmp_path, "RJHI") as bank:
        await bank.load_fixtures()
        await bank.get("/sandbox/v1/conformance/sms?mobile=%2B966500000001")
        report = await bank.report()
    assert set(statuses(report).values()) == {"not_exercised"}


async def test_the_report_is_an_html_page_when_a_browser_asks(tmp_path):
    async with kit(tmp_path, "RJHI") as bank:
        await run_bank(bank, "tampered body")
        async with bank.http.get(
            bank.url + "/sandbox/v1/conformance/report", headers={"Accept": "text/html"}
        ) as response:
            assert response.content_type == "text/html"
            page = await response.text()
    assert page.startswith("<!DOCTYPE html>")
    assert "SIG-REQUEST" in page
    assert "FAIL" in page
    assert "at check" in page
    # Self-contained: no script, stylesheet or image from elsewhere.
    assert "http" not in page.replace("http-sig", "")
    assert "<script" not in page
