"""`bank-adapter serve` in a process of its own, as an operator runs it.

Used by the tests that need the real command: the demo against a running sandbox, kill -9
and restart, the logs a real process writes, two instances on one PostgreSQL.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests import logleak
from tests.pg import free_port

REPO = Path(__file__).resolve().parents[1]
PARTNERS = REPO / "partners"
READY_WITHIN_S = 30.0


def bank_adapter_command(*args: str) -> list[str]:
    """The installed `bank-adapter` script, as an operator would type it."""
    script = Path(sys.executable).with_name("bank-adapter")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "bank_adapter.cli", *args]


def clean_environ() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if "BANK_ADAPTER" not in name}


def http_status(url: str) -> int:
    # The URL is always http://127.0.0.1:<port>/..., built by the tests.
    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
        status: int = response.status
        return status


def healthy_within(process: subprocess.Popen[bytes], url: str, seconds: float) -> bool:
    """True once `url`/healthz answers 200; False if `process` exits or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if http_status(url + "/healthz") == 200:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


@dataclass
class ServeProcess:
    """One `bank-adapter serve` on `workdir`; restartable (each start logs to a new file).

    By default a sandbox on an SQLite file in `workdir` with the repository's sandbox
    partners; `settings` overrides or adds BANK_ADAPTER_* variables, `args` are given to
    `serve` (`--workers 2`).
    """

    workdir: Path
    settings: dict[str, str] = field(default_factory=dict)
    name: str = "serve"
    token: str = field(default_factory=lambda: secrets.token_hex(24))
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    logs: list[Path] = field(default_factory=list)
    args: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        """The current (last) start's stderr."""
        return self.logs[-1]

    def environ(self) -> dict[str, str]:
        return (
            clean_environ()
            | {
                "BANK_ADAPTER_SANDBOX": "1",
                "BANK_ADAPTER_ADMIN_TOKEN": self.token,
                "BANK_ADAPTER_HOST": "127.0.0.1",
                "BANK_ADAPTER_DATABASE_URL": f"sqlite:///{self.workdir / 'a.db'}",
                "BANK_ADAPTER_PARTNERS_DIR": str(PARTNERS),
                "BANK_ADAPTER_FEES_FILE": str(REPO / "fees.toml"),
                "BANK_ADAPTER_VAR_DIR": str(self.workdir / "var"),
            }
            | self.settings
            | {"BANK_ADAPTER_PORT": str(self.port)}
        )

    def start(self, *, wait: bool = True) -> None:
        assert self.process is None, "already running"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.logs.append(self.workdir / f"{self.name}-{len(self.logs) + 1}.stderr")
        logleak.watch(self.log, self.token)
        with self.log.open("wb") as stderr:
            self.process = subprocess.Popen(
                bank_adapter_command("serve", *self.args),
                env=self.environ(),
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        if wait:
            self.wait_until_healthy()

    def wait_until_healthy(self) -> None:
        assert self.process is not None
        if healthy_within(self.process, self.url, READY_WITHIN_S):
            return
        if self.process.poll() is not None:
            self.process = None
            raise AssertionError(f"{self.name} exited early:\n{self.stderr()}")
        self.stop()
        raise AssertionError(f"{self.name}: /healthz not 200 within {READY_WITHIN_S} s")

    def kill_now(self) -> None:
        """SIGKILL, without waiting: callable from inside an event loop callback."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)

    def reap(self) -> int:
        assert self.process is not None
        returncode = self.process.wait(timeout=10)
        self.process = None
        return returncode

    def stop(self) -> int | None:
        """SIGTERM and wait (SIGKILL after 10 s); the exit code, None if not running."""
        if self.process is None:
            return None
        self.process.terminate()
        try:
            returncode = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            returncode = self.process.wait()
        self.process = None
        return returncode

    def stderr(self) -> str:
        return "".join(log.read_text(errors="replace") for log in self.logs)[-4000:]

    def log_events(self, event: str) -> int:
        return sum(1 for line in self.log.read_text().splitlines() if f'"{event}"' in line)
