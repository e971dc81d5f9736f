"""Payments: business dates around midnight and the cut-off, reversals, retries, ids."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bank_adapter.clock import RIYADH
from bank_adapter.core.messages import PaymentStatus
from bank_adapter.domain.payments import (
    CROCKFORD,
    ULID_LENGTH,
    PaymentTerms,
    business_date,
    check_retry,
    check_reversible,
    day_is_final,
    format_payment_id,
    new_payment_id,
    payment_seq,
    reversal_deadline,
)
from bank_adapter.errors import AdapterError, Code

CUTOFF = time(23, 0)
D = date(2026, 3, 14)
NEXT = D + timedelta(days=1)
PLUS3 = timezone(timedelta(hours=3))
US = timedelta(microseconds=1)


def riyadh(day: date, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=RIYADH)


# -- business date --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recorded_at", "expected"),
    [
        (riyadh(D, 0, 0), D),
        (riyadh(D, 12, 0), D),
        (riyadh(D, 22, 59, 59, 999999), D),  # just before the cut-off
        (riyadh(D, 23, 0), NEXT),  # at the cut-off
        (riyadh(D, 23, 30), NEXT),
        (riyadh(D, 23, 59, 59, 999999), NEXT),  # just before midnight
        (riyadh(NEXT, 0, 0), NEXT),  # just after midnight: the same business date
        (riyadh(NEXT, 22, 59, 59), NEXT),
        (datetime(2026, 3, 14, 19, 59, 59, tzinfo=UTC), D),  # 22:59:59 in Riyadh
        (datetime(2026, 3, 14, 20, 0, tzinfo=UTC), NEXT),  # 23:00 in Riyadh
        (datetime(2026, 3, 14, 21, 0, tzinfo=UTC), NEXT),  # midnight in Riyadh
        (datetime(2026, 3, 14, 15, 0, tzinfo=timezone(timedelta(hours=-5))), NEXT),
        (datetime(2026, 3, 15, 1, 29, tzinfo=timezone(timedelta(hours=5, minutes=30))), D),
        (datetime(2026, 3, 14, 23, 0, tzinfo=PLUS3), NEXT),
    ],
)
def test_business_date_with_a_23_00_cutoff(recorded_at: datetime, expected: date) -> None:
    assert business_date(recorded_at, CUTOFF) == expected


@pytest.mark.parametrize(
    ("cutoff", "recorded_at", "expected"),
    [
        (time(23, 59), riyadh(D, 23, 58, 59), D),  # the contract's default cut-off
        (time(23, 59), riyadh(D, 23, 59), NEXT),
        (time(0, 0), riyadh(D, 0, 0), NEXT),  # 00:00: every payment dates the next day
        (time(0, 0), riyadh(D, 23, 59, 59), NEXT),
        (time(14, 30), riyadh(D, 14, 29, 59), D),
        (time(14, 30), riyadh(D, 14, 30), NEXT),
    ],
)
def test_business_date_with_other_cutoffs(
    cutoff: time, recorded_at: datetime, expected: date
) -> None:
    assert business_date(recorded_at, cutoff) == expected


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="recorded_at"):
        business_date(datetime(2026, 3, 14, 12, 0), CUTOFF)


offsets = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
moments = st.builds(
    lambda naive, zone: naive.replace(tzinfo=UTC).astimezone(zone),
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1)),
    offsets,
)
cutoffs = st.builds(time, st.integers(0, 23), st.integers(0, 59))
days = st.dates(min_value=date(1970, 1, 2), max_value=date(2200, 1, 1))


def oracle(recorded_at: datetime, cutoff: time) -> date:
    """Independent: Riyadh is UTC+3 all year; shift so the cut-off falls on midnight."""
    since_cutoff = timedelta(hours=cutoff.hour, minutes=cutoff.minute)
    shifted = recorded_at.astimezone(UTC).replace(tzinfo=None) + timedelta(hours=3) - since_cutoff
    return shifted.date() + timedelta(days=1)


@given(moments, cutoffs)
def test_business_date_matches_the_oracle_from_any_offset(
    recorded_at: datetime, cutoff: time
) -> None:
    assert business_date(recorded_at, cutoff) == oracle(recorded_at, cutoff)


@given(moments, cutoffs)
def test_a_payment_falls_in_its_days_window(recorded_at: datetime, cutoff: time) -> None:
    day = business_date(recorded_at, cutoff)
    assert reversal_deadline(day - timedelta(days=1), cutoff) <= recorded_at
    assert recorded_at < reversal_deadline(day, cutoff)


@given(days, cutoffs, st.integers(1, 10**7), offsets)
def test_around_the_cutoff(day: date, cutoff: time, micros: int, zone: timezone) -> None:
    closing = reversal_deadline(day, cutoff).astimezone(zone)
    assert business_date(closing - micros * US, cutoff) == day
    assert business_date(closing, cutoff) == day + timedelta(days=1)
    assert business_date(closing + (micros - 1) * US, cutoff) == day + timedelta(days=1)


@given(days, cutoffs, st.integers(1, 10**7), offsets)
def test_around_midnight(day: date, cutoff: time, micros: int, zone: timezone) -> None:
    midnight = datetime.combine(day, time(0), RIYADH)
    before = midnight - micros * US
    after = midnight + (micros - 1) * US
    assume(before.astimezone(RIYADH).time() >= cutoff)  # not in the previous day's opening
    assume(cutoff == time(0) or after.astimezone(RIYADH).time() < cutoff)
    expected_after = day + timedelta(days=1) if cutoff == time(0) else day
    assert business_date(before.astimezone(zone), cutoff) == day
    assert business_date(after.astimezone(zone), cutoff) == expected_after


# -- reversal window ------------------------------------------------------------------


def test_a_payment_after_the_cutoff_is_reversible_until_the_next_cutoff() -> None:
    recorded_at = riyadh(D, 23, 30)
    day = business_date(recorded_at, CUTOFF)
    assert day == NEXT
    assert reversal_deadline(day, CUTOFF) == riyadh(NEXT, 23, 0)
    assert reversal_deadline(day, CUTOFF) == datetime(2026, 3, 15, 20, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "final"),
    [
        (riyadh(NEXT, 22, 59, 59, 999999), False),
        (riyadh(NEXT, 23, 0), True),
        (riyadh(NEXT, 23, 0, 1), True),
        (datetime(2026, 3, 15, 19, 59, tzinfo=UTC), False),
        (datetime(2026, 3, 15, 20, 0, tzinfo=UTC), True),
    ],
)
def test_reversible_until_the_cutoff_of_the_business_date(now: datetime, final: bool) -> None:
    assert day_is_final(NEXT, CUTOFF, now) is final
    if final:
        with pytest.raises(AdapterError) as caught:
            check_reversible(PaymentStatus.POSTED, NEXT, CUTOFF, now)
        assert caught.value.code is Code.REVERSAL_WINDOW_CLOSED
        assert str(NEXT) in caught.value.detail
    else:
        check_reversible(PaymentStatus.POSTED, NEXT, CUTOFF, now)


@pytest.mark.parametrize("now", [riyadh(NEXT, 12, 0), riyadh(NEXT, 23, 30)])
def test_reversing_twice_is_already_reversed_even_after_the_cutoff(now: datetime) -> None:
    with pytest.raises(AdapterError) as caught:
        check_reversible(PaymentStatus.REVERSED, NEXT, CUTOFF, now)
    assert caught.value.code is Code.ALREADY_REVERSED


@given(moments, cutoffs)
def test_a_payment_is_reversible_the_instant_it_is_recorded(
    recorded_at: datetime, cutoff: time
) -> None:
    day = business_date(recorded_at, cutoff)
    check_reversible(PaymentStatus.POSTED, day, cutoff, recorded_at)
    assert day_is_final(day, cutoff, reversal_deadline(day, cutoff))


def test_day_is_final_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError, match="now"):
        day_is_final(D, CUTOFF, datetime(2026, 3, 14, 12, 0))


# -- retries --------------------------------------------------------------------------

TERMS = PaymentTerms("1234567890123", 65000)


def test_the_same_terms_are_a_retry() -> None:
    check_retry(TERMS, PaymentTerms("1234567890123", 65000))


@pytest.mark.parametrize(
    ("new", "field"),
    [
        (PaymentTerms("1234567890124", 65000), "BillNumber"),
        (PaymentTerms("1234567890123", 65001), "Amount"),
        (PaymentTerms("1234567890124", 1), "BillNumber"),
    ],
)
def test_other_terms_are_a_duplicate_conflict(new: PaymentTerms, field: str) -> None:
    with pytest.raises(AdapterError) as caught:
        check_retry(TERMS, new)
    assert caught.value.code is Code.DUPLICATE_CONFLICT
    assert field in caught.value.detail


@given(
    st.sampled_from(["1234567890123", "1234567890124"]),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
)
def test_a_retry_iff_terms_are_equal(bill: str, amount: int, other_amount: int) -> None:
    new = PaymentTerms(bill, other_amount)
    existing = PaymentTerms("1234567890123", amount)
    if new == existing:
        check_retry(existing, new)
    else:
        with pytest.raises(AdapterError):
            check_retry(existing, new)


# -- payment ids ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seq", "payment_id"),
    [
        (1, "P0000000000000000001"),
        (1234, "P0000000000000001234"),
        (2**63 - 1, "P9223372036854775807"),
    ],
)
def test_format_payment_id(seq: int, payment_id: str) -> None:
    assert format_payment_id(seq) == payment_id
    assert payment_seq(payment_id) == seq


@given(st.integers(1, 10**19 - 1), st.integers(1, 10**19 - 1))
def test_sequence_ids_sort_as_their_keys(a: int, b: int) -> None:
    assert (format_payment_id(a) < format_payment_id(b)) == (a < b)
    assert payment_seq(format_payment_id(a)) == a


@pytest.mark.parametrize("seq", [0, -1, 10**19])
def test_format_payment_id_range(seq: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        format_payment_id(seq)


@pytest.mark.parametrize(
    "payment_id",
    [
        "",
        "P",
        "P123",
        "Q0000000000000000001",
        "P0000000000000000000",
        "P000000000000000000١",
        "01ARZ3NDEKTSV4RRFFQ69G5FAV",
    ],
)
def test_payment_seq_refuses_other_ids(payment_id: str) -> None:
    with pytest.raises(ValueError, match="sequence scheme"):
        payment_seq(payment_id)


def test_ulid_timestamp_matches_the_ulid_specification() -> None:
    # The reference implementation's example: ulid(1469918176385) -> 01ARYZ6S41TSV4RRFFQ69G5FAV.
    now = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=1469918176385)
    payment_id = new_payment_id(now.astimezone(PLUS3))
    assert len(payment_id) == ULID_LENGTH
    assert payment_id[:10] == "01ARYZ6S41"
    assert set(payment_id) <= set(CROCKFORD)


def test_ulids_of_one_millisecond_differ() -> None:
    now = riyadh(D, 12, 0)
    assert len({new_payment_id(now) for _ in range(1000)}) == 1000


@given(moments, st.integers(1, 10**9))
def test_ulids_sort_by_millisecond(now: datetime, later_ms: int) -> None:
    later = now + timedelta(milliseconds=later_ms)
    assert new_payment_id(now) < new_payment_id(later)


@pytest.mark.parametrize(
    "now",
    [datetime(2026, 3, 14, 12, 0), datetime(1969, 12, 31, 23, 59, tzinfo=UTC)],
)
def test_new_payment_id_needs_an_aware_time_in_range(now: datetime) -> None:
    with pytest.raises(ValueError, match="now"):
        new_payment_id(now)
