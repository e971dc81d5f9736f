"""The `bank-adapter` command, run in subprocesses.

Starting the command costs about a second (it imports the whole service), so the runs
that depend on nothing go in one parallel batch (the `runs` fixture), and the tables
(every help page, every unusable partner file, usage errors) go through
`bank_adapter.cli.main` in one separate interpreter (`DRIVER`): the same argv parsing,
environment, exit codes, stdout and stderr, without paying the start-up once per case.
Representative cases of each table also run as the installed console script.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bank_adapter.core.keys import load_private_pem, load_public_pem, public_pem
from bank_adapter.sandbox import DEMO_ACCOUNTS
from bank_adapter.store import migrate
from bank_adapter.store.repository import Store, StoredAnswer

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / ".venv" / "bin" / "bank-adapter"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "bank_adapter.cli"]
SANDBOX_PARTNERS = ["BSFR", "NCBK", "RIBL", "RJHI", "SABB"]


def clean_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANK_ADAPTER_")}
    env["COLUMNS"] = "200"
    env.update(overrides)
    return env


def run(
    args: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args],
        cwd=cwd,
        env=dict(env) if env is not None else clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def run_all(
    jobs: Mapping[str, Callable[[], subprocess.CompletedProcess[str]]],
) -> dict[str, subprocess.CompletedProcess[str]]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


# Runs main(argv) with extra environment variables for each [argv, env] given as JSON;
# prints the exit code, stdout and stderr of each.
DRIVER = """
import contextlib, io, json, os, sys
from bank_adapter.cli import main
results = []
for argv, env in json.loads(sys.argv[1]):
    saved = dict(os.environ)
    os.environ.update(env)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    os.environ.clear()
    os.environ.update(saved)
    results.append({"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()})
sys.stdout.write(json.dumps(results))
"""


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def run_in_one_process(
    cases: Sequence[tuple[Sequence[str], Mapping[str, str]]], cwd: Path
) -> list[Outcome]:
    result = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps([[list(a), dict(e)] for a, e in cases])],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [Outcome(r["code"], r["stdout"], r["stderr"]) for r in json.loads(result.stdout)]


def words(text: str) -> str:
    return " ".join(text.split())


# --- what runs ---------------------------------------------------------------------

HELP: dict[tuple[str, ...], list[str]] = {
    (): ["BANK_ADAPTER_", "serve", "db", "keys", "partners", "sandbox", "demo"],
    ("serve",): ["BANK_ADAPTER_HOST", "BANK_ADAPTER_PORT", "migrations", "/healthz"],
    ("db",): ["upgrade", "purge"],
    ("db", "upgrade"): ["BANK_ADAPTER_DATABASE_URL", "migration"],
    ("db", "purge"): ["BANK_ADAPTER_MESSAGE_RETENTION_DAYS", "7 days"],
    ("keys",): ["generate"],
    ("keys", "generate"): ["--kid", "--dir", "--kind", "0600", "KID.pem"],
    ("partners",): ["check"],
    ("partners", "check"): ["BANK_ADAPTER_PARTNERS_DIR", "--sandbox", "exit 2"],
    ("sandbox",): ["seed"],
    ("sandbox", "seed"): ["BANK_ADAPTER_DATABASE_URL", "demo accounts"],
    ("demo",): ["BANK_ADAPTER_ADMIN_TOKEN", "--url", "--admin-token", "Exit 0"],
    ("conformance",): ["serve", "report", "section 10"],
    ("conformance", "serve"): ["--partner-file", "--port", "fresh SQLite", "one JSON line"],
    ("conformance", "report"): ["--url", "--json", "--html", "Exit 0", "1 otherwise"],
}
# Help pages also read through the real console script.
SCRIPT_HELP = [(), ("partners", "check")]


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return json.dumps(value)


def partner_toml(fields: Mapping[str, object], keys: Sequence[Mapping[str, object]]) -> str:
    lines = [f"{name} = {toml_value(value)}" for name, value in fields.items()]
    for key in keys:
        lines += ["", "[[keys]]", *(f"{n} = {toml_value(v)}" for n, v in key.items())]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Case:
    name: str
    field: str
    changes: Mapping[str, object]
    key_changes: Mapping[str, object]
    file_id: str = "TEST"


def case(name: str, field: str, file_id: str = "TEST", **changes: object) -> Case:
    key_changes = {k[4:]: v for k, v in changes.items() if k.startswith("key_")}
    fields = {k: v for k, v in changes.items() if not k.startswith("key_")}
    return Case(name, field, fields, key_changes, file_id)


BASE: dict[str, object] = {
    "id": "TEST",
    "name": "Test Bank",
    "format": "json",
    "signature": "jws",
    "channels": ["APP", "ATM"],
    "algorithms": ["ES256"],
}
BASE_KEY: dict[str, object] = {"kid": "test-1", "public_key": "keys/ec.pem"}

CASES = [
    case("bad id", "id", file_id="tst1", id="tst1"),
    case("id not the file name", "id", file_id="OTHR"),
    case("unknown field", "colour", colour="blue"),
    case("wrong format", "format", format="yaml"),
    case("jws cannot carry xml", "signature", format="xml", signature="jws"),
    case("algorithm of another profile", "algorithms", algorithms=["RSA-SHA256"]),
    case("key file missing", "keys[0].public_key", key_public_key="keys/missing.pem"),
    case("RSA key, ES256 only", "keys[0].public_key", key_public_key="keys/rsa.pem"),
    case("bad not_after", "keys[0].not_after", key_not_after="next year"),
    case("bad cutoff", "cutoff", cutoff="24:00"),
]
VALID = case("valid", "")
# Unusable files also checked through the real console script.
SCRIPT_CASES = ["RSA key, ES256 only"]


def case_directory(root: Path, keys: Mapping[str, bytes], item: Case) -> Path:
    directory = root / item.name.replace(" ", "-").replace(",", "")
    (directory / "keys").mkdir(parents=True)
    for name, pem in keys.items():
        (directory / "keys" / name).write_bytes(pem)
    fields = {**BASE, **item.changes}
    toml = partner_toml(fields, [{**BASE_KEY, **item.key_changes}])
    (directory / f"{item.file_id}.toml").write_text(toml)
    return directory


@dataclass(frozen=True)
class Runs:
    results: Mapping[str, Any]
    cwd: Path

    def __getitem__(self, name: str) -> Any:
        return self.results[name]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, test_partners: Any) -> Runs:
    """Every run that needs no other, in one parallel batch."""
    cwd = tmp_path_factory.mktemp("cli")
    keys = {
        "ec.pem": public_pem(test_partners["JWSA"].key.private_key.public_key()),
        "rsa.pem": public_pem(test_partners["JWSR"].key.private_key.public_key()),
    }
    directories = {item.name: case_directory(cwd, keys, item) for item in [*CASES, VALID]}
    partners = str(REPO / "partners")
    bad_settings = {
        "BANK_ADAPTER_DATABASE_URL": f"sqlite:///{cwd / 'never.db'}",
        "BANK_ADAPTER_DB_BUSY_TIMEOUT_MS": "soon",
    }
    table: dict[str, tuple[list[str], dict[str, str]]] = {
        **{f"help {' '.join(c)}": ([*c, "--help"], {}) for c in HELP},
        **{n: (["partners", "check", str(d)], {}) for n, d in directories.items()},
        "repo": (["partners", "check", partners], {}),
        "repo env sandbox": (
            ["partners", "check"],
            {"BANK_ADAPTER_PARTNERS_DIR": partners, "BANK_ADAPTER_SANDBOX": "1"},
        ),
        "no command": ([], {}),
        "unknown command": (["frobnicate"], {}),
        "bad setting": (["db", "upgrade"], bad_settings),
        "bad key kind": (["keys", "generate", "--kid", "dsa", "--kind", "DSA"], {}),
    }
    jobs: dict[str, Callable[[], Any]] = {
        "table": lambda: run_in_one_process(list(table.values()), cwd),
        "script repo --sandbox": lambda: run(["partners", "check", partners, "--sandbox"], cwd),
        **{
            f"script help {' '.join(c)}": (lambda c=c: run([*c, "--help"], cwd))
            for c in SCRIPT_HELP
        },
        **{
            f"script {name}": (lambda d=directories[name]: run(["partners", "check", str(d)], cwd))
            for name in SCRIPT_CASES
        },
        "keys generate": lambda: keys_generate_twice(cwd / "new" / "keys", cwd),
        "db upgrade": lambda: db_upgrade_twice(cwd),
        "sandbox seed": lambda: run(
            ["sandbox", "seed"], cwd, clean_env(BANK_ADAPTER_DATABASE_URL="sqlite:///seed.db")
        ),
    }
    results = run_all(jobs)
    results.update(zip(table, results.pop("table"), strict=True))
    return Runs(results, cwd)


def keys_generate_twice(directory: Path, cwd: Path) -> list[Any]:
    first = run(["keys", "generate", "--kid", "k", "--dir", str(directory)], cwd)
    before = (directory / "k.key.pem").read_bytes(), (directory / "k.pem").read_bytes()
    second = run(["keys", "generate", "--kid", "k", "--dir", str(directory)], cwd)
    return [first, before, second]


def db_upgrade_twice(cwd: Path) -> list[Any]:
    # A relative URL: the file lands under the working directory, its folder created.
    env = clean_env(BANK_ADAPTER_DATABASE_URL="sqlite:///var/fresh.db")
    return [run(["db", "upgrade"], cwd, env) for _ in range(2)]


# --- help ----------------------------------------------------------------------------


def assert_explains(result: Any, command: tuple[str, ...]) -> None:
    assert result.returncode == 0, result.stderr
    text = words(result.stdout)
    assert text.startswith(f"usage: bank-adapter {' '.join(command)}".rstrip())
    for expected in HELP[command]:
        assert expected in text, (command, expected)


@pytest.mark.parametrize("command", list(HELP), ids=lambda c: "-".join(c) or "top")
def test_help_explains_every_command(runs, command):
    assert_explains(runs[f"help {' '.join(command)}"], command)


@pytest.mark.parametrize("command", SCRIPT_HELP, ids=lambda c: "-".join(c) or "top")
def test_the_console_script_prints_help(runs, command):
    result = runs[f"script help {' '.join(command)}"]
    assert_explains(result, command)
    assert result.stdout == runs[f"help {' '.join(command)}"].stdout


def test_usage_errors_exit_2(runs):
    for name, expected in [("no command", "usage: bank-adapter"), ("unknown command", "invalid")]:
        assert runs[name].returncode == 2
        assert expected in runs[name].stderr
    bad_setting = runs["bad setting"]
    assert bad_setting.returncode == 2
    assert "BANK_ADAPTER_DB_BUSY_TIMEOUT_MS" in bad_setting.stderr
    assert "Traceback" not in bad_setting.stderr
    assert not (runs.cwd / "never.db").exists()
    assert runs["bad key kind"].returncode == 2
    assert not (runs.cwd / "dsa.key.pem").exists()


# --- keys generate -------------------------------------------------------------------


def test_keys_generate_writes_a_key_pair_and_refuses_to_overwrite(runs):
    first, before, second = runs["keys generate"]
    directory = runs.cwd / "new" / "keys"
    private, public = directory / "k.key.pem", directory / "k.pem"

    assert first.returncode == 0, first.stderr
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    key = load_private_pem(before[0])
    assert public_pem(load_public_pem(before[1])) == public_pem(key.public_key())
    assert str(private) in first.stdout
    assert str(public) in first.stdout
    assert "PRIVATE" not in first.stdout

    assert second.returncode == 2
    assert "not overwriting" in second.stderr
    assert (private.read_bytes(), public.read_bytes()) == before


# --- partners check ------------------------------------------------------------------


def test_repo_partners_pass_in_sandbox_mode(runs):
    result = runs["script repo --sandbox"]
    assert result.returncode == 0, result.stderr
    listed = [line.split(":")[0].split()[0] for line in result.stdout.splitlines()[:-1]]
    assert listed == SANDBOX_PARTNERS
    assert "5 partner(s) OK" in result.stdout
    assert "BSFR SUSPENDED" in result.stdout
    assert "ncbk-test-2025-07 until 2027-01-31" in result.stdout


def test_sandbox_mode_can_come_from_the_environment(runs):
    result = runs["repo env sandbox"]
    assert result.returncode == 0, result.stderr
    assert "5 partner(s) OK" in result.stdout


def test_sandbox_partners_are_refused_outside_sandbox_mode(runs):
    result = runs["repo"]
    assert result.returncode == 2
    assert result.stdout == ""
    assert str(REPO / "partners" / "BSFR.toml") in result.stderr
    assert "field `sandbox`" in result.stderr


def test_a_valid_partner_file_passes(runs):
    result = runs["valid"]
    assert result.returncode == 0, result.stderr
    assert "TEST: json/jws algorithms=['ES256'] channels=['APP', 'ATM'] cutoff=23:59" in (
        result.stdout
    )
    assert "1 partner(s) OK" in result.stdout


@pytest.mark.parametrize("item", CASES, ids=lambda item: item.name)
def test_an_unusable_partner_file_is_named_with_its_field(runs, item):
    result = runs[item.name]
    assert result.returncode == 2, result.stdout
    assert result.stdout == ""
    assert f"{item.file_id}.toml: field `{item.field}`" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name", SCRIPT_CASES)
def test_the_console_script_exits_2_on_an_unusable_partner_file(runs, name):
    result = runs[f"script {name}"]
    assert (result.returncode, result.stdout, result.stderr) == (
        runs[name].returncode,
        runs[name].stdout,
        runs[name].stderr,
    )
    assert result.stderr.startswith("bank-adapter: ")


# --- database ------------------------------------------------------------------------


def test_db_upgrade_twice_prints_the_head_revision(runs):
    head = migrate.head_revision()
    assert head is not None

    for result in runs["db upgrade"]:
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"database at revision {head}"

    with sqlite3.connect(runs.cwd / "var" / "fresh.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]


async def test_db_purge_forgets_old_message_ids_and_idempotency_keys_only(tmp_path):
    url = f"sqlite:///{tmp_path / 'adapter.db'}"
    store = Store.open(url)
    now = datetime.now(UTC)
    answer = StoredAnswer("0" * 64, 200, "application/json", (("X-JWS-Signature", "a..b"),), b"{}")
    try:
        await migrate.upgrade(store.engine)
        async with store.write() as tx:
            tx.save_answer("JWSA", "old", answer, now - timedelta(days=8))
            tx.save_answer("JWSA", "recent", answer, now - timedelta(days=6))
            await tx.save_keyed_answer("old-key", answer, now - timedelta(days=8))
            await tx.save_keyed_answer("recent-key", answer, now - timedelta(days=6))
    finally:
        await store.close()

    result = await asyncio.to_thread(
        run, ["db", "purge"], tmp_path, clean_env(BANK_ADAPTER_DATABASE_URL=url)
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("purged 2 stored answers older than ")
    with sqlite3.connect(tmp_path / "adapter.db") as db:
        assert db.execute("SELECT message_id FROM messages").fetchall() == [("recent",)]
        keys = db.execute("SELECT idempotency_key FROM idempotency_keys").fetchall()
        assert keys == [("recent-key",)]


def test_sandbox_seed_lists_the_demo_accounts(runs):
    result = runs["sandbox seed"]

    assert result.returncode == 0, result.stderr
    # The accounts first, one line each; then anything else seeded (bills).
    lines = result.stdout.splitlines()[: len(DEMO_ACCOUNTS)]
    for line, demo in zip(lines, DEMO_ACCOUNTS, strict=True):
        assert line.split()[0] == demo.account.id_number
        assert demo.account.mobile in line
        assert line.endswith(demo.note)
    with sqlite3.connect(runs.cwd / "seed.db") as db:
        stored = sorted(row[0] for row in db.execute("SELECT id_number FROM accounts"))
    assert stored == sorted(demo.account.id_number for demo in DEMO_ACCOUNTS)


def test_purge_on_a_database_without_schema_says_what_to_do(tmp_path):
    env = {**os.environ, "BANK_ADAPTER_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    result = subprocess.run(
        [sys.executable, "-m", "bank_adapter.cli", "db", "purge"],
        env=env, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "bank-adapter db upgrade" in result.stderr


def test_a_kid_cannot_name_a_path_outside_the_directory(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bank_adapter.cli", "keys", "generate", "--kid", "../escape",
         "--dir", str(tmp_path / "keys")],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert not (tmp_path / "escape.pem").exists()
