"""Bills: their numbers, their state, and whether one can be paid now.

Bill numbers. A customer types them on ATM and phone keypads and reads them off paper, so
they are digits only, and the shape rules out confusion with the other numbers in play:
13 digits (an ID number has 10), never a leading zero (spreadsheets and some switches
drop it). The first 12 digits are random (`secrets`): about 9 * 10**11 possibilities,
so a bank cannot reach another person's bill by counting. The 13th is a Damm check
digit, chosen over Luhn because Damm detects every single-digit error *and every
adjacent transposition* (Luhn misses 09 <-> 90), with one table and no weights.

A bill number that is not 13 ASCII digits with a valid check digit is not a bill
number: the contract answers it like an unknown one (404 BILL_NOT_FOUND), so nothing is
revealed about which rule it broke. No normalisation is applied (no trimming, no
non-ASCII digits): a bill number is looked up exactly as given.

State. The stored status is what the platform and payments made of the bill; time is
applied on reading: an UNPAID bill is EXPIRED from the instant `expires_at` on (the
same convention as OTP expiry: `now >= expires_at`). No job has to flip rows at
midnight, and a payment racing the expiry is judged by the adapter's clock alone.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from bank_adapter.core.messages import BillStatus, ServiceCode
from bank_adapter.errors import AdapterError, Code

BILL_NUMBER_LENGTH: Final = 13
CURRENCY: Final = "SAR"

# The quasigroup of Damm's 2004 thesis: row = interim digit, column = next digit.
_DAMM: Final = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
_ASCII_DIGITS: Final = frozenset("0123456789")
_RANDOM_LOW: Final = 10 ** (BILL_NUMBER_LENGTH - 2)  # smallest 12-digit number
_RANDOM_SPAN: Final = 9 * _RANDOM_LOW  # how many 12-digit numbers have no leading zero


def damm_digit(digits: str) -> int:
    """The Damm interim digit of ASCII `digits`: the check digit to append, or 0 if valid."""
    interim = 0
    for char in digits:
        interim = _DAMM[interim][int(char)]
    return interim


def new_bill_number() -> str:
    """A fresh random bill number: 12 random digits (no leading zero) and a check digit."""
    body = str(_RANDOM_LOW + secrets.randbelow(_RANDOM_SPAN))
    return body + str(damm_digit(body))


def bill_number_valid(raw: str) -> bool:
    """True for 13 ASCII digits, no leading zero, whose Damm check digit is right."""
    return (
        len(raw) == BILL_NUMBER_LENGTH
        and set(raw) <= _ASCII_DIGITS
        and raw[0] != "0"
        and damm_digit(raw) == 0
    )


def parse_bill_number(raw: str) -> str:
    """`raw` if it is a bill number, else BILL_NOT_FOUND (the contract's answer to both)."""
    if not bill_number_valid(raw):
        raise AdapterError(Code.BILL_NOT_FOUND)
    return raw


@dataclass(frozen=True, slots=True)
class Bill:
    """A bill as stored. `periods` is set for bills issued by a fee quote (months)."""

    bill_number: str
    id_number: str
    service_code: ServiceCode
    description_ar: str
    description_en: str
    amount_halalas: int
    due_date: date
    expires_at: datetime | None
    status: BillStatus
    periods: int | None = None
    currency: str = CURRENCY

    def __post_init__(self) -> None:
        # Fail where a bad row is built, not later at a comparison or on the wire.
        if not bill_number_valid(self.bill_number):
            raise ValueError("Bill.bill_number is not a valid bill number")
        if self.amount_halalas <= 0:
            raise ValueError("Bill.amount_halalas must be positive")
        if self.expires_at is not None and self.expires_at.utcoffset() is None:
            raise ValueError("Bill.expires_at must be timezone-aware")
        if self.currency != CURRENCY:
            raise ValueError(f"Bill.currency must be {CURRENCY}")


def effective_status(bill: Bill, now: datetime) -> BillStatus:
    """The status to show and judge by: UNPAID turns EXPIRED once `expires_at` is reached."""
    expired = bill.expires_at is not None and now >= bill.expires_at
    if bill.status is BillStatus.UNPAID and expired:
        return BillStatus.EXPIRED
    return bill.status


_REFUSALS: Final = {
    BillStatus.CANCELLED: Code.BILL_CANCELLED,
    BillStatus.PAID: Code.BILL_ALREADY_PAID,
    BillStatus.EXPIRED: Code.BILL_EXPIRED,
}


def check_payable(bill: Bill | None, amount_halalas: int, now: datetime) -> Bill:
    """The bill, if `amount_halalas` pays it in full now; else the first failing code.

    Order: BILL_NOT_FOUND, BILL_CANCELLED, BILL_ALREADY_PAID, BILL_EXPIRED, AMOUNT_MISMATCH.
    A bill's status is exactly one of these, so the order only matters for the amount:
    a wrong amount on a paid bill is BILL_ALREADY_PAID, the more useful answer.
    """
    if bill is None:
        raise AdapterError(Code.BILL_NOT_FOUND)
    refusal = _REFUSALS.get(effective_status(bill, now))
    if refusal is not None:
        raise AdapterError(refusal)
    if amount_halalas != bill.amount_halalas:
        raise AdapterError(Code.AMOUNT_MISMATCH, "Amount must equal the bill's amount")
    return bill
