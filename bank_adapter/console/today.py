"""The figures of the "Today" page: the database's for money and activations, this
instance's Prometheus metrics for request codes and latency.

Today is the calendar day in Asia/Riyadh, from midnight to now. Payments recorded today
belong to business date today or tomorrow (a cut-off moves late payments to the next
date), and so does every reversal made today (reversals are same-business-date), so the
day's payments are read with the (partner, business date) index for those two dates and
placed by `recorded_at` / `reversed_at`. Activations are the outbox's ACCOUNT_ACTIVATED
events: the outbox is ordered by `seq`, not indexed by time, so the first event of the
day is found by a binary search over `seq` (a few dozen key lookups), and the scan starts
there. Event times follow commit order to within moments, so the search aims a minute
early and the scan keeps only events of the day.

Metrics count since this instance started, and the latency histogram is labelled by
operation only: the page says both.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bank_adapter.clock import RIYADH
from bank_adapter.errors import Code
from bank_adapter.metrics import Metrics
from bank_adapter.store import tables as t

HOURS: Final = 24
SIGNATURE_CODES: Final = frozenset(
    {
        Code.SIGNATURE_MISSING.value,
        Code.SIGNATURE_INVALID.value,
        Code.UNKNOWN_KEY.value,
        Code.ALGORITHM_NOT_ALLOWED.value,
    }
)
EVENT_ORDER_MARGIN: Final = timedelta(minutes=1)
ACTIVATED: Final = "ACCOUNT_ACTIVATED"


@dataclass(frozen=True, slots=True)
class Window:
    day: date  # Riyadh calendar date
    start: datetime  # its midnight, aware
    end: datetime  # the next midnight

    @classmethod
    def of(cls, now: datetime) -> Window:
        day = now.astimezone(RIYADH).date()
        start = datetime.combine(day, time(0), RIYADH)
        return cls(day, start, datetime.combine(day + timedelta(days=1), time(0), RIYADH))


@dataclass
class PartnerDay:
    posted_count: int = 0
    posted_halalas: int = 0
    reversed_count: int = 0
    reversed_halalas: int = 0
    activations: int = 0


@dataclass
class Activity:
    partners: defaultdict[str, PartnerDay] = field(default_factory=lambda: defaultdict(PartnerDay))
    posted_by_hour: list[int] = field(default_factory=lambda: [0] * HOURS)
    reversed_by_hour: list[int] = field(default_factory=lambda: [0] * HOURS)
    activations_by_hour: list[int] = field(default_factory=lambda: [0] * HOURS)


async def activity(conn: AsyncConnection, partner_ids: Collection[str], window: Window) -> Activity:
    found = Activity()
    await _payments(conn, partner_ids, window, found)
    for moment, hits in (
        (t.payments.c.recorded_at, found.posted_by_hour),
        (t.payments.c.reversed_at, found.reversed_by_hour),
    ):
        await _by_hour(conn, partner_ids, window, moment, hits)
    await _activations(conn, window, found)
    return found


def _day_rows(partner_ids: Collection[str], window: Window) -> ColumnElement[bool]:
    p = t.payments
    dates = (window.day, window.day + timedelta(days=1))
    return and_(p.c.partner_id.in_(partner_ids), p.c.business_date.in_(dates))


def _within(column: Any, window: Window) -> ColumnElement[bool]:
    return and_(column >= window.start, column < window.end)


async def _payments(
    conn: AsyncConnection, partner_ids: Collection[str], window: Window, found: Activity
) -> None:
    p = t.payments
    posted = _within(p.c.recorded_at, window)
    reversed_ = _within(p.c.reversed_at, window)
    query = (
        select(
            p.c.partner_id,
            func.sum(case((posted, 1), else_=0)),
            func.sum(case((posted, p.c.amount_halalas), else_=0)),
            func.sum(case((reversed_, 1), else_=0)),
            func.sum(case((reversed_, p.c.amount_halalas), else_=0)),
        )
        .where(_day_rows(partner_ids, window))
        .group_by(p.c.partner_id)
    )
    for partner_id, *sums in await conn.execute(query):
        day = found.partners[partner_id]
        day.posted_count, day.posted_halalas, day.reversed_count, day.reversed_halalas = (
            int(value or 0) for value in sums
        )


async def _by_hour(
    conn: AsyncConnection,
    partner_ids: Collection[str],
    window: Window,
    moment: Any,
    hits: list[int],
) -> None:
    bucket = _utc_hour(conn, moment)
    query = (
        select(bucket, func.count())
        .where(_day_rows(partner_ids, window), _within(moment, window))
        .group_by(bucket)
    )
    for utc_hour, count in await conn.execute(query):
        hour = datetime.strptime(utc_hour, "%Y-%m-%d %H").replace(tzinfo=UTC)
        hits[hour.astimezone(RIYADH).hour] += int(count)


def _utc_hour(conn: AsyncConnection, column: Any) -> ColumnElement[str]:
    """'YYYY-MM-DD HH' of a stored UTC time (SQLite keeps naive UTC text)."""
    if conn.dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD HH24")
    return func.strftime("%Y-%m-%d %H", column)


async def _activations(conn: AsyncConnection, window: Window, found: Activity) -> None:
    e = t.events
    after = await last_seq_before(conn, window.start - EVENT_ORDER_MARGIN)
    rows = await conn.execute(
        select(e.c.occurred_at, e.c.data).where(e.c.seq > after, e.c.type == ACTIVATED)
    )
    for occurred_at, data in rows:
        if window.start <= occurred_at < window.end:
            found.partners[str(data.get("partnerId", "-"))].activations += 1
            found.activations_by_hour[occurred_at.astimezone(RIYADH).hour] += 1


async def last_seq_before(conn: AsyncConnection, moment: datetime) -> int:
    """The highest event seq whose event (and every earlier one) occurred before
    `moment`, by binary search over seq (0: none). Assumes times ascend with seq."""
    e = t.events
    low, high = 0, int((await conn.execute(select(func.max(e.c.seq)))).scalar_one() or 0)
    while low < high:
        middle = (low + high + 1) // 2
        first_from_middle = select(e.c.occurred_at).where(e.c.seq >= middle)
        occurred = (await conn.execute(first_from_middle.order_by(e.c.seq).limit(1))).scalar()
        if occurred is not None and occurred < moment:
            low = middle
        else:
            high = middle - 1
    return low


# --- this instance's metrics -----------------------------------------------------------


def request_codes(metrics: Metrics) -> dict[str, Counter[str]]:
    """Requests answered by this instance since it started: partner -> code -> count."""
    codes: dict[str, Counter[str]] = defaultdict(Counter)
    for family in metrics.requests.collect():
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.value:
                codes[sample.labels["partner"]][sample.labels["code"]] += int(sample.value)
    return dict(codes)


@dataclass(frozen=True, slots=True)
class Latency:
    operation: str
    count: int
    p50: float | None
    p99: float | None


def latencies(metrics: Metrics) -> list[Latency]:
    buckets: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for family in metrics.latency.collect():
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                bound = float(sample.labels["le"])
                buckets[sample.labels["operation"]].append((bound, sample.value))
    found = []
    for operation, cumulative in sorted(buckets.items()):
        cumulative.sort()
        count = int(cumulative[-1][1]) if cumulative else 0
        if count:
            found.append(
                Latency(operation, count, quantile(0.5, cumulative), quantile(0.99, cumulative))
            )
    return found


def quantile(q: float, cumulative: Sequence[tuple[float, float]]) -> float | None:
    """Prometheus's histogram_quantile: linear within the bucket that holds rank q.

    `cumulative` is (upper bound, observations at or below it), ascending, +Inf last.
    In the +Inf bucket the answer is the highest finite bound: all a histogram knows.
    """
    if not cumulative or cumulative[-1][1] <= 0:
        return None
    rank = q * cumulative[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in cumulative:
        if count >= rank:
            if bound == float("inf"):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return lower_bound
