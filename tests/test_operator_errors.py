"""Every operator mistake the command can meet ends it with ONE line on stderr, saying
what is wrong and what to do, and the exit code the README's table gives it; `--debug`
adds the traceback. Each case runs the real console script in a subprocess, as an
operator would type it, all cases in one parallel batch (a start costs about a second).
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bank_adapter.core.keys import generate, private_pem
from bank_adapter.exits import EXIT_BUG, explain
from tests.pg import free_port
from tests.serving import PARTNERS, REPO, bank_adapter_command, clean_environ

PASSWORD = "s3cret-Pw-never-shown"


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]
    env: Mapping[str, str]
    exit_code: int
    says: tuple[str, ...]  # what is wrong, and what to do
    never_says: tuple[str, ...] = field(default=())


@pytest.fixture(scope="module")
def busy_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("mistakes")
    (directory / "junk.pem").write_text("not a key\n")
    (directory / "adapter.key.pem").write_bytes(private_pem(generate("EC-P256")))
    (directory / "a-file").write_text("not a directory\n")
    return directory


def sandbox_env(workdir: Path, **settings: str) -> dict[str, str]:
    """A sandbox that would serve, but for the one setting each case gets wrong."""
    return {
        "BANK_ADAPTER_SANDBOX": "1",
        "BANK_ADAPTER_PARTNERS_DIR": str(PARTNERS),
        "BANK_ADAPTER_FEES_FILE": str(REPO / "fees.toml"),
        "BANK_ADAPTER_DATABASE_URL": f"sqlite:///{workdir / 'a.db'}",
        "BANK_ADAPTER_PORT": str(free_port()),
    } | settings


def cases(workdir: Path, busy_port: int) -> list[Case]:
    env = sandbox_env
    unreachable_pg = f"postgresql://adapter:{PASSWORD}@127.0.0.1:{free_port()}/adapter"
    return [
        Case("busy port", ("serve",), env(workdir, BANK_ADAPTER_PORT=str(busy_port)), 4,
             ("port is in use", f":{busy_port}", "BANK_ADAPTER_PORT")),
        Case("busy port, workers", ("serve", "--workers", "2"),
             env(workdir, BANK_ADAPTER_PORT=str(busy_port)), 4,
             ("port is in use", f":{busy_port}", "BANK_ADAPTER_PORT")),
        Case("busy admin port", ("serve",), env(workdir, BANK_ADAPTER_ADMIN_PORT=str(busy_port)),
             4, ("port is in use", f":{busy_port}", "BANK_ADAPTER_ADMIN_PORT")),
        Case("admin port is the port", ("serve",),
             env(workdir, BANK_ADAPTER_PORT="18999", BANK_ADAPTER_ADMIN_PORT="18999"), 2,
             ("BANK_ADAPTER_ADMIN_PORT: 18999 is also BANK_ADAPTER_PORT", "a port of its own")),
        Case("admin port out of range", ("serve",),
             env(workdir, BANK_ADAPTER_ADMIN_PORT="65536"), 2,
             ("BANK_ADAPTER_ADMIN_PORT", "outside 1..65535")),
        Case("too many workers", ("serve",), env(workdir, BANK_ADAPTER_WORKERS="65"), 2,
             ("BANK_ADAPTER_WORKERS", "outside 1..64")),
        Case("unreachable PostgreSQL, workers", ("serve", "--workers", "2"),
             env(workdir, BANK_ADAPTER_DATABASE_URL=unreachable_pg), 3,
             ("cannot use the database", "BANK_ADAPTER_DATABASE_URL"), (PASSWORD,)),
        Case("not this machine's address", ("serve",),
             env(workdir, BANK_ADAPTER_HOST="192.0.2.1"), 4,
             ("cannot listen on 192.0.2.1", "BANK_ADAPTER_HOST")),
        Case("unreachable PostgreSQL", ("serve",),
             env(workdir, BANK_ADAPTER_DATABASE_URL=unreachable_pg), 3,
             ("cannot use the database postgresql://adapter:***@127.0.0.1",
              "BANK_ADAPTER_DATABASE_URL", "database is up"), (PASSWORD,)),
        Case("unreachable PostgreSQL, db upgrade", ("db", "upgrade"),
             env(workdir, BANK_ADAPTER_DATABASE_URL=unreachable_pg), 3,
             ("cannot use the database",), (PASSWORD,)),
        Case("SQLite file where none can be", ("db", "upgrade"),
             env(workdir, BANK_ADAPTER_DATABASE_URL=f"sqlite:///{workdir / 'a-file' / 'x.db'}"),
             3, ("cannot use the database", "BANK_ADAPTER_DATABASE_URL")),
        Case("mysql URL", ("serve",),
             env(workdir, BANK_ADAPTER_DATABASE_URL=f"mysql://adapter:{PASSWORD}@db/adapter"), 2,
             ("unsupported database 'mysql'", "postgresql://"), (PASSWORD,)),
        Case("not a URL", ("statement", "--partner", "RJHI", "--date", "2026-01-01"),
             env(workdir, BANK_ADAPTER_DATABASE_URL=PASSWORD), 2,
             ("not a database URL", "sqlite:///"), (PASSWORD,)),
        Case("missing fees.toml", ("serve",),
             env(workdir, BANK_ADAPTER_FEES_FILE=str(workdir / "fees.toml")), 2,
             ("fees.toml: cannot read", "BANK_ADAPTER_FEES_FILE")),
        Case("partners directory is a file", ("serve",),
             env(workdir, BANK_ADAPTER_PARTNERS_DIR=str(workdir / "a-file")), 2,
             ("cannot read the partners directory", "BANK_ADAPTER_PARTNERS_DIR")),
        Case("no partners directory", ("partners", "check"),
             env(workdir, BANK_ADAPTER_PARTNERS_DIR=str(workdir / "none")), 2,
             ("cannot read the partners directory", "BANK_ADAPTER_PARTNERS_DIR")),
        Case("sandbox partners outside sandbox mode", ("serve",),
             env(workdir, BANK_ADAPTER_SANDBOX="0",
                 BANK_ADAPTER_SIGNING_KEY=str(workdir / "adapter.key.pem")), 2,
             ("outside sandbox mode", "BANK_ADAPTER_SANDBOX=1", "scripts/sandbox")),
        Case("signing key not a key", ("serve",),
             env(workdir, BANK_ADAPTER_SIGNING_KEY=str(workdir / "junk.pem")), 2,
             ("not an unencrypted private key PEM", "BANK_ADAPTER_SIGNING_KEY")),
        Case("signing key missing", ("serve",),
             env(workdir, BANK_ADAPTER_SIGNING_KEY=str(workdir / "none.pem")), 2,
             ("BANK_ADAPTER_SIGNING_KEY: cannot use",)),
        Case("TLS certificate not a certificate", ("serve",),
             env(workdir, BANK_ADAPTER_TLS_CERT=str(workdir / "junk.pem"),
                 BANK_ADAPTER_TLS_KEY=str(workdir / "junk.pem")), 2,
             ("BANK_ADAPTER_TLS_CERT", "cannot load", "PEM certificate")),
        Case("bad log level", ("db", "current"), env(workdir, BANK_ADAPTER_LOG_LEVEL="LOUD"), 2,
             ("BANK_ADAPTER_LOG_LEVEL", "DEBUG, INFO, WARNING, ERROR")),
        Case("bad port", ("serve",), env(workdir, BANK_ADAPTER_PORT="eighty"), 2,
             ("BANK_ADAPTER_PORT", "expected an integer")),
        Case("demo without a service", ("demo", "--admin-token", "t"),
             env(workdir, BANK_ADAPTER_PORT=str(free_port())), 2,
             ("cannot fetch the adapter's keys", "scripts/sandbox", "BANK_ADAPTER_PORT")),
        Case("demo without a token", ("demo",), env(workdir), 2,
             ("--admin-token or BANK_ADAPTER_ADMIN_TOKEN",)),
        Case("downgrade to no such revision", ("db", "downgrade", "nope"), env(workdir), 2,
             ("'nope'", "db current")),
        Case("keys generate over an existing key", ("keys", "generate", "--kid", "junk",
             "--dir", str(workdir)), env(workdir), 2, ("not overwriting",)),
    ]  # fmt: skip


def run(case: Case, cwd: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        bank_adapter_command(*case.args, *flags),
        cwd=cwd,
        env=clean_environ() | dict(case.env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def outcomes(
    workdir: Path, busy_port: int
) -> dict[str, tuple[Case, subprocess.CompletedProcess[str]]]:
    (workdir / "junk.key.pem").write_text("an operator's key\n")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {c.name: (c, pool.submit(run, c, workdir)) for c in cases(workdir, busy_port)}
        debug = cases(workdir, busy_port)[0]
        futures["--debug"] = (debug, pool.submit(run, debug, workdir, "--debug"))
        return {name: (c, future.result()) for name, (c, future) in futures.items()}


NAMES = [case.name for case in cases(Path("/nowhere"), 1)]


@pytest.mark.parametrize("name", NAMES)
def test_a_mistake_gets_one_line_and_its_exit_code(outcomes, name):
    case, result = outcomes[name]
    lines = result.stderr.splitlines()

    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("bank-adapter: ")
    for expected in case.says:
        assert expected in lines[0]
    for secret in case.never_says:
        assert secret not in result.stderr + result.stdout
    assert result.returncode == case.exit_code, result.stderr


def test_debug_adds_the_traceback_before_the_same_line(outcomes):
    _case, plain = outcomes["busy port"]
    _case, debug = outcomes["--debug"]
    lines = debug.stderr.splitlines()

    assert debug.returncode == plain.returncode == 4
    assert lines[0] == "Traceback (most recent call last):"
    assert "OSError" in debug.stderr
    assert lines[-1] == plain.stderr.strip()


def test_nothing_was_written_where_a_key_exists(workdir, outcomes):
    assert (workdir / "junk.key.pem").read_text() == "an operator's key\n"


def test_an_error_nobody_foresaw_is_one_line_naming_it_and_exit_70():
    digits = "1" + "234567890"  # an ID-number-shaped run of digits in the message
    line, code = explain(RuntimeError(f"disk said no\nabout {digits}"))

    assert code == EXIT_BUG == 70
    assert "\n" not in line
    assert line.startswith("unexpected error RuntimeError: disk said no about ")
    assert digits not in line
    assert "--debug" in line
