"""The report writers (JSON assembled by streaming, CSV, files replaced only when complete)
and the terminal progress bar."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import pytest

from bank_adapter.core.messages import PaymentStatus
from bank_adapter.domain.statement import DayFigures
from bank_adapter.reconcile.matching import Break, BreakClass, LedgerRow, Outcome
from bank_adapter.reconcile.progress import Progress, tracked
from bank_adapter.reconcile.report import (
    CSV_HEADER,
    break_record,
    replacing,
    report_head,
    write_csv,
    write_report,
)
from bank_adapter.reconcile.settlement import BankRow

DAY = date(2026, 1, 15)
BANK = BankRow("A", 7, "1", "651.00", 65100, "2026-01-15T10:00:00+03:00", PaymentStatus.POSTED)
LEDGER = LedgerRow(
    "A", 12, "1", "650.00", 65000, datetime(2026, 1, 15, 7, tzinfo=UTC), PaymentStatus.POSTED, DAY
)
AMOUNT = Break(BreakClass.AMOUNT_MISMATCH, "A", "amount", "651.00", "650.00", BANK, LEDGER)
MISSING = Break(BreakClass.MISSING_AT_BANK, "A", "bank_payment_ref", None, "A", None, LEDGER)


def outcome(breaks: int) -> Outcome:
    counts = {kind: 0 for kind in BreakClass} | {BreakClass.AMOUNT_MISMATCH: breaks}
    return Outcome(DayFigures(1, 65100), DayFigures(1, 65000), counts)


def lines(*breaks: Break) -> list[str]:
    return [json.dumps(break_record(found)) + "\n" for found in breaks]


def test_a_break_record_carries_both_sides():
    assert break_record(AMOUNT) == {
        "class": "AMOUNT_MISMATCH",
        "bankPaymentRef": "A",
        "field": "amount",
        "bankValue": "651.00",
        "adapterValue": "650.00",
        "bank": {
            "line": 7,
            "billNumber": "1",
            "amount": "651.00",
            "paidAt": "2026-01-15T10:00:00+03:00",
            "status": "POSTED",
        },
        "adapter": {
            "paymentId": "P0000000000000000012",
            "billNumber": "1",
            "amount": "650.00",
            "paidAt": "2026-01-15T07:00:00Z",
            "status": "POSTED",
            "businessDate": "2026-01-15",
        },
    }
    assert break_record(MISSING)["bank"] is None


@pytest.mark.parametrize("breaks", [(), (AMOUNT,), (AMOUNT, MISSING, AMOUNT)])
def test_the_streamed_report_is_one_json_document(breaks):
    head = report_head("RJHI", DAY, True, "day.csv", outcome(len(breaks)))
    out = io.StringIO()

    write_report(out, head, lines(*breaks))

    report = json.loads(out.getvalue())
    assert report["breaks"] == [break_record(found) for found in breaks]
    assert report["matched"] is (not breaks)
    assert report["bank"] == {"count": 1, "total": "651.00", "checksum": "0" * 64}
    assert list(report["breakCounts"]) == [kind.value for kind in BreakClass]
    assert (report["partner"], report["businessDate"], report["bankFile"]) == (
        "RJHI",
        "2026-01-15",
        "day.csv",
    )


def test_the_csv_has_one_row_per_break():
    out = io.StringIO()

    write_csv(out, lines(AMOUNT, MISSING))

    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows == [
        list(CSV_HEADER),
        ["AMOUNT_MISMATCH", "A", "amount", "651.00", "650.00", "7", "P0000000000000000012"],
        ["MISSING_AT_BANK", "A", "bank_payment_ref", "", "A", "", "P0000000000000000012"],
    ]


def test_a_replaced_file_appears_only_when_complete(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old")

    def fail_midway() -> None:
        with replacing(target) as out:
            out.write("half")
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        fail_midway()

    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]

    with replacing(target) as out:
        out.write("new")
    assert target.read_text() == "new"
    assert list(tmp_path.iterdir()) == [target]


# --- progress ------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 0.5
        return self.now


def test_progress_draws_a_bar_with_rows_per_second_on_a_terminal():
    terminal = Terminal()
    progress = Progress(terminal, "reading", Clock())

    assert list(tracked(range(10_000), progress, lambda rows: rows / 10_000)) == list(range(10_000))

    drawn = terminal.getvalue().split("\r")[1:]
    assert drawn[0].startswith("reading [")
    assert "4,096 rows" in drawn[0]
    assert "rows/s" in drawn[0]
    assert drawn[-1].startswith("reading [########################] 100% 10,000 rows")
    assert terminal.getvalue().endswith("\n")


def test_progress_is_silent_without_a_terminal():
    stream = io.StringIO()
    progress = Progress(stream, "reading", Clock())

    assert sum(tracked(range(10_000), progress, lambda rows: 0.5)) == sum(range(10_000))
    assert stream.getvalue() == ""
