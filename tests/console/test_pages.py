"""What the console shows, read from the pages as served: figures of the day, payments and
their evidence, the events outbox, the audit log; in English and Arabic; ID numbers and
mobiles masked everywhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bank_adapter.console.i18n import LANGUAGES, MESSAGES
from bank_adapter.core.signing import VerifyPolicy
from bank_adapter.core.wire import WireRequest
from bank_adapter.domain.ids import mask_id
from bank_adapter.domain.mobile import mask_mobile
from bank_adapter.store.repository import Store
from tests.console.conftest import pay_today
from tests.console.html_tables import row_of, tables, text_of

CONSOLE_SOURCE = Path(__file__).resolve().parents[2] / "bank_adapter" / "console"
PAGES = [
    "/console/today",
    "/console/partners",
    "/console/day-close?partner=JWSA",
    "/console/payments?q=nothing-like-this",
    "/console/events",
    "/console/audit",
]


def test_every_word_used_has_both_languages():
    used = set()
    for source in CONSOLE_SOURCE.rglob("*.py"):
        used |= set(re.findall(r'\bt(?:exts)?\("([a-z0-9_]+)"\)', source.read_text()))
    assert used, "the scan found no words: it is looking in the wrong place"
    assert used <= set(MESSAGES), sorted(used - set(MESSAGES))
    for key, words in MESSAGES.items():
        assert len(words) == len(LANGUAGES), key
        assert all(word.strip() for word in words), key


@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_page_renders_in_both_languages(console, service, language):
    await pay_today(service, count=1)
    page = await console.get(f"/console/lang/{language}?next=/console/today")
    assert page.url.endswith("/console/today")
    for path in PAGES:
        page = await console.get(path)
        assert page.status == 200, (path, page.text[:300])
        direction = "rtl" if language == "ar" else "ltr"
        assert f'<html lang="{language}" dir="{direction}">' in page.text, path
    if language == "ar":
        assert "اليوم" in page.text


async def test_today_counts_the_days_payments_reversals_and_activations(console, service):
    paid = await pay_today(service, "JWSA", count=3)
    reply = await service.client("JWSA").replies.reverse(
        bank_payment_ref=paid.refs[0], reason="customer asked", channel="APP"
    )
    assert reply.status == 200, reply.error
    id_number, mobile = await service.register()
    reply = await service.client("XMLA").replies.activate(
        id_number=id_number, mobile=mobile, channel="ATM", bank_customer_ref="c-1"
    )
    assert reply.status == 200, reply.error

    page = await console.get("/console/today")

    by_partner = tables(page.text)[0]
    assert by_partner[0][:6] == [
        "Partner", "Posted", "Posted amount", "Reversed", "Reversed amount", "Activations"
    ]  # fmt: skip
    assert row_of(page.text, "JWSA", 0) == ["JWSA", "3", "1950.00 SAR", "1", "650.00 SAR", "0"]
    assert row_of(page.text, "XMLA", 0)[5] == "1"
    codes = row_of(page.text, "JWSA", 1)  # requests answered by this instance
    assert codes[1:3] == ["4", "4"]
    assert "<svg" in page.text
    assert "<rect" in page.text


async def test_signature_failures_are_counted_by_reason(console, service):
    client = service.client("JWSA")
    client.config = type(client.config)(
        "JWSA", "json", "jws", service.partners["HSJA"].key, "ES256"
    )
    reply = await client.replies.inquire_bills(channel="APP", bill_number="1000000000010")
    assert reply.code == "UNKNOWN_KEY"
    page = await console.get("/console/today")
    assert row_of(page.text, "JWSA", 2) == ["JWSA", "UNKNOWN_KEY", "1"]


async def test_day_close_shows_the_statement_figures_without_writing(console, service):
    paid = await pay_today(service, "JWSA", count=2)
    page = await console.get(f"/console/day-close?partner=JWSA&date={paid.day}")
    shown = text_of(page.text)
    assert "Count 2 Total 1300.00 SAR Final no" in shown

    async def day_rows() -> int:
        async with service.runtime.store.read() as tx:
            return await tx.count("day_figures")

    before = await day_rows()
    page = await console.get("/console/day-close?partner=XMLA&date=2020-02-02")
    assert page.status == 200
    assert "0000000000000000000000000000000000000000000000000000000000000000" in page.text
    assert await day_rows() == before  # a read inserts no row


async def test_a_payment_is_found_by_reference_payment_id_and_bill_number(console, service):
    paid = await pay_today(service, "JWSA", count=2)
    reply = await service.client("JWSA").replies.reverse(
        bank_payment_ref=paid.refs[0], reason="duplicate debit", channel="APP"
    )
    assert reply.status == 200
    for query in (paid.refs[0], paid.payment_ids[0], paid.bills[0]):
        page = await console.get(f"/console/payments?q={query}")
        rows = tables(page.text)[0]
        assert [row[0] for row in rows[1:]] == [paid.payment_ids[0]], query
        assert rows[1][4] == "reversed"
    page = await console.get("/console/payments?q=BPR-none-such")
    assert "No payment found" in page.text


async def test_a_payment_page_has_its_history_bill_and_evidence(console, service):
    paid = await pay_today(service, "JWSA", count=1)
    await service.client("JWSA").replies.reverse(
        bank_payment_ref=paid.refs[0], reason="duplicate debit", channel="APP"
    )
    page = await console.get(f"/console/payments/{paid.payment_ids[0]}")

    assert page.status == 200
    assert "duplicate debit" in page.text
    assert mask_id(paid.id_number) in page.text
    assert paid.id_number not in page.text
    links = re.findall(r'href="(/console/evidence/\d+/request\.http)"', page.text)
    assert len(links) == 2  # the payment and its reversal

    partner = service.runtime.partners["JWSA"]
    for link in links:
        async with console.http.get(console.url + link) as response:
            assert response.status == 200
            assert "attachment" in response.headers["Content-Disposition"]
            message = await response.read()
        head, _, body = message.partition(b"\r\n\r\n")
        request_line, *header_lines = head.decode().split("\r\n")
        method, path, _ = request_line.split(" ")
        headers = dict(line.split(": ", 1) for line in header_lines)
        wire = WireRequest(method, path, headers, body)
        policy = VerifyPolicy(partner.keys, partner.algorithms, service.runtime.clock())
        verified = service.runtime.profiles[partner.signature].verify_request(wire, policy)
        assert paid.refs[0].encode() in verified.body  # the download is the signed request


async def test_an_unknown_payment_id_is_a_not_found_page(console):
    page = await console.get("/console/payments/P0000000000000999999")
    assert page.status == 404
    page = await console.get("/console/evidence/999999/body")
    assert page.status == 404


async def test_events_are_paged_by_cursor_with_ids_and_mobiles_masked(console, service):
    id_number, mobile = await service.register()
    reply = await service.client("JWSA").replies.activate(
        id_number=id_number, mobile=mobile, channel="ATM", bank_customer_ref="c-1"
    )
    assert reply.status == 200
    await pay_today(service, "JWSA", count=1)

    page = await console.get("/console/events?after=0")
    rows = tables(page.text)[0][1:]
    assert [row[1] for row in rows] == ["ACCOUNT_ACTIVATED", "PAYMENT_POSTED"]
    assert mask_id(id_number) in page.text
    assert id_number not in page.text
    page = await console.get(f"/console/events?after={rows[0][0]}")
    assert [row[1] for row in tables(page.text)[0][1:]] == ["PAYMENT_POSTED"]


async def test_no_page_shows_a_full_id_number_or_mobile(console, service):
    paid = await pay_today(service, "JWSA", count=1)
    await service.admin("POST", f"/internal/v1/bills/{await service.bill(paid.id_number)}/cancel")
    pages = [
        *PAGES,
        f"/console/payments/{paid.payment_ids[0]}",
        f"/console/payments?q={paid.bills[0]}",
    ]
    for path in pages:
        text = (await console.get(path)).text
        assert paid.id_number not in text, path
        assert paid.mobile[4:] not in text, path  # +966 5XXXXXXXX, in any form
    text = (await console.get(f"/console/payments/{paid.payment_ids[0]}")).text
    assert mask_id(paid.id_number) in text
    assert mask_mobile(paid.mobile) in text


async def test_the_internal_apis_writes_are_in_the_audit_log(console, service):
    id_number, _ = await service.register()
    await service.register(prefix=id_number[:9], mobile="+966511111111")  # an update
    bill = await service.bill(id_number, "99.00")
    await service.admin("POST", f"/internal/v1/bills/{bill}/cancel")

    page = await console.get("/console/audit")
    rows = tables(page.text)[0][1:]
    actions = [(row[2], row[3]) for row in rows[:4]]
    assert actions == [
        ("bill.cancel", bill),
        ("bill.issue", bill),
        ("account.update", mask_id(id_number)),
        ("account.register", mask_id(id_number)),
    ]
    assert {row[1] for row in rows[:4]} == {"internal-apiinternal-api"}  # who, then via
    assert "99.00" in rows[1][5]
    assert mask_id(id_number) in rows[1][5]
    assert id_number not in page.text


async def test_a_database_outage_is_a_clear_page_and_changes_nothing(console, service, tmp_path):
    token = (await console.get("/console/partners")).csrf
    gone = tmp_path / "gone"
    gone.mkdir()
    broken = Store.open(f"sqlite:///{gone / 'adapter.db'}")
    gone.rmdir()
    working, service.runtime.store = service.runtime.store, broken
    try:
        page = await console.get("/console/today")
        assert page.status == 503
        assert "The database does not answer" in page.text
        page = await console.post(
            "/console/partners/JWSA/suspend", {"csrf": token, "reason": "outage"}
        )
        assert page.status == 503
        assert "The database does not answer" in page.text  # a page, not a JSON problem
    finally:
        service.runtime.store = working
        await broken.close()
    assert not service.runtime.partner_states.suspended(service.runtime.partners["JWSA"])
