"""End to end: days made by `scripts/make-day` in a temporary SQLite file, reconciled by
`bank-adapter reconcile` and shown by `bank-adapter statement`, as subprocesses.

Starting the command costs about a second, so every run this module needs goes in one
parallel batch (the `results` fixture); the tests then read their run's outcome.
"""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

TODAY = date.today()
CLEAN_DAY = (TODAY - timedelta(days=20)).isoformat()
BREAK_DAY = (TODAY - timedelta(days=10)).isoformat()
NEXT_DAY = (TODAY - timedelta(days=9)).isoformat()  # where the other-date payments are
FUTURE_DAY = (TODAY + timedelta(days=30)).isoformat()
INJECTED = {
    "missing_at_bank": 2,
    "missing_at_adapter": 3,
    "amount_mismatch": 4,
    "bill_mismatch": 1,
    "status_mismatch": 5,
    "duplicates": 2,
    "other_date": 3,
}
BAD_LINE = 5


@dataclass(frozen=True)
class Days:
    directory: Path
    database: Path
    clean_file: Path
    break_file: Path
    bad_file: Path
    empty_file: Path
    expected: dict[str, int]


@pytest.fixture(scope="module")
def days(tmp_path_factory, make_day) -> Days:
    directory = tmp_path_factory.mktemp("days")
    database = directory / "adapter.db"
    clean, breaks, bad = directory / "clean.csv", directory / "breaks.csv", directory / "bad.csv"
    make_day(database, clean, CLEAN_DAY, rows=300, seed=11)
    summary = make_day(database, breaks, BREAK_DAY, rows=400, seed=12, **INJECTED)
    lines = breaks.read_text().splitlines(keepends=True)
    ref, bill, _, paid_at, status = lines[BAD_LINE - 1].split(",")
    lines[BAD_LINE - 1] = ",".join((ref, bill, "12.5", paid_at, status))
    bad.write_text("".join(lines))
    empty = directory / "empty.csv"
    empty.write_text(lines[0])
    return Days(directory, database, clean, breaks, bad, empty, summary["expectedBreaks"])


def reconcile(day: str, bank_file: Path, *extra: str | Path, partner: str = "RJHI") -> list[str]:
    args = ["reconcile", "--partner", partner, "--date", day, "--bank-file", bank_file, *extra]
    return [str(arg) for arg in args]


@pytest.fixture(scope="module")
def results(days: Days, run) -> dict[str, subprocess.CompletedProcess[str]]:
    d = days.directory
    jobs: dict[str, tuple[list[str], Path]] = {
        "clean": (reconcile(CLEAN_DAY, days.clean_file), days.database),
        "clean quiet": (reconcile(CLEAN_DAY, days.clean_file, "-q"), days.database),
        "not final": (reconcile(FUTURE_DAY, days.empty_file), days.database),
        "breaks": (reconcile(BREAK_DAY, days.break_file, "--csv", d / "out.csv"), days.database),
        "to file": (reconcile(BREAK_DAY, days.break_file, "--out", d / "out.json"), days.database),
        "bad file": (
            reconcile(BREAK_DAY, days.bad_file, "--out", d / "bad.json", "--csv", d / "bad.out"),
            days.database,
        ),
        "unknown partner": (reconcile(CLEAN_DAY, days.clean_file, partner="XXXX"), days.database),
        "bad date": (reconcile("2026-02-30", days.clean_file), days.database),
        "no bank file": (reconcile(CLEAN_DAY, d / "nowhere.csv"), days.database),
        "no database": (reconcile(CLEAN_DAY, days.clean_file), d / "no.db"),
        "no output directory": (
            reconcile(CLEAN_DAY, days.clean_file, "--out", d / "nowhere" / "report.json"),
            days.database,
        ),
        "statement": (["statement", "--partner", "RJHI", "--date", BREAK_DAY], days.database),
        "statement next day": (
            ["statement", "--partner", "RJHI", "--date", NEXT_DAY],
            days.database,
        ),
        "statement future": (
            ["statement", "--partner", "RJHI", "--date", FUTURE_DAY],
            days.database,
        ),
        "statement unknown partner": (
            ["statement", "--partner", "XXXX", "--date", BREAK_DAY],
            days.database,
        ),
        "help reconcile": (["reconcile", "--help"], days.database),
        "help statement": (["statement", "--help"], days.database),
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(run, args, db) for name, (args, db) in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def report_of(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def bank_figures(path: Path) -> dict[str, Any]:
    """Count, Total and Checksum of a settlement file, computed here from scratch."""
    with path.open(encoding="utf-8", newline="") as source:
        rows = list(csv.DictReader(source))
    checksum = 0
    for row in rows:
        text = "|".join((row["bank_payment_ref"], row["bill_number"], row["amount"], row["status"]))
        checksum ^= int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest(), "big")
    total = sum(Decimal(row["amount"]) for row in rows if row["status"] == "POSTED")
    return {"count": len(rows), "total": f"{total:.2f}", "checksum": f"{checksum:064x}"}


# --- a day that matches --------------------------------------------------------------


def test_a_day_that_matches_exits_0_with_equal_figures(results, days):
    result = results["clean"]
    assert result.returncode == 0, result.stderr
    report = report_of(result)

    assert report["matched"] is True
    assert report["breaks"] == []
    assert set(report["breakCounts"].values()) == {0}
    assert report["bank"] == report["adapter"] == bank_figures(days.clean_file)
    assert report["bank"]["count"] == 300
    assert report["final"] is True


def test_logs_go_to_stderr_and_no_progress_bar_without_a_terminal(results):
    stderr = results["clean"].stderr

    (line,) = stderr.splitlines()
    log = json.loads(line)
    assert (log["event"], log["matched"], log["bank_count"]) == ("reconciled", True, 300)
    assert "\r" not in stderr


def test_quiet_leaves_only_warnings_and_errors_on_stderr(results):
    result = results["clean quiet"]

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert report_of(result)["matched"] is True


def test_a_day_not_final_yet_is_reconciled_with_a_warning_and_final_false(results):
    result = results["not final"]
    assert result.returncode == 0, result.stderr
    warnings = [json.loads(line) for line in result.stderr.splitlines()]
    warnings = [log for log in warnings if log["level"] == "warning"]

    assert [log["event"] for log in warnings] == ["day_not_final"]
    assert warnings[0]["business_date"] == FUTURE_DAY
    assert "cut-off (23:00 Asia/Riyadh)" in warnings[0]["detail"]
    assert "statement" in warnings[0]["detail"]
    assert report_of(result)["final"] is False


# --- a day with breaks ---------------------------------------------------------------


def test_breaks_exit_1_with_exactly_the_injected_breaks_by_class(results, days):
    result = results["breaks"]
    assert result.returncode == 1, result.stderr
    report = report_of(result)

    assert report["matched"] is False
    assert report["breakCounts"] == days.expected
    assert Counter(b["class"] for b in report["breaks"]) == days.expected
    assert days.expected == {
        "MISSING_AT_ADAPTER": 3,
        "MISSING_AT_BANK": 2,
        "AMOUNT_MISMATCH": 4,
        "BILL_MISMATCH": 1,
        "STATUS_MISMATCH": 5,
        "BUSINESS_DATE_MISMATCH": 3,
        "DUPLICATE_AT_BANK": 2,
    }


def test_each_break_names_the_field_that_differs(results):
    fields = {(b["class"], b["field"]) for b in report_of(results["breaks"])["breaks"]}

    assert fields == {
        ("MISSING_AT_ADAPTER", "bank_payment_ref"),
        ("MISSING_AT_BANK", "bank_payment_ref"),
        ("AMOUNT_MISMATCH", "amount"),
        ("BILL_MISMATCH", "bill_number"),
        ("STATUS_MISMATCH", "status"),
        ("BUSINESS_DATE_MISMATCH", "business_date"),
        ("DUPLICATE_AT_BANK", "bank_payment_ref"),
    }


def test_a_business_date_mismatch_names_both_dates(results):
    breaks = report_of(results["breaks"])["breaks"]

    dates = {
        (b["bankValue"], b["adapterValue"], b["adapter"]["businessDate"])
        for b in breaks
        if b["class"] == "BUSINESS_DATE_MISMATCH"
    }
    assert dates == {(BREAK_DAY, NEXT_DAY, NEXT_DAY)}


def test_both_sides_figures_equal_an_independent_computation_and_the_statement(results, days):
    report = report_of(results["breaks"])
    statement = json.loads(results["statement"].stdout)

    assert report["bank"] == bank_figures(days.break_file)
    adapter = {key: statement[key] for key in ("count", "total", "checksum")}
    assert report["adapter"] == adapter
    assert adapter["count"] == 400


def test_the_csv_lists_the_same_breaks(results, days):
    with (days.directory / "out.csv").open(encoding="utf-8", newline="") as source:
        rows = list(csv.DictReader(source))
    breaks = report_of(results["breaks"])["breaks"]

    assert [(r["class"], r["bank_payment_ref"], r["field"]) for r in rows] == [
        (b["class"], b["bankPaymentRef"], b["field"]) for b in breaks
    ]
    amount = next(r for r in rows if r["class"] == "AMOUNT_MISMATCH")
    assert Decimal(amount["bank_value"]) - Decimal(amount["adapter_value"]) == 1
    assert amount["bank_line"].isdigit()
    assert amount["payment_id"].startswith("P")


def test_out_writes_the_report_to_a_file_and_nothing_to_stdout(results, days):
    result = results["to file"]

    assert result.returncode == 1
    assert result.stdout == ""
    written = json.loads((days.directory / "out.json").read_text())
    assert written == report_of(results["breaks"])


# --- bad input -----------------------------------------------------------------------


def test_a_bad_file_exits_2_naming_line_and_column_and_writes_nothing(results, days):
    result = results["bad file"]

    assert result.returncode == 2
    assert result.stdout == ""
    assert f"line {BAD_LINE}, column amount: '12.5' is not an amount" in result.stderr
    assert not (days.directory / "bad.json").exists()
    assert not (days.directory / "bad.out").exists()


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("unknown partner", "unknown partner 'XXXX'"),
        ("bad date", "argument --date: '2026-02-30' is not a date YYYY-MM-DD"),
        ("no bank file", "nowhere.csv: no such file"),
        ("no database", "no database at"),
        ("no output directory", "no such directory"),
        ("statement unknown partner", "unknown partner 'XXXX'"),
    ],
)
def test_bad_input_exits_2_with_a_message(results, case, message):
    result = results[case]

    assert result.returncode == 2
    assert result.stdout == ""
    assert message in result.stderr


def test_no_database_is_not_created(results, days):
    assert results["no database"].returncode == 2
    assert not (days.directory / "no.db").exists()


# --- the statement -------------------------------------------------------------------


def test_the_statement_prints_the_day_figures_the_bank_sees(results):
    result = results["statement"]
    assert result.returncode == 0, result.stderr
    statement = json.loads(result.stdout)

    assert statement["partner"] == "RJHI"
    assert statement["businessDate"] == BREAK_DAY
    assert statement["final"] is True
    assert statement["count"] == 400
    assert len(statement["checksum"]) == 64


def test_the_statement_of_the_next_date_holds_the_other_date_payments(results):
    statement = json.loads(results["statement next day"].stdout)

    assert statement["count"] == INJECTED["other_date"]


def test_a_day_not_yet_closed_is_not_final_and_an_empty_day_has_zero_figures(results):
    statement = json.loads(results["statement future"].stdout)

    assert statement["final"] is False
    assert (statement["count"], statement["total"]) == (0, "0.00")
    assert statement["checksum"] == "0" * 64


# --- help ----------------------------------------------------------------------------


def test_reconcile_explains_itself(results):
    text = " ".join(results["help reconcile"].stdout.split())

    for expected in [
        "--partner ID",
        "--date YYYY-MM-DD",
        "--bank-file CSV",
        "--out FILE",
        "--csv FILE",
        "bank_payment_ref,bill_number,amount,paid_at,status",
        "DUPLICATE_AT_BANK",
        "BUSINESS_DATE_MISMATCH",
        "0 the day matches, 1 breaks found, 2 bad input",
        "3 the database cannot be reached",
        '"final": false',
        "first 20",
        "-q, --quiet",
        "--debug",
    ]:
        assert expected in text


def test_statement_explains_itself(results):
    text = " ".join(results["help statement"].stdout.split())

    for expected in ["--partner ID", "--date YYYY-MM-DD", "checksum", "final", "cut-off"]:
        assert expected in text


# --- PostgreSQL ----------------------------------------------------------------------


def test_a_day_on_postgresql_reconciles_alike(pg_database, tmp_path, make_day, run):
    bank_file = tmp_path / "day.csv"
    summary = make_day(pg_database, bank_file, BREAK_DAY, rows=200, seed=13, **INJECTED)

    result = run(reconcile(BREAK_DAY, bank_file), pg_database)
    statement = run(["statement", "--partner", "RJHI", "--date", BREAK_DAY], pg_database)

    assert result.returncode == 1, result.stderr
    report = report_of(result)
    assert report["breakCounts"] == summary["expectedBreaks"]
    assert report["bank"] == bank_figures(bank_file)
    figures = json.loads(statement.stdout)
    assert report["adapter"] == {key: figures[key] for key in ("count", "total", "checksum")}
