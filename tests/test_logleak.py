"""The suite's log-leak check (`tests/logleak.py`) finds what it must and only that."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import logleak
from tests.conftest import ADMIN_TOKEN

REPO = Path(__file__).resolve().parents[1]
SANDBOX_KEY = (REPO / "partners" / "sandbox-keys" / "rjhi-test-2026-01.key.pem").read_text()


def line(**fields: object) -> str:
    return json.dumps({"timestamp": "2026-12-05T16:13:25.593459Z", "level": "info", **fields})


@pytest.mark.parametrize(
    ("logged", "kind"),
    [
        (line(event="internal", header=f"Bearer {ADMIN_TOKEN}"), "token"),
        (line(event=f"token is {ADMIN_TOKEN}"), "token"),
        (line(event="auth", authorization="bearer abc"), "a bearer token"),
        (line(event="Your e-services activation code is 482913. It expires"), "an OTP"),
        (line(event="confirm", otp="482913"), "an OTP"),
        (line(event="key", pem="-----BEGIN PRIVATE KEY-----\nMIGH"), "key material"),
        (line(event="key", body=SANDBOX_KEY.splitlines()[1]), "key material"),
        (line(event="lookup", path="/internal/v1/accounts/1000000016"), "a full ID number"),
        (line(event="glued", text="x99910000000167"), "a full ID number"),
    ],
)
def test_a_leak_is_found(logged: str, kind: str) -> None:
    assert any(found.startswith(kind) for found in logleak.leaks(logged)), logleak.leaks(logged)


@pytest.mark.parametrize(
    "logged",
    [
        line(event="lookup", path="/internal/v1/accounts/1*******16"),
        line(event="partner_request", code="OTP_INVALID", status=422, ms=12.5),
        line(
            event="sms", mobile="+966512345678", message_id="f47ac10b-58cc-4372-a567-0e02b2c3d479"
        ),
        line(event="id not luhn-valid", text="1000000017"),
        line(event="starts with 5", text="5000000016"),
        line(event="pem", kid="rjhi-test-2026-01", port=43341),
    ],
)
def test_ordinary_lines_pass(logged: str) -> None:
    assert logleak.leaks(logged) == []


def test_a_registered_secret_is_a_leak() -> None:
    logleak.remember("process-token-5f1c2e")
    assert logleak.leaks("x process-token-5f1c2e y") == ["token proces…"]


def test_a_test_whose_code_logs_a_secret_fails(tmp_path: Path) -> None:
    """The check runs in the normal suite: a test that logs an ID number fails."""
    test_file = tmp_path / "test_leaky.py"
    test_file.write_text(
        "from bank_adapter.logging import get_logger\n"
        "import logging\n"
        "def test_leaky():\n"
        "    logging.getLogger('bank_adapter.x').error('sms text: code is 482913')\n"
        "def test_clean():\n"
        "    get_logger('bank_adapter.x').info('lookup', path='/accounts/1000000016')\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.logleak", "-q", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), str(test_file)],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout
    assert "2 passed, 1 error" in done.stdout, done.stdout  # the clean one: its ID was masked
    assert "ERROR at teardown of test_leaky" in done.stdout
    assert "an OTP" in done.stdout
