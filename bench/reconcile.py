"""Reconciliation benchmark: time and peak memory of `bank-adapter reconcile` by day size.

    .venv/bin/python bench/reconcile.py [--rows 100000 1000000] [--keep DIR]

For each size, `scripts/make-day` first writes the day (not timed): the ledger into a
fresh SQLite file and a shuffled settlement file with ten breaks of every class. Then
`bank-adapter reconcile` runs in a child process, timed wall-clock; its peak RSS comes
from `os.wait4`, so it is that child's alone (not the generator's, not this script's).
The report must count exactly the breaks injected, or the run fails: a fast wrong answer
does not count. Prints a table: rows (the bank file's), seconds, rows/s, peak RSS MB.
The job's budget is 256 MB at 1,000,000 rows; the growth from one size to the next shows
whether memory follows the day (it must not).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
BREAKS_EACH = 10
DAY = "2026-01-15"


@dataclass(frozen=True)
class Measure:
    rows: int
    seconds: float
    peak_rss_mb: float


def make_day(workdir: Path, rows: int) -> tuple[dict[str, str], Path, dict[str, int]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANK_ADAPTER_")}
    env |= {
        "BANK_ADAPTER_DATABASE_URL": f"sqlite:///{workdir / f'day-{rows}.db'}",
        "BANK_ADAPTER_PARTNERS_DIR": str(ROOT / "partners"),
        "BANK_ADAPTER_SANDBOX": "1",
    }
    bank_file = workdir / f"day-{rows}.csv"
    breaks = [
        "--missing-at-bank",
        "--missing-at-adapter",
        "--amount-mismatch",
        "--bill-mismatch",
        "--status-mismatch",
        "--duplicates",
        "--other-date",
    ]
    command = [str(PYTHON), str(ROOT / "scripts" / "make-day"), "--rows", str(rows)]
    command += ["--date", DAY, "--bank-file", str(bank_file)]
    command += [arg for flag in breaks for arg in (flag, str(BREAKS_EACH))]
    made = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    return env, bank_file, json.loads(made.stdout)["expectedBreaks"]


def reconcile(env: dict[str, str], bank_file: Path, report: Path) -> tuple[float, float, int]:
    command = [str(ROOT / ".venv" / "bin" / "bank-adapter"), "reconcile", "--partner", "RJHI"]
    command += ["--date", DAY, "--bank-file", str(bank_file), "--out", str(report)]
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4, not by Popen
    return seconds, usage.ru_maxrss / 1024, child.returncode  # ru_maxrss: KiB on Linux


def measure(workdir: Path, rows: int) -> Measure:
    env, bank_file, expected = make_day(workdir, rows)
    report_file = workdir / f"report-{rows}.json"
    seconds, peak, code = reconcile(env, bank_file, report_file)
    report = json.loads(report_file.read_text())
    if code != 1 or report["breakCounts"] != expected:
        raise SystemExit(f"wrong result at {rows} rows: exit {code}, {report['breakCounts']}")
    return Measure(report["bank"]["count"], seconds, peak)


def table(measures: list[Measure]) -> str:
    lines = ["| rows | seconds | rows/s | peak RSS MB |", "|---:|---:|---:|---:|"]
    for m in measures:
        lines.append(
            f"| {m.rows:,} | {m.seconds:.1f} | {m.rows / m.seconds:,.0f} | {m.peak_rss_mb:.0f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--keep", type=Path, help="work in DIR and keep the days there")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-reconcile-") as scratch:
        workdir = args.keep or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        measures = []
        for rows in args.rows:
            measures.append(measure(workdir, rows))
            print(f"{rows:,} rows done", file=sys.stderr)
    print(table(measures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
