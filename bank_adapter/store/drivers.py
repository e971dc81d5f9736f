"""The two engines behind one small async interface, with fixed SQL and no ORM.

Theory of operation. The request path runs a handful of fixed statements per decision,
so it talks to the database drivers directly (SQLAlchemy keeps the schema, the
migrations and the operators' queries):

- SQLite: one `sqlite3` connection per role, called on the event loop. A statement on a
  WAL database is a few microseconds of C with the page cache warm, far less than a
  hop to a worker thread and back (which is what aiosqlite does for every statement).
  The only slow steps, taking the write lock when another process holds it and the
  durable COMMIT (an fsync), run in one dedicated thread: one hop per batch of
  decisions, not per statement. `sqlite3`'s statement cache keeps each fixed statement
  prepared. synchronous=FULL: a commit is on disk before any answer leaves.
- PostgreSQL: `asyncpg`, whose statement cache prepares each fixed statement once per
  connection. No pre-ping: a connection that fails is dropped and the batch on it
  answers 503; the next batch connects afresh.

SQL is written once with `?` placeholders; the PostgreSQL driver numbers them (`$1`...).
Values cross as Python types, except that SQLite keeps times as naive-UTC text and dates
as ISO text (the forms SQLAlchemy gives them, so both read the same rows): `Values`
converts at the edge.
"""

from __future__ import annotations

import asyncio
import functools
import re
import sqlite3
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from itertools import repeat
from typing import Any, Final, Protocol

from bank_adapter.core.messages import format_timestamp
from bank_adapter.services.storage import DuplicateKey

# pg_advisory_xact_lock key that admits one writing transaction at a time across all
# instances on one PostgreSQL: b"bankwrit" as a signed 64-bit integer. It never meets
# the migration lock (`migrate.MIGRATION_LOCK_KEY`).
WRITER_LOCK_KEY: Final = int.from_bytes(b"bankwrit", signed=True)
PG_CONNECT_TIMEOUT_S: Final = 5.0
_SQLITE_TIME: Final = "%Y-%m-%d %H:%M:%S.%f"
_SQLITE_TIME_LENGTH: Final = len("2026-11-21 09:30:00.000000")
_SQLITE_TIME_SHAPE: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}"
)


class StorageError(Exception):
    """The engine failed (gone, locked past the timeout, I/O): nothing was recorded."""


Row = Any  # sqlite3.Row or asyncpg.Record: both index by position and by column name


class Driver(Protocol):
    dialect: str

    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...
    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...
    async def execute(self, sql: str, *args: Any) -> int: ...
    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    def stream(self, sql: str, *args: Any, size: int) -> AsyncIterator[list[tuple[Any, ...]]]: ...


class WriterDriver(Driver, Protocol):
    async def begin(self) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
    async def close(self) -> None: ...


class Values:
    """How times and dates are stored: as themselves (PostgreSQL)."""

    def ts(self, value: datetime | None) -> Any:
        if value is not None and value.utcoffset() is None:
            raise ValueError("naive datetimes are not stored")
        return value

    def from_ts(self, value: Any) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    def wire_ts(self, value: Any) -> str:
        """A stored time (not null) as the wire writes it (`format_timestamp`, UTC)."""
        return format_timestamp(value.astimezone(UTC))

    def wire_times(self, values: Sequence[Any]) -> list[str]:
        """`wire_ts` of each of `values` (a statement page's)."""
        return list(map(self.wire_ts, values))

    def day(self, value: date | None) -> Any:
        return value

    def from_day(self, value: Any) -> date | None:
        day: date | None = value
        return day


class SqliteValues(Values):
    """Naive-UTC text for times, ISO text for dates: what SQLAlchemy writes on SQLite."""

    def ts(self, value: datetime | None) -> Any:
        checked = super().ts(value)
        return None if checked is None else checked.astimezone(UTC).strftime(_SQLITE_TIME)

    def from_ts(self, value: Any) -> datetime | None:
        return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)

    def wire_ts(self, value: Any) -> str:
        # "2026-11-21 09:30:00.250000" -> "2026-11-21T09:30:00.250000Z" by slicing, the form
        # `ts` writes; any other text the long way round.
        if len(value) == _SQLITE_TIME_LENGTH and value[10] == " " and value[19] == ".":
            fraction = "" if value.endswith(".000000") else value[19:]
            return f"{value[:10]}T{value[11:19]}{fraction}Z"
        moment = self.from_ts(value)
        assert moment is not None
        return format_timestamp(moment)

    def wire_times(self, values: Sequence[Any]) -> list[str]:
        # All in the form `ts` writes (the rule when this service wrote them): the same
        # slicing as `wire_ts`, done with string methods in C loops.
        if not all(map(_SQLITE_TIME_SHAPE.fullmatch, values)):
            return super().wire_times(values)
        spelled = map(str.replace, values, repeat(" "), repeat("T"))
        return list(
            map(str.__add__, map(str.removesuffix, spelled, repeat(".000000")), repeat("Z"))
        )

    def day(self, value: date | None) -> Any:
        return None if value is None else value.isoformat()

    def from_day(self, value: Any) -> date | None:
        return None if value is None else date.fromisoformat(value)


# --- SQLite -------------------------------------------------------------------------------


def sqlite_connect(path: str, *, busy_timeout_s: float, writer: bool) -> sqlite3.Connection:
    """A connection to the database file. Opening a writer may wait for another
    process's lock (setting WAL mode), so it is opened off the event loop; a reader
    only reads and never sets the journal mode (the file keeps WAL once set)."""
    conn = sqlite3.connect(
        path,
        isolation_level=None,
        check_same_thread=False,
        cached_statements=512,
        timeout=busy_timeout_s,
    )
    conn.row_factory = sqlite3.Row
    if writer:
        # Asking to switch to WAL takes the database lock even when the file is in WAL
        # already, and would then queue behind (and block) a writer mid-transaction.
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before any answer leaves, power loss included.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        # The writer never waits on the loop: a busy BEGIN is retried in its thread.
        conn.execute("PRAGMA busy_timeout=0")
    return conn


class _SqliteStatements:
    dialect = "sqlite"
    values: Values = SqliteValues()

    def _connection(self) -> sqlite3.Connection:
        raise NotImplementedError

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        try:
            return self._connection().execute(sql, args).fetchone()
        except sqlite3.IntegrityError as exc:
            raise DuplicateKey(str(exc)) from exc
        except sqlite3.Error as exc:
            raise StorageError(f"sqlite: {exc}") from exc

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        try:
            return self._connection().execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"sqlite: {exc}") from exc

    async def execute(self, sql: str, *args: Any) -> int:
        try:
            return self._connection().execute(sql, args).rowcount
        except sqlite3.IntegrityError as exc:
            raise DuplicateKey(str(exc)) from exc
        except sqlite3.Error as exc:
            raise StorageError(f"sqlite: {exc}") from exc

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        try:
            self._connection().executemany(sql, rows)
        except sqlite3.IntegrityError as exc:
            raise DuplicateKey(str(exc)) from exc
        except sqlite3.Error as exc:
            raise StorageError(f"sqlite: {exc}") from exc

    async def stream(self, sql: str, *args: Any, size: int) -> AsyncIterator[list[tuple[Any, ...]]]:
        """The rows of a long query as plain tuples, `size` at a time (one `fetchmany`
        each: C all the way, a few milliseconds on the loop per batch)."""
        cursor = self._connection().cursor()
        cursor.row_factory = None
        try:
            cursor.execute(sql, args)
            while rows := cursor.fetchmany(size):
                yield rows
        except sqlite3.Error as exc:
            raise StorageError(f"sqlite: {exc}") from exc
        finally:
            cursor.close()


class SqliteWriter(_SqliteStatements):
    """The one writing connection of this process."""

    def __init__(self, path: str, busy_timeout_s: float) -> None:
        self.path = path
        self.busy_timeout_s = busy_timeout_s
        self._conn: sqlite3.Connection | None = None
        # One thread, so the connection is never used by two threads at once.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-commit")

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StorageError("sqlite: the writer is not connected")
        return self._conn

    async def _in_thread(self, sql: str) -> None:
        conn = self._connection()
        try:
            await asyncio.get_running_loop().run_in_executor(self._thread, _run, conn, sql)
        except sqlite3.Error as exc:
            raise StorageError(f"sqlite: {exc}") from exc

    async def _open(self) -> None:
        try:
            self._conn = await asyncio.get_running_loop().run_in_executor(
                self._thread,
                functools.partial(
                    sqlite_connect, self.path, busy_timeout_s=self.busy_timeout_s, writer=True
                ),
            )
        except sqlite3.Error as exc:
            raise StorageError(f"sqlite: {exc}") from exc

    async def begin(self) -> None:
        if self._conn is None:
            await self._open()
        try:
            self._connection().execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                raise StorageError(f"sqlite: {exc}") from exc
        # Another process writes: wait for it (up to the busy timeout) off the loop.
        await self._in_thread(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
        try:
            await self._in_thread("BEGIN IMMEDIATE")
        finally:
            self._connection().execute("PRAGMA busy_timeout=0")

    async def commit(self) -> None:
        await self._in_thread("COMMIT")

    async def rollback(self) -> None:
        conn = self._conn
        if conn is not None and conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                # The connection is unusable: a fresh one is opened by the next batch.
                self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._thread, self._drop)
        self._thread.shutdown(wait=True)


def _run(conn: sqlite3.Connection, sql: str) -> None:
    """Run `sql` and finalise its cursor here, in the calling thread. A cursor handed
    back to the loop would be finalised there later, taking the connection's mutex, and
    block the whole loop while this thread waits on the connection for another process."""
    conn.execute(sql).close()


class SqliteReader(_SqliteStatements):
    """A read connection: WAL readers see the last commit and never wait for a writer."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def _connection(self) -> sqlite3.Connection:
        return self.conn


# --- PostgreSQL ---------------------------------------------------------------------------


def numbered(sql: str) -> str:
    """`?` placeholders as PostgreSQL's `$1`, `$2`, … (the SQL here has no `?` literals)."""
    parts = sql.split("?")
    return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], start=1))


def _rowcount(status: str) -> int:
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class _PgStatements:
    dialect = "postgresql"
    values = Values()

    def __init__(self) -> None:
        self._sql: dict[str, str] = {}

    def _pg(self, sql: str) -> str:
        pg = self._sql.get(sql)
        if pg is None:
            pg = self._sql[sql] = numbered(sql)
        return pg

    async def _connection(self) -> Any:
        raise NotImplementedError

    def _failed(self, exc: BaseException) -> Exception:
        raise NotImplementedError

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        conn = await self._connection()
        try:
            return await conn.fetchrow(self._pg(sql), *args)
        except Exception as exc:
            raise self._failed(exc) from exc

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        conn = await self._connection()
        try:
            return list(await conn.fetch(self._pg(sql), *args))
        except Exception as exc:
            raise self._failed(exc) from exc

    async def execute(self, sql: str, *args: Any) -> int:
        conn = await self._connection()
        try:
            return _rowcount(await conn.execute(self._pg(sql), *args))
        except Exception as exc:
            raise self._failed(exc) from exc

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        conn = await self._connection()
        try:
            await conn.executemany(self._pg(sql), rows)
        except Exception as exc:
            raise self._failed(exc) from exc

    async def stream(self, sql: str, *args: Any, size: int) -> AsyncIterator[list[tuple[Any, ...]]]:
        """The rows of a long query, `size` at a time, through a server-side cursor (so
        inside a transaction); records index like tuples."""
        conn = await self._connection()
        try:
            cursor = await conn.cursor(self._pg(sql), *args)
            while rows := await cursor.fetch(size):
                yield rows
        except Exception as exc:
            raise self._failed(exc) from exc


def _pg_failure(exc: BaseException) -> tuple[Exception, bool]:
    """The error to raise (DuplicateKey or StorageError), and whether the connection is lost."""
    import asyncpg

    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return DuplicateKey(str(exc)), False
    lost = not isinstance(exc, asyncpg.PostgresError) or isinstance(
        exc, asyncpg.PostgresConnectionError | asyncpg.exceptions.AdminShutdownError
    )
    return StorageError(f"postgresql: {type(exc).__name__}"), lost


async def pg_connect(dsn: str, lock_timeout_ms: int) -> Any:
    import asyncpg

    try:
        return await asyncpg.connect(
            dsn,
            timeout=PG_CONNECT_TIMEOUT_S,
            statement_cache_size=512,
            # Like SQLite's busy timeout: waiting this long for a lock another session
            # holds fails the batch as 503 (nothing recorded) instead of hanging.
            server_settings={"lock_timeout": str(lock_timeout_ms)},
        )
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise StorageError(f"postgresql: cannot connect ({type(exc).__name__})") from exc


class PgWriter(_PgStatements):
    """The one writing connection of this process; reconnects after a failure."""

    def __init__(self, dsn: str, lock_timeout_ms: int) -> None:
        super().__init__()
        self.dsn = dsn
        self.lock_timeout_ms = lock_timeout_ms
        self._conn: Any = None

    async def _connection(self) -> Any:
        if self._conn is None:
            self._conn = await pg_connect(self.dsn, self.lock_timeout_ms)
        return self._conn

    def _failed(self, exc: BaseException) -> Exception:
        error, lost = _pg_failure(exc)
        if lost:
            self._abandon()
        return error

    def _abandon(self) -> None:
        if self._conn is not None:
            self._conn.terminate()
            self._conn = None

    async def begin(self) -> None:
        conn = await self._connection()
        try:
            # One round trip: the transaction and the cluster-wide writer lock.
            await conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock({WRITER_LOCK_KEY})")
        except Exception as exc:
            raise self._failed(exc) from exc

    async def commit(self) -> None:
        conn = await self._connection()
        try:
            await conn.execute("COMMIT")
        except Exception as exc:
            # Whether a COMMIT that failed in flight took effect is unknown to us; the
            # connection is dropped, the batch answers 503 and retries find the outcome.
            self._abandon()
            raise StorageError(f"postgresql: commit failed ({type(exc).__name__})") from exc

    async def rollback(self) -> None:
        if self._conn is None:
            return
        try:
            await self._conn.execute("ROLLBACK")
        except Exception:
            self._abandon()

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                await asyncio.wait_for(conn.close(), PG_CONNECT_TIMEOUT_S)
            except Exception:
                conn.terminate()


class PgReader(_PgStatements):
    """Reads on a connection of the read pool (see `Store.read`)."""

    def __init__(self, conn: Any) -> None:
        super().__init__()
        self.conn = conn

    async def _connection(self) -> Any:
        return self.conn

    def _failed(self, exc: BaseException) -> Exception:
        return _pg_failure(exc)[0]
