"""Payments: their business date, the reversal window, retries, and payment ids.

Business days. A partner's business date D holds the payments the adapter *recorded*
from the cut-off of D-1 (inclusive) to the cut-off of D (exclusive), Asia/Riyadh time.
The bank's `PaidAt` never places a payment, so nothing can land in a day already closed.
With cut-off 23:00, a payment recorded at 23:30 on the 14th belongs to the 15th; it can
be reversed until 23:00 on the 15th, when the 15th closes and its statement is `Final`.
(A cut-off of 00:00 is consistent too: every payment is dated the day after its recording.)

Payment ids. Statements are ordered by PaymentId and paged with it, so ids must sort in
recording order. Two schemes, one per deployment (they do not sort against each other):
- `format_payment_id(seq)`, recommended: "P" and the payments table's integer key
  (SQLite AUTOINCREMENT, a PostgreSQL identity), zero-padded to 19 digits so text order
  is numeric order. Assignment order is the database's, whatever the instances' clocks
  say, and a statement's snapshot is simply the highest key visible. It does reveal to
  a bank how many payments the adapter has recorded in all.
- `new_payment_id(now)`: a ULID (48-bit Unix milliseconds, 80 random bits, Crockford
  base32, 26 characters) when no sequence is at hand. Ids of the same millisecond sort
  at random, and instances with skewed clocks interleave wrongly.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Final, NamedTuple

from bank_adapter.clock import RIYADH
from bank_adapter.core.messages import PaymentStatus
from bank_adapter.domain.statement import Entry
from bank_adapter.errors import AdapterError, Code

PAYMENT_SEQ_DIGITS: Final = 19  # a signed 64-bit key has at most 19 digits
_PAYMENT_ID: Final = f"P%0{PAYMENT_SEQ_DIGITS}d"
CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ULID_LENGTH: Final = 26
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MS: Final = timedelta(milliseconds=1)
_TIME_BITS: Final = 48
_RANDOM_BITS: Final = 80


@dataclass(frozen=True, slots=True)
class NewPayment:
    """A payment about to be posted; the ledger gives it its `seq` (and so its PaymentId)."""

    partner_id: str
    bank_payment_ref: str
    bill_number: str
    amount_halalas: int
    paid_at: datetime
    channel: str
    terminal_id: str | None
    business_date: date


@dataclass(frozen=True, slots=True)
class Payment:
    """A recorded payment, as it stands now."""

    seq: int
    partner_id: str
    bank_payment_ref: str
    bill_number: str
    amount_halalas: int
    paid_at: datetime
    business_date: date
    status: PaymentStatus

    @property
    def payment_id(self) -> str:
        return format_payment_id(self.seq)

    @property
    def entry(self) -> Entry:
        return Entry(self.bank_payment_ref, self.bill_number, self.amount_halalas, self.status)

    def reversed(self) -> Payment:
        return replace(self, status=PaymentStatus.REVERSED)


def _require_aware(name: str, moment: datetime) -> None:
    if moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def business_date(recorded_at: datetime, cutoff: time) -> date:
    """The business date of a payment recorded at `recorded_at` (the adapter's clock)."""
    _require_aware("recorded_at", recorded_at)
    local = recorded_at.astimezone(RIYADH)
    if local.time() >= cutoff:
        return local.date() + timedelta(days=1)
    return local.date()


def reversal_deadline(day: date, cutoff: time) -> datetime:
    """When business date `day` closes: its cut-off, Asia/Riyadh. Reversals end there."""
    return datetime.combine(day, cutoff, RIYADH)


def day_is_final(day: date, cutoff: time, now: datetime) -> bool:
    """True once `day` has closed: nothing can change its statement any more."""
    _require_aware("now", now)
    return now >= reversal_deadline(day, cutoff)


def check_reversible(status: PaymentStatus, day: date, cutoff: time, now: datetime) -> None:
    """Raise ALREADY_REVERSED, then REVERSAL_WINDOW_CLOSED, if the payment cannot be reversed.

    ALREADY_REVERSED comes first: a bank resending a reversal whose answer it lost learns
    what happened, even after the cut-off.
    """
    if status is PaymentStatus.REVERSED:
        raise AdapterError(Code.ALREADY_REVERSED)
    if day_is_final(day, cutoff, now):
        raise AdapterError(
            Code.REVERSAL_WINDOW_CLOSED, f"the cut-off of business date {day} has passed"
        )


class PaymentTerms(NamedTuple):
    """What a BankPaymentRef commits to; PaidAt, Channel and TerminalId may vary."""

    bill_number: str
    amount_halalas: int


def check_retry(existing: PaymentTerms, new: PaymentTerms) -> None:
    """Pass if `new` repeats the payment recorded as `existing`; else DUPLICATE_CONFLICT.

    A repeat is answered with the payment as it stands now (POSTED or REVERSED) and its
    original PaymentId; it never posts twice (contract section 3).
    """
    if new.bill_number != existing.bill_number:
        raise AdapterError(
            Code.DUPLICATE_CONFLICT, "BankPaymentRef was already used for another BillNumber"
        )
    if new.amount_halalas != existing.amount_halalas:
        raise AdapterError(
            Code.DUPLICATE_CONFLICT, "BankPaymentRef was already used with another Amount"
        )


def format_payment_id(seq: int) -> str:
    """The PaymentId of database key `seq`: 'P' and 19 digits, so text order is key order."""
    if not 1 <= seq < 10**PAYMENT_SEQ_DIGITS:
        raise ValueError("payment sequence number out of range")
    return f"P{seq:0{PAYMENT_SEQ_DIGITS}d}"


def format_payment_ids(seqs: Sequence[int]) -> list[str]:
    """`format_payment_id` of each of `seqs` (a statement page's), range checked at once."""
    if seqs and not (min(seqs) >= 1 and max(seqs) < 10**PAYMENT_SEQ_DIGITS):
        raise ValueError("payment sequence number out of range")
    return list(map(_PAYMENT_ID.__mod__, seqs))


def payment_seq(payment_id: str) -> int:
    """The database key of a `format_payment_id` id; ValueError for anything else."""
    digits = payment_id[1:]
    well_formed = len(digits) == PAYMENT_SEQ_DIGITS and digits.isascii() and digits.isdigit()
    if not payment_id.startswith("P") or not well_formed or int(digits) == 0:
        raise ValueError("not a PaymentId of the sequence scheme")
    return int(digits)


def new_payment_id(now: datetime) -> str:
    """A ULID for `now`: sorts by millisecond, random within one."""
    _require_aware("now", now)
    millis = (now - _EPOCH) // _MS
    if not 0 <= millis < 1 << _TIME_BITS:
        raise ValueError("now is outside the ULID time range")
    value = millis << _RANDOM_BITS | secrets.randbits(_RANDOM_BITS)
    return "".join(CROCKFORD[value >> shift & 31] for shift in range(125, -1, -5))
