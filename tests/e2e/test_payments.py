"""The money path end to end, in JSON and XML: bills, quotes, payments, reversals,
status, evidence; exactly once under concurrency."""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bank_adapter.clock import RIYADH
from bank_adapter.core.signing import VerifyPolicy
from bank_adapter.core.wire import WireRequest
from bank_adapter.domain.bills import new_bill_number
from bank_adapter.domain.ids import luhn_complete

FORMATS = ["JWSA", "XMLA", "HSXA"]


def ref() -> str:
    return "BPR-" + secrets.token_hex(6)


async def count(service, table):
    async with service.runtime.store.read() as tx:
        return await tx.count(table)


async def events(service, type_):
    _status, data = await service.admin("GET", "/internal/v1/events?limit=500")
    return [event for event in data["events"] if event["type"] == type_]


async def bill_status(service, bill_number):
    status, data = await service.admin("GET", f"/internal/v1/bills/{bill_number}")
    assert status == 200, data
    return data["status"]


# --- bills and quotes ----------------------------------------------------------------


@pytest.mark.parametrize("partner_id", FORMATS)
async def test_inquiry_by_id_lists_open_bills_and_by_number_any_bill(service, partner_id):
    id_number, _ = await service.register()
    open_bill = await service.bill(id_number, "150.00")
    cancelled = await service.bill(id_number, "99.99")
    await service.admin("POST", f"/internal/v1/bills/{cancelled}/cancel")
    client = service.client(partner_id)

    by_id = await client.replies.inquire_bills(channel="APP", id_number=id_number)
    by_number = await client.replies.inquire_bills(channel="IVR", bill_number=cancelled)

    assert [bill.bill_number for bill in by_id.message.bills] == [open_bill]
    [bill] = by_id.message.bills
    assert (bill.amount, bill.currency, bill.status) == (Decimal("150.00"), "SAR", "UNPAID")
    assert bill.description_en == "Traffic violation"
    assert [(b.bill_number, b.status) for b in by_number.message.bills] == [
        (cancelled, "CANCELLED")
    ]


@pytest.mark.parametrize("number", ["12345", "abc", "0000000000000", "new-but-wrong-check"])
async def test_malformed_or_unknown_bill_numbers_are_not_found(service, number):
    if number == "new-but-wrong-check":
        valid = new_bill_number()
        number = valid[:-1] + str((int(valid[-1]) + 1) % 10)
    reply = await service.client("XMLA").replies.inquire_bills(channel="ATM", bill_number=number)
    assert (reply.status, reply.code) == (404, "BILL_NOT_FOUND")


async def test_inquiry_with_an_invalid_id_number(service):
    reply = await service.client("JWSA").replies.inquire_bills(
        channel="APP", id_number="1234567890"
    )
    assert (reply.status, reply.code) == (400, "INVALID_ID_NUMBER")


async def test_inquiry_for_a_person_without_bills_is_an_empty_list(service):
    id_number, _ = await service.register()
    reply = await service.client("XMLA").replies.inquire_bills(channel="APP", id_number=id_number)
    assert reply.status == 200
    assert reply.message.bills == []


@pytest.mark.parametrize("partner_id", ["JWSA", "XMLA"])
async def test_fee_quote_issues_one_bill_and_returns_it_again(service, partner_id):
    id_number, _ = await service.register(
        prefix="2" + secrets.token_hex(4)[:8].translate(str.maketrans("abcdef", "123456"))
    )
    client = service.client(partner_id)

    first = await client.replies.quote_fee(
        id_number=id_number, service_code="IQAMA_RENEWAL", periods=12, channel="APP"
    )
    again = await client.replies.quote_fee(
        id_number=id_number, service_code="IQAMA_RENEWAL", periods=12, channel="WEB"
    )
    other = await client.replies.quote_fee(
        id_number=id_number, service_code="IQAMA_RENEWAL", periods=24, channel="WEB"
    )

    [bill] = first.message.bills
    assert (bill.amount, bill.status, bill.service_code) == (
        Decimal("650.00"),
        "UNPAID",
        "IQAMA_RENEWAL",
    )
    assert [b.bill_number for b in again.message.bills] == [bill.bill_number]
    assert other.message.bills[0].amount == Decimal("1300.00")
    assert other.message.bills[0].bill_number != bill.bill_number
    assert await bill_status(service, bill.bill_number) == "UNPAID"


async def test_visa_quote_prices_extra_months(service):
    id_number, _ = await service.register(prefix="212345678")
    reply = await service.client("JWSA").replies.quote_fee(
        id_number=id_number, service_code="EXIT_REENTRY_VISA", periods=5, channel="APP"
    )
    assert reply.message.bills[0].amount == Decimal("500.00")  # 200.00 + 3 x 100.00


@pytest.mark.parametrize(
    ("prefix", "account", "service_code", "periods", "status", "code"),
    [
        ("112345678", {}, "IQAMA_RENEWAL", 12, 422, "SERVICE_NOT_APPLICABLE"),  # citizen
        ("212345679", {"blocked": True}, "IQAMA_RENEWAL", 12, 422, "SERVICE_NOT_APPLICABLE"),
        ("212345670", {}, "TRAFFIC_VIOLATION", 1, 422, "SERVICE_NOT_APPLICABLE"),
        ("212345671", {}, "IQAMA_RENEWAL", 7, 400, "SCHEMA_INVALID"),
        ("212345672", None, "IQAMA_RENEWAL", 12, 404, "ACCOUNT_NOT_FOUND"),
    ],
)
async def test_fee_quote_refusals(service, prefix, account, service_code, periods, status, code):
    id_number = luhn_complete(prefix)
    if account is not None:
        await service.register(prefix=prefix, **account)
    reply = await service.client("JWSA").replies.quote_fee(
        id_number=id_number, service_code=service_code, periods=periods, channel="APP"
    )
    assert (reply.status, reply.code) == (status, code)
    assert await count(service, "bills") == 0


# --- payments ------------------------------------------------------------------------


@pytest.mark.parametrize("partner_id", FORMATS)
async def test_payment_posts_once_and_retries_return_it(service, partner_id):
    id_number, _ = await service.register()
    bill_number = await service.bill(id_number, "650.00")
    client = service.client(partner_id)
    reference = ref()

    posted = await client.replies.pay(
        bank_payment_ref=reference, bill_number=bill_number, amount="650.00", channel="APP"
    )
    retry = await client.replies.pay(
        bank_payment_ref=reference,
        bill_number=bill_number,
        amount="650.00",
        channel="ATM",
        terminal_id="T-9",
    )

    assert posted.status == 200
    ack = posted.message
    assert (ack.status, ack.bank_payment_ref) == ("POSTED", reference)
    assert ack.business_date == _business_date(service.runtime.clock(), cutoff_hour=23)
    assert (retry.message.payment_id, retry.message.status) == (ack.payment_id, "POSTED")
    assert await bill_status(service, bill_number) == "PAID"
    [event] = await events(service, "PAYMENT_POSTED")
    assert event["data"] == {
        "partnerId": partner_id,
        "bankPaymentRef": reference,
        "paymentId": ack.payment_id,
        "billNumber": bill_number,
        "amount": "650.00",
        "businessDate": ack.business_date.isoformat(),
    }
    assert await count(service, "payments") == 1


def _business_date(now: datetime, cutoff_hour: int):
    local = now.astimezone(RIYADH)
    return (local + timedelta(days=1)).date() if local.hour >= cutoff_hour else local.date()


async def test_same_reference_with_other_content_is_a_conflict(service):
    id_number, _ = await service.register()
    bill_number = await service.bill(id_number, "100.00")
    other_bill = await service.bill(id_number, "100.00")
    client = service.client("JWSA")
    reference = ref()
    assert (
        await client.replies.pay(
            bank_payment_ref=reference, bill_number=bill_number, amount="100.00", channel="APP"
        )
    ).ok

    other_amount = await client.replies.pay(
        bank_payment_ref=reference, bill_number=bill_number, amount="100.01", channel="APP"
    )
    other_number = await client.replies.pay(
        bank_payment_ref=reference, bill_number=other_bill, amount="100.00", channel="APP"
    )

    assert (other_amount.status, other_amount.code) == (409, "DUPLICATE_CONFLICT")
    assert (other_number.status, other_number.code) == (409, "DUPLICATE_CONFLICT")
    assert await bill_status(service, other_bill) == "UNPAID"


@pytest.mark.parametrize("partner_id", ["JWSA", "XMLA"])
async def test_payment_refusals(service, clock, partner_id):
    id_number, _ = await service.register()
    client = service.client(partner_id)
    paid = await service.bill(id_number, "10.00")
    assert (
        await service.client("JWSR").replies.pay(
            bank_payment_ref=ref(), bill_number=paid, amount="10.00", channel="APP"
        )
    ).ok
    cancelled = await service.bill(id_number, "10.00")
    await service.admin("POST", f"/internal/v1/bills/{cancelled}/cancel")
    expiring = await service.bill(
        id_number, "10.00", expiresAt=(clock() + timedelta(minutes=1)).isoformat()
    )
    open_bill = await service.bill(id_number, "10.00")
    clock.advance(minutes=2)

    cases = {
        "BILL_ALREADY_PAID": (paid, "10.00"),
        "BILL_CANCELLED": (cancelled, "10.00"),
        "BILL_EXPIRED": (expiring, "10.00"),
        "AMOUNT_MISMATCH": (open_bill, "9.99"),
        "BILL_NOT_FOUND": ("1234567890123", "10.00"),
    }
    for code, (bill_number, amount) in cases.items():
        reply = await client.replies.pay(
            bank_payment_ref=ref(), bill_number=bill_number, amount=amount, channel="APP"
        )
        assert reply.code == code, (code, reply.status, reply.body)
    assert await count(service, "payments") == 1


async def test_after_the_cutoff_the_payment_belongs_to_the_next_business_date(service, clock):
    id_number, _ = await service.register()
    today = datetime.now(RIYADH).date()
    clock.set(datetime(today.year, today.month, today.day, 23, 0, 5, tzinfo=RIYADH))
    bill_number = await service.bill(id_number, "10.00")

    reply = await service.client("JWSA").replies.pay(
        bank_payment_ref=ref(), bill_number=bill_number, amount="10.00", channel="APP"
    )

    assert reply.message.business_date == today + timedelta(days=1)


async def test_paid_at_is_kept_but_never_places_the_payment(service, clock):
    id_number, _ = await service.register()
    bill_number = await service.bill(id_number, "10.00")
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)

    reply = await service.client("JWSA").replies.pay(
        bank_payment_ref=ref(),
        bill_number=bill_number,
        amount="10.00",
        channel="APP",
        paid_at=long_ago,
    )

    assert reply.message.business_date == _business_date(clock(), 23)
    page = await service.client("JWSA").replies.statement(business_date=reply.message.business_date)
    assert page.message.entries[0].paid_at == long_ago


# --- reversals and status ----------------------------------------------------------------


@pytest.mark.parametrize("partner_id", FORMATS)
async def test_reversal_makes_the_bill_payable_again(service, partner_id):
    id_number, _ = await service.register()
    bill_number = await service.bill(id_number, "75.50")
    client = service.client(partner_id)
    reference = ref()
    posted = await client.replies.pay(
        bank_payment_ref=reference, bill_number=bill_number, amount="75.50", channel="APP"
    )

    reversed_ = await client.replies.reverse(
        bank_payment_ref=reference, reason="customer cancelled", channel="APP"
    )
    status = await client.replies.payment_status(bank_payment_ref=reference, channel="APP")
    twice = await client.replies.reverse(bank_payment_ref=reference, reason="again", channel="APP")
    notified_again = await client.replies.pay(
        bank_payment_ref=reference, bill_number=bill_number, amount="75.50", channel="APP"
    )
    repaid = await client.replies.pay(
        bank_payment_ref=ref(), bill_number=bill_number, amount="75.50", channel="APP"
    )

    assert (reversed_.message.status, reversed_.message.payment_id) == (
        "REVERSED",
        posted.message.payment_id,
    )
    assert status.message.status == "REVERSED"
    assert (twice.status, twice.code) == (409, "ALREADY_REVERSED")
    assert (notified_again.message.status, notified_again.message.payment_id) == (
        "REVERSED",
        posted.message.payment_id,
    )
    assert repaid.message.status == "POSTED"
    assert repaid.message.payment_id != posted.message.payment_id
    [event] = await events(service, "PAYMENT_REVERSED")
    assert event["data"]["paymentId"] == posted.message.payment_id


async def test_reversal_window_closes_at_the_cutoff_of_the_business_date(service, clock):
    id_number, _ = await service.register()
    today = datetime.now(RIYADH).date()
    clock.set(datetime(today.year, today.month, today.day, 12, 0, tzinfo=RIYADH))
    bill_number = await service.bill(id_number, "10.00")
    client = service.client("JWSA")
    reference = ref()
    assert (
        await client.replies.pay(
            bank_payment_ref=reference, bill_number=bill_number, amount="10.00", channel="APP"
        )
    ).ok
    clock.set(datetime(today.year, today.month, today.day, 23, 0, tzinfo=RIYADH))

    late = await client.replies.reverse(bank_payment_ref=reference, reason="late", channel="APP")

    assert (late.status, late.code) == (422, "REVERSAL_WINDOW_CLOSED")
    assert await bill_status(service, bill_number) == "PAID"


async def test_unknown_payment(service):
    client = service.client("XMLA")
    assert (
        await client.replies.payment_status(bank_payment_ref="nope", channel="APP")
    ).code == "PAYMENT_NOT_FOUND"
    assert (
        await client.replies.reverse(bank_payment_ref="nope", reason="x", channel="APP")
    ).code == "PAYMENT_NOT_FOUND"


async def test_payment_references_are_per_partner(service):
    id_number, _ = await service.register()
    reference = ref()
    first = await service.bill(id_number, "10.00")
    second = await service.bill(id_number, "10.00")
    a = await service.client("JWSA").replies.pay(
        bank_payment_ref=reference, bill_number=first, amount="10.00", channel="APP"
    )
    b = await service.client("XMLA").replies.pay(
        bank_payment_ref=reference, bill_number=second, amount="10.00", channel="APP"
    )
    assert a.message.payment_id != b.message.payment_id
    assert (
        await service.client("XMLA").replies.payment_status(
            bank_payment_ref=reference, channel="APP"
        )
    ).message.payment_id == b.message.payment_id


# --- evidence ------------------------------------------------------------------------------


@pytest.mark.parametrize("partner_id", ["JWSA", "XMLA", "HSJA"])
async def test_the_banks_signed_request_is_kept_as_evidence(service, test_partners, partner_id):
    id_number, _ = await service.register()
    bill_number = await service.bill(id_number, "10.00")
    client = service.client(partner_id)
    reference = ref()
    await client.replies.pay(
        bank_payment_ref=reference, bill_number=bill_number, amount="10.00", channel="APP"
    )
    await client.replies.reverse(bank_payment_ref=reference, reason="test", channel="APP")

    async with service.runtime.store.engine.connect() as tx:
        rows = (
            await tx.exec_driver_sql(
                "SELECT operation, method, path, headers, body FROM evidence ORDER BY id"
            )
        ).all()

    assert [row.operation for row in rows] == ["payment", "payment_reversal"]
    # The stored bytes still verify with the bank's registered key: evidence for a dispute.
    partner = service.runtime.partners[partner_id]
    for row in rows:
        headers = row.headers if isinstance(row.headers, list) else json.loads(row.headers)
        wire = WireRequest(row.method, row.path, dict(headers), row.body)
        policy = VerifyPolicy(partner.keys, partner.algorithms, service.runtime.clock())
        verified = service.runtime.profiles[partner.signature].verify_request(wire, policy)
        assert reference.encode() in verified.body


# --- exactly once under concurrency ----------------------------------------------------------


@pytest.mark.parametrize("partner_id", ["JWSA", "XMLA"])
async def test_fifty_notifications_of_one_reference_at_once_post_once(service, partner_id):
    id_number, _ = await service.register()
    bill_number = await service.bill(id_number, "650.00")
    client = service.client(partner_id)
    reference = ref()

    replies = await asyncio.gather(
        *(
            client.replies.pay(
                bank_payment_ref=reference, bill_number=bill_number, amount="650.00", channel="APP"
            )
            for _ in range(50)
        )
    )

    assert {reply.status for reply in replies} == {200}
    assert len({reply.message.payment_id for reply in replies}) == 1
    assert await count(service, "payments") == 1
    assert len(await events(service, "PAYMENT_POSTED")) == 1
    assert await bill_status(service, bill_number) == "PAID"
    page = await client.replies.statement(business_date=replies[0].message.business_date)
    assert (page.message.count, page.message.total) == (1, Decimal("650.00"))


async def test_two_references_racing_for_one_bill(service):
    id_number, _ = await service.register()
    bill_number = await service.bill(id_number, "20.00")

    replies = await asyncio.gather(
        service.client("JWSA").replies.pay(
            bank_payment_ref=ref(), bill_number=bill_number, amount="20.00", channel="APP"
        ),
        service.client("XMLA").replies.pay(
            bank_payment_ref=ref(), bill_number=bill_number, amount="20.00", channel="APP"
        ),
    )

    outcomes = sorted((reply.status, reply.code or reply.message.status) for reply in replies)
    assert outcomes == [(200, "POSTED"), (409, "BILL_ALREADY_PAID")]
    assert await count(service, "payments") == 1


async def test_reversing_a_quoted_bill_after_the_same_quote_was_asked_again(service):
    # The paid bill gave up its open-quote slot, so the new quote's bill and the reversed
    # one can both be UNPAID.
    id_number, _ = await service.register(
        prefix="2" + "".join(secrets.choice("0123456789") for _ in range(8))
    )
    client = service.client("JWSA")
    first = (
        await client.replies.quote_fee(
            id_number=id_number, service_code="IQAMA_RENEWAL", periods=12, channel="APP"
        )
    ).message.bills[0]
    reference = ref()
    assert (
        await client.replies.pay(
            bank_payment_ref=reference,
            bill_number=first.bill_number,
            amount="650.00",
            channel="APP",
        )
    ).ok
    second = (
        await client.replies.quote_fee(
            id_number=id_number, service_code="IQAMA_RENEWAL", periods=12, channel="APP"
        )
    ).message.bills[0]

    reversed_ = await client.replies.reverse(
        bank_payment_ref=reference, reason="customer", channel="APP"
    )
    again = (
        await client.replies.quote_fee(
            id_number=id_number, service_code="IQAMA_RENEWAL", periods=12, channel="APP"
        )
    ).message.bills[0]

    assert second.bill_number != first.bill_number
    assert reversed_.message.status == "REVERSED"
    assert await bill_status(service, first.bill_number) == "UNPAID"
    assert again.bill_number == second.bill_number
