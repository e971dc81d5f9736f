"""Reconciliation from the console: the settlement file is uploaded (streamed to disk),
the job runs in its own process, the breaks show by class and download as CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import time
from pathlib import Path

import aiohttp

from tests.console.conftest import Console, Page, pay_today
from tests.console.html_tables import tables

DONE_WITHIN_S = 120.0  # a child process on a busy machine; the job itself takes a second


async def upload(console: Console, partner: str, day: str, path: Path, csrf: str | None) -> Page:
    form = aiohttp.FormData()
    if csrf is not None:
        form.add_field("csrf", csrf)
    form.add_field("partner", partner)
    form.add_field("date", day)
    with path.open("rb") as file:
        form.add_field("bank_file", file, filename=path.name, content_type="text/csv")
        return await console.post("/console/reconcile", form)


async def finished(console: Console, page: Page) -> Page:
    """The run's page once it no longer says it is running (it refreshes itself)."""
    started = time.monotonic()
    while 'http-equiv="refresh"' in page.text:
        assert time.monotonic() - started < DONE_WITHIN_S, "the reconciliation never finished"
        await asyncio.sleep(0.2)
        page = await console.get(page.url.removeprefix(console.url))
    return page


def run_dirs(service) -> list[Path]:
    root = service.runtime.settings.var_dir / "console" / "reconcile"
    return sorted(root.iterdir()) if root.is_dir() else []


async def test_breaks_show_by_class_and_download_as_csv(console, service, tmp_path):
    paid = await pay_today(service, "JWSA", count=4)
    settlement = paid.settlement(tmp_path / "jwsa.csv")
    token = (await console.get("/console/day-close")).csrf

    page = await finished(console, await upload(console, "JWSA", paid.day, settlement, token))

    assert page.status == 200
    assert "Breaks found" in page.text
    counts = dict(
        re.findall(r'class="code">([A-Z_]+)</bdi></span><span class="value">(\d+)', page.text)
    )
    assert counts == {
        "MISSING_AT_ADAPTER": "1", "MISSING_AT_BANK": "1", "AMOUNT_MISMATCH": "1",
        "BILL_MISMATCH": "0", "STATUS_MISMATCH": "0", "BUSINESS_DATE_MISMATCH": "0",
        "DUPLICATE_AT_BANK": "0",
    }  # fmt: skip
    rows = {row[0]: row for row in tables(page.text)[1][1:]}
    assert rows["AMOUNT_MISMATCH"][1:5] == [paid.refs[1], "amount", "651.00", "650.00"]
    assert rows["MISSING_AT_BANK"][1] == paid.refs[2]
    assert rows["MISSING_AT_ADAPTER"][1] == f"NEVER-SEEN-{paid.refs[0]}"

    only = await console.get(page.url.removeprefix(console.url) + "?class=AMOUNT_MISMATCH")
    assert [row[0] for row in tables(only.text)[1][1:]] == ["AMOUNT_MISMATCH"]

    link = re.search(r'href="(/console/reconcile/[^"]+/breaks\.csv)"', page.text)
    assert link is not None
    async with console.http.get(console.url + link.group(1)) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/csv")
        assert "attachment" in response.headers["Content-Disposition"]
        lines = list(csv.reader(io.StringIO(await response.text())))
    assert lines[0][:3] == ["class", "bank_payment_ref", "field"]
    assert sorted(line[0] for line in lines[1:]) == [
        "AMOUNT_MISMATCH", "MISSING_AT_ADAPTER", "MISSING_AT_BANK"
    ]  # fmt: skip
    [directory] = run_dirs(service)
    assert not (directory / "settlement.csv").exists()  # the upload is not kept


async def test_a_matching_day_says_so(console, service, tmp_path):
    paid = await pay_today(service, "JWSA", count=2)
    settlement = tmp_path / "match.csv"
    rows = [f"{ref},{bill},650.00,2026-01-01T10:00:00+03:00,POSTED" for ref, bill in
            zip(paid.refs, paid.bills, strict=True)]  # fmt: skip
    settlement.write_text("bank_payment_ref,bill_number,amount,paid_at,status\n" + "\n".join(rows))
    token = (await console.get("/console/day-close")).csrf
    page = await finished(console, await upload(console, "JWSA", paid.day, settlement, token))
    assert "The day matches" in page.text
    assert "not final yet" in page.text  # today's business date is still open


async def test_an_unusable_file_shows_its_problems_by_line(console, service, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "bank_payment_ref,bill_number,amount,paid_at,status\n"
        "R1,1000000000010,12.5,2026-01-01T10:00:00+03:00,POSTED\n"
    )
    token = (await console.get("/console/day-close")).csrf
    page = await finished(console, await upload(console, "JWSA", "2026-01-01", bad, token))
    assert "The file cannot be used" in page.text
    assert "line 2" in page.text
    assert "amount" in page.text


async def test_an_upload_without_the_csrf_token_is_refused_before_it_is_stored(
    console, service, tmp_path
):
    settlement = tmp_path / "x.csv"
    settlement.write_text("bank_payment_ref,bill_number,amount,paid_at,status\n")
    page = await upload(console, "JWSA", "2026-01-01", settlement, csrf=None)
    assert page.status == 403
    page = await upload(console, "JWSA", "2026-01-01", settlement, csrf="A" * 43)
    assert page.status == 403
    assert run_dirs(service) == []


async def test_an_upload_needs_a_known_partner_a_date_and_a_file(console, service, tmp_path):
    settlement = tmp_path / "x.csv"
    settlement.write_text("bank_payment_ref,bill_number,amount,paid_at,status\n")
    token = (await console.get("/console/day-close")).csrf
    page = await upload(console, "NONE", "2026-01-01", settlement, token)
    assert page.status == 400
    page = await upload(console, "JWSA", "yesterday", settlement, token)
    assert page.status == 400
    form = aiohttp.FormData()
    form.add_field("csrf", token)
    form.add_field("partner", "JWSA")
    form.add_field("date", "2026-01-01")
    form.add_field("note", "no file", content_type="text/plain", filename="note.txt")
    assert (await console.post("/console/reconcile", form)).status == 400
    assert run_dirs(service) == []


async def test_runs_are_listed_and_unknown_ones_are_not_found(console, service, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("bank_payment_ref,bill_number,amount,paid_at,status\n")
    token = (await console.get("/console/day-close")).csrf
    run = await finished(console, await upload(console, "XMLA", "2026-01-02", empty, token))
    listing = await console.get("/console/day-close")
    assert run.url.removeprefix(console.url) in listing.text
    assert "empty.csv" in listing.text
    for path in (
        "/console/reconcile/AAAAAAAAAAAAAAAAAAAAAA",
        "/console/reconcile/..%2F..%2Fetc",
        "/console/reconcile/AAAAAAAAAAAAAAAAAAAAAA/breaks.csv",
        run.url.removeprefix(console.url) + "/settlement.csv",
    ):
        assert (await console.get(path)).status == 404, path
