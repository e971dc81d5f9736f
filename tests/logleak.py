"""The log-leak check over the whole suite: a pytest plugin (see `tests/conftest.py`).

Contract section 8: logs never carry an OTP, a key, a token or a full ID number. Every
test runs with the service's real logging pipeline (`bank_adapter.logging.configure`, JSON
lines, our own loggers at debug level) writing into a buffer emptied for each test, and
the stderr files of `bank-adapter serve` processes (`tests/serving.py` registers them with
`watch`) are read as they grow. After each test, every line written during it is scanned,
and a hit fails that test (an error at teardown, naming the line); what a process writes
after the last test (its shutdown) is scanned when the session ends and fails the run.

What counts as a leak, learnt without the tests' help:
- a token: the suite's admin tokens, any token a test registered, `Bearer <anything>`;
- an OTP: six digits right after the word `code` or `otp` (the SMS text says "code is");
- key material: a PEM marker, or a line of the sandbox private keys' PEM bodies;
- an ID number: a run of ten or more digits holding a 10-digit window that starts with
  1-4 and passes the Luhn check. The redaction masks every such run, so one left whole
  has gone around it.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
import structlog

from bank_adapter import logging as adapter_logging
from bank_adapter.domain.ids import luhn_valid

REPO = Path(__file__).resolve().parents[1]
SUITE_TOKENS = ("test-admin-token-0123456789", "sandbox-admin-token")

_OTP = re.compile(r"(?i)\b(?:code|otp)\b[^0-9\n]{0,12}(?<!\d)\d{6}(?!\d)")
_BEARER = re.compile(r"(?i)\bbearer\s+\S")
_PEM_MARKER = "-----BEGIN "
_DIGIT_RUN = re.compile(r"\d{10,}")

_secrets: set[str] = set(SUITE_TOKENS)
_watched: dict[Path, int] = {}  # a serve process's stderr file -> bytes scanned so far


def watch(log_file: Path, *secrets: str) -> None:
    """Scan `log_file` as it grows; `secrets` (e.g. the process's token) must not appear."""
    _watched.setdefault(log_file, 0)
    remember(*secrets)


def remember(*secrets: str) -> None:
    _secrets.update(secret for secret in secrets if secret)


def _private_key_lines() -> frozenset[str]:
    lines = set()
    for pem in (REPO / "partners" / "sandbox-keys").glob("*.key.pem"):
        lines |= {line for line in pem.read_text().splitlines() if len(line) >= 32}
    return frozenset(lines)


_KEY_LINES = _private_key_lines()


def leaks(line: str) -> list[str]:
    """What in `line` must never be logged (empty when nothing)."""
    found = [f"token {secret[:6]}…" for secret in _secrets if secret in line]
    if _BEARER.search(line):
        found.append("a bearer token")
    if _OTP.search(line):
        found.append("an OTP")
    if _PEM_MARKER in line or any(key_line in line for key_line in _KEY_LINES):
        found.append("key material")
    if any(_holds_id_number(run.group()) for run in _DIGIT_RUN.finditer(line)):
        found.append("a full ID number")
    return found


def _holds_id_number(run: str) -> bool:
    return any(
        run[start] in "1234" and luhn_valid(run[start : start + 10])
        for start in range(len(run) - 9)
    )


def _scan(lines: Iterable[str], where: str) -> list[str]:
    return [f"{where}: {', '.join(found)}: {line}" for line in lines if (found := leaks(line))]


def _scan_watched() -> list[str]:
    hits: list[str] = []
    for path, done in list(_watched.items()):
        if not path.exists():
            continue
        with path.open("rb") as log:
            log.seek(done)
            data = log.read()
        complete = data[: data.rfind(b"\n") + 1]  # a process may be writing the last line
        _watched[path] = done + len(complete)
        hits += _scan(complete.decode("utf-8", "replace").splitlines(), str(path.name))
    return hits


class _Sink(io.StringIO):
    """Where the service's logging writes during the suite; emptied by each test."""

    def take(self) -> str:
        text = self.getvalue()
        self.seek(0)
        self.truncate()
        return text


_SINK = _Sink()
_installed: list[object] = []  # the structlog logger factory of our configuration


def _capture() -> None:
    """The service's logging pipeline into `_SINK`, configured once and again only when a
    test replaced it (tests of the logging itself, commands that configure their own).
    Reconfiguring for every test would create a handler per test for nothing."""
    root = logging.getLogger()
    ours = any(getattr(handler, "stream", None) is _SINK for handler in root.handlers)
    if ours and _installed and structlog.get_config()["logger_factory"] is _installed[0]:
        return
    adapter_logging.configure(level="DEBUG", stream=_SINK, json=True)
    _installed[:] = [structlog.get_config()["logger_factory"]]


@pytest.fixture(autouse=True)
def _no_secret_in_logs() -> Iterator[None]:
    _capture()
    _SINK.take()  # what was written between tests belongs to none of them
    yield
    hits = _scan(_SINK.take().splitlines(), "in-process log") + _scan_watched()
    if hits:
        pytest.fail("secrets in the logs:\n" + "\n".join(hits), pytrace=False)


def pytest_sessionfinish(session: pytest.Session) -> None:
    hits = _scan_watched()
    if hits:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("secrets in the logs:\n" + "\n".join(hits), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
