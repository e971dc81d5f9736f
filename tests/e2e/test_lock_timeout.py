"""A stuck session holding what a payment needs costs the bank a 503, not a hang.

Another session (another instance, an operator's console) holds a lock the payment
needs: on SQLite the write lock, on PostgreSQL the bill's row. After the busy/lock
timeout (BANK_ADAPTER_DB_BUSY_TIMEOUT_MS, the same setting for both engines) the answer
is a signed 503 SERVICE_UNAVAILABLE, nothing is recorded, and once the lock is gone
the same bytes post the payment.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets

import pytest
from sqlalchemy import select

from bank_adapter.settings import Settings
from bank_adapter.store import tables as t
from bank_adapter.store.repository import Store

PAYMENTS = "/v1/payments"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, db_busy_timeout_s=0.3)


async def hold_bill(database_url: str, bill_number: str, release: asyncio.Event) -> None:
    other = Store.open(database_url)
    try:
        async with other.engine.begin() as tx:
            query = select(t.bills).where(t.bills.c.bill_number == bill_number)
            await tx.execute(query.with_for_update())
            await release.wait()
    finally:
        await other.close()


async def test_a_held_lock_is_503_then_the_same_bytes_post(service, database_url):
    id_number, _ = await service.register()
    bill_number = await service.bill(id_number, "10.00")
    client = service.client("JWSA")
    reference = "LOCK-" + secrets.token_hex(4)
    message = client.encode(PAYMENTS, _notification(client, reference, bill_number))
    body, headers = client.sign(PAYMENTS, message)
    release = asyncio.Event()
    holder = asyncio.create_task(hold_bill(database_url, bill_number, release))
    await asyncio.sleep(0.2)  # the holder has its lock before the payment arrives

    blocked = await asyncio.wait_for(client.post(PAYMENTS, body, headers), 10)
    release.set()
    await holder
    posted = await client.post(PAYMENTS, body, headers)

    assert (blocked.status, blocked.code) == (503, "SERVICE_UNAVAILABLE")
    assert posted.status == 200
    assert posted.message.status == "POSTED"


def _notification(client, reference, bill_number):
    from bank_adapter.core.messages import PaymentNotification

    fields = client.common("APP")
    return PaymentNotification(
        **fields, bank_payment_ref=reference, bill_number=bill_number, amount="10.00",
        currency="SAR", paid_at=fields["timestamp"],
    )  # fmt: skip
