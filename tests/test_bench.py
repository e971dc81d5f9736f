"""`bench/run.py --quick` runs end to end: a table with every row measured.

Speed is not judged here (the CI machine is shared and busy): only that each row got
answers, every one of them 200 and those checked in full correctly signed (the command
fails otherwise), so a positive rate in each row means the benchmark itself works.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.scenarios import ROWS

REPO = Path(__file__).resolve().parents[1]


def test_quick_run_prints_every_row_with_a_rate() -> None:
    done = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--engines", "sqlite", "--workers", "1"],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("row "))
    table = lines[header + 1 : header + 1 + len(ROWS)]
    assert [line[:42].strip() for line in table] == [row.name for row in ROWS]
    for line in table:
        rate = float(line[42:].split()[1])
        assert rate > 0, line
