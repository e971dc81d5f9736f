"""The settlement file parser: good rows, and one test per kind of problem, each naming
its line (the header is line 1) and its column."""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bank_adapter.core.messages import PaymentStatus
from bank_adapter.reconcile import settlement
from bank_adapter.reconcile.settlement import (
    MAX_LINE_BYTES,
    BadSettlement,
    BankRow,
    Problem,
    Problems,
    Stored,
    parse_stored,
    typed,
)

HEADER = b"bank_payment_ref,bill_number,amount,paid_at,status\n"
GOOD = b"RJHI-1,1234567890123,650.00,2026-01-15T10:30:00+03:00,POSTED\n"


def typed_rows(items: Iterable[list[Stored] | Problem]) -> Iterator[BankRow | Problem]:
    for item in items:
        if isinstance(item, Problem):
            yield item
        else:
            yield from map(typed, item)


def parse(data: bytes) -> list[BankRow | Problem]:
    return list(typed_rows(parse_stored(data.splitlines(keepends=True))))


def only_problem(data: bytes) -> Problem:
    problems = [item for item in parse(data) if isinstance(item, Problem)]
    assert len(problems) == 1, problems
    return problems[0]


def test_a_good_file_gives_its_rows_with_their_lines():
    data = HEADER + GOOD + b"RJHI-2,99,0.50,2026-01-15T07:00:00.123Z,REVERSED\r\n"

    rows = parse(data)

    assert rows == [
        BankRow(
            "RJHI-1",
            2,
            "1234567890123",
            "650.00",
            65000,
            "2026-01-15T10:30:00+03:00",
            PaymentStatus.POSTED,
        ),
        BankRow("RJHI-2", 3, "99", "0.50", 50, "2026-01-15T07:00:00.123Z", PaymentStatus.REVERSED),
    ]


def test_a_header_alone_is_an_empty_day():
    assert parse(HEADER) == []


def test_bill_numbers_are_data_not_validated():
    data = HEADER + b"RJHI-1,not a bill,650.00,2026-01-15T10:30:00+03:00,POSTED\n"

    (row,) = parse(data)

    assert isinstance(row, BankRow)
    assert row.bill_number == "not a bill"


def test_quoted_fields_and_non_ascii_references_are_read():
    quoted = b'"ref,with comma",123,1.00,2026-01-15T10:30:00Z,POSTED\n'
    arabic = "مرجع-١,1,2.00,2026-01-15T10:30:00Z,POSTED\n".encode()
    data = HEADER + quoted + arabic

    refs = [row.bank_payment_ref for row in parse(data) if isinstance(row, BankRow)]

    assert refs == ["ref,with comma", "مرجع-١"]


def test_a_utf8_byte_order_mark_before_the_header_is_skipped():
    rows = parse(codecs.BOM_UTF8 + HEADER + GOOD)

    assert [row.line for row in rows if isinstance(row, BankRow)] == [2]


# --- the header ----------------------------------------------------------------------


def test_an_empty_file_misses_its_header():
    problem = only_problem(b"")

    assert (problem.line, problem.column) == (1, "bank_payment_ref")
    assert "missing header" in problem.message


@pytest.mark.parametrize(
    ("header", "column"),
    [
        (b"bank_payment_ref,bill_number,amount,paid_at\n", "status"),
        (b"bank_payment_ref,bill,amount,paid_at,status\n", "bill_number"),
        (b"Bank_Payment_Ref,bill_number,amount,paid_at,status\n", "bank_payment_ref"),
        (b"bank_payment_ref,bill_number,amount,paid_at,status,extra\n", "field 6"),
        (GOOD, "bank_payment_ref"),  # no header at all: the first row is not one
    ],
    ids=["missing column", "renamed column", "case", "extra column", "no header"],
)
def test_a_wrong_header_names_line_1_and_the_first_wrong_column(header, column):
    problem = only_problem(header + GOOD)

    assert (problem.line, problem.column) == (1, column)
    assert "bank_payment_ref,bill_number,amount,paid_at,status" in problem.message


def test_a_wrong_header_stops_the_file():
    assert len(parse(b"a,b,c,d,e\n" + GOOD * 3)) == 1


# --- the fields ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount", ["650", "650.0", "650.000", "-650.00", "+650.00", "1,000.00", "0650.00", "", " 1.00"]
)
def test_a_bad_amount_names_its_line_and_column(amount):
    line = f'RJHI-1,1,"{amount}",2026-01-15T10:30:00+03:00,POSTED\n'.encode()

    problem = only_problem(HEADER + GOOD + line)

    assert (problem.line, problem.column) == (3, "amount")
    assert repr(amount) in problem.message


@pytest.mark.parametrize(
    "paid_at",
    [
        "2026-01-15",
        "2026-01-15T10:30:00",  # no offset
        "2026-01-15 10:30:00+03:00",
        "2026-02-30T10:30:00+03:00",  # no such day
        "2026-01-15T25:00:00Z",
        "2026-01-15T10:30:00+0300",
        "yesterday",
    ],
)
def test_a_bad_date_names_its_line_and_column(paid_at):
    line = f"RJHI-1,1,1.00,{paid_at},POSTED\n".encode()

    problem = only_problem(HEADER + line)

    assert (problem.line, problem.column) == (2, "paid_at")


@pytest.mark.parametrize("status", ["posted", "PAID", "CANCELLED", "", "POSTED "])
def test_a_bad_status_names_its_line_and_column(status):
    line = f"RJHI-1,1,1.00,2026-01-15T10:30:00Z,{status}\n".encode()

    problem = only_problem(HEADER + GOOD + GOOD + line)

    assert (problem.line, problem.column) == (4, "status")


def test_an_empty_reference_names_its_column():
    problem = only_problem(HEADER + b",1,1.00,2026-01-15T10:30:00Z,POSTED\n")

    assert (problem.line, problem.column) == (2, "bank_payment_ref")


# --- the shape of a line -------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "column"),
    [
        (b"RJHI-1,1,1.00,2026-01-15T10:30:00Z\n", "status"),
        (b"RJHI-1,1,1.00\n", "paid_at"),
        (b"RJHI-1,1,1.00,2026-01-15T10:30:00Z,POSTED,extra\n", "field 6"),
        (b"\n", "bank_payment_ref"),
    ],
    ids=["4 fields", "3 fields", "6 fields", "empty line"],
)
def test_a_wrong_number_of_fields_names_the_line_and_the_column(line, column):
    problem = only_problem(HEADER + GOOD + line + GOOD)

    assert (problem.line, problem.column) == (3, column)


def test_a_byte_that_is_not_utf8_names_the_line_and_the_field_holding_it():
    line = b"RJHI-1,12\xff34,1.00,2026-01-15T10:30:00Z,POSTED\n"

    problem = only_problem(HEADER + GOOD + line)

    assert (problem.line, problem.column) == (3, "bill_number")
    assert "not UTF-8" in problem.message
    assert "0xFF" in problem.message


def test_invalid_utf8_in_the_header_is_a_header_problem():
    problem = only_problem(b"bank_payment_ref\xc3,bill_number,amount,paid_at,status\n" + GOOD)

    assert (problem.line, problem.column) == (1, "bank_payment_ref")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_a_utf16_or_utf32_file_is_refused_at_line_1(encoding):
    problem = only_problem((HEADER + GOOD).decode().encode(encoding))

    assert problem.line == 1
    assert "must be UTF-8" in problem.message


@pytest.mark.parametrize(
    "line",
    [b'"RJHI-1"x,1,1.00,2026-01-15T10:30:00Z,POSTED\n', b'"RJHI-1,1,1.00,2026-01-15T10:30:00Z\n'],
    ids=["text after a closing quote", "quote never closed"],
)
def test_broken_quoting_names_the_line(line):
    problem = only_problem(HEADER + GOOD + line)

    assert problem.line == 3
    assert "not readable as CSV" in problem.message


def test_a_line_too_long_for_a_settlement_file_ends_it():
    huge = b"RJHI-1," + b"9" * MAX_LINE_BYTES + b",1.00,2026-01-15T10:30:00Z,POSTED\n"

    problem = only_problem(HEADER + GOOD + huge + GOOD)

    assert (problem.line, problem.column) == (3, None)
    assert "longer than" in problem.message


# --- every problem at once -----------------------------------------------------------


def test_every_bad_line_is_reported_and_the_good_ones_still_parse():
    bad_amount = b"RJHI-2,1,1.0,2026-01-15T10:30:00Z,POSTED\n"
    bad_status = b"RJHI-3,1,1.00,2026-01-15T10:30:00Z,DONE\n"
    items = parse(HEADER + GOOD + bad_amount + GOOD + bad_status)

    problems = [(p.line, p.column) for p in items if isinstance(p, Problem)]

    assert problems == [(3, "amount"), (5, "status")]
    assert [row.line for row in items if isinstance(row, BankRow)] == [2, 4]


def test_problems_are_set_aside_and_raised_together_with_a_cap():
    lines = [f"RJHI-{i},1,bad,2026-01-15T10:30:00Z,POSTED\n".encode() for i in range(30)]
    problems = Problems(shown=5)

    batches = list(problems.rows(parse_stored([HEADER, GOOD, *lines])))

    assert [row[1] for batch in batches for row in batch] == [2]
    with pytest.raises(BadSettlement) as raised:
        problems.check()
    message = str(raised.value)
    assert message.startswith("30 problems:")
    assert "line 3, column amount:" in message
    assert "... and 25 more" in message
    assert raised.value.total == 30
    assert [problem.line for problem in raised.value.problems] == [3, 4, 5, 6, 7]


def test_no_problem_no_exception():
    problems = Problems()
    list(problems.rows(parse_stored([HEADER, GOOD])))

    problems.check()


def test_a_problem_reads_as_line_and_column():
    assert str(Problem(7, "amount", "bad")) == "line 7, column amount: bad"
    assert str(Problem(7, None, "bad")) == "line 7: bad"


# --- batches: the column-wise check agrees with the line-by-line one ------------------

MIXED = (
    HEADER
    + GOOD
    + b'"RJHI-q\nline two",1,1.00,2026-01-15T10:30:00Z,POSTED\n'  # lines 3-4, named 4
    + b"RJHI-3,12\xff34,1.00,2026-01-15T10:30:00Z,POSTED\n"
    + b"RJHI-4,1,1.0,2026-01-15T10:30:00Z,POSTED\n"
    + b"RJHI-5,1,2.50,2026-02-30T10:30:00Z,REVERSED\n"
    + b"\n"
    + GOOD
    + b"RJHI-6,1,3.00,2026-01-15T10:30:00.123456789-05:30,POSTED\r\n"
    + b'"RJHI-7"x,1,1.00,2026-01-15T10:30:00Z,POSTED\n'
    + GOOD
)


@pytest.mark.parametrize("batch", [1, 2, 3, 5, 1000])
def test_any_batch_size_gives_the_same_rows_and_problems(monkeypatch, batch):
    expected = parse(MIXED)
    monkeypatch.setattr(settlement, "BATCH", batch)

    assert parse(MIXED) == expected
    assert [(p.line, p.column) for p in expected if isinstance(p, Problem)] == [
        (5, "bill_number"),
        (6, "amount"),
        (7, "paid_at"),
        (8, "bank_payment_ref"),
        (11, None),
    ]
    assert [row.line for row in expected if isinstance(row, BankRow)] == [2, 4, 9, 10]


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)))
def test_a_timestamp_the_batch_check_passes_is_one_the_exact_check_passes(moment):
    for offset in ("Z", "+03:00", "-23:59", "+00:00"):
        for text in (moment.isoformat() + offset, moment.isoformat(timespec="seconds") + offset):
            assert settlement._PLAIN_TIMESTAMP.fullmatch(text)
            assert settlement._is_timestamp(text)


def test_a_line_too_long_after_good_ones_ends_the_file_in_any_batch(monkeypatch):
    monkeypatch.setattr(settlement, "BATCH", 2)
    huge = b"RJHI-1," + b"9" * MAX_LINE_BYTES + b",1.00,2026-01-15T10:30:00Z,POSTED\n"

    items = parse(HEADER + GOOD + GOOD + GOOD + huge + GOOD)

    assert [row.line for row in items if isinstance(row, BankRow)] == [2, 3, 4]
    assert [(p.line, p.column) for p in items if isinstance(p, Problem)] == [(5, None)]
