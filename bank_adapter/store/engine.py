"""SQLAlchemy engine set-up (migrations, reconciliation, operator queries): the URL
forms of the contract, SQLite pragmas, write transactions. The request path does not
use it (see `bank_adapter.store.drivers`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

READ_ONLY = "bank_adapter_read_only"
# asyncpg waits 60 s for a connection by default; an unreachable database should give a
# 503 (and a red /readyz) sooner than the load balancer times the request out.
PG_CONNECT_TIMEOUT_S = 5.0
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def async_url(url: str) -> URL:
    """`sqlite:///x.db` / `postgresql://…` (or their explicit async forms) as async URLs."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in _ASYNC_DRIVERS:
        raise ValueError(f"unsupported database {backend!r} (sqlite or postgresql)")
    if parsed.drivername in ("sqlite", "postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername=_ASYNC_DRIVERS[backend])
    return parsed


def pg_dsn(url: URL) -> str:
    """The libpq form of a PostgreSQL URL, for asyncpg itself."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def create_engine(url: str, *, busy_timeout_s: float = 5.0) -> AsyncEngine:
    parsed = async_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, busy_timeout_s)
    # pool_pre_ping: connections the server dropped (restart, failover) are replaced on
    # checkout, so the service recovers by itself when the database is back.
    return create_async_engine(
        parsed,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        connect_args={
            "timeout": PG_CONNECT_TIMEOUT_S,
            # Like SQLite's busy timeout: a request waits this long for a row or advisory
            # lock another session holds, then fails as 503 (nothing recorded) instead of
            # keeping a customer at the ATM waiting on a stuck session.
            "server_settings": {"lock_timeout": str(max(1, int(busy_timeout_s * 1000)))},
        },
    )


def _sqlite_engine(url: URL, busy_timeout_s: float) -> AsyncEngine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": busy_timeout_s})

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from the driver, so BEGIN IMMEDIATE below is
        # what starts every transaction.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before the answer leaves, power loss included.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that reads and then writes can fail with SQLITE_BUSY
        # without waiting; taking the write lock up front makes writers queue instead.
        # Read-only work (WAL readers never block) keeps a plain deferred BEGIN.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine
