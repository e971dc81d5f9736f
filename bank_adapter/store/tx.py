"""`SqlTx`: the storage protocol of `bank_adapter.services.storage` over either engine."""

from __future__ import annotations

from bank_adapter.store.accounts import INSERT_ANSWER, AccountQueries
from bank_adapter.store.ledger import LedgerQueries
from bank_adapter.store.operator import OperatorQueries
from bank_adapter.store.stage import Stage


class SqlTx(AccountQueries, LedgerQueries, OperatorQueries):
    """One unit of work; see the mix-ins for the queries of each area."""

    async def write_staged(self, stage: Stage) -> None:
        """Write what a batch staged, once for all its units (`bank_adapter.store.stage`)."""
        await self.write_days(stage.days)
        await self.write_events(stage.events)
        if stage.answers:
            await self.db.executemany(INSERT_ANSWER, self.answer_rows(stage.answers))
        await self.write_evidence(stage.evidence)
