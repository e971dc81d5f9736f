"""What a unit of work writes at the end of its batch instead of at once.

Day figures, the event counter, stored answers and evidence are written once per batch
(group commit): many decisions' day changes add up into one write of each day's row,
their events take their numbers from one counter update, and their answers and
evidence go in with one multi-row insert each. Each decision stages into its own
`Stage`; the batch merges it only when the decision succeeds, so a decision rolled back
to its savepoint leaves nothing staged either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bank_adapter.domain.statement import DayChange
from bank_adapter.services.storage import Evidence, StoredAnswer


@dataclass
class Stage:
    answers: dict[tuple[str, str], tuple[StoredAnswer, datetime]] = field(default_factory=dict)
    evidence: list[Evidence] = field(default_factory=list)
    events: list[tuple[str, datetime, dict[str, Any]]] = field(default_factory=list)
    days: dict[tuple[str, date], DayChange] = field(default_factory=dict)

    def change_day(self, partner_id: str, day: date, change: DayChange) -> None:
        key = (partner_id, day)
        self.days[key] = self.days[key] + change if key in self.days else change

    def merge(self, other: Stage) -> None:
        self.answers.update(other.answers)
        self.evidence.extend(other.evidence)
        self.events.extend(other.events)
        for (partner_id, day), change in other.days.items():
            self.change_day(partner_id, day, change)

    def __bool__(self) -> bool:
        return bool(self.answers or self.evidence or self.events or self.days)
