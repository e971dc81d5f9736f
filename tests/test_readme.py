"""The README stays true: its commands exist and its demo table matches the demo data."""

from __future__ import annotations

import re
from pathlib import Path

from bank_adapter.sandbox import DEMO_ACCOUNTS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_quick_start_commands_exist_and_ci_runs_the_test_command():
    block = README.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["scripts/sandbox", "scripts/test"]
    for command in commands:
        assert (ROOT / command).stat().st_mode & 0o111
    assert "exec scripts/test" in (ROOT / ".ci" / "run").read_text()


def test_demo_accounts_table_matches_the_seed_data():
    rows = re.findall(r"^\| (\d{10}) \| (\+9665\d{8}) \| (.+?) \|$", README, flags=re.MULTILINE)
    expected = [(d.account.id_number, d.account.mobile, d.note) for d in DEMO_ACCOUNTS]
    assert rows == expected
