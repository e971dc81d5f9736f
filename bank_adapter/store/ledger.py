"""The money side as fixed SQL: bills, payments, the day's figures, evidence.

Exactly-once is the database's job: a unique (partner, BankPaymentRef), a partial
unique index that allows one POSTED payment per bill, and conditional updates
(`WHERE status = …`) whose row counts say whether this unit of work won.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from typing import Any, Final

from bank_adapter.core.messages import BillStatus, EntryRow, PaymentStatus, ServiceCode
from bank_adapter.core.money import halalas_texts
from bank_adapter.domain.bills import Bill
from bank_adapter.domain.payments import NewPayment, Payment, format_payment_ids
from bank_adapter.domain.statement import DayChange, DayFigures, Entry
from bank_adapter.services.storage import Evidence
from bank_adapter.store.txbase import TxBase

_BILL_COLUMNS: Final = (
    "bill_number, id_number, service_code, description_ar, description_en, amount_halalas,"
    " due_date, expires_at, status, periods"
)
_BILL: Final = f"SELECT {_BILL_COLUMNS} FROM bills WHERE bill_number = ?"
_BILLS_OF: Final = (
    f"SELECT {_BILL_COLUMNS} FROM bills WHERE id_number = ? AND status = ?"
    " ORDER BY due_date, bill_number"
)
_OPEN_QUOTE: Final = f"SELECT {_BILL_COLUMNS} FROM bills WHERE quote_key = ? AND status = 'UNPAID'"
INSERT_BILL: Final = (
    "INSERT INTO bills (bill_number, id_number, service_code, description_ar, description_en,"
    " amount_halalas, currency, due_date, expires_at, status, periods, quote_key, created_at,"
    " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# A bill leaving UNPAID gives up its open-quote slot: the same quote may then issue a new
# bill, and this one, if its payment is reversed, returns to UNPAID without colliding.
_MOVE_BILL: Final = (
    "UPDATE bills SET status = ?, updated_at = ?,"
    " quote_key = CASE WHEN status = 'UNPAID' THEN NULL ELSE quote_key END"
    " WHERE bill_number = ? AND status = ?"
)
_PAYMENT_COLUMNS: Final = (
    "seq, partner_id, bank_payment_ref, bill_number, amount_halalas, paid_at, business_date, status"
)
_PAYMENT: Final = (
    f"SELECT {_PAYMENT_COLUMNS} FROM payments WHERE partner_id = ? AND bank_payment_ref = ?"
)
_INSERT_PAYMENT: Final = (
    "INSERT INTO payments (partner_id, bank_payment_ref, bill_number, amount_halalas, currency,"
    " paid_at, channel, terminal_id, business_date, status, recorded_at)"
    " VALUES (?, ?, ?, ?, 'SAR', ?, ?, ?, ?, 'POSTED', ?) RETURNING seq"
)
_REVERSE: Final = (
    "UPDATE payments SET status = 'REVERSED', reversed_at = ?, reversal_reason = ?"
    " WHERE seq = ? AND status = 'POSTED'"
)
_DAY_PAGE: Final = (
    "SELECT seq, bank_payment_ref, bill_number, amount_halalas, paid_at, status FROM payments"
    " WHERE partner_id = ? AND business_date = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?"
)
_LAST_SEQ: Final = "SELECT COALESCE(MAX(seq), 0) FROM payments"
# Reconciliation: a day in reference order, code point order on both engines (SQLite
# compares TEXT bytewise and `ix_payments_reconcile` serves the order; PostgreSQL would
# sort by the database's locale unless told "C"), and point lookups by reference.
_RECONCILED: Final = "bank_payment_ref, seq, bill_number, amount_halalas, paid_at, status"
_RECONCILE_DAY: Final = (
    f"SELECT {_RECONCILED} FROM payments WHERE partner_id = ? AND business_date = ?"
    " ORDER BY bank_payment_ref"
)
_BY_REFS: Final = f"SELECT {_RECONCILED}, business_date FROM payments WHERE partner_id = ?"
_IN_REFS_SQLITE: Final = " AND bank_payment_ref IN (SELECT value FROM json_each(?))"
_IN_REFS_PG: Final = " AND bank_payment_ref = ANY(?::text[])"
_DAY: Final = (
    "SELECT count, total_halalas, checksum FROM day_figures"
    " WHERE partner_id = ? AND business_date = ?"
)
_SAVE_DAY: Final = (
    "INSERT INTO day_figures (partner_id, business_date, count, total_halalas, checksum)"
    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (partner_id, business_date) DO UPDATE SET"
    " count = excluded.count, total_halalas = excluded.total_halalas,"
    " checksum = excluded.checksum"
)
_INSERT_EVIDENCE: Final = (
    "INSERT INTO evidence (partner_id, bank_payment_ref, operation, message_id, method, path,"
    " headers, body, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class LedgerQueries(TxBase):
    # --- bills -------------------------------------------------------------------------

    async def bill(self, bill_number: str) -> Bill | None:
        row = await self.db.fetchrow(_BILL, bill_number)
        return None if row is None else self._bill(row)

    async def bills_of(self, id_number: str, status: BillStatus) -> list[Bill]:
        return [self._bill(row) for row in await self.db.fetch(_BILLS_OF, id_number, status.value)]

    async def open_quote(self, quote_key: str) -> Bill | None:
        row = await self.db.fetchrow(_OPEN_QUOTE, quote_key)
        return None if row is None else self._bill(row)

    async def add_bill(self, bill: Bill, now: datetime, quote_key: str | None = None) -> None:
        await self.db.execute(INSERT_BILL, *self._bill_row(bill, self.v.ts(now), quote_key))

    async def add_bills(self, bills: Sequence[Bill], now: datetime) -> None:
        """Every bill in one statement (DuplicateKey if any bill number is taken)."""
        at = self.v.ts(now)
        await self.db.executemany(INSERT_BILL, [self._bill_row(bill, at, None) for bill in bills])

    def _bill_row(self, bill: Bill, at: Any, quote_key: str | None) -> tuple[Any, ...]:
        return (
            bill.bill_number, bill.id_number, bill.service_code.value, bill.description_ar,
            bill.description_en, bill.amount_halalas, bill.currency, self.v.day(bill.due_date),
            self.v.ts(bill.expires_at), bill.status.value, bill.periods, quote_key, at, at,
        )  # fmt: skip

    async def move_bill(
        self, bill_number: str, old: BillStatus, new: BillStatus, now: datetime
    ) -> bool:
        """`old` -> `new`; False if the bill was not in `old` (someone else moved it)."""
        moved = await self.db.execute(_MOVE_BILL, new.value, self.v.ts(now), bill_number, old.value)
        return moved == 1

    def _bill(self, row: Any) -> Bill:
        due = self.v.from_day(row[6])
        assert due is not None
        return Bill(
            bill_number=row[0],
            id_number=row[1],
            service_code=ServiceCode(row[2]),
            description_ar=row[3],
            description_en=row[4],
            amount_halalas=int(row[5]),
            due_date=due,
            expires_at=self.v.from_ts(row[7]),
            status=BillStatus(row[8]),
            periods=row[9],
        )

    # --- payments ----------------------------------------------------------------------

    async def payment(self, partner_id: str, bank_payment_ref: str) -> Payment | None:
        row = await self.db.fetchrow(_PAYMENT, partner_id, bank_payment_ref)
        return None if row is None else self._payment(row)

    async def add_payment(self, payment: NewPayment, now: datetime) -> Payment:
        """Post it; DuplicateKey if the reference or a POSTED payment of the bill exists."""
        row = await self.db.fetchrow(
            _INSERT_PAYMENT, payment.partner_id, payment.bank_payment_ref, payment.bill_number,
            payment.amount_halalas, self.v.ts(payment.paid_at), payment.channel,
            payment.terminal_id, self.v.day(payment.business_date), self.v.ts(now),
        )  # fmt: skip
        assert row is not None
        return Payment(
            int(row[0]), payment.partner_id, payment.bank_payment_ref, payment.bill_number,
            payment.amount_halalas, payment.paid_at, payment.business_date, PaymentStatus.POSTED,
        )  # fmt: skip

    async def reverse_payment(self, seq: int, reason: str, now: datetime) -> bool:
        return await self.db.execute(_REVERSE, self.v.ts(now), reason, seq) == 1

    async def day_page(
        self, partner_id: str, day: date, after_seq: int, upto_seq: int, limit: int
    ) -> list[EntryRow]:
        rows = await self.db.fetch(
            _DAY_PAGE, partner_id, self.v.day(day), after_seq, upto_seq, limit
        )
        if not rows:
            return []
        # Column by column, in C loops: a page is up to 5,001 rows.
        seqs, refs, bills, halalas, paid_at, statuses = zip(*rows, strict=True)
        return list(
            map(
                EntryRow, refs, format_payment_ids(seqs), bills, halalas_texts(halalas),
                self.v.wire_times(paid_at), statuses,
            )
        )  # fmt: skip

    async def last_payment_seq(self) -> int:
        row = await self.db.fetchrow(_LAST_SEQ)
        return int(row[0]) if row is not None else 0

    def _payment(self, row: Any) -> Payment:
        paid_at, day = self.v.from_ts(row[5]), self.v.from_day(row[6])
        assert paid_at is not None
        assert day is not None
        return Payment(
            int(row[0]), row[1], row[2], row[3], int(row[4]), paid_at, day, PaymentStatus(row[7])
        )

    # --- reconciliation ----------------------------------------------------------------

    def reconcile_day(
        self, partner_id: str, day: date, size: int
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        """The partner's payments of `day` in reference (code point) order, `size` at a
        time, as stored: (ref, seq, bill, halalas, paid_at, status); `self.v` reads the
        time. In a `read(snapshot=True)` block."""
        collate = ' COLLATE "C"' if self.db.dialect == "postgresql" else ""
        return self.db.stream(_RECONCILE_DAY + collate, partner_id, self.v.day(day), size=size)

    async def payments_with_refs(self, partner_id: str, refs: Sequence[str]) -> list[Any]:
        """The partner's payments whose references are among `refs`, any business date:
        rows as `reconcile_day`'s, then the business date as stored."""
        if self.db.dialect == "postgresql":
            return await self.db.fetch(_BY_REFS + _IN_REFS_PG, partner_id, list(refs))
        return await self.db.fetch(_BY_REFS + _IN_REFS_SQLITE, partner_id, json.dumps(list(refs)))

    # --- day figures -------------------------------------------------------------------

    async def day_figures(self, partner_id: str, day: date) -> DayFigures:
        """The day's figures as this unit sees them: stored, plus what is staged."""
        figures = await self._stored_day(partner_id, day)
        for staged in self._staged_views():
            change = staged.days.get((partner_id, day))
            if change is not None:
                figures = change.applied_to(figures)
        return figures

    def post_to_day(self, partner_id: str, day: date, entry: Entry) -> None:
        self.staged.change_day(partner_id, day, DayChange.posting(entry))

    def reverse_in_day(self, partner_id: str, day: date, entry: Entry) -> None:
        self.staged.change_day(partner_id, day, DayChange.reversing(entry))

    async def write_days(self, days: dict[tuple[str, date], DayChange]) -> None:
        for (partner_id, day), change in days.items():
            figures = change.applied_to(await self._stored_day(partner_id, day))
            await self.db.execute(
                _SAVE_DAY, partner_id, self.v.day(day), figures.count, figures.total_halalas,
                figures.checksum_hex,
            )  # fmt: skip

    async def _stored_day(self, partner_id: str, day: date) -> DayFigures:
        row = await self.db.fetchrow(_DAY, partner_id, self.v.day(day))
        if row is None:
            return DayFigures()
        return DayFigures(int(row[0]), int(row[1]), bytes.fromhex(row[2]))

    # --- evidence ----------------------------------------------------------------------

    def add_evidence(self, evidence: Evidence) -> None:
        self.staged.evidence.append(evidence)

    async def write_evidence(self, evidence: list[Evidence]) -> None:
        if not evidence:
            return
        rows = [
            (
                item.partner_id,
                item.bank_payment_ref,
                item.operation,
                item.message_id,
                item.method,
                item.path,
                json.dumps([list(pair) for pair in item.headers.items()]),
                item.body,
                self.v.ts(item.received_at),
            )
            for item in evidence
        ]
        await self.db.executemany(_INSERT_EVIDENCE, rows)
