"""The adapter's side of a reconciliation: a day's payments, read in reference order.

One range scan of `ix_payments_reconcile` (partner, business date, reference) on the
store's raw driver, `BATCH` rows per fetch (sqlite3 `fetchmany`, an asyncpg cursor), so
neither the driver nor Python holds the day, and no row goes through an ORM layer. The
order is code point order, the order of the bank side's external sort (the store's
`reconcile_day` says how each engine is made to give it).

References missing on the day are looked up by the unique (partner, reference) index,
in the same read transaction (`Store.read(snapshot=True)`), so every read of a run sees
one snapshot.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from datetime import date
from typing import Any, Final

from bank_adapter.core.messages import PaymentStatus
from bank_adapter.core.money import halalas_text
from bank_adapter.reconcile.matching import LedgerRow, StoredLedger
from bank_adapter.store.tx import SqlTx

BATCH: Final = 10_000
_STATUSES: Final = {status.value: status for status in PaymentStatus}


async def day_rows(
    tx: SqlTx, partner_id: str, day: date
) -> AsyncGenerator[list[StoredLedger], None]:
    """The partner's payments of business date `day`, in reference order, by batches, as
    stored (`typed` makes one a `LedgerRow`)."""
    async for rows in tx.reconcile_day(partner_id, day, BATCH):
        yield rows


def typed(tx: SqlTx, row: StoredLedger, day: date) -> LedgerRow:
    """The ledger row of `day` stored as `row`."""
    return _ledger_row(tx, *row, business_date=tx.v.day(day))


async def payments_by_ref(tx: SqlTx, partner_id: str, refs: Sequence[str]) -> dict[str, LedgerRow]:
    """The partner's payments with references among `refs`, whatever their business date."""
    rows = await tx.payments_with_refs(partner_id, refs)
    return {row[0]: _ledger_row(tx, *row) for row in rows}


def _ledger_row(
    tx: SqlTx,
    ref: str,
    seq: int,
    bill_number: str,
    halalas: int,
    paid_at: Any,
    status: str,
    business_date: Any,
) -> LedgerRow:
    amount = halalas_text(halalas)
    paid, day = tx.v.from_ts(paid_at), tx.v.from_day(business_date)
    return LedgerRow(ref, seq, bill_number, amount, halalas, paid, _STATUSES[status], day)
