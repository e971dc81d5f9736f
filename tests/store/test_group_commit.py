"""Group commit (`bank_adapter.store.batch`): units of work share one durable COMMIT,
each in its own savepoint; a failing unit is rolled back alone; a failed COMMIT fails
every unit of its batch and records nothing; a twin in the same batch finds the answer
its original staged. Real databases, both engines."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import pytest

from bank_adapter.services.storage import StorageUnavailable, StoredAnswer
from bank_adapter.store.drivers import StorageError
from bank_adapter.store.repository import Store
from bank_adapter.store.tx import SqlTx
from tests.store.test_decisions import NOW, a_bill

UNITS = 30


class Batches:
    """A BatchObserver recording what it is told."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.failures: list[BaseException] = []

    def batch_committed(
        self,
        units: int,
        commit_seconds: float,
        events: Sequence[tuple[str, datetime, Mapping[str, Any]]],
    ) -> None:
        assert commit_seconds >= 0
        self.sizes.append(units)

    def storage_failed(self, error: BaseException) -> None:
        self.failures.append(error)


@pytest.fixture
def batches(store: Store) -> Batches:
    observer = Batches()
    store.observe(observer)
    # A batch closes by size or after this long deciding; wide enough here that a busy
    # machine cannot split the concurrent units below into batches of one.
    store._commits.max_decide_s = 60.0
    return observer


async def bill_exists(store: Store, bill_number: str) -> bool:
    async with store.read() as tx:
        return await tx.bill(bill_number) is not None


async def test_concurrent_units_share_commits_and_every_one_is_recorded(store, batches):
    bills = [a_bill() for _ in range(UNITS)]

    async def add(tx: SqlTx, bill) -> str:
        await tx.add_bill(bill, NOW)
        return bill.bill_number

    results = await asyncio.gather(
        *(store.decide(lambda tx, bill=bill: add(tx, bill)) for bill in bills)
    )

    assert results == [bill.bill_number for bill in bills]
    assert sum(batches.sizes) == UNITS
    assert len(batches.sizes) < UNITS  # at least one COMMIT carried several decisions
    for bill in bills:
        assert await bill_exists(store, bill.bill_number)


async def test_a_failing_unit_is_rolled_back_alone(store, batches):
    good, bad, also_good = a_bill(), a_bill(), a_bill()

    async def add(tx: SqlTx, bill, fail: bool) -> str:
        await tx.add_bill(bill, NOW)
        if fail:
            raise ValueError("the rules refused it after a write")
        return bill.bill_number

    outcomes = await asyncio.gather(
        store.decide(lambda tx: add(tx, good, False)),
        store.decide(lambda tx: add(tx, bad, True)),
        store.decide(lambda tx: add(tx, also_good, False)),
        return_exceptions=True,
    )

    assert outcomes[0] == good.bill_number
    assert isinstance(outcomes[1], ValueError)
    assert outcomes[2] == also_good.bill_number
    assert batches.sizes == [3]
    assert await bill_exists(store, good.bill_number)
    assert not await bill_exists(store, bad.bill_number)
    assert await bill_exists(store, also_good.bill_number)


async def test_a_failed_commit_fails_every_unit_and_records_nothing(store, batches):
    bills = [a_bill() for _ in range(5)]
    driver = store._commits.driver
    real_commit = driver.commit

    async def failing_commit() -> None:
        # The fault is injected where the disk or the server would fail it; the real
        # transaction is left open for the batch's rollback to undo.
        raise StorageError("injected: the COMMIT failed")

    driver.commit = failing_commit
    try:

        async def add(tx: SqlTx, bill) -> None:
            await tx.add_bill(bill, NOW)

        outcomes = await asyncio.gather(
            *(store.decide(lambda tx, bill=bill: add(tx, bill)) for bill in bills),
            return_exceptions=True,
        )
    finally:
        driver.commit = real_commit

    assert all(isinstance(outcome, StorageUnavailable) for outcome in outcomes)
    assert batches.sizes == []
    assert len(batches.failures) >= 1
    for bill in bills:
        assert not await bill_exists(store, bill.bill_number)
    # The writer recovers: the next unit commits.
    later = a_bill()
    await store.decide(lambda tx: tx.add_bill(later, NOW))
    assert await bill_exists(store, later.bill_number)


async def test_a_twin_in_the_same_batch_finds_the_answer_its_original_staged(store, batches):
    answer = StoredAnswer("ab" * 32, 200, "application/json", (("x-a", "1"),), b'{"ok":true}')

    async def original(tx: SqlTx) -> StoredAnswer | None:
        found = await tx.answer("JWSA", "m-1")
        if found is None:
            tx.save_answer("JWSA", "m-1", answer, NOW)
        return found

    first, twin = await asyncio.gather(store.decide(original), store.decide(original))

    assert batches.sizes == [2]
    assert first is None
    assert twin == answer
    async with store.read() as tx:
        assert await tx.answer("JWSA", "m-1") == answer
