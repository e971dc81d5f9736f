"""Reads that a decision rests on wait for a concurrent writer to commit, then see its
outcome (see `bank_adapter.store.batch`): one batch of units of work writes at a time,
across processes and instances (SQLite's write lock, PostgreSQL's writer advisory lock).
Two `Store`s on one database stand for two adapter instances. Plain reads never wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bank_adapter.core.messages import BillStatus, PaymentStatus, ServiceCode
from bank_adapter.domain.activation import ActivationAttempt
from bank_adapter.domain.bills import Bill, new_bill_number
from bank_adapter.domain.payments import NewPayment
from bank_adapter.services.storage import Tx
from bank_adapter.store.repository import Store

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
HELD_S = 0.4
READ_WITHIN_S = 10.0


def a_bill() -> Bill:
    return Bill(
        bill_number=new_bill_number(),
        id_number="1000000016",
        service_code=ServiceCode.TRAFFIC_VIOLATION,
        description_ar="مخالفة",
        description_en="Violation",
        amount_halalas=65000,
        due_date=date(2031, 1, 1),
        expires_at=None,
        status=BillStatus.UNPAID,
    )


def a_payment(bill: Bill, reference: str) -> NewPayment:
    return NewPayment(
        partner_id="JWSA",
        bank_payment_ref=reference,
        bill_number=bill.bill_number,
        amount_halalas=bill.amount_halalas,
        paid_at=NOW,
        channel="APP",
        terminal_id=None,
        business_date=date(2026, 3, 1),
    )


async def first_decides_while_second_waits(
    store: Store,
    other: Store,
    first: Callable[[Tx], Awaitable[None]],
    second: Callable[[Tx], Awaitable[Any]],
) -> Any:
    """`first` reads and holds its transaction open; `second`, on the other instance,
    must not finish before `first` commits its writes. What `second` read."""
    read, release = asyncio.Event(), asyncio.Event()

    async def run_first() -> None:
        async with store.write() as tx:
            await first(tx)
            read.set()
            await release.wait()

    async def run_second() -> Any:
        await read.wait()
        async with other.write() as tx:
            return await second(tx)

    a, b = asyncio.create_task(run_first()), asyncio.create_task(run_second())
    try:
        await read.wait()
        await asyncio.sleep(HELD_S)
        assert not b.done(), "the second decided while the first was deciding the same thing"
    finally:
        release.set()
        await a
    return await b


async def test_a_concurrent_retry_of_a_reference_waits_and_finds_the_payment(store, other_instance):
    bill, reference = a_bill(), "BPR-race"
    async with store.write() as tx:
        await tx.add_bill(bill, NOW)

    async def post(tx: Tx) -> None:
        assert await tx.payment("JWSA", reference) is None
        assert await tx.bill(bill.bill_number) == bill
        await tx.add_payment(a_payment(bill, reference), NOW)
        assert await tx.move_bill(bill.bill_number, BillStatus.UNPAID, BillStatus.PAID, NOW)

    async def retry(tx: Tx) -> Any:
        return await tx.payment("JWSA", reference)

    found = await first_decides_while_second_waits(store, other_instance, post, retry)

    assert found is not None
    assert (found.bank_payment_ref, found.status) == (reference, PaymentStatus.POSTED)


async def test_another_reference_for_the_same_bill_waits_and_finds_it_paid(store, other_instance):
    bill = a_bill()
    async with store.write() as tx:
        await tx.add_bill(bill, NOW)

    async def post(tx: Tx) -> None:
        assert (await tx.bill(bill.bill_number)).status is BillStatus.UNPAID  # type: ignore[union-attr]
        await tx.add_payment(a_payment(bill, "BPR-first"), NOW)
        await tx.move_bill(bill.bill_number, BillStatus.UNPAID, BillStatus.PAID, NOW)

    async def other_reference(tx: Tx) -> Any:
        assert await tx.payment("JWSA", "BPR-second") is None
        return await tx.bill(bill.bill_number)

    seen = await first_decides_while_second_waits(store, other_instance, post, other_reference)

    assert seen.status is BillStatus.PAID


async def test_two_wrong_otps_at_once_use_two_tries(store, other_instance):
    attempt = ActivationAttempt(
        activation_id="7f1c2d3e-0000-4000-8000-000000000001",
        partner_id="JWSA",
        id_number="1000000016",
        otp_hash="0" * 64,
        expires_at=NOW + timedelta(minutes=5),
        tries=0,
        state="OTP_SENT",
    )
    async with store.write() as tx:
        await tx.add_activation(attempt, "APP", NOW)

    async def wrong_otp(tx: Tx) -> Any:
        found = await tx.activation(attempt.activation_id)
        assert found is not None
        tries = found[0].tries + 1
        await tx.update_activation(attempt.activation_id, tries, "OTP_SENT")
        return tries

    second_tries = await first_decides_while_second_waits(
        store, other_instance, wrong_otp, wrong_otp
    )

    assert second_tries == 2  # not 1: a lost update would give away a try
    async with store.read() as tx:
        stored = await tx.activation(attempt.activation_id)
    assert stored is not None
    assert stored[0].tries == 2


async def test_plain_reads_do_not_wait_for_a_deciding_writer(store, other_instance):
    bill = a_bill()
    async with store.write() as tx:
        await tx.add_bill(bill, NOW)
    read, release = asyncio.Event(), asyncio.Event()

    async def decide() -> None:
        async with store.write() as tx:
            assert await tx.payment("JWSA", "BPR-held") is None
            assert await tx.bill(bill.bill_number) is not None
            read.set()
            await release.wait()

    deciding = asyncio.create_task(decide())
    await read.wait()
    try:
        # The writer holds until released, which only happens after these reads: a read
        # that waited would never finish. The bound is generous for a loaded machine.
        async with other_instance.read() as tx:
            looked_up = await asyncio.wait_for(tx.bill(bill.bill_number), READ_WITHIN_S)
            found = await asyncio.wait_for(tx.payment("JWSA", "BPR-held"), READ_WITHIN_S)
            assert found is None
    finally:
        release.set()
        await deciding
    assert looked_up == bill
