"""The pure core: the merge-join, every break class, and both sides' statement figures
checked against an independent computation (hashlib here, not the domain's code)."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bank_adapter.core.messages import PaymentStatus
from bank_adapter.reconcile.matching import (
    Break,
    BreakClass,
    Join,
    LedgerRow,
    Outcome,
    OutOfOrder,
    Pair,
    Reconciliation,
)
from bank_adapter.reconcile.settlement import BankRow

POSTED, REVERSED = PaymentStatus.POSTED, PaymentStatus.REVERSED
DAY = date(2026, 1, 15)
OTHER_DAY = date(2026, 1, 16)
BILL = "1234567890123"
PAID_AT = datetime(2026, 1, 15, 7, 30, tzinfo=UTC)
STATUSES = ("REVERSED", "POSTED")


def bank(
    ref: str, line: int = 2, bill: str = BILL, amount: str = "650.00", status=POSTED
) -> BankRow:
    halalas = int(amount.replace(".", ""))
    return BankRow(ref, line, bill, amount, halalas, "2026-01-15T10:30:00+03:00", status)


def ledger(
    ref: str, seq: int = 1, bill: str = BILL, amount: str = "650.00", status=POSTED, day=DAY
) -> LedgerRow:
    halalas = int(amount.replace(".", ""))
    return LedgerRow(ref, seq, bill, amount, halalas, PAID_AT, status, day)


def joined(bank_rows: list[BankRow], ledger_rows: list[LedgerRow], batch: int = 2) -> list[Pair]:
    """The pairs of a join fed the ledger `batch` rows at a time, as the shell feeds it."""
    merge: Join[BankRow, LedgerRow] = Join(bank_rows)
    pairs = []
    for start in range(0, len(ledger_rows), batch):
        pairs += [Pair(*pair) for pair in merge.pairs(ledger_rows[start : start + batch])]
    return pairs + [Pair(*pair) for pair in merge.rest()]


async def pairs_of(bank_rows: list[BankRow], ledger_rows: list[LedgerRow]) -> list[Pair]:
    return joined(bank_rows, ledger_rows)


async def reconcile(
    bank_rows: list[BankRow],
    ledger_rows: list[LedgerRow],
    elsewhere: dict[str, LedgerRow] | None = None,
) -> tuple[list[Break], Outcome]:
    """What the shell does, with `elsewhere` standing in for the point lookups."""
    reconciliation = Reconciliation(DAY)
    breaks = []
    for pair in joined(sorted(bank_rows), ledger_rows):
        other = (elsewhere or {}).get(pair.lookup_ref or "")
        breaks += reconciliation.add(pair, other)
    return breaks, reconciliation.outcome


def independent_checksum(entries: Iterable[tuple[str, str, str, str]]) -> str:
    value = 0
    for entry in entries:
        digest = hashlib.sha256("|".join(entry).encode("utf-8")).digest()
        value ^= int.from_bytes(digest, "big")
    return f"{value:064x}"


def only(breaks: list[Break]) -> Break:
    assert len(breaks) == 1, breaks
    return breaks[0]


# --- the join ------------------------------------------------------------------------


async def test_join_pairs_by_reference_whatever_is_missing_on_either_side():
    pairs = await pairs_of(
        [bank("A"), bank("C"), bank("D"), bank("F")],
        [ledger("B"), ledger("C"), ledger("E"), ledger("F"), ledger("G")],
    )

    def ref(row: BankRow | LedgerRow | None) -> str | None:
        return None if row is None else row.bank_payment_ref

    assert [(ref(p.bank), ref(p.ledger)) for p in pairs] == [
        ("A", None),
        (None, "B"),
        ("C", "C"),
        ("D", None),
        (None, "E"),
        ("F", "F"),
        (None, "G"),
    ]


async def test_join_of_two_empty_sides_is_empty():
    assert await pairs_of([], []) == []


async def test_later_lines_of_a_reference_are_duplicates_paired_with_the_same_ledger_row():
    row = ledger("A")
    pairs = await pairs_of([bank("A", 2), bank("A", 5), bank("A", 9), bank("B", 3)], [row])

    assert [(p.bank.line if p.bank else None, p.ledger, p.duplicate) for p in pairs] == [
        (2, row, False),
        (5, row, True),
        (9, row, True),
        (3, None, False),
    ]


async def test_only_a_bank_row_missing_from_the_day_is_looked_up_elsewhere():
    pairs = await pairs_of([bank("A"), bank("A", 3), bank("B")], [ledger("B"), ledger("C")])

    assert [pair.lookup_ref for pair in pairs] == ["A", None, None, None]


async def test_a_ledger_out_of_reference_order_is_refused():
    with pytest.raises(OutOfOrder, match="collate"):
        await pairs_of([bank("A")], [ledger("B"), ledger("A")])


async def test_a_ledger_repeating_a_reference_is_refused():
    with pytest.raises(OutOfOrder):
        await pairs_of([], [ledger("A"), ledger("A")])


async def test_bank_rows_out_of_reference_order_are_refused():
    with pytest.raises(OutOfOrder, match="line 7"):
        await pairs_of([bank("B"), bank("A", 7)], [])


# --- every break class ---------------------------------------------------------------


async def test_a_day_that_matches_has_no_breaks_and_equal_figures():
    rows = [("A", "650.00", POSTED), ("B", "20.50", REVERSED), ("C", "0.01", POSTED)]
    breaks, outcome = await reconcile(
        [bank(ref, amount=amount, status=status) for ref, amount, status in rows],
        [ledger(ref, amount=amount, status=status) for ref, amount, status in rows],
    )

    assert breaks == []
    assert outcome.matched
    assert outcome.bank == outcome.adapter
    assert outcome.bank.count == 3
    assert outcome.bank.total_halalas == 65001  # the reversed one is not in Total
    expected = independent_checksum((ref, BILL, amount, s.value) for ref, amount, s in rows)
    assert outcome.bank.checksum_hex == outcome.adapter.checksum_hex == expected
    assert set(outcome.break_counts.values()) == {0}


async def test_an_empty_day_has_the_empty_checksum():
    _, outcome = await reconcile([], [])

    assert outcome.matched
    assert outcome.bank.checksum_hex == outcome.adapter.checksum_hex == "0" * 64
    assert outcome.bank.count == outcome.bank.total_halalas == 0


async def test_missing_at_adapter():
    row = bank("A", line=4)

    found = only((await reconcile([row], []))[0])

    assert found == Break(
        BreakClass.MISSING_AT_ADAPTER, "A", "bank_payment_ref", "A", None, row, None
    )


async def test_missing_at_bank():
    row = ledger("A", seq=9)

    found = only((await reconcile([], [row]))[0])

    assert found == Break(BreakClass.MISSING_AT_BANK, "A", "bank_payment_ref", None, "A", None, row)


@pytest.mark.parametrize(
    ("bank_row", "kind", "field", "values"),
    [
        (bank("A", amount="651.00"), BreakClass.AMOUNT_MISMATCH, "amount", ("651.00", "650.00")),
        (bank("A", bill="999"), BreakClass.BILL_MISMATCH, "bill_number", ("999", BILL)),
        (bank("A", status=REVERSED), BreakClass.STATUS_MISMATCH, "status", STATUSES),
    ],
    ids=["amount", "bill", "status"],
)
async def test_a_field_that_differs_is_named_with_both_values(bank_row, kind, field, values):
    row = ledger("A")

    found = only((await reconcile([bank_row], [row]))[0])

    assert found == Break(kind, "A", field, *values, bank_row, row)


async def test_each_differing_field_of_one_payment_is_its_own_break():
    breaks, outcome = await reconcile(
        [bank("A", amount="1.00", bill="1", status=REVERSED)], [ledger("A")]
    )

    assert [(b.kind, b.field) for b in breaks] == [
        (BreakClass.AMOUNT_MISMATCH, "amount"),
        (BreakClass.BILL_MISMATCH, "bill_number"),
        (BreakClass.STATUS_MISMATCH, "status"),
    ]
    assert sum(outcome.break_counts.values()) == 3


async def test_a_reference_on_another_business_date_names_both_dates():
    row, there = bank("A"), ledger("A", day=OTHER_DAY)

    found = only((await reconcile([row], [], elsewhere={"A": there}))[0])

    assert found == Break(
        BreakClass.BUSINESS_DATE_MISMATCH,
        "A",
        "business_date",
        "2026-01-15",
        "2026-01-16",
        row,
        there,
    )


async def test_a_duplicate_is_one_break_per_extra_line_and_the_first_line_is_compared():
    first, second, third = bank("A", 2), bank("A", 8, amount="1.00"), bank("A", 9)
    row = ledger("A")

    breaks, outcome = await reconcile([third, second, first], [row])

    assert breaks == [
        Break(BreakClass.DUPLICATE_AT_BANK, "A", "bank_payment_ref", "A", "A", second, row),
        Break(BreakClass.DUPLICATE_AT_BANK, "A", "bank_payment_ref", "A", "A", third, row),
    ]
    assert outcome.bank.count == 3  # the bank's figures are over its file as it stands
    assert outcome.adapter.count == 1


async def test_a_duplicate_of_a_reference_the_ledger_lacks():
    breaks, _ = await reconcile([bank("A", 2), bank("A", 3)], [])

    assert [(b.kind, b.adapter_value) for b in breaks] == [
        (BreakClass.MISSING_AT_ADAPTER, None),
        (BreakClass.DUPLICATE_AT_BANK, None),
    ]


async def test_figures_with_breaks_are_each_sides_own():
    bank_rows = [bank("A", amount="10.00"), bank("B", status=REVERSED), bank("X")]
    ledger_rows = [ledger("A"), ledger("B"), ledger("C", amount="5.00")]

    _, outcome = await reconcile(bank_rows, ledger_rows)

    assert not outcome.matched
    assert outcome.bank.checksum_hex == independent_checksum(
        [
            ("A", BILL, "10.00", "POSTED"),
            ("B", BILL, "650.00", "REVERSED"),
            ("X", BILL, "650.00", "POSTED"),
        ]
    )
    assert outcome.adapter.checksum_hex == independent_checksum(
        [
            ("A", BILL, "650.00", "POSTED"),
            ("B", BILL, "650.00", "POSTED"),
            ("C", BILL, "5.00", "POSTED"),
        ]
    )
    assert (outcome.bank.count, outcome.bank.total_halalas) == (3, 1000 + 65000)
    assert (outcome.adapter.count, outcome.adapter.total_halalas) == (3, 65000 * 2 + 500)


# --- against an oracle that holds everything in dicts --------------------------------

refs = st.text(alphabet="AaBb0é-", min_size=1, max_size=3)
entries = st.tuples(
    st.sampled_from(["1", "2"]),
    st.sampled_from(["1.00", "2.00"]),
    st.sampled_from([POSTED, REVERSED]),
)


def oracle(bank_rows: list[BankRow], ledger_rows: dict[str, LedgerRow]) -> Counter[BreakClass]:
    counts: Counter[BreakClass] = Counter()
    seen: set[str] = set()
    for row in bank_rows:
        ref = row.bank_payment_ref
        if ref in seen:
            counts[BreakClass.DUPLICATE_AT_BANK] += 1
            continue
        seen.add(ref)
        other = ledger_rows.get(ref)
        if other is None:
            counts[BreakClass.MISSING_AT_ADAPTER] += 1
            continue
        counts[BreakClass.AMOUNT_MISMATCH] += row.amount != other.amount
        counts[BreakClass.BILL_MISMATCH] += row.bill_number != other.bill_number
        counts[BreakClass.STATUS_MISMATCH] += row.status != other.status
    counts[BreakClass.MISSING_AT_BANK] += len(set(ledger_rows) - seen)
    return +counts


@settings(max_examples=200, deadline=None)
@given(
    ledger_side=st.dictionaries(refs, entries, max_size=8),
    bank_side=st.lists(st.tuples(refs, entries), max_size=12),
)
async def test_the_join_classifies_like_an_oracle_holding_both_sides_in_dicts(
    ledger_side, bank_side
):
    ledger_rows = {
        ref: ledger(ref, seq, bill, amount, status)
        for seq, (ref, (bill, amount, status)) in enumerate(sorted(ledger_side.items()), 1)
    }
    bank_rows = [
        bank(ref, line, bill, amount, status)
        for line, (ref, (bill, amount, status)) in enumerate(bank_side, 2)
    ]

    breaks, outcome = await reconcile(bank_rows, list(ledger_rows.values()))

    assert Counter(b.kind for b in breaks) == oracle(bank_rows, ledger_rows)
    assert outcome.matched == (not breaks)
    bank_entries = [
        (r.bank_payment_ref, r.bill_number, r.amount, r.status.value) for r in bank_rows
    ]
    assert outcome.bank.checksum_hex == independent_checksum(bank_entries)


def stored_bank(row: BankRow) -> tuple:
    return (*row[:6], row.status.value)


def stored_ledger(row: LedgerRow) -> tuple:
    return (row[0], row.seq, row.bill_number, row.amount_halalas, row.paid_at, row.status.value)


@settings(max_examples=200, deadline=None)
@given(
    ledger_side=st.dictionaries(refs, entries, max_size=8),
    bank_side=st.lists(st.tuples(refs, entries), max_size=12),
)
async def test_rows_in_stored_form_reconcile_like_typed_rows(ledger_side, bank_side):
    """The shell's way: pairs whose rows agree are counted in stored form, the others
    typed; the breaks and both sides' figures are those of typed rows throughout."""
    ledger_rows = [
        ledger(ref, seq, bill, amount, status)
        for seq, (ref, (bill, amount, status)) in enumerate(sorted(ledger_side.items()), 1)
    ]
    bank_rows = sorted(
        bank(ref, line, bill, amount, status)
        for line, (ref, (bill, amount, status)) in enumerate(bank_side, 2)
    )
    typed_ledger = {stored_ledger(row): row for row in ledger_rows}
    typed_bank = {stored_bank(row): row for row in bank_rows}
    reconciliation = Reconciliation(DAY)
    merge = Join([stored_bank(row) for row in bank_rows])
    breaks = []
    stored_pairs = [*merge.pairs([stored_ledger(row) for row in ledger_rows]), *merge.rest()]
    for bank_row, ledger_row, duplicate in stored_pairs:
        if not reconciliation.add_if_same(bank_row, ledger_row, duplicate):
            pair = Pair(typed_bank.get(bank_row), typed_ledger.get(ledger_row), duplicate)
            breaks += reconciliation.add(pair)

    assert (breaks, reconciliation.outcome) == await reconcile(bank_rows, ledger_rows)
