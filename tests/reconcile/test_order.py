"""Both sides come in one order: the external sort's and the ledger query's. The join
relies on it, so references that sort differently under other collations (case,
digits, punctuation, non-ASCII) are checked on a real SQLite ledger and a real spill."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from tempfile import TemporaryDirectory

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, text

from bank_adapter.core.messages import PaymentStatus
from bank_adapter.reconcile import ledger, settlement, sorting
from bank_adapter.reconcile.ledger import day_rows, payments_by_ref
from bank_adapter.reconcile.settlement import BankRow, Stored
from bank_adapter.reconcile.sorting import SortedSpill
from bank_adapter.store import migrate
from bank_adapter.store import tables as t
from bank_adapter.store.repository import Store

DAY = date(2026, 1, 15)
TRICKY = ["b", "B", "a-1", "a1", "a_1", "A", "10", "9", "é", "e", "z", "Z", "ي", "١", "~", " x"]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    url: str = request.getfixturevalue("pg_database")
    return url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = Store.open(database_url)
    await migrate.upgrade(opened.engine)
    if opened.engine.dialect.name == "postgresql":
        await _collate_by_locale(opened)
    yield opened
    await opened.close()


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    await migrate.upgrade(opened.engine)
    yield opened
    await opened.close()


async def _collate_by_locale(store: Store) -> None:
    """Give the references a linguistic collation (the test cluster's default is C), so
    a query that forgot to ask for code point order would come back in another one."""
    async with store.engine.begin() as tx:
        column = 'bank_payment_ref TYPE VARCHAR(64) COLLATE "und-x-icu"'
        await tx.execute(text(f"ALTER TABLE payments ALTER COLUMN {column}"))


async def add_payments(store: Store, refs: list[str], day: date = DAY) -> None:
    now = datetime(2026, 1, 15, 9, tzinfo=UTC)
    rows = [
        {
            "partner_id": "RJHI",
            "bank_payment_ref": ref,
            "bill_number": f"b-{ref}",
            "amount_halalas": 100 * i,
            "currency": "SAR",
            "paid_at": now,
            "channel": "APP",
            "terminal_id": None,
            "business_date": day,
            "status": "POSTED",
            "recorded_at": now,
        }
        for i, ref in enumerate(refs, 1)
    ]
    async with store.engine.begin() as tx:
        await tx.execute(insert(t.payments), rows)


def stored(rows: list[BankRow]) -> list[Stored]:
    return [(*row[:6], row.status.value) for row in rows]


def bank_row(ref: str, line: int) -> BankRow:
    return BankRow(ref, line, "1", "1.00", 100, "2026-01-15T10:00:00Z", PaymentStatus.POSTED)


async def test_the_ledger_streams_the_day_in_code_point_order(store):
    refs = TRICKY[:]
    random.Random(7).shuffle(refs)
    await add_payments(store, refs)
    await add_payments(store, ["other-day"], date(2026, 1, 16))

    async with store.read(snapshot=True) as tx:
        streamed = [
            ledger.typed(tx, row, DAY) async for batch in day_rows(tx, "RJHI", DAY) for row in batch
        ]

    assert [row.bank_payment_ref for row in streamed] == sorted(TRICKY)
    assert {row.business_date for row in streamed} == {DAY}


async def test_the_ledger_rows_carry_what_the_report_shows(store):
    await add_payments(store, ["A"])

    async with store.read(snapshot=True) as tx:
        (row,) = [
            ledger.typed(tx, row, DAY) async for batch in day_rows(tx, "RJHI", DAY) for row in batch
        ]

    assert row.payment_id == "P0000000000000000001"
    assert (row.amount, row.amount_halalas, row.status) == ("1.00", 100, PaymentStatus.POSTED)
    assert row.paid_at == datetime(2026, 1, 15, 9, tzinfo=UTC)


async def test_on_sqlite_the_day_is_one_range_scan_of_the_reconciliation_index(sqlite_store):
    async with sqlite_store.engine.connect() as tx:
        plan = await tx.execute(
            text(
                "EXPLAIN QUERY PLAN SELECT bank_payment_ref FROM payments WHERE partner_id = 'R'"
                " AND business_date = '2026-01-15' ORDER BY bank_payment_ref"
            )
        )
        details = " ".join(str(row[-1]) for row in plan)

    assert "ix_payments_reconcile" in details
    assert "TEMP B-TREE" not in details  # no sort: the index gives the order


async def test_references_are_looked_up_while_the_day_streams(store, monkeypatch):
    monkeypatch.setattr(ledger, "BATCH", 1)  # a batch per row: the cursor stays open
    await add_payments(store, ["A", "B", "C"])
    await add_payments(store, ["X"], date(2026, 1, 16))

    async with store.read(snapshot=True) as tx:
        found = [
            (row[0], sorted(await payments_by_ref(tx, "RJHI", ["X", "C"])))
            async for batch in day_rows(tx, "RJHI", DAY)
            for row in batch
        ]

    assert found == [("A", ["C", "X"]), ("B", ["C", "X"]), ("C", ["C", "X"])]


async def test_references_are_found_on_any_business_date(store):
    await add_payments(store, ["A"])
    await add_payments(store, ["B"], date(2026, 1, 16))

    async with store.read(snapshot=True) as tx:
        found = await payments_by_ref(tx, "RJHI", ["A", "B", "C"])

    assert {ref: row.business_date for ref, row in found.items()} == {
        "A": DAY,
        "B": date(2026, 1, 16),
    }


def small_runs(monkeypatch: pytest.MonkeyPatch, run: int = 3, fanin: int = 2) -> None:
    """Runs of `run` rows, pieces of 2, blocks of 2 and `fanin` runs a merge: every path
    of the external sort (several runs, refills, merge passes) on a handful of rows."""
    for name, value in [("RUN_ROWS", run), ("PIECE_ROWS", 2), ("MERGE_ROWS", 2)]:
        monkeypatch.setattr(sorting, name, value)
    monkeypatch.setattr(sorting, "MAX_FANIN", fanin)


def test_the_spill_gives_rows_back_in_code_point_order_then_line(tmp_path, monkeypatch):
    small_runs(monkeypatch)
    refs = TRICKY + TRICKY[:4]
    random.Random(3).shuffle(refs)
    rows = [bank_row(ref, line) for line, ref in enumerate(refs, 2)]  # file order

    with SortedSpill(tmp_path) as spill:
        spill.add(stored(rows))
        back = [settlement.typed(row) for row in spill.in_ref_order()]

    assert back == sorted(rows)
    assert spill.count == len(rows)


def test_an_empty_spill_gives_nothing(tmp_path):
    with SortedSpill(tmp_path) as spill:
        spill.add([])
        assert list(spill.in_ref_order()) == []


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    refs=st.lists(st.sampled_from(TRICKY), max_size=40),
    run=st.integers(1, 7),
    fanin=st.integers(2, 4),
    presorted=st.booleans(),
)
def test_the_spill_sorts_any_file_like_sorted_does(
    tmp_path, monkeypatch, refs, run, fanin, presorted
):
    """Duplicates across runs and pieces, files already in order or not: always
    (reference, line), as the join expects."""
    small_runs(monkeypatch, run, fanin)
    rows = [bank_row(ref, line) for line, ref in enumerate(sorted(refs) if presorted else refs, 2)]

    with TemporaryDirectory(dir=tmp_path) as scratch, SortedSpill(Path(scratch)) as spill:
        spill.add(stored(rows))
        back = [settlement.typed(row) for row in spill.in_ref_order()]

    assert back == sorted(rows)


async def test_a_run_reads_one_snapshot_of_the_ledger(store):
    await add_payments(store, ["A"])

    async with store.read(snapshot=True) as tx:
        day = [row[0] async for batch in day_rows(tx, "RJHI", DAY) for row in batch]
        await add_payments(store, ["B"], date(2026, 1, 16))  # committed meanwhile
        found = await payments_by_ref(tx, "RJHI", ["A", "B"])

    assert day == ["A"]
    assert sorted(found) == ["A"]  # B came after the run's snapshot
