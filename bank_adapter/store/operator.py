"""The operator's writes: the audit log and partners' runtime states, as fixed SQL."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from bank_adapter.store.txbase import TxBase

_INSERT_AUDIT: Final = (
    "INSERT INTO audit_log (at, actor, via, action, subject, reason, detail)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
# ON CONFLICT ... DO UPDATE reads the same on SQLite and PostgreSQL.
_UPSERT_PARTNER_STATE: Final = (
    "INSERT INTO partner_states (partner_id, suspended, reason, changed_by, changed_at, version)"
    " VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (partner_id) DO UPDATE SET"
    " suspended = excluded.suspended, reason = excluded.reason,"
    " changed_by = excluded.changed_by, changed_at = excluded.changed_at,"
    " version = partner_states.version + 1"
    " RETURNING suspended, reason, changed_by, changed_at, version"
)


class OperatorQueries(TxBase):
    async def add_audit(
        self,
        at: datetime,
        actor: str,
        via: str,
        action: str,
        subject: str,
        reason: str | None,
        detail: Mapping[str, Any] | None,
    ) -> None:
        encoded = json.dumps(dict(detail)) if detail is not None else None
        await self.db.execute(
            _INSERT_AUDIT, self.v.ts(at), actor, via, action, subject, reason, encoded
        )

    async def set_partner_state(
        self, partner_id: str, suspended: bool, reason: str, actor: str, at: datetime
    ) -> tuple[bool, str, str, datetime, int]:
        """Record the decision; its row as stored (the version counts the changes)."""
        row = await self.db.fetchrow(
            _UPSERT_PARTNER_STATE, partner_id, suspended, reason, actor, self.v.ts(at)
        )
        assert row is not None  # an upsert with RETURNING returns its row
        changed_at = self.v.from_ts(row[3])
        assert changed_at is not None  # NOT NULL
        return bool(row[0]), str(row[1]), str(row[2]), changed_at, int(row[4])
