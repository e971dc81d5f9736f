"""The adapter's side of a reconciliation: a day's payments, streamed in reference order.

One range scan of `ix_payments_reconcile` (partner, business date, reference) through a
server-side cursor (`AsyncConnection.stream`), read `BATCH` rows at a time, so neither
the database driver nor Python holds the day. The order must be code point order, the
order of the bank side's external sort: SQLite compares TEXT bytewise (its BINARY
collation) and the index serves it directly; PostgreSQL sorts by the database's locale
unless told otherwise, so there the query asks for the "C" collation explicitly.

References missing on the day are looked up by the unique (partner, reference) index,
in the same read transaction, so every read of a run sees one snapshot.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from datetime import date, datetime
from typing import Final

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bank_adapter.core.messages import PaymentStatus
from bank_adapter.core.money import halalas_text
from bank_adapter.reconcile.matching import LedgerRow
from bank_adapter.store.tables import payments

BATCH: Final = 2_000
_STATUSES: Final = {status.value: status for status in PaymentStatus}
_COLUMNS: Final = (
    payments.c.bank_payment_ref,
    payments.c.seq,
    payments.c.bill_number,
    payments.c.amount_halalas,
    payments.c.paid_at,
    payments.c.status,
)


async def day_rows(
    conn: AsyncConnection, partner_id: str, day: date
) -> AsyncGenerator[LedgerRow, None]:
    """The partner's payments of business date `day`, in reference order."""
    query = (
        select(*_COLUMNS)
        .where(payments.c.partner_id == partner_id, payments.c.business_date == day)
        .order_by(_in_code_point_order(conn, payments.c.bank_payment_ref))
    )
    async with conn.stream(query, execution_options={"yield_per": BATCH}) as result:
        async for batch in result.partitions():
            for row in batch:
                yield _ledger_row(*row, day)


async def payments_by_ref(
    conn: AsyncConnection, partner_id: str, refs: Sequence[str]
) -> dict[str, LedgerRow]:
    """The partner's payments with references among `refs`, whatever their business date."""
    query = select(*_COLUMNS, payments.c.business_date).where(
        payments.c.partner_id == partner_id, payments.c.bank_payment_ref.in_(refs)
    )
    rows = (_ledger_row(*row) for row in await conn.execute(query))
    return {row.bank_payment_ref: row for row in rows}


def _in_code_point_order(conn: AsyncConnection, column: ColumnElement[str]) -> ColumnElement[str]:
    return column.collate("C") if conn.dialect.name == "postgresql" else column


def _ledger_row(
    ref: str,
    seq: int,
    bill_number: str,
    halalas: int,
    paid_at: datetime,
    status: str,
    business_date: date,
) -> LedgerRow:
    amount = halalas_text(halalas)
    return LedgerRow(
        ref, seq, bill_number, amount, halalas, paid_at, _STATUSES[status], business_date
    )
