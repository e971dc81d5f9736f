"""The real `bank-adapter conformance serve` and `conformance report` commands, in their own
processes, judging the SDK as a good bank and as a bank that retries under a new
reference after a lost answer."""

from __future__ import annotations

import json
import select
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bank_adapter.sandbox import partner_config
from tests.conformance.banks import Bank, expected_statuses, run_bank, statuses
from tests.pg import free_port
from tests.serving import REPO, bank_adapter_command, clean_environ

PARTNERS = REPO / "partners"
SERVES_WITHIN_S = 60


@contextmanager
def conformance_serve(tmp_path: Path, partner_id: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """A running kit: its URL and the fixtures line it printed."""
    port = free_port()
    env = clean_environ() | {
        "BANK_ADAPTER_HOST": "127.0.0.1",
        "BANK_ADAPTER_VAR_DIR": str(tmp_path / "var"),
        "BANK_ADAPTER_FEES_FILE": str(REPO / "fees.toml"),
        # Ignored by the kit, which always starts on a fresh database of its own.
        "BANK_ADAPTER_DATABASE_URL": f"sqlite:///{tmp_path / 'not-this.db'}",
    }
    command = bank_adapter_command(
        "conformance", "serve", "--partner-file", str(PARTNERS / f"{partner_id}.toml"),
        "--port", str(port),
    )  # fmt: skip
    with (tmp_path / "kit.stderr").open("wb") as stderr:
        process = subprocess.Popen(
            command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=stderr
        )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], SERVES_WITHIN_S)
        line = process.stdout.readline() if ready else b""
        assert line, f"no fixtures line: {(tmp_path / 'kit.stderr').read_text()[-2000:]}"
        yield f"http://127.0.0.1:{port}", json.loads(line)
    finally:
        process.terminate()
        returncode = process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
        assert returncode == 0
    assert not (tmp_path / "not-this.db").exists()


def report_command(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = bank_adapter_command("conformance", "report", "--url", url, *args)
    return subprocess.run(command, env=clean_environ(), capture_output=True, text=True, timeout=60)


async def play(url: str, partner_id: str, mistake: str | None) -> None:
    async with aiohttp.ClientSession() as http:
        await run_bank(Bank(url, partner_config(PARTNERS, partner_id), http), mistake)


async def test_the_fixtures_line_is_what_the_fixtures_endpoint_answers(tmp_path):
    with conformance_serve(tmp_path, "RJHI") as (url, printed):
        async with (
            aiohttp.ClientSession() as http,
            http.get(url + "/sandbox/v1/conformance/fixtures") as response,
        ):
            served = await response.json()
    assert printed == served
    assert printed["partner"] == "RJHI"
    assert [a["purpose"] for a in printed["accounts"]] == ["activation"]
    assert [(b["purpose"], b["amount"]) for b in printed["bills"]] == [
        ("payment", "300.00"),
        ("lost_answer", "150.00"),
    ]


async def test_a_good_bank_gets_a_passing_report_and_exit_0(tmp_path):
    with conformance_serve(tmp_path, "RJHI") as (url, _):
        await play(url, "RJHI", None)
        as_json = report_command(url, "--json", "--html", str(tmp_path / "report.html"))
        as_text = report_command(url)
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert statuses(report) == expected_statuses(None)
    assert as_text.returncode == 0
    assert "RJHI conformance: 10 of 10 rules passed, 0 failed, 0 not exercised" in as_text.stdout
    page = (tmp_path / "report.html").read_text()
    assert "Every rule passed" in page
    assert "PAYMENT-RETRY-SAME-REF" in page


async def test_a_bank_that_changes_the_reference_after_a_lost_answer_fails_that_rule(tmp_path):
    with conformance_serve(tmp_path, "RJHI") as (url, _):
        await play(url, "RJHI", "new reference after the lost answer")
        result = report_command(url, "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert statuses(report) == expected_statuses("new reference after the lost answer")
    rule = next(r for r in report["rules"] if r["id"] == "PAYMENT-RETRY-SAME-REF")
    assert "charged twice" in rule["detail"]
    assert len(rule["evidence"]) == 1


def test_report_without_a_kit_says_so_in_one_line_and_exits_2():
    result = report_command(f"http://127.0.0.1:{free_port()}")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "cannot read the report" in result.stderr


@pytest.mark.parametrize("path", ["fixtures", "sms?mobile=%2B966500000001", "report"])
async def test_the_kit_paths_answer_404_on_a_normal_server(service, path):
    async with service.http.get(service.url + "/sandbox/v1/conformance/" + path) as response:
        assert response.status == 404
