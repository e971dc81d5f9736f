"""The clock is passed in, never read inside the core: tests move it, production doesn't."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]

# Business time: Saudi Arabia keeps UTC+3 all year, but the zone is named, not assumed.
RIYADH = ZoneInfo("Asia/Riyadh")


def system_clock() -> datetime:
    return datetime.now(UTC)


def riyadh_date(moment: datetime) -> date:
    """The calendar date in Riyadh at `moment` (aware)."""
    return moment.astimezone(RIYADH).date()
