"""The pure core of reconciliation: a merge-join of two ref-ordered streams, the break
classes, and both sides' day figures. No I/O but the iterators passed in; no clock.

Theory of operation. Both inputs arrive ordered by `bank_payment_ref` (Unicode code
point order, which is UTF-8 byte order: the order of the external sort and of the
ledger query), the bank's with equal references in file order. `Join` walks them like
the merge step of merge sort and pairs each reference with its counterpart, or with
nothing; the second and later bank rows of a reference come out as duplicates. So the
join holds one bank row and one batch of the ledger at a time, whatever the size of
the day. It checks
the order as it goes: a database collation that sorts differently would otherwise
turn every row into two false breaks.

`classify` turns one pair into its breaks. One payment can break in several fields at
once (amount and status, say): each differing field is its own break, so the counts by
class say what kind of error the day holds. A reference the bank lists but the ledger
lacks on this day is MISSING_AT_ADAPTER, unless the shell's lookup by reference
(`elsewhere`) finds it on another business date: then it is one BUSINESS_DATE_MISMATCH naming both
dates, and its other fields are not compared (they are reported, on both sides).

`field` names the field that differs, in the settlement file's column names
(`amount`, `bill_number`, `status`) plus `business_date`. For MISSING_AT_ADAPTER,
MISSING_AT_BANK and DUPLICATE_AT_BANK it is `bank_payment_ref`: the reference is what
has no counterpart (or too many), and a CSV consumer never meets an empty `field`.
A duplicate is reported once per extra line; the first line of a reference (in file
order) is the one compared with the ledger.

The figures follow the contract's statement (section 4): Count (every entry, posted
and reversed), Total (POSTED amounts) and Checksum (XOR of the entry digests). The
bank's are over its file as it stands, duplicates included; the adapter's over the
ledger rows of the day. A day with no breaks has equal figures on both sides.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Final, Generic, NamedTuple, TypeVar

from bank_adapter.core.messages import PaymentStatus
from bank_adapter.domain.payments import format_payment_id
from bank_adapter.domain.statement import DIGEST_SIZE, DayFigures, wire_entry_digest
from bank_adapter.reconcile.settlement import BankRow, Stored

REF: Final = "bank_payment_ref"


class BreakClass(StrEnum):
    MISSING_AT_ADAPTER = "MISSING_AT_ADAPTER"
    MISSING_AT_BANK = "MISSING_AT_BANK"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    BILL_MISMATCH = "BILL_MISMATCH"
    STATUS_MISMATCH = "STATUS_MISMATCH"
    BUSINESS_DATE_MISMATCH = "BUSINESS_DATE_MISMATCH"
    DUPLICATE_AT_BANK = "DUPLICATE_AT_BANK"


class LedgerRow(NamedTuple):
    """A payment as the adapter recorded it."""

    bank_payment_ref: str
    seq: int
    bill_number: str
    amount: str  # the wire form, two decimals
    amount_halalas: int
    paid_at: datetime
    status: PaymentStatus
    business_date: date

    @property
    def payment_id(self) -> str:
        return format_payment_id(self.seq)


# The rows as the shell stores and reads them, before they are typed (`BankRow`,
# `LedgerRow`): the bank's (ref, line, bill, amount, halalas, paid_at, status text), as
# the external sort keeps them; the ledger's (ref, seq, bill, halalas, paid_at as the
# database holds it, status text), as the day's query returns them.
StoredBank = Stored
StoredLedger = tuple[str, int, str, int, Any, str]
_STATUSES: Final = {status.value: status for status in PaymentStatus}


class Pair(NamedTuple):  # a tuple: millions are made, and a frozen dataclass is slower
    """One reference's rows: the bank's (or one of its duplicates) and the ledger's."""

    bank: BankRow | None
    ledger: LedgerRow | None
    duplicate: bool = False

    @property
    def lookup_ref(self) -> str | None:
        """The reference to look up on other dates: set when the bank has a row the
        ledger lacks on this day, as only the shell can tell MISSING_AT_ADAPTER from
        BUSINESS_DATE_MISMATCH."""
        if self.bank is None or self.ledger is not None or self.duplicate:
            return None
        return self.bank.bank_payment_ref


@dataclass(frozen=True, slots=True)
class Break:
    kind: BreakClass
    bank_payment_ref: str
    field: str
    bank_value: str | None
    adapter_value: str | None
    bank: BankRow | None
    adapter: LedgerRow | None


class OutOfOrder(ValueError):
    """An input was not in reference order, so the join cannot be trusted."""


B = TypeVar("B", bound=tuple[Any, ...])
L = TypeVar("L", bound=tuple[Any, ...])


class Join(Generic[B, L]):
    """The merge-join, fed the ledger a batch at a time: `pairs(batch)` pairs the ledger
    rows of `batch` and every bank row up to the batch's last reference; `rest()` pairs
    the bank rows after the ledger's last. Plain iteration, no await: the shell reads a
    batch, then joins it in one go.

    Rows are tuples with the reference first (and, on the bank's side, the line second):
    `BankRow` and `LedgerRow`, or the shell's stored forms, which are only made typed rows
    for the pairs that break. A pair is (bank row, ledger row, duplicate), as `Pair`."""

    def __init__(self, bank: Iterable[B]) -> None:
        self._banks = iter(bank)
        self._bank = self._next_bank(None)  # the first bank row not paired yet
        self._ledger_ref: str | None = None  # the last ledger reference seen
        self._last_ref: str | None = None  # the last bank reference paired
        self._last_ledger: L | None = None  # and its ledger row, if any

    def pairs(self, ledger: Iterable[L]) -> Iterator[tuple[B | None, L | None, bool]]:
        """The pairs up to the last reference of `ledger` (the next rows of the day)."""
        for led in ledger:
            ref = led[0]
            if self._ledger_ref is not None and ref <= self._ledger_ref:
                raise OutOfOrder(
                    f"ledger rows out of reference order at {ref!r}"
                    " (does the database collate references by code point?)"
                )
            self._ledger_ref = ref
            bank = self._bank
            if bank is not None and bank[0] < ref:  # rare: no generator made otherwise
                yield from self._bank_only(ref)
                bank = self._bank
            if bank is None or bank[0] != ref:
                yield None, led, False
                continue
            self._last_ref, self._last_ledger = ref, led
            yield bank, led, False
            bank = self._bank = self._next_bank(bank)
            while bank is not None and bank[0] == ref:
                yield bank, led, True
                bank = self._bank = self._next_bank(bank)

    def rest(self) -> Iterator[tuple[B | None, L | None, bool]]:
        """The bank rows after the ledger's last reference."""
        return self._bank_only(None)

    def _bank_only(self, below: str | None) -> Iterator[tuple[B | None, L | None, bool]]:
        """Bank rows with references below `below` (None: all): no ledger row has them."""
        bank = self._bank
        while bank is not None and (below is None or bank[0] < below):
            if bank[0] == self._last_ref:
                yield bank, self._last_ledger, True
            else:
                self._last_ref, self._last_ledger = bank[0], None
                yield bank, None, False
            bank = self._bank = self._next_bank(bank)

    def _next_bank(self, previous: B | None) -> B | None:
        row = next(self._banks, None)
        if row is not None and previous is not None and row[0] < previous[0]:
            raise OutOfOrder(f"bank rows out of reference order at line {row[1]}")
        return row


def classify(pair: Pair, day: date, elsewhere: LedgerRow | None = None) -> list[Break]:
    """The breaks of one pair; `elsewhere` is the ledger's row of a reference missing on
    `day` but recorded on another business date."""
    bank, ledger = pair.bank, pair.ledger
    if bank is None:
        assert ledger is not None
        ref = ledger.bank_payment_ref
        return [Break(BreakClass.MISSING_AT_BANK, ref, REF, None, ref, None, ledger)]
    ref = bank.bank_payment_ref
    if pair.duplicate:
        at_adapter = ref if ledger is not None else None
        return [Break(BreakClass.DUPLICATE_AT_BANK, ref, REF, ref, at_adapter, bank, ledger)]
    if ledger is not None:
        return _differences(bank, ledger)
    if elsewhere is None:
        return [Break(BreakClass.MISSING_AT_ADAPTER, ref, REF, ref, None, bank, None)]
    other_day = elsewhere.business_date.isoformat()
    kind = BreakClass.BUSINESS_DATE_MISMATCH
    return [Break(kind, ref, "business_date", day.isoformat(), other_day, bank, elsewhere)]


def _differences(bank: BankRow, ledger: LedgerRow) -> list[Break]:
    same = bank.amount == ledger.amount and bank.bill_number == ledger.bill_number
    if same and bank.status is ledger.status:
        return []  # the common case, first
    compared = (
        (BreakClass.AMOUNT_MISMATCH, "amount", bank.amount, ledger.amount),
        (BreakClass.BILL_MISMATCH, "bill_number", bank.bill_number, ledger.bill_number),
        (BreakClass.STATUS_MISMATCH, "status", bank.status.value, ledger.status.value),
    )
    ref = bank.bank_payment_ref
    return [
        Break(kind, ref, field, ours, theirs, bank, ledger)
        for kind, field, ours, theirs in compared
        if ours != theirs
    ]


def digest_of(row: BankRow | LedgerRow) -> int:
    """The row's statement entry digest (contract section 4), as an integer to XOR."""
    digest = wire_entry_digest(row.bank_payment_ref, row.bill_number, row.amount, row.status)
    return int.from_bytes(digest)


class Tally:
    """Running Count, Total and Checksum of one side, as the statement defines them."""

    __slots__ = ("checksum", "count", "total_halalas")

    def __init__(self) -> None:
        self.count = 0
        self.total_halalas = 0
        self.checksum = 0

    def add(self, row: BankRow | LedgerRow, digest: int) -> None:
        """Count `row`, whose entry digest (`digest_of`) is `digest`."""
        self.count += 1
        if row.status is PaymentStatus.POSTED:
            self.total_halalas += row.amount_halalas
        self.checksum ^= digest

    def plus(self, other: Tally) -> Tally:
        """The figures of both tallies' entries together."""
        both = Tally()
        both.count = self.count + other.count
        both.total_halalas = self.total_halalas + other.total_halalas
        both.checksum = self.checksum ^ other.checksum
        return both

    @property
    def figures(self) -> DayFigures:
        return DayFigures(self.count, self.total_halalas, self.checksum.to_bytes(DIGEST_SIZE))


@dataclass(frozen=True, slots=True)
class Outcome:
    bank: DayFigures
    adapter: DayFigures
    break_counts: Mapping[BreakClass, int]  # every class, zeros included

    @property
    def matched(self) -> bool:
        return not any(self.break_counts.values())


class Reconciliation:
    """Feeds pairs through `classify` and keeps both sides' figures and the counts."""

    def __init__(self, day: date) -> None:
        self.day = day
        self._bank, self._adapter = Tally(), Tally()
        self._same = Tally()  # the entries both sides agree on, counted once for both
        self._counts: Counter[BreakClass] = Counter()

    def add_if_same(
        self, bank: StoredBank | None, ledger: StoredLedger | None, duplicate: bool
    ) -> bool:
        """Count a pair in stored form whose rows agree (the common case, a million
        times a day: no typed rows made) and say so; False leaves the pair to `add`.
        Equal halalas mean equal amounts: both sides' amounts are canonical."""
        if (
            bank is None
            or ledger is None
            or duplicate
            or bank[4] != ledger[3]
            or bank[2] != ledger[2]
            or bank[6] != ledger[5]
        ):
            return False
        ref, _, bill, amount, halalas, _, status = bank
        same = self._same
        same.count += 1
        if status == "POSTED":
            same.total_halalas += halalas
        same.checksum ^= int.from_bytes(wire_entry_digest(ref, bill, amount, _STATUSES[status]))
        return True

    def add(self, pair: Pair, elsewhere: LedgerRow | None = None) -> list[Break]:
        breaks = classify(pair, self.day, elsewhere)
        for found in breaks:
            self._counts[found.kind] += 1
        bank, ledger = pair.bank, None if pair.duplicate else pair.ledger
        # A pair without breaks is one entry on both sides: one digest serves both.
        shared = digest_of(bank) if bank is not None and ledger is not None and not breaks else None
        if bank is not None:
            self._bank.add(bank, digest_of(bank) if shared is None else shared)
        if ledger is not None:
            self._adapter.add(ledger, digest_of(ledger) if shared is None else shared)
        return breaks

    @property
    def outcome(self) -> Outcome:
        counts = {kind: self._counts[kind] for kind in BreakClass}
        bank, adapter = self._bank.plus(self._same), self._adapter.plus(self._same)
        return Outcome(bank.figures, adapter.figures, counts)
