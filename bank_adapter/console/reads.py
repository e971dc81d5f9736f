"""The console's read queries: payments, their bills and evidence, the events outbox.

Read-only connections straight on the engine (`read_only`), SQLAlchemy Core, nothing on
the request path. Every lookup goes through an index: a payment by its key (PaymentId),
by (partner, BankPaymentRef) for each known partner, by bill number through the partial
indexes on POSTED and on REVERSED payments (their predicates are written as literals,
since a bound parameter cannot prove a partial index's condition). ID numbers leave this
module masked.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import Select, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bank_adapter.domain.ids import mask_id, mask_ids_in_text
from bank_adapter.domain.mobile import mask_mobile
from bank_adapter.domain.payments import format_payment_id, payment_seq
from bank_adapter.errors import AdapterError
from bank_adapter.store import tables as t
from bank_adapter.store.engine import READ_ONLY

EVENTS_PAGE: Final = 50
_BILL_NUMBER: Final = re.compile(r"[0-9]{1,32}")
# Literals, as the partial indexes on payments(bill_number) are declared (module docstring).
_PARTIAL_INDEX_CONDITIONS: Final = (text("status = 'POSTED'"), text("status = 'REVERSED'"))


@asynccontextmanager
async def read_only(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A read-only transaction (SQLite: a plain BEGIN, so it never takes the write lock)."""
    async with engine.connect() as conn:
        conn = await conn.execution_options(**{READ_ONLY: True})
        async with conn.begin():
            yield conn


@dataclass(frozen=True, slots=True)
class PaymentRecord:
    seq: int
    partner_id: str
    bank_payment_ref: str
    bill_number: str
    amount_halalas: int
    paid_at: datetime
    channel: str
    terminal_id: str | None
    business_date: date
    status: str
    recorded_at: datetime
    reversed_at: datetime | None
    reversal_reason: str | None

    @property
    def payment_id(self) -> str:
        return format_payment_id(self.seq)


@dataclass(frozen=True, slots=True)
class BillSummary:
    bill_number: str
    masked_id: str
    masked_mobile: str | None  # the payer's registered mobile, when registered
    service_code: str
    description_en: str
    description_ar: str
    amount_halalas: int
    status: str


@dataclass(frozen=True, slots=True)
class EvidenceRecord:
    id: int
    partner_id: str
    bank_payment_ref: str
    operation: str
    message_id: str
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    received_at: datetime

    def as_http_message(self) -> bytes:
        """The request as received: request line, headers, blank line, body bytes."""
        head = [f"{self.method} {self.path} HTTP/1.1"]
        head += [f"{name}: {value}" for name, value in self.headers]
        return ("\r\n".join(head) + "\r\n\r\n").encode("utf-8") + self.body


@dataclass(frozen=True, slots=True)
class EventRecord:
    seq: int
    type: str
    occurred_at: datetime
    data: Mapping[str, Any]


async def find_payments(
    conn: AsyncConnection, query: str, partner_ids: Collection[str]
) -> list[PaymentRecord]:
    """Payments whose PaymentId, BankPaymentRef (any partner) or bill number is `query`."""
    wanted = query.strip()
    if not wanted:
        return []
    found: dict[int, PaymentRecord] = {}
    for statement in _searches(wanted, partner_ids):
        for row in await conn.execute(statement):
            found[int(row.seq)] = _payment(row)
    return [found[seq] for seq in sorted(found)]


def _searches(wanted: str, partner_ids: Collection[str]) -> list[Select[Any]]:
    p = t.payments
    searches = [select(p).where(p.c.partner_id.in_(partner_ids), p.c.bank_payment_ref == wanted)]
    with suppress(ValueError):
        searches.append(select(p).where(p.c.seq == payment_seq(wanted)))
    if _BILL_NUMBER.fullmatch(wanted):
        for condition in _PARTIAL_INDEX_CONDITIONS:
            searches.append(select(p).where(p.c.bill_number == wanted, condition))
    return searches


async def payment(conn: AsyncConnection, payment_id: str) -> PaymentRecord | None:
    try:
        seq = payment_seq(payment_id)
    except ValueError:
        return None
    row = (await conn.execute(select(t.payments).where(t.payments.c.seq == seq))).first()
    return None if row is None else _payment(row)


async def bill(conn: AsyncConnection, bill_number: str) -> BillSummary | None:
    b, a = t.bills, t.accounts
    query = (
        select(b, a.c.mobile)
        .select_from(b.outerjoin(a, a.c.id_number == b.c.id_number))
        .where(b.c.bill_number == bill_number)
    )
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    return BillSummary(
        row.bill_number,
        mask_id(row.id_number),
        None if row.mobile is None else mask_mobile(row.mobile),
        row.service_code,
        row.description_en,
        row.description_ar,
        int(row.amount_halalas),
        row.status,
    )


async def evidence_of(
    conn: AsyncConnection, partner_id: str, bank_payment_ref: str
) -> list[EvidenceRecord]:
    e = t.evidence
    rows = await conn.execute(
        select(e)
        .where(e.c.partner_id == partner_id, e.c.bank_payment_ref == bank_payment_ref)
        .order_by(e.c.id)
    )
    return [_evidence(row) for row in rows]


async def evidence(conn: AsyncConnection, evidence_id: int) -> EvidenceRecord | None:
    row = (await conn.execute(select(t.evidence).where(t.evidence.c.id == evidence_id))).first()
    return None if row is None else _evidence(row)


async def events_after(
    conn: AsyncConnection, after: int, limit: int = EVENTS_PAGE
) -> list[EventRecord]:
    rows = await conn.execute(
        select(t.events).where(t.events.c.seq > after).order_by(t.events.c.seq).limit(limit)
    )
    return [EventRecord(row.seq, row.type, row.occurred_at, masked(row.data)) for row in rows]


async def last_event_seq(conn: AsyncConnection) -> int:
    return int((await conn.execute(select(func.max(t.events.c.seq)))).scalar_one() or 0)


def masked(data: Mapping[str, Any]) -> dict[str, Any]:
    """An event's data with ID numbers and mobiles masked, whatever the key."""
    return {key: _masked_value(key, value) for key, value in data.items()}


def _masked_value(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if key == "idNumber":
        return mask_id(value)
    if key == "mobile":
        try:
            return mask_mobile(value)
        except AdapterError:
            return "*" * len(value)
    if key in ("billNumber", "paymentId", "bankPaymentRef"):
        return value
    return mask_ids_in_text(value)


def _payment(row: Any) -> PaymentRecord:
    return PaymentRecord(
        int(row.seq),
        row.partner_id,
        row.bank_payment_ref,
        row.bill_number,
        int(row.amount_halalas),
        row.paid_at,
        row.channel,
        row.terminal_id,
        row.business_date,
        row.status,
        row.recorded_at,
        row.reversed_at,
        row.reversal_reason,
    )


def _evidence(row: Any) -> EvidenceRecord:
    headers = tuple((str(name), str(value)) for name, value in row.headers)
    return EvidenceRecord(
        int(row.id),
        row.partner_id,
        row.bank_payment_ref,
        row.operation,
        row.message_id,
        row.method,
        row.path,
        headers,
        bytes(row.body),
        row.received_at,
    )
