"""The events cursor, seen by a consumer of `/internal/v1/events`, while transactions of
two instances overlap. The consumer keeps polling with `after=<nextCursor>`, as the
platform does; it must see every event exactly once and in order.

The second Store stands for another adapter instance on the same database. The first
test runs on both engines; the second shows, on PostgreSQL, the skip that numbering
events from an identity (or any sequence drawn before commit) allows, and so what the
first one guards against.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import JSON, bindparam, text

from bank_adapter.store.repository import Store
from bank_adapter.store.types import UtcDateTime

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
HELD_S = 0.4


class Consumer:
    """Follows the cursor like the platform: `after` is always the last `nextCursor`."""

    def __init__(self, service: Any) -> None:
        self.service = service
        self.cursor = 0
        self.seen: list[tuple[int, str]] = []

    async def poll(self) -> list[tuple[int, str]]:
        status, data = await self.service.admin(
            "GET", f"/internal/v1/events?after={self.cursor}&limit=500"
        )
        assert status == 200, data
        page = [(event["seq"], event["type"]) for event in data["events"]]
        self.seen += page
        self.cursor = data["nextCursor"]
        return page


@pytest.fixture
async def other_instance(settings: Any, service: Any) -> AsyncIterator[Store]:
    store = Store.open(settings.database_url, busy_timeout_s=5.0)
    yield store
    await store.close()


async def test_a_consumer_polling_between_overlapping_transactions_sees_each_event_once(
    service, other_instance
):
    """A draws its seq first and commits last; B, on another instance, is ready to
    commit in between. The consumer polls while both are open, while B waits, and after."""
    consumer = Consumer(service)
    a_drawn, release_a = asyncio.Event(), asyncio.Event()

    async def transaction_a() -> None:
        async with service.runtime.store.write() as tx:
            tx.add_event("A", {"instance": 1}, NOW)  # numbered when its batch commits
            a_drawn.set()
            await release_a.wait()

    async def transaction_b() -> None:
        async with other_instance.write() as tx:
            tx.add_event("B", {"instance": 2}, NOW)

    a = asyncio.create_task(transaction_a())
    await a_drawn.wait()
    b = asyncio.create_task(transaction_b())
    try:
        for _ in range(4):
            await asyncio.sleep(HELD_S / 4)
            assert await consumer.poll() == []
        assert not b.done(), "B committed while A held the lower seq"
    finally:
        release_a.set()
        await asyncio.gather(a, b)
    while await consumer.poll():
        pass

    assert consumer.seen == [(1, "A"), (2, "B")]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_numbers_drawn_before_commit_would_let_the_consumer_skip_one(service, other_instance):
    """The hazard, shown with a sequence (what an identity column is): A draws first,
    B commits first, the consumer moves past B, and A, committed later, is never seen."""
    insert = text(
        "INSERT INTO events (seq, type, occurred_at, data) "
        "VALUES (nextval('identity_like'), :type, :at, :data)"
    ).bindparams(bindparam("at", type_=UtcDateTime), bindparam("data", type_=JSON))
    async with service.runtime.store.engine.begin() as tx:
        await tx.execute(text("CREATE SEQUENCE identity_like"))
    consumer = Consumer(service)

    async with service.runtime.store.engine.begin() as a:
        await a.execute(insert, {"type": "A", "at": NOW, "data": {}})  # draws 1
        async with other_instance.engine.begin() as b:
            await b.execute(insert, {"type": "B", "at": NOW, "data": {}})  # draws 2
        assert await consumer.poll() == [(2, "B")]
    # A has committed seq 1 now, behind the cursor.
    assert await consumer.poll() == []
    async with service.runtime.store.read() as tx:
        assert [(e.seq, e.type) for e in await tx.events(0, 10)] == [(1, "A"), (2, "B")]
