"""`scripts/sandbox` as a new operator runs it, then the README's next commands as written.

The script runs in a copy of the repository's layout (the script itself, the sandbox
partners, fees.toml, and this suite's `.venv`), so its `var/` is the test's. Only
`scripts/setup` is replaced, by a no-op: the test runner has just run the real one
(`scripts/test` starts with it), and a second would reinstall the package in editable
mode from the copy. What is checked: the banner says where it serves, where the data
goes, the admin token and how to stop it; `GET /` is the sandbox page; `bank-adapter
demo` with no options finds the sandbox on its non-default port through var/sandbox.toml
and passes; `statement` and `partners check` work without BANK_ADAPTER_SANDBOX; Ctrl-C
stops it cleanly.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bank_adapter.clock import riyadh_date
from tests.pg import free_port
from tests.serving import READY_WITHIN_S, REPO, clean_environ, healthy_within, http_status


@dataclass
class Sandbox:
    root: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def banner(self) -> str:
        return (self.root / "stdout").read_text()

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The README's way: the project's script, from the repository's root."""
        return subprocess.run(
            [str(self.root / ".venv" / "bin" / "bank-adapter"), *args],
            cwd=self.root,
            env=clean_environ(),
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )


def repository_layout(root: Path) -> None:
    (root / "scripts").mkdir(parents=True)
    shutil.copy2(REPO / "scripts" / "sandbox", root / "scripts" / "sandbox")
    setup = root / "scripts" / "setup"
    setup.write_text("#!/bin/sh\n# The test runner ran the real scripts/setup already.\n")
    setup.chmod(0o755)
    venv = REPO / ".venv"
    assert venv.is_dir(), "run scripts/setup --dev (or scripts/test) first"
    for name, target in [(".venv", venv), ("partners", REPO / "partners")]:
        (root / name).symlink_to(target, target_is_directory=True)
    (root / "fees.toml").symlink_to(REPO / "fees.toml")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    root = tmp_path_factory.mktemp("clone")
    repository_layout(root)
    port = free_port()
    with (root / "stdout").open("wb") as stdout, (root / "stderr").open("wb") as stderr:
        process = subprocess.Popen(
            [str(root / "scripts" / "sandbox")],
            cwd=root,
            env=clean_environ() | {"BANK_ADAPTER_PORT": str(port)},
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )
    running = Sandbox(root, port, process)
    try:
        wait_until_healthy(running)
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def wait_until_healthy(sandbox: Sandbox) -> None:
    # Twice a server's time: the script migrates and seeds the database first.
    if not healthy_within(sandbox.process, sandbox.url, READY_WITHIN_S * 2):
        raise AssertionError(f"no /healthz: {(sandbox.root / 'stderr').read_text()}")


def test_the_banner_says_where_what_and_how_to_stop(sandbox):
    banner = sandbox.banner()

    assert f"serving on {sandbox.url}" in banner
    assert "var/bank-adapter.db (SQLite)" in banner
    assert "admin token: sandbox-admin-token" in banner
    assert "Ctrl-C" in banner
    assert "1000000016" in banner  # the demo accounts, as seeded


def test_the_settings_file_describes_the_running_sandbox(sandbox):
    text = (sandbox.root / "var" / "sandbox.toml").read_text()

    assert "sandbox = true" in text
    assert f'port = "{sandbox.port}"' in text
    assert 'admin_token = "sandbox-admin-token"' in text


def test_the_root_is_the_sandbox_page(sandbox):
    assert http_status(sandbox.url + "/") == 200


def test_the_demo_finds_the_sandbox_on_its_port_without_options(sandbox):
    result = sandbox.run("demo")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 failed" in result.stdout


def test_the_operator_commands_work_as_the_readme_writes_them(sandbox):
    today = riyadh_date(datetime.now(UTC)).isoformat()
    checked = sandbox.run("partners", "check")
    statement = sandbox.run("statement", "--partner", "RJHI", "--date", today)

    assert checked.returncode == 0, checked.stderr
    assert "5 partner(s) OK" in checked.stdout
    assert statement.returncode == 0, statement.stderr
    assert json.loads(statement.stdout)["partner"] == "RJHI"


def test_ctrl_c_stops_it_cleanly(sandbox):
    sandbox.process.send_signal(signal.SIGINT)

    assert sandbox.process.wait(timeout=30) == 0
    assert '"stopping"' in (sandbox.root / "stderr").read_text()
