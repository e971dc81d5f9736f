"""The signed daily statement: figures against an independent computation, paging that
walks every entry exactly once while payments keep arriving, Final, bad tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from sqlalchemy import text

from bank_adapter.clock import RIYADH

ZERO = "0" * 64


def independent_checksum(entries) -> str:
    """The contract's checksum, computed here without the adapter's code."""
    acc = 0
    for ref, bill, amount, status in entries:
        digest = hashlib.sha256(f"{ref}|{bill}|{amount}|{status}".encode()).digest()
        acc ^= int.from_bytes(digest, "big")
    return f"{acc:064x}"


async def pay(service, client, amount):
    id_number, _ = await service.register()
    bill_number = await service.bill(id_number, amount)
    reference = "R" + secrets.token_hex(5)
    reply = await client.replies.pay(
        bank_payment_ref=reference, bill_number=bill_number, amount=amount, channel="APP"
    )
    assert reply.ok, reply.body
    return reference, bill_number, reply.message


async def walk(client, day, page_size, between_pages=None):
    pages = []
    async for page in client.replies.statement_pages(business_date=day, page_size=page_size):
        assert page.ok, page.body
        pages.append(page.message)
        if between_pages is not None and page.message.next_page_token:
            await between_pages()
    return pages


async def day_rows(service) -> int:
    async with service.runtime.store.engine.connect() as conn:
        return (await conn.execute(text("SELECT count(*) FROM day_figures"))).scalar_one()


async def test_statements_of_any_past_day_write_no_day_figures(service):
    """A read must not write: a partner asking for every closed day of the range cannot
    grow the day-figures table (only the answer, kept for replay and purged, is stored)."""
    client = service.client("JWSA")
    today = datetime.now(RIYADH).date()
    before = await day_rows(service)
    days = [today - timedelta(days=n) for n in (1, 3, 400)]
    days += [datetime(2000, 1, 1).date(), datetime(2001, 6, 30).date()]

    for day in days:
        page = await client.replies.statement(business_date=day)
        assert page.status == 200, page.body
        assert (page.message.count, page.message.checksum) == (0, ZERO)

    assert await day_rows(service) == before


@pytest.mark.parametrize("partner_id", ["JWSA", "XMLA"])
async def test_empty_day(service, partner_id):
    client = service.client(partner_id)
    today = datetime.now(RIYADH).date()

    page = (await client.replies.statement(business_date=today)).message
    past = (await client.replies.statement(business_date=today - timedelta(days=3))).message

    assert (page.count, page.total, page.checksum, page.entries) == (0, Decimal("0.00"), ZERO, [])
    assert page.next_page_token is None
    assert past.final is True


@pytest.mark.parametrize("partner_id", ["JWSA", "XMLA"])
async def test_figures_match_an_independent_computation(service, partner_id):
    client = service.client(partner_id)
    made = [await pay(service, client, amount) for amount in ("0.10", "0.20", "650.00", "1.01")]
    reversed_ref = made[2][0]
    assert (
        await client.replies.reverse(bank_payment_ref=reversed_ref, reason="r", channel="APP")
    ).ok
    day = made[0][2].business_date

    page = (await client.replies.statement(business_date=day)).message

    expected = [
        (ref, bill, ack_amount, "REVERSED" if ref == reversed_ref else "POSTED")
        for (ref, bill, _), ack_amount in zip(made, ("0.10", "0.20", "650.00", "1.01"), strict=True)
    ]
    assert page.count == 4
    assert page.total == Decimal("1.31")  # 0.10 + 0.20 + 1.01: the reversed one is out
    assert page.checksum == independent_checksum(expected)
    assert [e.payment_id for e in page.entries] == sorted(e.payment_id for e in page.entries)
    assert [(e.bank_payment_ref, e.status) for e in page.entries] == [
        (r, s) for r, _, _, s in expected
    ]
    assert page.final is False


async def test_paging_walks_every_entry_once_while_payments_arrive(service):
    client = service.client("JWSA")
    existing = [await pay(service, client, f"{n}.00") for n in range(1, 24)]
    day = existing[0][2].business_date
    arrivals = []

    async def another_payment():
        arrivals.append(await pay(service, client, "5.00"))

    pages = await walk(client, day, page_size=5, between_pages=another_payment)

    served = [entry.payment_id for page in pages for entry in page.entries]
    assert len(served) == len(set(served))  # nothing twice
    assert {ack.payment_id for _, _, ack in existing} <= set(served)  # nothing lost
    assert served == sorted(served)
    assert [len(page.entries) for page in pages][:4] == [5, 5, 5, 5]
    assert all(page.next_page_token for page in pages[:-1])
    assert pages[-1].next_page_token is None
    # Whole-day figures, as they stand when each page is served.
    assert pages[-1].count == len(existing) + len(arrivals)
    assert pages[0].count < pages[-1].count


async def test_a_fresh_walk_sees_the_payments_that_arrived(service):
    client = service.client("JWSA")
    made = [await pay(service, client, "1.00") for _ in range(3)]
    day = made[0][2].business_date
    pages = await walk(client, day, page_size=2)
    assert sum(len(page.entries) for page in pages) == 3
    assert pages[-1].total == Decimal("3.00")


async def test_final_once_the_cutoff_has_passed(service, clock):
    client = service.client("JWSA")
    today = datetime.now(RIYADH).date()
    clock.set(datetime(today.year, today.month, today.day, 10, 0, tzinfo=RIYADH))
    _, _, ack = await pay(service, client, "3.00")
    assert (await client.replies.statement(business_date=ack.business_date)).message.final is False

    clock.set(datetime(today.year, today.month, today.day, 23, 0, 1, tzinfo=RIYADH))
    after = (await client.replies.statement(business_date=ack.business_date)).message

    assert after.final is True
    assert after.count == 1


async def test_page_tokens_cannot_be_forged_or_moved(service):
    client = service.client("JWSA")
    made = [await pay(service, client, "1.00") for _ in range(3)]
    day = made[0][2].business_date
    token = (await client.replies.statement(business_date=day, page_size=1)).message.next_page_token
    assert token

    tampered = await client.replies.statement(
        business_date=day, page_token=token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    )
    other_day = await client.replies.statement(
        business_date=day - timedelta(days=1), page_token=token
    )
    other_partner = await service.client("JWSR").replies.statement(
        business_date=day, page_token=token
    )

    for reply in (tampered, other_day, other_partner):
        assert (reply.status, reply.code) == (400, "SCHEMA_INVALID")
        assert "pageToken" in reply.error["detail"]


async def test_page_size_is_bounded(service):
    client = service.client("JWSA")
    too_big = await client.send_body(
        "/v1/reconciliation/statement",
        b'{"messageId":"%s","timestamp":"%s","channel":"WEB","businessDate":"2026-01-01","pageSize":5001}'
        % (str(uuid4()).encode(), service.runtime.clock().isoformat().encode()),
    )
    assert (too_big.status, too_big.code) == (400, "SCHEMA_INVALID")
    assert "pageSize" in too_big.error["detail"]


async def test_statement_of_another_partner_is_separate(service):
    _, _, ack = await pay(service, service.client("JWSA"), "9.00")
    other = (
        await service.client("XMLA").replies.statement(business_date=ack.business_date)
    ).message
    assert (other.count, other.checksum) == (0, ZERO)


def test_independent_checksum_of_nothing_is_zero():
    assert independent_checksum([]) == ZERO
