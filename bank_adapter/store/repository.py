"""The store: units of work on the request path, plus SQLAlchemy for everything else.

- `decide(work)`: a unit of work, group-committed with its neighbours (`store.batch`):
  what every partner decision and every internal API change goes through.
- `write()`: the same as a block (`async with store.write() as tx`), for callers that
  are easier to write that way; a block must not await anything but `tx` (it holds the
  batch), nor open another unit of work.
- `read()`: reads of committed state on a connection of their own, which never waits
  for the writer.
- `engine`: an SQLAlchemy engine on the same database, for migrations, reconciliation
  and operator queries; created on first use.

Events and the cursor. A consumer follows `/internal/v1/events` with `seq > cursor`, so
a transaction must never become visible with a seq below one already visible. Numbers
are drawn from a one-row counter by the batch that writes them, and batches commit one
at a time across all instances (the writer lock): commit order is seq order, gap-free.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bank_adapter.services.storage import (
    DecideAgain,
    DuplicateKey,
    Event,
    Sms,
    StorageUnavailable,
    StoredAnswer,
)
from bank_adapter.store.accounts import COMPRESS_ABOVE
from bank_adapter.store.batch import BatchObserver, GroupCommit, Work
from bank_adapter.store.drivers import (
    PgReader,
    PgWriter,
    SqliteReader,
    SqliteWriter,
    StorageError,
    WriterDriver,
    sqlite_connect,
)
from bank_adapter.store.engine import READ_ONLY, async_url, create_engine, pg_dsn
from bank_adapter.store.tx import SqlTx

__all__ = [
    "COMPRESS_ABOVE",
    "DecideAgain",
    "DuplicateKey",
    "Event",
    "Sms",
    "StorageUnavailable",
    "Store",
    "StoredAnswer",
]

T = TypeVar("T")
PG_READ_POOL = 4


class Store:
    def __init__(self, url: str, *, busy_timeout_s: float = 5.0) -> None:
        self.url = url
        self.busy_timeout_s = busy_timeout_s
        parsed = async_url(url)
        self.dialect = parsed.get_backend_name()
        writer: WriterDriver
        if self.dialect == "sqlite":
            self._path = parsed.database or ":memory:"
            if self._path != ":memory:":
                Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            writer = SqliteWriter(self._path, busy_timeout_s)
        else:
            self._dsn = pg_dsn(parsed)
            writer = PgWriter(self._dsn, max(1, int(busy_timeout_s * 1000)))
        self._commits = GroupCommit(writer)
        self._engine: AsyncEngine | None = None
        self._readers: Any = None

    @classmethod
    def open(cls, url: str, *, busy_timeout_s: float = 5.0) -> Store:
        return cls(url, busy_timeout_s=busy_timeout_s)

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            self._engine = create_engine(self.url, busy_timeout_s=self.busy_timeout_s)
        return self._engine

    def observe(self, observer: BatchObserver) -> None:
        """Tell `observer` of every committed batch and every failure of the database."""
        self._commits.observe = observer

    async def decide(self, work: Work[T]) -> T:
        """`work` as one unit of work; decided again (from scratch) on DecideAgain.

        Raises StorageUnavailable when its batch could not be recorded."""
        return await self._commits.run(work)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[SqlTx]:
        """A unit of work as a block; commits (with its batch) when the block ends."""
        loop = asyncio.get_running_loop()
        entered: asyncio.Future[SqlTx] = loop.create_future()
        finished: asyncio.Future[None] = loop.create_future()

        async def work(tx: SqlTx) -> None:
            entered.set_result(tx)
            await finished

        committed = asyncio.ensure_future(self._commits.run(work, decide_again=False))
        waiting: list[asyncio.Future[Any]] = [entered, committed]
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if not entered.done():
            await committed  # the batch failed before the block could start: raises
        try:
            yield entered.result()
        except BaseException as exc:
            finished.set_exception(exc)
            with contextlib.suppress(BaseException):
                await committed
            if isinstance(exc, StorageError):
                raise StorageUnavailable(str(exc)) from exc
            raise
        finished.set_result(None)
        await committed

    @asynccontextmanager
    async def read(self, *, snapshot: bool = False) -> AsyncIterator[SqlTx]:
        """Committed state, on a connection that never waits for the writer. With
        `snapshot`, every statement of the block sees one committed state (PostgreSQL
        REPEATABLE READ; an SQLite read transaction always does), as a reconciliation
        needs across its long read."""
        try:
            if self.dialect == "sqlite":
                conn = sqlite_connect(self._path, busy_timeout_s=self.busy_timeout_s, writer=False)
                try:
                    conn.execute("BEGIN")
                    yield SqlTx(SqliteReader(conn))
                finally:
                    conn.close()
            else:
                isolation = "repeatable_read" if snapshot else None
                async with (
                    (await self._read_pool()).acquire() as conn,
                    conn.transaction(isolation=isolation, readonly=snapshot),
                ):
                    yield SqlTx(PgReader(conn))
        except StorageError as exc:
            if self._commits.observe is not None:
                self._commits.observe.storage_failed(exc)
            raise StorageUnavailable(str(exc)) from exc

    async def _read_pool(self) -> Any:
        if self._readers is None:
            import asyncpg

            try:
                self._readers = await asyncpg.create_pool(
                    self._dsn, min_size=0, max_size=PG_READ_POOL, timeout=5.0
                )
            except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
                raise StorageError(f"postgresql: {type(exc).__name__}") from exc
        return self._readers

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncConnection]:
        """An SQLAlchemy connection in which every statement sees one committed state
        (PostgreSQL REPEATABLE READ; an SQLite read transaction already does)."""
        async with self.engine.connect() as conn:
            options: dict[str, object] = {READ_ONLY: True}
            if conn.dialect.name == "postgresql":
                options["isolation_level"] = "REPEATABLE READ"
            conn = await conn.execution_options(**options)
            async with conn.begin():
                yield conn

    async def ping(self) -> None:
        """Raises unless a write would be taken now: an empty unit of work through the
        writer, so an instance whose writer cannot get the database is not ready."""

        async def nothing(_tx: SqlTx) -> None:
            return None

        await self._commits.run(nothing)

    async def close(self) -> None:
        await self._commits.close()
        if self._readers is not None:
            await self._readers.close()
            self._readers = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
