"""No payment can land in a day whose statement already said Final.

A unit of work reads the clock once it runs, and units run one at a time across all
instances (see `bank_adapter.store.batch`): a payment whose clock said 22:59:59 is
committed before any unit whose clock said 23:00 can run, and the figures a Final
statement shows include it. Here the clock is the service's injected clock; the
statement runs on another instance while the payment's batch is still open.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

from bank_adapter.clock import RIYADH
from bank_adapter.core.messages import Channel, PaymentNotification, StatementRequest
from bank_adapter.domain.fees import load_fee_schedule
from bank_adapter.partners import load_partner
from bank_adapter.services import payments, statement
from bank_adapter.services.context import CallContext
from bank_adapter.services.storage import Tx
from tests.store.test_decisions import HELD_S, a_bill

ROOT = Path(__file__).resolve().parents[2]
RJHI = load_partner(ROOT / "partners" / "RJHI.toml", sandbox=True)  # cut-off 23:00
FEES = load_fee_schedule(ROOT / "fees.toml")
BEFORE = datetime(2026, 11, 22, 22, 59, 59, tzinfo=RIYADH)
AFTER = datetime(2026, 11, 22, 23, 0, 1, tzinfo=RIYADH)
DAY = date(2026, 11, 22)


def context(now: datetime) -> CallContext:
    return CallContext(RJHI, now, uuid4(), b"k" * 32, FEES, b"t" * 32)


def notification(bill_number: str, ref: str) -> PaymentNotification:
    return PaymentNotification(
        message_id=uuid4(), timestamp=BEFORE, channel=Channel.APP, bank_payment_ref=ref,
        bill_number=bill_number, amount=Decimal("650.00"), currency="SAR", paid_at=BEFORE,
    )  # fmt: skip


def statement_request() -> StatementRequest:
    return StatementRequest(
        message_id=uuid4(), timestamp=AFTER, channel=Channel.APP, business_date=DAY
    )


async def test_a_final_statement_waits_for_a_payment_decided_before_the_cutoff(
    store, other_instance
):
    bill = a_bill()
    async with store.write() as tx:
        await tx.add_bill(bill, BEFORE)
    decided, release = asyncio.Event(), asyncio.Event()

    async def pay() -> None:
        async with store.write() as tx:
            ack = await payments.notify(context(BEFORE), tx, notification(bill.bill_number, "R1"))
            assert ack.business_date == DAY
            decided.set()
            await release.wait()

    async def read_final(tx: Tx) -> object:
        return await statement.statement(context(AFTER), tx, statement_request())

    paying = asyncio.create_task(pay())
    await decided.wait()
    reading = asyncio.create_task(other_instance.decide(read_final))
    await asyncio.sleep(HELD_S)
    assert not reading.done(), "a Final statement was served while a payment of its day was open"
    release.set()
    await paying
    page = await reading

    assert page.head.final  # type: ignore[attr-defined]
    assert page.head.count == 1  # type: ignore[attr-defined]
    assert [entry.bank_payment_ref for entry in page.entries] == ["R1"]  # type: ignore[attr-defined]


async def test_units_of_one_batch_see_each_other_in_order(store):
    """A payment and a Final statement decided in one batch: the statement counts it."""
    bill = a_bill()
    async with store.write() as tx:
        await tx.add_bill(bill, BEFORE)

    async def pay(tx: Tx) -> object:
        return await payments.notify(context(BEFORE), tx, notification(bill.bill_number, "R2"))

    async def read_final(tx: Tx) -> object:
        return await statement.statement(context(AFTER), tx, statement_request())

    ack, page = await asyncio.gather(store.decide(pay), store.decide(read_final))

    assert ack.business_date == DAY  # type: ignore[attr-defined]
    assert (page.head.final, page.head.count, page.head.total) == (True, 1, Decimal("650.00"))  # type: ignore[attr-defined]
