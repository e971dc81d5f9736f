"""A decision that waited for the day's figures past the cut-off is decided again.

On PostgreSQL every payment of a partner's day queues on that day's figures row, so a
notification whose clock said 22:59:59 may only get the row after 23:00, when the day's
statement can already say Final. The services read the clock again once they hold the
row, and hand the decision back (DecideAgain: the transaction rolls back whole) when
the business date has turned. The clock is the service's injected clock: here it says
one time at the start of the decision and another once the row is held.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

import pytest

from bank_adapter.clock import RIYADH
from bank_adapter.core.messages import Channel, PaymentNotification, PaymentReversal
from bank_adapter.domain.fees import load_fee_schedule
from bank_adapter.partners import load_partner
from bank_adapter.services import payments
from bank_adapter.services.context import CallContext
from bank_adapter.store.repository import DecideAgain
from tests.store.test_decisions import a_bill

ROOT = Path(__file__).resolve().parents[2]
RJHI = load_partner(ROOT / "partners" / "RJHI.toml", sandbox=True)  # cut-off 23:00
FEES = load_fee_schedule(ROOT / "fees.toml")
BEFORE = datetime(2026, 11, 22, 22, 59, 59, tzinfo=RIYADH)
AFTER = datetime(2026, 11, 22, 23, 0, 1, tzinfo=RIYADH)


def context(started: datetime, later: datetime) -> CallContext:
    return CallContext(RJHI, started, uuid4(), b"k" * 32, FEES, b"t" * 32, lambda: later)


def notification(bill_number: str, ref: str, at: datetime) -> PaymentNotification:
    return PaymentNotification(
        message_id=uuid4(), timestamp=at, channel=Channel.APP, bank_payment_ref=ref,
        bill_number=bill_number, amount=Decimal("650.00"), currency="SAR", paid_at=at,
    )  # fmt: skip


async def test_a_payment_that_waited_past_the_cutoff_is_decided_again(store):
    bill = a_bill()
    async with store.write() as tx:
        await tx.add_bill(bill, BEFORE)

    with pytest.raises(DecideAgain):
        async with store.write() as tx:
            await payments.notify(
                context(BEFORE, AFTER), tx, notification(bill.bill_number, "R1", BEFORE)
            )
    async with store.write() as tx:
        assert await tx.payment("RJHI", "R1") is None  # rolled back whole
        ack = await payments.notify(
            context(AFTER, AFTER), tx, notification(bill.bill_number, "R1", AFTER)
        )

    assert ack.business_date.isoformat() == "2026-11-23"


async def test_a_payment_held_before_the_cutoff_stays_on_its_day(store):
    bill = a_bill()
    async with store.write() as tx:
        await tx.add_bill(bill, BEFORE)
        ack = await payments.notify(
            context(BEFORE, BEFORE), tx, notification(bill.bill_number, "R2", BEFORE)
        )
    assert ack.business_date.isoformat() == "2026-11-22"


async def test_a_reversal_that_waited_past_the_cutoff_is_decided_again(store):
    bill = a_bill()
    async with store.write() as tx:
        await tx.add_bill(bill, BEFORE)
        await payments.notify(
            context(BEFORE, BEFORE), tx, notification(bill.bill_number, "R3", BEFORE)
        )
    reversal = PaymentReversal(
        message_id=uuid4(), timestamp=BEFORE, channel=Channel.APP, bank_payment_ref="R3", reason="x"
    )

    with pytest.raises(DecideAgain):
        async with store.write() as tx:
            await payments.reverse(context(BEFORE, AFTER), tx, reversal)
    async with store.read() as tx:
        payment = await tx.payment("RJHI", "R3")
    assert payment is not None
    assert payment.status == "POSTED"
