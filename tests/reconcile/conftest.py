"""Running `scripts/make-day` and the `bank-adapter` command as subprocesses, against a
temporary SQLite file (or a PostgreSQL database URL) and the repository's sandbox
partners."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAKE_DAY = ROOT / "scripts" / "make-day"
SCRIPT = ROOT / ".venv" / "bin" / "bank-adapter"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "bank_adapter.cli"]

MakeDay = Callable[..., dict[str, Any]]
Run = Callable[..., subprocess.CompletedProcess[str]]
PeakRss = Callable[[Sequence[str], Path], tuple[int, int]]


def environment(database: Path | str, **extra: str) -> dict[str, str]:
    """The command's environment; `database` is an SQLite file or a database URL."""
    url = database if isinstance(database, str) else f"sqlite:///{database}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANK_ADAPTER_")}
    env |= {
        "BANK_ADAPTER_DATABASE_URL": url,
        "BANK_ADAPTER_PARTNERS_DIR": str(ROOT / "partners"),
        "BANK_ADAPTER_SANDBOX": "1",
        "COLUMNS": "200",
    }
    return env | extra


@pytest.fixture(scope="session")
def make_day() -> MakeDay:
    """make_day(database, bank_file, date, seed=…, rows=…, duplicates=…, …) -> summary."""

    def make(database: Path | str, bank_file: Path, day: str, **options: Any) -> dict[str, Any]:
        flags = [f"--{name.replace('_', '-')}" for name in options]
        args = [
            arg
            for flag, value in zip(flags, options.values(), strict=True)
            for arg in ((flag,) if value is True else (flag, str(value)))
        ]
        made = subprocess.run(
            [sys.executable, str(MAKE_DAY), "--bank-file", str(bank_file), "--date", day, *args],
            env=environment(database),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        summary: dict[str, Any] = json.loads(made.stdout)
        return summary

    return make


@pytest.fixture(scope="session")
def run() -> Run:
    """run(args, database, **env) -> the finished `bank-adapter` process."""

    def run_command(
        args: Sequence[str], database: Path | str, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*COMMAND, *args],
            env=environment(database, **env),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return run_command


# On Linux a child's peak RSS starts from its parent's at fork, so a child of pytest
# (hundreds of MB by then) would report pytest's peak. A small interpreter in between
# forks the job and reports the job's own peak.
_MEASURE = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss * 1024)
"""


@pytest.fixture(scope="session")
def peak_rss() -> PeakRss:
    """peak_rss(args, database) -> exit code and peak RSS in bytes of that job alone."""

    def measure(args: Sequence[str], database: Path) -> tuple[int, int]:
        result = subprocess.run(
            [sys.executable, "-c", _MEASURE, *COMMAND, *args],
            env=environment(database),
            capture_output=True,
            text=True,
            check=True,
        )
        code, peak = result.stdout.split()
        return int(code), int(peak)

    return measure
