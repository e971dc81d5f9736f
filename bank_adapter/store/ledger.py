"""The money side of the repository: bills, payments, day figures, evidence.

Mixed into `Tx`, so every statement runs in the caller's transaction. Exactly-once is the
database's job here: a unique (partner, BankPaymentRef), a partial unique index that
allows one POSTED payment per bill, and conditional updates (`WHERE status = …`) whose
row counts say whether this transaction won.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bank_adapter.core.messages import BillStatus, PaymentStatus, ServiceCode
from bank_adapter.domain.bills import Bill
from bank_adapter.domain.payments import format_payment_id
from bank_adapter.domain.statement import DayFigures, Entry
from bank_adapter.store import tables as t
from bank_adapter.store.txbase import TxBase


@dataclass(frozen=True, slots=True)
class Payment:
    seq: int
    partner_id: str
    bank_payment_ref: str
    bill_number: str
    amount_halalas: int
    paid_at: datetime
    business_date: date
    status: PaymentStatus

    @property
    def payment_id(self) -> str:
        return format_payment_id(self.seq)

    @property
    def entry(self) -> Entry:
        return Entry(self.bank_payment_ref, self.bill_number, self.amount_halalas, self.status)


@dataclass(frozen=True, slots=True)
class NewPayment:
    partner_id: str
    bank_payment_ref: str
    bill_number: str
    amount_halalas: int
    paid_at: datetime
    channel: str
    terminal_id: str | None
    business_date: date


class LedgerQueries(TxBase):
    # --- bills -------------------------------------------------------------------------

    async def bill(self, bill_number: str) -> Bill | None:
        query = select(t.bills).where(t.bills.c.bill_number == bill_number)
        row = (await self.conn.execute(self._deciding(query))).first()
        return None if row is None else _bill(row)

    async def bills_of(self, id_number: str, status: BillStatus) -> list[Bill]:
        rows = await self.conn.execute(
            select(t.bills)
            .where(t.bills.c.id_number == id_number, t.bills.c.status == status.value)
            .order_by(t.bills.c.due_date, t.bills.c.bill_number)
        )
        return [_bill(row) for row in rows]

    async def open_quote(self, quote_key: str) -> Bill | None:
        row = (
            await self.conn.execute(
                select(t.bills).where(
                    t.bills.c.quote_key == quote_key, t.bills.c.status == BillStatus.UNPAID.value
                )
            )
        ).first()
        return None if row is None else _bill(row)

    async def add_bill(self, bill: Bill, now: datetime, quote_key: str | None = None) -> None:
        await self._insert(
            insert(t.bills).values(
                bill_number=bill.bill_number,
                id_number=bill.id_number,
                service_code=bill.service_code.value,
                description_ar=bill.description_ar,
                description_en=bill.description_en,
                amount_halalas=bill.amount_halalas,
                currency=bill.currency,
                due_date=bill.due_date,
                expires_at=bill.expires_at,
                status=bill.status.value,
                periods=bill.periods,
                quote_key=quote_key,
                created_at=now,
                updated_at=now,
            )
        )

    async def move_bill(
        self, bill_number: str, old: BillStatus, new: BillStatus, now: datetime
    ) -> bool:
        """`old` -> `new`; False if the bill was not in `old` (someone else moved it).

        A bill leaving UNPAID gives up its open-quote slot: the same quote may then issue
        a new bill, and this one, if its payment is reversed, returns to UNPAID without
        colliding with it.
        """
        values: dict[str, object] = {"status": new.value, "updated_at": now}
        if old is BillStatus.UNPAID:
            values["quote_key"] = None
        result = await self.conn.execute(
            update(t.bills)
            .where(t.bills.c.bill_number == bill_number, t.bills.c.status == old.value)
            .values(**values)
        )
        return bool(result.rowcount == 1)

    # --- payments ----------------------------------------------------------------------

    async def payment(self, partner_id: str, bank_payment_ref: str) -> Payment | None:
        """In a write transaction the reference is claimed first (see `txbase`): a
        concurrent notification of it waits here, then finds this one's payment."""
        await self._claim(partner_id, bank_payment_ref)
        row = (
            await self.conn.execute(
                select(t.payments).where(
                    t.payments.c.partner_id == partner_id,
                    t.payments.c.bank_payment_ref == bank_payment_ref,
                )
            )
        ).first()
        return None if row is None else _payment(row)

    async def add_payment(self, payment: NewPayment, now: datetime) -> Payment:
        """Post it; DuplicateKey if the reference or a POSTED payment of the bill exists."""
        result = await self._insert(
            insert(t.payments)
            .values(
                partner_id=payment.partner_id,
                bank_payment_ref=payment.bank_payment_ref,
                bill_number=payment.bill_number,
                amount_halalas=payment.amount_halalas,
                currency="SAR",
                paid_at=payment.paid_at,
                channel=payment.channel,
                terminal_id=payment.terminal_id,
                business_date=payment.business_date,
                status=PaymentStatus.POSTED.value,
                recorded_at=now,
            )
            .returning(t.payments.c.seq)
        )
        seq = int(result.scalar_one())
        return Payment(
            seq,
            payment.partner_id,
            payment.bank_payment_ref,
            payment.bill_number,
            payment.amount_halalas,
            payment.paid_at,
            payment.business_date,
            PaymentStatus.POSTED,
        )

    async def reverse_payment(self, seq: int, reason: str, now: datetime) -> bool:
        result = await self.conn.execute(
            update(t.payments)
            .where(t.payments.c.seq == seq, t.payments.c.status == PaymentStatus.POSTED.value)
            .values(status=PaymentStatus.REVERSED.value, reversed_at=now, reversal_reason=reason)
        )
        return bool(result.rowcount == 1)

    async def day_page(
        self, partner_id: str, day: date, after_seq: int, upto_seq: int, limit: int
    ) -> list[Payment]:
        rows = await self.conn.execute(
            select(t.payments)
            .where(
                t.payments.c.partner_id == partner_id,
                t.payments.c.business_date == day,
                t.payments.c.seq > after_seq,
                t.payments.c.seq <= upto_seq,
            )
            .order_by(t.payments.c.seq)
            .limit(limit)
        )
        return [_payment(row) for row in rows]

    async def last_payment_seq(self) -> int:
        seq = (await self.conn.execute(select(func.max(t.payments.c.seq)))).scalar_one()
        return int(seq or 0)

    # --- day figures -------------------------------------------------------------------

    async def day_figures(self, partner_id: str, day: date, *, lock: bool = False) -> DayFigures:
        """The running figures; with `lock`, the row is created if absent and locked."""
        if lock:
            await self.conn.execute(_insert_ignore(self.conn, partner_id, day))
        query = select(t.day_figures).where(
            t.day_figures.c.partner_id == partner_id, t.day_figures.c.business_date == day
        )
        row = (await self.conn.execute(query.with_for_update() if lock else query)).first()
        if row is None:
            return DayFigures()
        values = row._mapping
        return DayFigures(
            int(values["count"]), int(values["total_halalas"]), bytes.fromhex(values["checksum"])
        )

    async def save_day_figures(self, partner_id: str, day: date, figures: DayFigures) -> None:
        await self.conn.execute(
            update(t.day_figures)
            .where(t.day_figures.c.partner_id == partner_id, t.day_figures.c.business_date == day)
            .values(
                count=figures.count,
                total_halalas=figures.total_halalas,
                checksum=figures.checksum_hex,
            )
        )

    # --- evidence ----------------------------------------------------------------------

    async def add_evidence(
        self,
        *,
        partner_id: str,
        bank_payment_ref: str,
        operation: str,
        message_id: str,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        now: datetime,
    ) -> None:
        await self.conn.execute(
            insert(t.evidence).values(
                partner_id=partner_id,
                bank_payment_ref=bank_payment_ref,
                operation=operation,
                message_id=message_id,
                method=method,
                path=path,
                headers=[[name, value] for name, value in headers.items()],
                body=body,
                received_at=now,
            )
        )


def _insert_ignore(conn: AsyncConnection, partner_id: str, day: date) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return (
        dialect.insert(t.day_figures)
        .values(
            partner_id=partner_id,
            business_date=day,
            count=0,
            total_halalas=0,
            checksum=DayFigures().checksum_hex,
        )
        .on_conflict_do_nothing()
    )


def _bill(row: Any) -> Bill:
    return Bill(
        bill_number=row.bill_number,
        id_number=row.id_number,
        service_code=ServiceCode(row.service_code),
        description_ar=row.description_ar,
        description_en=row.description_en,
        amount_halalas=int(row.amount_halalas),
        due_date=row.due_date,
        expires_at=row.expires_at,
        status=BillStatus(row.status),
        periods=row.periods,
    )


def _payment(row: Any) -> Payment:
    return Payment(
        seq=int(row.seq),
        partner_id=row.partner_id,
        bank_payment_ref=row.bank_payment_ref,
        bill_number=row.bill_number,
        amount_halalas=int(row.amount_halalas),
        paid_at=row.paid_at,
        business_date=row.business_date,
        status=PaymentStatus(row.status),
    )
