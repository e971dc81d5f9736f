"""The storage interface the services use: one `Tx` per unit of work.

Every state change and the event that reports it are written through one `Tx`, which
commits or rolls back as a whole. Uniqueness (message ids, later payment references)
is enforced by the database's constraints, never by a read-then-insert race.

Events and the cursor. A consumer follows `/internal/v1/events` with `seq > cursor`,
so a transaction must never become visible with a seq below one already visible: with
several instances on PostgreSQL an identity column allows exactly that (A draws 10,
B draws 11 and commits, the consumer moves past 11, A commits 10: never seen). So
`add_event` only collects; when the unit of work is done, `flush_events` draws the
numbers with `UPDATE event_counter SET last_seq = last_seq + n RETURNING last_seq`,
inserts the events and the transaction commits. The counter row stays locked from that
UPDATE to the commit, so the next number is drawn only once this one is visible:
commit order is seq order, with no gaps. Flushing last keeps that lock to the UPDATE,
one INSERT and the commit, and means nothing else is waited for while holding it.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bank_adapter.domain.activation import Account, ActivationAttempt
from bank_adapter.domain.ids import IdType
from bank_adapter.store import tables as t
from bank_adapter.store.engine import READ_ONLY, create_engine
from bank_adapter.store.ledger import LedgerQueries
from bank_adapter.store.txbase import DecideAgain, DuplicateKey

__all__ = ["DecideAgain", "DuplicateKey", "Event", "Sms", "Store", "StoredAnswer", "Tx"]


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    body_sha256: str
    status: int
    content_type: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    type: str
    occurred_at: datetime
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Sms:
    mobile: str
    text: str
    sent_at: datetime


COMPRESS_ABOVE = 8 * 1024


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._write_lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    @classmethod
    def open(cls, url: str, *, busy_timeout_s: float = 5.0) -> Store:
        return cls(create_engine(url, busy_timeout_s=busy_timeout_s))

    async def close(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Tx]:
        """A write transaction; commits when the block ends without an exception."""
        async with self._writer(), self.engine.connect() as conn, conn.begin():
            tx = Tx(conn, writing=True)
            yield tx
            await tx.flush_events()

    def _writer(self) -> contextlib.AbstractAsyncContextManager[object]:
        # SQLite has one writer at a time. Queueing this process's writers on an asyncio
        # lock hands the file lock over at once; left to SQLite's busy handler they
        # would poll it with sleeps, and the tail latency goes to seconds.
        return self._write_lock if self._write_lock is not None else contextlib.nullcontext()

    @asynccontextmanager
    async def read(self, *, snapshot: bool = False) -> AsyncIterator[Tx]:
        """A read-only transaction; with `snapshot`, every statement in it sees the same
        committed state (PostgreSQL REPEATABLE READ; an SQLite read already does)."""
        async with self.engine.connect() as conn:
            options: dict[str, object] = {READ_ONLY: True}
            if snapshot and conn.dialect.name == "postgresql":
                options["isolation_level"] = "REPEATABLE READ"
            conn = await conn.execution_options(**options)
            async with conn.begin():
                tx = Tx(conn)
                yield tx
                if tx.pending_events:
                    raise RuntimeError("events are written in write transactions only")

    async def ping(self) -> None:
        """Raises unless the database would take a write now.

        A write transaction, not a read: on SQLite a reader gets through while another
        process holds the write lock, and then every request would fail while the
        instance still looks ready.
        """
        async with self.write() as tx:
            await tx.conn.execute(text("SELECT 1"))


class Tx(LedgerQueries):
    """One unit of work; see the mix-ins for the queries of each area."""

    def __init__(self, conn: AsyncConnection, *, writing: bool = False) -> None:
        super().__init__(conn, writing=writing)
        self.pending_events: list[dict[str, Any]] = []

    # --- stored answers (replay) -------------------------------------------------------

    async def answer(self, partner_id: str, message_id: str) -> StoredAnswer | None:
        row = (
            await self.conn.execute(
                select(t.messages).where(
                    t.messages.c.partner_id == partner_id, t.messages.c.message_id == message_id
                )
            )
        ).first()
        if row is None:
            return None
        headers = tuple((str(name), str(value)) for name, value in row.headers)
        body = zlib.decompress(row.body) if row.body_encoding == "zlib" else row.body
        return StoredAnswer(row.body_sha256, row.status, row.content_type, headers, body)

    async def save_answer(
        self, partner_id: str, message_id: str, answer: StoredAnswer, now: datetime
    ) -> None:
        """Record a final answer; DuplicateKey if this message id is already answered.

        Large bodies are stored compressed (zlib level 1: ~6 ms for a 1 MB statement page,
        ~9x smaller), so replay storage stays proportionate to what banks send.
        """
        large = len(answer.body) > COMPRESS_ABOVE
        await self._insert(
            insert(t.messages).values(
                partner_id=partner_id,
                message_id=message_id,
                body_sha256=answer.body_sha256,
                status=answer.status,
                content_type=answer.content_type,
                headers=[list(pair) for pair in answer.headers],
                body=zlib.compress(answer.body, 1) if large else answer.body,
                body_encoding="zlib" if large else "identity",
                created_at=now,
            )
        )

    async def purge_answers(self, before: datetime) -> int:
        result = await self.conn.execute(delete(t.messages).where(t.messages.c.created_at < before))
        return int(result.rowcount)

    # --- accounts ----------------------------------------------------------------------

    async def account(self, id_number: str) -> Account | None:
        query = select(t.accounts).where(t.accounts.c.id_number == id_number)
        row = (await self.conn.execute(self._deciding(query))).first()
        return None if row is None else _account(row)

    async def save_account(self, account: Account, now: datetime) -> Account:
        """Insert or update an account's registration data; its status is kept."""
        values = {
            "id_type": account.id_type.value,
            "mobile": account.mobile,
            "biometric_enrolled": account.biometric_enrolled,
            "id_expiry": account.id_expiry,
            "blocked": account.blocked,
            "full_name_ar": account.full_name_ar,
            "full_name_en": account.full_name_en,
            "updated_at": now,
        }
        updated = await self.conn.execute(
            update(t.accounts).where(t.accounts.c.id_number == account.id_number).values(**values)
        )
        if updated.rowcount == 0:
            await self._insert(
                insert(t.accounts).values(
                    id_number=account.id_number, status="PENDING", created_at=now, **values
                )
            )
        stored = await self.account(account.id_number)
        assert stored is not None
        return stored

    async def activate_account(self, id_number: str, partner_id: str, now: datetime) -> bool:
        """PENDING -> ACTIVE; False when it was not pending any more (a race lost)."""
        result = await self.conn.execute(
            update(t.accounts)
            .where(t.accounts.c.id_number == id_number, t.accounts.c.status == "PENDING")
            .values(status="ACTIVE", activated_at=now, activated_by=partner_id, updated_at=now)
        )
        return bool(result.rowcount == 1)

    # --- activations -------------------------------------------------------------------

    async def add_activation(self, attempt: ActivationAttempt, channel: str, now: datetime) -> None:
        await self._insert(
            insert(t.activations).values(
                activation_id=attempt.activation_id,
                partner_id=attempt.partner_id,
                id_number=attempt.id_number,
                channel=channel,
                otp_hash=attempt.otp_hash,
                expires_at=attempt.expires_at,
                tries=attempt.tries,
                state=attempt.state,
                created_at=now,
            )
        )

    async def activation(self, activation_id: str) -> tuple[ActivationAttempt, str] | None:
        """The attempt and the channel it started on."""
        query = select(t.activations).where(t.activations.c.activation_id == activation_id)
        row = (await self.conn.execute(self._deciding(query))).first()
        if row is None:
            return None
        attempt = ActivationAttempt(
            activation_id=row.activation_id,
            partner_id=row.partner_id,
            id_number=row.id_number,
            otp_hash=row.otp_hash,
            expires_at=row.expires_at,
            tries=row.tries,
            state=row.state,
        )
        return attempt, row.channel

    async def update_activation(self, activation_id: str, tries: int, state: str) -> None:
        await self.conn.execute(
            update(t.activations)
            .where(t.activations.c.activation_id == activation_id)
            .values(tries=tries, state=state)
        )

    # --- outboxes ----------------------------------------------------------------------

    async def add_event(self, type_: str, data: Mapping[str, Any], now: datetime) -> None:
        """Queue an event; it is written with this transaction's last statements."""
        self.pending_events.append({"type": type_, "occurred_at": now, "data": dict(data)})

    async def flush_events(self) -> None:
        """Number the queued events from the counter and insert them (module docstring)."""
        if not self.pending_events:
            return
        drawn = await self.conn.execute(
            update(t.event_counter)
            .where(t.event_counter.c.id == 1)
            .values(last_seq=t.event_counter.c.last_seq + len(self.pending_events))
            .returning(t.event_counter.c.last_seq)
        )
        first = int(drawn.scalar_one()) - len(self.pending_events) + 1
        rows = [{"seq": first + i, **event} for i, event in enumerate(self.pending_events)]
        self.pending_events = []
        await self.conn.execute(insert(t.events), rows)

    async def events(self, after: int, limit: int) -> list[Event]:
        rows = await self.conn.execute(
            select(t.events).where(t.events.c.seq > after).order_by(t.events.c.seq).limit(limit)
        )
        return [Event(row.seq, row.type, row.occurred_at, row.data) for row in rows]

    async def queue_sms(self, mobile: str, text_: str, now: datetime) -> None:
        await self.conn.execute(
            insert(t.sms_outbox).values(mobile=mobile, text=text_, created_at=now)
        )

    async def sms(self, mobile: str) -> list[Sms]:
        rows = await self.conn.execute(
            select(t.sms_outbox).where(t.sms_outbox.c.mobile == mobile).order_by(t.sms_outbox.c.id)
        )
        return [Sms(row.mobile, row.text, row.created_at) for row in rows]

    async def count(self, table_name: str) -> int:
        table = t.metadata.tables[table_name]
        return int((await self.conn.execute(select(func.count()).select_from(table))).scalar_one())


def _account(row: Any) -> Account:
    expiry: date | None = row.id_expiry
    return Account(
        id_number=row.id_number,
        id_type=IdType(row.id_type),
        mobile=row.mobile,
        biometric_enrolled=bool(row.biometric_enrolled),
        id_expiry=expiry,
        blocked=bool(row.blocked),
        status=row.status,
        full_name_ar=row.full_name_ar,
        full_name_en=row.full_name_en,
    )
