"""Group commit: concurrent units of work share one transaction and one durable COMMIT.

Theory of operation. Every unit of work that writes (each partner decision, each
internal API change) is queued here and run by one task, back to back, on the one
writing connection of this process. A batch is:

1. BEGIN, taking the database's writer lock: SQLite's BEGIN IMMEDIATE, PostgreSQL's
   cluster-wide advisory lock. One batch writes at a time across every process and
   instance, so a decision's reads stay true until it commits, with no row locks and
   no deadlocks; a concurrent twin in another process finds the winner's rows.
2. The units queued by then, and those arriving while it runs (up to `max_units`, for
   at most `max_decide_s`), each in its own SAVEPOINT: a unit that loses on a unique
   constraint, or asks to be decided again (`DecideAgain`), is rolled back alone and
   run again, now seeing what the batch's earlier units wrote; a unit that fails is
   rolled back alone and its caller gets the error.
3. What the units staged (`Stage`): the day figures, the events with their numbers,
   the stored answers, the evidence, written once for the batch.
4. COMMIT (the fsync). Only then does any unit's caller get its result: no answer
   leaves before its decision is durable. If anything from BEGIN to COMMIT fails, the
   batch is rolled back whole and every caller gets `StorageUnavailable`: nothing of
   the batch was recorded, and a retry is safe.

While one batch commits, the next one's units queue up, so under load each COMMIT
carries many decisions. A twin of a message arriving while the original's batch is
still open either joins that batch (and finds its staged answer) or waits for the next
one (and finds the committed answer): a replay is byte for byte either way.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Generic, Protocol, TypeVar

import structlog

from bank_adapter.services.storage import DecideAgain, StorageUnavailable
from bank_adapter.store.drivers import StorageError, WriterDriver
from bank_adapter.store.stage import Stage
from bank_adapter.store.tx import SqlTx

T = TypeVar("T")
Work = Callable[[SqlTx], Awaitable[T]]


class BatchObserver(Protocol):
    """Told of every batch (`bank_adapter.metrics.Metrics` is one)."""

    def batch_committed(
        self,
        units: int,
        commit_seconds: float,
        events: Sequence[tuple[str, datetime, Mapping[str, Any]]],
    ) -> None:
        """After the COMMIT: how many units it carried, how long it took, and the
        events the batch recorded (exactly the first-time effects: payments posted...)."""

    def storage_failed(self, error: BaseException) -> None:
        """The database failed a batch or a read; its callers were answered 503."""


DECIDE_ATTEMPTS: Final = 5
log = structlog.get_logger("bank_adapter.store")


@dataclass(eq=False)
class _Unit(Generic[T]):
    work: Work[T]
    decide_again: bool
    future: asyncio.Future[T]
    outcome: Any = None
    error: BaseException | None = None
    stage: Stage = field(default_factory=Stage)


class GroupCommit:
    def __init__(
        self,
        driver: WriterDriver,
        *,
        max_units: int = 64,
        max_decide_s: float = 0.01,
        observe: BatchObserver | None = None,
    ) -> None:
        self.driver = driver
        self.max_units = max_units
        self.max_decide_s = max_decide_s
        self.observe = observe
        self._queue: deque[_Unit[Any]] = deque()
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    async def run(self, work: Work[T], *, decide_again: bool = True) -> T:
        """`work` as a unit of the next batch; its result once the batch has committed.

        With `decide_again`, a unit raising DecideAgain is rolled back and run again;
        without, the DecideAgain reaches the caller (after the rollback)."""
        unit: _Unit[T] = _Unit(work, decide_again, asyncio.get_running_loop().create_future())
        self._queue.append(unit)
        self._start()
        return await unit.future

    def _start(self) -> None:
        if self._wakeup is None:
            self._wakeup = asyncio.Event()
        self._wakeup.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._serve(), name="group-commit")

    async def _serve(self) -> None:
        assert self._wakeup is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                await self._batch()

    async def _batch(self) -> None:
        units: list[_Unit[Any]] = []
        try:
            await self.driver.begin()
        except StorageError as exc:
            self._fail([*self._queue], exc)
            self._queue.clear()
            return
        batch = Stage()
        started = time.perf_counter()
        try:
            while self._queue and len(units) < self.max_units:
                if units and time.perf_counter() - started > self.max_decide_s:
                    break
                unit = self._queue.popleft()
                units.append(unit)
                await self._decide(unit, batch)
            await SqlTx(self.driver, batch=batch).write_staged(batch)
            committing = time.perf_counter()
            await self.driver.commit()
        except (StorageError, DecideAgain) as exc:
            await self.driver.rollback()
            self._fail(units, exc)
            return
        except BaseException as exc:
            await self.driver.rollback()
            self._fail(units, exc)
            raise
        if self.observe is not None:
            self.observe.batch_committed(len(units), time.perf_counter() - committing, batch.events)
        for unit in units:
            _settle(unit)

    async def _decide(self, unit: _Unit[Any], batch: Stage) -> None:
        """Run one unit in a savepoint; StorageError (the batch is lost) propagates."""
        for _ in range(DECIDE_ATTEMPTS):
            unit.stage = Stage()
            tx = SqlTx(self.driver, unit.stage, batch)
            await self.driver.execute("SAVEPOINT unit")
            try:
                unit.outcome = await unit.work(tx)
            except StorageError:
                raise
            except DecideAgain as exc:
                await self.driver.execute("ROLLBACK TO SAVEPOINT unit")
                if unit.decide_again:
                    log.info("decided_again", reason=str(exc)[:200])
                    continue
                unit.error = exc
                return
            except Exception as exc:
                await self.driver.execute("ROLLBACK TO SAVEPOINT unit")
                unit.error = exc
                return
            await self.driver.execute("RELEASE SAVEPOINT unit")
            batch.merge(unit.stage)
            return
        unit.error = StorageUnavailable("decided again too many times")

    def _fail(self, units: list[_Unit[Any]], exc: BaseException) -> None:
        log.error("batch_failed", error=type(exc).__name__, units=len(units))
        if self.observe is not None and isinstance(exc, StorageError):
            self.observe.storage_failed(exc)
        for unit in units:
            if not unit.future.done():
                unit.future.set_exception(StorageUnavailable(str(exc)))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.driver.close()


def _settle(unit: _Unit[Any]) -> None:
    if unit.future.done():  # the caller went away
        return
    if unit.error is not None:
        unit.future.set_exception(unit.error)
    else:
        unit.future.set_result(unit.outcome)
