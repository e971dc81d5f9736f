"""The audit log: every state change made through the console or the internal API.

`record` writes in the caller's transaction, so an entry exists exactly when the change
it describes committed. Subjects and details are written already masked (an account is
named by `mask_id`), so the log can be read or exported without leaking ID numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bank_adapter.core.money import format_amount, from_halalas
from bank_adapter.domain.activation import Account
from bank_adapter.domain.bills import Bill
from bank_adapter.domain.ids import mask_id
from bank_adapter.store.operator import OperatorQueries
from bank_adapter.store.tables import audit_log

CONSOLE: Final = "console"
INTERNAL_API: Final = "internal-api"
PAGE_SIZE: Final = 50


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    at: datetime
    actor: str
    via: str
    action: str
    subject: str
    reason: str | None
    detail: Mapping[str, Any] | None


async def record(
    tx: OperatorQueries,
    now: datetime,
    action: str,
    subject: str,
    *,
    actor: str = INTERNAL_API,
    via: str = INTERNAL_API,
    reason: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Add an entry in `tx`; callers pass subjects and details with ID numbers masked."""
    await tx.add_audit(now, actor[:100], via, action, subject[:100], reason, detail)


def account_action(existing: Account | None) -> str:
    return "account.register" if existing is None else "account.update"


def bill_detail(bill: Bill) -> dict[str, str]:
    return {
        "idNumber": mask_id(bill.id_number),
        "serviceCode": bill.service_code.value,
        "amount": format_amount(from_halalas(bill.amount_halalas)),
    }


async def entries(conn: AsyncConnection, before: int | None, limit: int = PAGE_SIZE) -> list[Entry]:
    """The newest entries first, those with ids below `before` when given."""
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(audit_log.c.id < before)
    rows = await conn.execute(query)
    return [
        Entry(row.id, row.at, row.actor, row.via, row.action, row.subject, row.reason, row.detail)
        for row in rows
    ]
