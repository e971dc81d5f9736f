"""Memory is bounded by constants, not by the day: measured, not timed.

The job runs in a child process, and `os.wait4` reports that child's own peak RSS. The
command's baseline (the interpreter and its imports) is measured on an empty day, so the
test can bound what the day itself adds: far less than holding even one side of it in
a dict would. bench/reconcile.py has the big numbers (1,000,000 rows).
"""

from __future__ import annotations

from pathlib import Path

ROWS = 150_000
MB = 1024 * 1024
BUDGET = 256 * MB
GROWTH = 48 * MB  # one side of these rows in a dict alone would take about 80 MB
LARGE_DAY, EMPTY_DAY = "2026-01-15", "2026-01-10"


def reconcile(day: str, bank_file: Path) -> list[str]:
    return ["reconcile", "--partner", "RJHI", "--date", day, "--bank-file", str(bank_file)]


def test_a_large_day_adds_little_to_the_baseline_and_stays_well_under_budget(
    tmp_path, make_day, peak_rss
):
    database, large, empty = tmp_path / "day.db", tmp_path / "large.csv", tmp_path / "empty.csv"
    make_day(database, large, LARGE_DAY, rows=ROWS, no_bills=True, duplicates=5)
    empty.write_text("bank_payment_ref,bill_number,amount,paid_at,status\n")

    code_empty, baseline = peak_rss(reconcile(EMPTY_DAY, empty), database)
    code_large, peak = peak_rss(reconcile(LARGE_DAY, large), database)

    assert (code_empty, code_large) == (0, 1)
    assert peak < BUDGET * 3 // 4, f"peak RSS {peak / MB:.0f} MB"
    assert peak - baseline < GROWTH, f"{(peak - baseline) / MB:.0f} MB above the baseline"
