"""`bank-adapter serve` refuses to start on a secret that is set but empty (contract
section 8): exit code 2 and exactly one line on stderr naming the setting, never a
service with its internal API open to an empty bearer token."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.serving import PARTNERS, REPO, bank_adapter_command, clean_environ, free_port

# Generous: the command imports the whole service on a busy machine; it exits at once.
EXIT_WITHIN_S = 120


def serve(tmp_path: Path, settings: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = clean_environ() | {
        "BANK_ADAPTER_SANDBOX": "1",
        "BANK_ADAPTER_HOST": "127.0.0.1",
        "BANK_ADAPTER_PORT": str(free_port()),
        "BANK_ADAPTER_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}",
        "BANK_ADAPTER_PARTNERS_DIR": str(PARTNERS),
        "BANK_ADAPTER_FEES_FILE": str(REPO / "fees.toml"),
        "BANK_ADAPTER_VAR_DIR": str(tmp_path / "var"),
    }
    return subprocess.run(
        bank_adapter_command("serve"),
        env=env | settings,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=EXIT_WITHIN_S,
        check=False,
    )


def blank_file(tmp_path: Path) -> str:
    path = tmp_path / "blank-secret"
    path.write_text(" \n\t\n")
    return str(path)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BANK_ADAPTER_ADMIN_TOKEN", ""),
        ("BANK_ADAPTER_ADMIN_TOKEN", "   "),
        ("BANK_ADAPTER_ADMIN_TOKEN_FILE", "blank file"),
        ("BANK_ADAPTER_OTP_KEY", "\t"),
        ("BANK_ADAPTER_OTP_KEY_FILE", "blank file"),
        ("BANK_ADAPTER_SIGNING_KEY", " "),
        ("BANK_ADAPTER_DATABASE_URL_FILE", "blank file"),
    ],
)
def test_serve_refuses_a_blank_secret_in_one_line(tmp_path, variable, value):
    value = blank_file(tmp_path) if value == "blank file" else value

    done = serve(tmp_path, {variable: value})

    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert variable in lines[0]
    assert "Traceback" not in done.stderr


def test_serve_refuses_a_blank_secret_in_the_config_file(tmp_path):
    config = tmp_path / "bank-adapter.toml"
    config.write_text('admin_token = ""\n')

    done = serve(tmp_path, {"BANK_ADAPTER_CONFIG": str(config)})

    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "bank-adapter: BANK_ADAPTER_ADMIN_TOKEN is set but empty; unset it or give it a value"
    ]


def test_serve_refuses_an_empty_signing_key_file_naming_the_setting(tmp_path):
    key = tmp_path / "adapter.key.pem"
    key.write_text("\n")

    done = serve(tmp_path, {"BANK_ADAPTER_SIGNING_KEY": str(key)})

    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "BANK_ADAPTER_SIGNING_KEY" in lines[0]


def test_serve_refuses_an_empty_generated_otp_key(tmp_path):
    """`var/otp-key` is made once; emptied later (a full disk, a bad restore) it is refused,
    never used as an empty HMAC key."""
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "otp-key").write_text("\n")

    done = serve(tmp_path, {})

    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "BANK_ADAPTER_OTP_KEY" in lines[0]
