"""Schema migrations on a real SQLite file and a real PostgreSQL database, and their
agreement with `store/tables.py`.

`tables.py` is what the code queries; the migrations are what a database really holds.
Alembic's autogenerate comparison of the two must find nothing, so neither can change
without the other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Connection, MetaData, String, Table, insert, inspect, select
from sqlalchemy.exc import StatementError

from bank_adapter.store import migrate, tables
from bank_adapter.store.repository import Store
from bank_adapter.store.types import UtcDateTime

# Every table the code knows; at least the ones the internal API and replay depend on.
TABLES = set(tables.metadata.tables)
CORE_TABLES = {"accounts", "activations", "messages", "events", "sms_outbox"}


@pytest.fixture
async def store(empty_database_url: str) -> AsyncIterator[Store]:
    opened = Store.open(empty_database_url)
    yield opened
    await opened.close()


async def table_names(store: Store) -> set[str]:
    async with store.engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


async def differences(store: Store, metadata: MetaData) -> list[Any]:
    def compare(sync: Connection) -> list[Any]:
        context = MigrationContext.configure(sync, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with store.engine.connect() as conn:
        return await conn.run_sync(compare)


async def test_a_fresh_database_has_no_revision(store):
    assert await migrate.current_revision(store.engine) is None
    assert await table_names(store) == set()


async def test_upgrade_creates_every_table(store):
    await migrate.upgrade(store.engine)

    assert await table_names(store) == TABLES | {"alembic_version"}
    assert CORE_TABLES <= TABLES


async def test_the_revision_is_the_head(store):
    await migrate.upgrade(store.engine)

    head = migrate.head_revision()
    assert head is not None
    assert await migrate.current_revision(store.engine) == head


async def test_a_second_upgrade_changes_nothing(store):
    await migrate.upgrade(store.engine)
    now = datetime.now(UTC)
    async with store.write() as tx:
        tx.add_event("ACCOUNT_ACTIVATED", {"idNumber": "x"}, now)

    await migrate.upgrade(store.engine)

    assert await migrate.current_revision(store.engine) == migrate.head_revision()
    assert await table_names(store) == TABLES | {"alembic_version"}
    async with store.read() as tx:
        [event] = await tx.events(0, 10)
        assert await tx.count("events") == 1
    assert (event.type, event.occurred_at) == ("ACCOUNT_ACTIVATED", now)


async def test_the_migrations_agree_with_tables_py(store):
    await migrate.upgrade(store.engine)
    assert await differences(store, tables.metadata) == []


async def test_the_comparison_does_notice_a_difference(store):
    """Guards the test above: a model that drifts from the migrations is reported."""
    await migrate.upgrade(store.engine)
    drifted = MetaData()
    for table in tables.metadata.tables.values():
        table.to_metadata(drifted)
    drifted.tables["accounts"].append_column(Column("nickname", String(20)))
    Table("audit", drifted, Column("id", String(8), primary_key=True))
    drifted.remove(drifted.tables["sms_outbox"])

    found = await differences(store, drifted)

    kinds = {(diff[0], _name(diff)) for diff in found if isinstance(diff, tuple)}
    assert ("add_column", "nickname") in kinds
    assert ("add_table", "audit") in kinds
    assert ("remove_table", "sms_outbox") in kinds


def _name(diff: tuple[Any, ...]) -> str:
    subject = diff[-1]
    return str(getattr(subject, "name", subject))


async def test_head_revision_is_the_only_head():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(migrate.MIGRATIONS))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert heads == [migrate.head_revision()]


# --- UtcDateTime ---------------------------------------------------------------------

probe_metadata = MetaData()
probe = Table(
    "probe",
    probe_metadata,
    Column("id", String(8), primary_key=True),
    Column("at", UtcDateTime, nullable=True),
)


@pytest.fixture
async def probe_store(store: Store) -> Store:
    async with store.engine.begin() as conn:
        await conn.run_sync(probe_metadata.create_all)
    return store


@pytest.mark.parametrize(
    "value",
    [
        datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC),
        datetime(2026, 3, 1, 23, 30, tzinfo=timezone(timedelta(hours=3))),  # Riyadh
        datetime(1999, 12, 31, 20, 0, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
    ],
)
async def test_utc_datetime_round_trips_aware_datetimes(probe_store, value):
    async with probe_store.engine.begin() as tx:
        await tx.execute(insert(probe).values(id="a", at=value))
    async with probe_store.engine.connect() as tx:
        stored = (await tx.execute(select(probe.c.at))).scalar_one()

    assert stored == value
    assert stored.tzinfo is UTC
    assert stored.utcoffset() == timedelta(0)


async def test_utc_datetime_keeps_null(probe_store):
    async with probe_store.engine.begin() as tx:
        await tx.execute(insert(probe).values(id="n", at=None))
    async with probe_store.engine.connect() as tx:
        assert (await tx.execute(select(probe.c.at))).scalar_one() is None


async def test_utc_datetime_orders_by_instant_not_by_local_time(probe_store):
    riyadh = timezone(timedelta(hours=3))
    early_but_later_wall_clock = datetime(2026, 3, 1, 11, 0, tzinfo=riyadh)  # 08:00 UTC
    later = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    async with probe_store.engine.begin() as tx:
        await tx.execute(insert(probe).values(id="late", at=later))
        await tx.execute(insert(probe).values(id="early", at=early_but_later_wall_clock))
    async with probe_store.engine.connect() as tx:
        rows = await tx.execute(select(probe.c.id).order_by(probe.c.at))
        assert [row.id for row in rows] == ["early", "late"]


async def test_utc_datetime_refuses_naive_datetimes(probe_store):
    with pytest.raises(StatementError) as refused:
        async with probe_store.engine.begin() as tx:
            await tx.execute(insert(probe).values(id="x", at=datetime(2026, 3, 1, 12, 0)))
    assert isinstance(refused.value.orig, ValueError)
    assert "naive" in str(refused.value.orig)
    async with probe_store.engine.connect() as tx:
        assert (await tx.execute(select(probe.c.id))).all() == []
