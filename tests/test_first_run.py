"""A first run with no surprises: what a new operator meets before anything serves.

The command's version and its `python -m` form, -v/-q/--debug on every command, the
sandbox settings file that lets the README's commands run as written, generated keys
and days kept under git-ignored var/, and a .gitignore that keeps private keys out.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bank_adapter import cli, command_settings
from bank_adapter.settings import Settings, SettingsError
from tests.serving import PARTNERS, REPO, bank_adapter_command, clean_environ


def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        bank_adapter_command(*args),
        cwd=cwd,
        env=clean_environ() | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --- the command ---------------------------------------------------------------------


def test_version_is_the_installed_distribution_s(tmp_path):
    result = run("--version", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"bank-adapter {importlib.metadata.version('bank-adapter')}\n"


def test_python_dash_m_runs_the_same_command(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bank_adapter", "db", "--help"],
        cwd=tmp_path, env=clean_environ(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: bank-adapter db ")
    for action in ["upgrade", "current", "downgrade", "purge"]:
        assert action in result.stdout


def every_command(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[Any]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from every_command(sub, (*path, name))


def test_every_command_takes_verbose_quiet_and_debug():
    commands = dict(every_command(cli._parser()))

    assert len(commands) > 15
    for path, parser in commands.items():
        text = parser.format_help()
        for option in ["-v, --verbose", "-q, --quiet", "--debug"]:
            assert option in text, (path, option)


@pytest.mark.parametrize(
    ("argv", "level"),
    [
        (["db", "current"], "INFO"),
        (["db", "current", "-v"], "DEBUG"),
        (["-v", "db", "current"], "DEBUG"),
        (["db", "-q", "current"], "WARNING"),
        (["-q", "db", "current", "-q"], "WARNING"),  # the last one given counts
        (["db", "current", "-qq"], "ERROR"),
        (["db", "current", "-vvv"], "DEBUG"),
    ],
)
def test_verbose_and_quiet_move_the_log_level_either_side_of_the_command(argv, level):
    args = cli._parser().parse_args(argv)

    assert cli._log_level(args) == level


# --- the sandbox settings file -------------------------------------------------------


def write_sandbox_file(directory: Path, text: str) -> Path:
    (directory / "var").mkdir(parents=True, exist_ok=True)
    path = directory / "var" / "sandbox.toml"
    path.write_text(text)
    return path


SANDBOX_FILE = 'sandbox = true\nadmin_token = "t0ken"\nhost = "127.0.0.1"\nport = "8123"\n'


def test_the_sandbox_file_stands_under_the_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_sandbox_file(tmp_path, SANDBOX_FILE)
    environ = {"BANK_ADAPTER_PORT": "9000"}

    defaults = command_settings.sandbox_defaults(environ)
    settings = Settings.from_env(defaults | environ)

    assert (settings.sandbox, settings.admin_token, settings.port) == (True, "t0ken", 9000)


def test_a_config_file_named_replaces_the_sandbox_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_sandbox_file(tmp_path, SANDBOX_FILE)

    assert command_settings.sandbox_defaults({"BANK_ADAPTER_CONFIG": "/etc/x.toml"}) == {}
    assert command_settings.sandbox_defaults({"BANK_ADAPTER_VAR_DIR": "elsewhere"}) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "sandbox = true\nlog_level = 'DEBUG'\n",
            "unknown setting(s) log_level",
        ),
        ("sandbox = tru\n", "cannot read"),
    ],
)
def test_an_unusable_sandbox_file_is_refused_naming_it(tmp_path, text, message):
    path = write_sandbox_file(tmp_path, text)

    with pytest.raises(SettingsError) as raised:
        command_settings.sandbox_defaults({"BANK_ADAPTER_VAR_DIR": str(path.parent)})
    assert str(raised.value).startswith(f"{path}: ")
    assert message in str(raised.value)


@pytest.fixture(scope="module")
def sandbox_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory as scripts/sandbox leaves it: its settings file, a seeded database."""
    directory = tmp_path_factory.mktemp("sandbox")
    write_sandbox_file(directory, SANDBOX_FILE + f'partners_dir = "{PARTNERS}"\n')
    seeded = run("sandbox", "seed", cwd=directory)
    assert seeded.returncode == 0, seeded.stderr
    return directory


def test_the_readme_s_commands_run_against_the_sandbox_as_written(sandbox_dir):
    today = date.today().isoformat()
    checked = run("partners", "check", cwd=sandbox_dir)
    statement = run("statement", "--partner", "RJHI", "--date", today, cwd=sandbox_dir)

    assert checked.returncode == 0, checked.stderr
    assert "5 partner(s) OK" in checked.stdout
    assert statement.returncode == 0, statement.stderr
    assert json.loads(statement.stdout)["partner"] == "RJHI"


def test_verbose_says_the_sandbox_file_is_read(sandbox_dir):
    quiet = run("partners", "check", cwd=sandbox_dir)
    verbose = run("partners", "check", "-v", cwd=sandbox_dir)

    assert "sandbox_settings" not in quiet.stderr
    (line,) = [json.loads(line) for line in verbose.stderr.splitlines()]
    assert (line["event"], line["file"]) == ("sandbox_settings", "var/sandbox.toml")


def test_serve_never_reads_the_sandbox_file(sandbox_dir):
    result = run("serve", cwd=sandbox_dir, BANK_ADAPTER_PARTNERS_DIR=str(PARTNERS))

    assert result.returncode == 2
    assert "outside sandbox mode" in result.stderr


# --- var/ and .gitignore -------------------------------------------------------------


def test_keys_generate_writes_under_var_keys_by_default(tmp_path):
    result = run("keys", "generate", "--kid", "rjhi-2027-01", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "var" / "keys" / "rjhi-2027-01.key.pem").is_file()
    assert (tmp_path / "var" / "keys" / "rjhi-2027-01.pem").is_file()
    assert "var/keys/rjhi-2027-01.key.pem" in result.stdout


def test_make_day_writes_its_bank_file_under_var_by_default(tmp_path):
    made = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make-day"), "--rows", "5", "--date",
         "2026-01-15", "--database-url", f"sqlite:///{tmp_path / 'day.db'}"],
        cwd=tmp_path, env=clean_environ(), capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip

    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["bankFile"] == "var/settlement-RJHI-2026-01-15.csv"
    assert len((tmp_path / "var" / "settlement-RJHI-2026-01-15.csv").read_text().splitlines()) == 6


@pytest.mark.parametrize(
    ("path", "ignored"),
    [
        ("rjhi-2027-01.key.pem", True),
        ("partners/keys/rjhi-2027-01.key.pem", True),
        ("partners/sandbox-keys/rjhi-test-2026-01.key.pem", False),
        ("partners/keys/rjhi-2027-01.pem", False),
        ("var/keys/rjhi-2027-01.pem", True),
        ("var/settlement-RJHI-2026-01-15.csv", True),
    ],
)
def test_gitignore_keeps_private_keys_and_var_out(path, ignored):
    result = subprocess.run(
        ["git", "-C", str(REPO), "check-ignore", "--no-index", "--quiet", path],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode == (0 if ignored else 1), result.stderr
