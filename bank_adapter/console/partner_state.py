"""Suspending and resuming a partner at runtime, on every instance, without a restart.

Theory of operation. The partner file's `suspended` is the boot default. A decision made
in the console or the internal API is a row of `partner_states` (suspended or not, why,
who, when, and a version that grows with each change), written with its audit entry in
one transaction, and from then on it overrides the file for that partner.

The request pipeline asks `PartnerStates.suspended(partner)`: a dictionary lookup, no
database read per request. Each instance keeps that dictionary current by reading the
(small) table every `REFRESH_INTERVAL_S` seconds (`partner_refresh`), and the instance
that made a change applies it at once, after its commit. So a suspension reaches every
instance within about one refresh interval. Rows are merged by version, so a refresh
that read the table just before a change committed cannot put the older state back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bank_adapter.console import audit
from bank_adapter.partners import Partner
from bank_adapter.store.repository import Store
from bank_adapter.store.tables import partner_states

REFRESH_INTERVAL_S: Final = 1.0
MAX_REASON: Final = 500


@dataclass(frozen=True, slots=True)
class PartnerState:
    suspended: bool
    reason: str
    changed_by: str
    changed_at: datetime
    version: int


class PartnerStates:
    """This instance's view of the runtime decisions, by partner id."""

    def __init__(self) -> None:
        self._decided: dict[str, PartnerState] = {}

    def suspended(self, partner: Partner) -> bool:
        decided = self._decided.get(partner.id)
        return partner.suspended if decided is None else decided.suspended

    def decision(self, partner_id: str) -> PartnerState | None:
        return self._decided.get(partner_id)

    def suspended_ids(self, partners: Mapping[str, Partner]) -> list[str]:
        return sorted(pid for pid, partner in partners.items() if self.suspended(partner))

    def merge(self, states: Mapping[str, PartnerState]) -> None:
        """Take each state unless this instance already holds a newer one."""
        for partner_id, state in states.items():
            held = self._decided.get(partner_id)
            if held is None or held.version < state.version:
                self._decided[partner_id] = state


async def load(conn: AsyncConnection) -> dict[str, PartnerState]:
    rows = await conn.execute(select(partner_states))
    return {row.partner_id: _state(row) for row in rows}


async def change(
    store: Store,
    states: PartnerStates,
    partner: Partner,
    *,
    suspend: bool,
    reason: str,
    actor: str,
    via: str,
    now: datetime,
) -> PartnerState:
    """Record the decision and its audit entry in one transaction, then apply it here."""
    async with store.write() as tx:
        state = PartnerState(*await tx.set_partner_state(partner.id, suspend, reason, actor, now))
        action = "partner.suspend" if suspend else "partner.resume"
        await audit.record(
            tx,
            now,
            action,
            partner.id,
            actor=actor,
            via=via,
            reason=reason,
            detail={"fileDefault": "suspended" if partner.suspended else "active"},
        )
    states.merge({partner.id: state})
    return state


def _state(row: Any) -> PartnerState:
    return PartnerState(
        bool(row.suspended), row.reason, row.changed_by, row.changed_at, int(row.version)
    )
