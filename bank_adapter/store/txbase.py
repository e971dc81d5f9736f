"""What every query mix-in of `Tx` shares: the connection, inserts that report a
unique-constraint refusal as `DuplicateKey`, and reads that lock what a decision rests on.

Decisions are read-then-write: the payment reference is new, so the bill must be
unpaid, so post. SQLite admits one writer at a time, so nothing changes between the
read and the write. PostgreSQL runs writers side by side at READ COMMITTED, where each
statement sees what has committed by its start: a concurrent retry of the same payment
could find no payment (not committed yet) and then the bill PAID (committed since),
and answer BILL_ALREADY_PAID instead of the original PaymentId. So, in a write
transaction, the reads a decision rests on lock: rows `FOR UPDATE` (bills, accounts,
activations), and a payment reference, which may have no row yet, by an advisory lock
on its key. A concurrent decider of the same thing waits for the commit and then reads
the outcome. Rows are always locked in one order (reference, bill or account or
activation, day figures, event counter), so these waits cannot form a cycle.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

# Advisory lock keys of payment references: (REFERENCE_LOCK_CLASS, hashtext(key)).
# A hash collision only makes two references queue. Two-int4 keys never meet the
# single-bigint key of `migrate.py`: PostgreSQL keeps the two key spaces apart.
REFERENCE_LOCK_CLASS = 1

SelectT = TypeVar("SelectT", bound=Select[Any])


class DecideAgain(Exception):
    """What a decision rested on changed before it could commit: roll the transaction
    back whole and decide again on what is there now."""


class DuplicateKey(DecideAgain):
    """A unique constraint refused the write: someone else got there first."""


class TxBase:
    def __init__(self, conn: AsyncConnection, *, writing: bool = False) -> None:
        self.conn = conn
        self.writing = writing

    async def _insert(self, statement: Any) -> Any:
        try:
            return await self.conn.execute(statement)
        except IntegrityError as exc:
            raise DuplicateKey(str(exc.orig)) from exc

    def _deciding(self, query: SelectT) -> SelectT:
        """`query`, locking the rows it reads when this transaction writes (module doc).
        SQLite ignores FOR UPDATE: its single writer already holds everything."""
        return query.with_for_update() if self.writing else query

    async def _claim(self, *key: str) -> None:
        """Hold `key` until commit (PostgreSQL, write transactions; module doc)."""
        if self.writing and self.conn.dialect.name == "postgresql":
            name = "\x1f".join(key)
            await self.conn.execute(
                select(func.pg_advisory_xact_lock(REFERENCE_LOCK_CLASS, func.hashtext(name)))
            )
