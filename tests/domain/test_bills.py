"""Bills: Damm bill numbers, the Bill record, effective status and payability."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bank_adapter.core.messages import BillStatus, ServiceCode
from bank_adapter.domain.bills import (
    BILL_NUMBER_LENGTH,
    Bill,
    bill_number_valid,
    check_payable,
    damm_digit,
    effective_status,
    new_bill_number,
    parse_bill_number,
)
from bank_adapter.errors import AdapterError, Code

NOW = datetime(2026, 3, 15, 9, 30, tzinfo=UTC)
EXPIRES = NOW + timedelta(days=1)
BILL = Bill(
    bill_number=new_bill_number(),
    id_number="2345678904",
    service_code=ServiceCode.IQAMA_RENEWAL,
    description_ar="تجديد الإقامة",
    description_en="Iqama renewal",
    amount_halalas=65000,
    due_date=date(2026, 3, 16),
    expires_at=EXPIRES,
    status=BillStatus.UNPAID,
    periods=12,
)

bodies = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("123456789"),
    st.text(alphabet="0123456789", min_size=11, max_size=11),
)
bill_numbers = bodies.map(lambda body: body + str(damm_digit(body)))


# -- bill numbers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "check"), [("572", 4), ("", 0), ("0", 0), ("1", 3), ("123456789012", 3)]
)
def test_damm_digit_matches_published_values(digits: str, check: int) -> None:
    # 572 -> 4 is the worked example of Damm's algorithm; the others are table lookups.
    assert damm_digit(digits) == check
    assert damm_digit(digits + str(check)) == 0


def test_new_bill_numbers_are_13_digits_without_leading_zero_and_distinct() -> None:
    numbers = [new_bill_number() for _ in range(2000)]
    assert len(set(numbers)) == len(numbers)
    for number in numbers:
        assert len(number) == BILL_NUMBER_LENGTH
        assert set(number) <= set("0123456789")
        assert number[0] != "0"
        assert bill_number_valid(number)
        assert parse_bill_number(number) == number


@given(bill_numbers)
def test_every_completed_body_validates(number: str) -> None:
    assert bill_number_valid(number)


@given(bill_numbers, st.integers(0, BILL_NUMBER_LENGTH - 1), st.integers(1, 9))
def test_any_single_digit_change_fails(number: str, position: int, shift: int) -> None:
    changed = str((int(number[position]) + shift) % 10)
    assert not bill_number_valid(number[:position] + changed + number[position + 1 :])


@given(bill_numbers, st.integers(0, BILL_NUMBER_LENGTH - 2))
def test_any_adjacent_transposition_fails(number: str, position: int) -> None:
    a, b = number[position], number[position + 1]
    swapped = number[:position] + b + a + number[position + 2 :]
    assert a == b or not bill_number_valid(swapped)


def _arabic_indic(digits: str) -> str:
    return digits.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))


VALID = "1234567890123"
LEADING_ZERO = "012345678901" + str(damm_digit("012345678901"))


@pytest.mark.parametrize(
    "raw",
    [
        "",
        VALID[:-1],  # 12 digits
        VALID + "0",  # 14 digits
        "2345678904",  # an ID number is never a bill number
        LEADING_ZERO,
        f" {VALID}",
        f"{VALID}\n",
        _arabic_indic(VALID),
        "123456789012x",
        "+234567890123",
        "1234567890124",  # wrong check digit
    ],
)
def test_malformed_bill_numbers_are_unknown_bills(raw: str) -> None:
    assert bill_number_valid(VALID)
    assert not bill_number_valid(raw)
    with pytest.raises(AdapterError) as caught:
        parse_bill_number(raw)
    assert caught.value.code is Code.BILL_NOT_FOUND


# -- the Bill record ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bill_number": "1234567890124"}, "bill_number"),
        ({"amount_halalas": 0}, "amount_halalas"),
        ({"amount_halalas": -100}, "amount_halalas"),
        ({"expires_at": datetime(2026, 3, 16)}, "expires_at"),
        ({"currency": "USD"}, "currency"),
    ],
)
def test_a_bill_refuses_impossible_values(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replace(BILL, **change)


# -- effective status -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expires_at", "now", "expected"),
    [
        (BillStatus.UNPAID, None, NOW + timedelta(days=3650), BillStatus.UNPAID),
        (BillStatus.UNPAID, EXPIRES, EXPIRES - timedelta(microseconds=1), BillStatus.UNPAID),
        (BillStatus.UNPAID, EXPIRES, EXPIRES, BillStatus.EXPIRED),
        (BillStatus.UNPAID, EXPIRES, EXPIRES + timedelta(seconds=1), BillStatus.EXPIRED),
        (BillStatus.PAID, EXPIRES, EXPIRES + timedelta(days=1), BillStatus.PAID),
        (BillStatus.CANCELLED, EXPIRES, EXPIRES + timedelta(days=1), BillStatus.CANCELLED),
        (BillStatus.EXPIRED, EXPIRES, NOW, BillStatus.EXPIRED),
    ],
)
def test_effective_status(
    status: BillStatus, expires_at: datetime | None, now: datetime, expected: BillStatus
) -> None:
    assert effective_status(replace(BILL, status=status, expires_at=expires_at), now) is expected


def test_expiry_is_an_instant_whatever_the_offset_it_is_written_in() -> None:
    riyadh_noon = datetime(2026, 3, 16, 12, 0, tzinfo=timezone(timedelta(hours=3)))
    bill = replace(BILL, expires_at=riyadh_noon)
    assert effective_status(bill, datetime(2026, 3, 16, 8, 59, 59, tzinfo=UTC)) is BillStatus.UNPAID
    assert effective_status(bill, datetime(2026, 3, 16, 9, 0, tzinfo=UTC)) is BillStatus.EXPIRED


# -- payability -----------------------------------------------------------------------


def payable_error(bill: Bill | None, amount_halalas: int = 65000, now: datetime = NOW) -> Code:
    with pytest.raises(AdapterError) as caught:
        check_payable(bill, amount_halalas, now)
    return caught.value.code


def test_full_payment_of_an_unpaid_unexpired_bill_passes() -> None:
    assert check_payable(BILL, 65000, NOW) is BILL
    assert check_payable(replace(BILL, expires_at=None), 65000, NOW + timedelta(days=999))


@pytest.mark.parametrize(
    ("bill", "amount", "now", "code"),
    [
        (None, 65000, NOW, Code.BILL_NOT_FOUND),
        (replace(BILL, status=BillStatus.CANCELLED), 65000, NOW, Code.BILL_CANCELLED),
        (replace(BILL, status=BillStatus.PAID), 65000, NOW, Code.BILL_ALREADY_PAID),
        (replace(BILL, status=BillStatus.EXPIRED), 65000, NOW, Code.BILL_EXPIRED),
        (BILL, 65000, EXPIRES, Code.BILL_EXPIRED),
        (BILL, 64999, NOW, Code.AMOUNT_MISMATCH),
        (BILL, 65001, NOW, Code.AMOUNT_MISMATCH),
        (BILL, 650, NOW, Code.AMOUNT_MISMATCH),  # riyals where halalas were due
    ],
)
def test_one_code_per_refusal(bill: Bill | None, amount: int, now: datetime, code: Code) -> None:
    assert payable_error(bill, amount, now) is code


@pytest.mark.parametrize(
    ("status", "now", "code"),
    [
        (BillStatus.CANCELLED, EXPIRES, Code.BILL_CANCELLED),
        (BillStatus.PAID, EXPIRES, Code.BILL_ALREADY_PAID),
        (BillStatus.UNPAID, EXPIRES, Code.BILL_EXPIRED),
    ],
)
def test_the_bills_state_wins_over_a_wrong_amount(
    status: BillStatus, now: datetime, code: Code
) -> None:
    assert payable_error(replace(BILL, status=status), 1, now) is code
