"""What every query mix-in of `SqlTx` shares: the driver, and where staged writes go."""

from __future__ import annotations

from bank_adapter.store.drivers import Driver
from bank_adapter.store.stage import Stage


class TxBase:
    def __init__(self, db: Driver, stage: Stage | None = None, batch: Stage | None = None) -> None:
        self.db = db
        self.v = db.values  # type: ignore[attr-defined]
        self._stage = stage
        self._batch = batch or Stage()

    @property
    def staged(self) -> Stage:
        """This unit's staged writes; a read-only unit has none and may not stage."""
        if self._stage is None:
            raise RuntimeError("a read-only unit of work cannot write")
        return self._stage

    def _staged_views(self) -> tuple[Stage, ...]:
        """What this unit sees staged but not yet written: its batch's, then its own."""
        return (self._batch,) if self._stage is None else (self._batch, self._stage)
