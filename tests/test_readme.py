"""The README stays true: its commands exist and its demo table matches the demo data."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

from bank_adapter import exits
from bank_adapter.sandbox import DEMO_ACCOUNTS
from tests.serving import ServeProcess

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


def test_the_exit_code_table_is_the_command_s():
    rows = re.findall(r"^\| (\d{1,3}) \| ", README, flags=re.MULTILINE)

    assert [int(code) for code in rows] == [
        exits.EXIT_OK,
        exits.EXIT_FAILED,
        exits.EXIT_CONFIG,
        exits.EXIT_DATABASE,
        exits.EXIT_LISTEN,
        exits.EXIT_BUG,
        exits.EXIT_INTERRUPTED,
    ]


def test_the_operator_guide_s_sqlite_backup_copies_a_live_database(tmp_path):
    """The guide's online backup, run as written on the file of a serving sandbox."""
    guide = (ROOT / "docs" / "operator-guide.md").read_text(encoding="utf-8")
    (block,) = [b for b in guide.split("```sh\n")[1:] if "source.backup(copy)" in b]
    script = block.split("\n```", 1)[0].replace(".venv/bin/python", sys.executable)
    server = ServeProcess(tmp_path)
    server.start()
    try:
        register_an_account(server)
        (tmp_path / "var").mkdir(exist_ok=True)
        result = subprocess.run(
            ["bash", "-c", script.replace("var/bank-adapter.db", str(tmp_path / "a.db"))],
            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    finally:
        server.stop()

    assert (result.returncode, result.stdout) == (0, "ok\n"), result.stderr
    with sqlite3.connect(tmp_path / "var" / "backup.db") as copy:
        accounts = copy.execute("SELECT id_number FROM accounts").fetchall()
    assert accounts == [(ACCOUNT,)]


ACCOUNT = "1000000016"


def register_an_account(server: ServeProcess) -> None:
    body = {"idNumber": ACCOUNT, "mobile": "+966500000001", "biometricEnrolled": True,
            "idExpiry": "2031-01-01"}  # fmt: skip
    request = urllib.request.Request(  # noqa: S310 (http://127.0.0.1, built here)
        server.url + "/internal/v1/accounts",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status in (200, 201)
