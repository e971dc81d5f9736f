"""The events outbox's numbering, on SQLite and PostgreSQL: gap-free, in commit order.

Two `Store`s on one database stand for two adapter instances. The cursor contract is
that a reader who has seen seq n will never later find a seq at or below n appear, so
a writer that drew a number must commit before anyone else can draw the next one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import JSON, Connection, bindparam, select, text

from bank_adapter.store import migrate
from bank_adapter.store import tables as t
from bank_adapter.store.repository import Store
from bank_adapter.store.types import UtcDateTime

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
BLOCKED_FOR_S = 0.5


async def seqs(store: Store, after: int = 0) -> list[tuple[int, str]]:
    async with store.read() as tx:
        return [(event.seq, event.type) for event in await tx.events(after, 500)]


async def test_events_are_numbered_one_after_another(store):
    async with store.write() as tx:
        for name in ("A", "B", "C"):
            tx.add_event(name, {"n": name}, NOW)
    async with store.write() as tx:
        tx.add_event("D", {}, NOW)

    assert await seqs(store) == [(1, "A"), (2, "B"), (3, "C"), (4, "D")]
    async with store.read() as tx:
        [event] = await tx.events(3, 10)
    assert (event.type, event.occurred_at, dict(event.data)) == ("D", NOW, {})


async def add_then_fail(store: Store) -> None:
    async with store.write() as tx:
        tx.add_event("LOST", {}, NOW)
        raise RuntimeError("changed my mind")


async def test_a_rolled_back_transaction_leaves_no_gap(store):
    with pytest.raises(RuntimeError, match="changed my mind"):
        await add_then_fail(store)
    async with store.write() as tx:
        tx.add_event("KEPT", {}, NOW)

    assert await seqs(store) == [(1, "KEPT")]


async def test_events_are_refused_in_a_read_transaction(store):
    with pytest.raises(RuntimeError, match="cannot write"):
        async with store.read() as tx:
            tx.add_event("NOPE", {}, NOW)
    assert await seqs(store) == []


async def test_the_next_writer_draws_only_after_the_earlier_one_committed(store, other_instance):
    """A has drawn seq 1 and not committed; B (another instance) wants to write an event.
    B must wait: were B to commit seq 2 first, a reader would move its cursor past 1."""
    drawn, release = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with store.write() as tx:
            tx.add_event("A", {}, NOW)  # numbered by its batch, which holds the writer
            drawn.set()
            await release.wait()

    async def second() -> None:
        await drawn.wait()
        async with other_instance.write() as tx:
            tx.add_event("B", {}, NOW)

    a, b = asyncio.create_task(first()), asyncio.create_task(second())
    try:
        await drawn.wait()
        await asyncio.sleep(BLOCKED_FOR_S)
        assert not b.done(), "B committed while A held an earlier seq"
        assert await seqs(store) == []  # a reader now sees neither
    finally:
        release.set()
        await asyncio.gather(a, b)
    assert await seqs(store) == [(1, "A"), (2, "B")]


async def test_concurrent_writers_on_two_instances_leave_no_gaps(store, other_instance):
    async def write(instance: Store, name: str) -> None:
        async with instance.write() as tx:
            tx.add_event(name, {}, NOW)
            tx.add_event(name + "+", {}, NOW)

    await asyncio.gather(*(write(store if i % 2 else other_instance, f"E{i}") for i in range(40)))

    events = await seqs(store)
    assert [seq for seq, _ in events] == list(range(1, 81))
    # Both events of one transaction are neighbours.
    for (seq, name), (next_seq, next_name) in zip(events[::2], events[1::2], strict=True):
        assert (next_seq, next_name) == (seq + 1, name + "+")


# --- migration 0004: the counter takes over from the identity column ------------------


@pytest.fixture
async def fresh_store(empty_database_url: str) -> AsyncIterator[Store]:
    opened = Store.open(empty_database_url)
    yield opened
    await opened.close()


async def insert_the_old_way(store: Store, *names: str) -> None:
    """As code before 0004 did: the database numbers the event."""
    statement = text(
        "INSERT INTO events (type, occurred_at, data) VALUES (:type, :at, :data)"
    ).bindparams(bindparam("at", type_=UtcDateTime), bindparam("data", type_=JSON))
    async with store.engine.begin() as tx:
        for name in names:
            await tx.execute(statement, {"type": name, "at": NOW, "data": {"n": name}})


async def counter(store: Store) -> int:
    async with store.engine.connect() as tx:
        return int((await tx.execute(select(t.event_counter.c.last_seq))).scalar_one())


async def downgrade(store: Store, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(migrate.MIGRATIONS))
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with store.engine.begin() as conn:
        await conn.run_sync(run)


async def test_0004_keeps_existing_numbers_and_continues_after_them(fresh_store):
    await migrate.upgrade(fresh_store.engine, "0003")
    await insert_the_old_way(fresh_store, "OLD1", "OLD2", "OLD3")

    await migrate.upgrade(fresh_store.engine)

    assert await counter(fresh_store) == 3
    async with fresh_store.write() as tx:
        tx.add_event("NEW", {}, NOW)
    assert await seqs(fresh_store) == [(1, "OLD1"), (2, "OLD2"), (3, "OLD3"), (4, "NEW")]
    async with fresh_store.read() as tx:
        [old] = await tx.events(0, 1)
    assert dict(old.data) == {"n": "OLD1"}


async def test_0004_on_an_empty_outbox_starts_at_one(fresh_store):
    await migrate.upgrade(fresh_store.engine)
    assert await counter(fresh_store) == 0
    async with fresh_store.write() as tx:
        tx.add_event("FIRST", {}, NOW)
    assert await seqs(fresh_store) == [(1, "FIRST")]


async def test_0004_downgrades_to_database_numbering_and_back(fresh_store):
    await migrate.upgrade(fresh_store.engine)
    async with fresh_store.write() as tx:
        tx.add_event("A", {}, NOW)
        tx.add_event("B", {}, NOW)

    await downgrade(fresh_store, "0003")
    await insert_the_old_way(fresh_store, "C")
    await migrate.upgrade(fresh_store.engine)
    async with fresh_store.write() as tx:
        tx.add_event("D", {}, NOW)

    assert await seqs(fresh_store) == [(1, "A"), (2, "B"), (3, "C"), (4, "D")]


# --- migrations from several instances at once ----------------------------------------


async def test_instances_migrating_at_once_all_succeed(empty_database_url):
    stores = [Store.open(empty_database_url) for _ in range(4)]
    try:
        together = asyncio.gather(
            *(migrate.upgrade(s.engine) for s in stores), return_exceptions=True
        )
        # Without the lock this would not fail but hang: Alembic's context is global.
        results: list[Any] = await asyncio.wait_for(together, 60)
        assert [r for r in results if r is not None] == []
        assert await migrate.current_revision(stores[0].engine) == migrate.head_revision()
        assert await counter(stores[0]) == 0
    finally:
        for opened in stores:
            await opened.close()
