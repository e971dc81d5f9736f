"""Throwaway PostgreSQL servers for the tests (a pytest plugin, loaded by conftest).

A cluster is Debian's `postgresql` server, initialised with `initdb` in a fresh temp
directory and started on 127.0.0.1 on a free port, its unix socket in that directory,
password authentication over TCP (the adapter connects as an operator's would). Tuned
for tests: no fsync, so the data would not survive a power loss (nothing here has to).
PostgreSQL refuses to run as root, so under root the server runs as the `postgres`
user (or `nobody`), which owns the directory.

- `pg_cluster` (session): one server for the whole run, holding a database migrated to
  the head revision once, `migrated_template`.
- `pg_database` (function): a fresh database cloned from that template
  (`CREATE DATABASE … TEMPLATE`: a file copy, far quicker than migrating), dropped after
  the test; `pg_empty_database`: one without tables, for the migrations' own tests.
- `pg_cluster_factory` (function): servers of a test's own, for tests that stop and
  start PostgreSQL.

Missing server binaries fail the run with the install hint: tests that promise to have
run on PostgreSQL never quietly skip it.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

import pytest

from bank_adapter.store import migrate
from bank_adapter.store.repository import Store

# Databases are cloned and dropped by a worker thread while tests run. With vfork (the
# default on Linux) the child execs on memory it shares with the still-running test
# thread, and psql then fails now and then with EFAULT (OSError 14, "Bad address"). A plain
# fork costs a little more per psql and has no such race.
subprocess._USE_VFORK = False

INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl, postgres, psql) were not found; the "
    "end-to-end suite runs on PostgreSQL too. Install them with `scripts/setup --dev` "
    "(Debian: apt-get install postgresql), or point BANK_ADAPTER_TEST_PG_BINDIR at them."
)
PROGRAMS = ("initdb", "pg_ctl", "postgres", "psql")
SUPERUSER = "adapter"
TEMPLATE = "migrated_template"
START_TIMEOUT_S = 60
# Test-only tuning: durability off (fsync), room for two adapter instances' pools.
SERVER_CONF = """
listen_addresses = '127.0.0.1'
unix_socket_directories = '{socket_dir}'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
log_min_error_statement = panic
"""


def find_bindir() -> Path | None:
    """The newest installed server's bin directory, or None."""
    override = os.environ.get("BANK_ADAPTER_TEST_PG_BINDIR")
    candidates = [Path(override)] if override else []
    versions = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(versions, key=_version, reverse=True)
    initdb = shutil.which("initdb")
    if initdb is not None:
        candidates.append(Path(initdb).resolve().parent)
    for bindir in candidates:
        if all((bindir / program).is_file() for program in PROGRAMS):
            return bindir
    return None


def _version(bindir: Path) -> int:
    name = bindir.parent.name
    return int(name) if name.isdigit() else 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _server_user() -> pwd.struct_passwd | None:
    """Whom the server runs as: ourselves, unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root, and neither a `postgres` nor a `nobody` user exists")


@dataclass
class PgCluster:
    """One PostgreSQL server in a temp directory of its own."""

    bindir: Path
    root: Path
    port: int = field(default_factory=free_port)
    password: str = field(default_factory=lambda: secrets.token_hex(16))
    user: pwd.struct_passwd | None = field(default_factory=_server_user)
    _names: Iterator[int] = field(default_factory=count)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @classmethod
    def create(cls, bindir: Path) -> PgCluster:
        cluster = cls(bindir, Path(tempfile.mkdtemp(prefix="bank-adapter-pg-")))
        if cluster.user is not None:
            os.chown(cluster.root, cluster.user.pw_uid, cluster.user.pw_gid)
        pwfile = cluster.root / "pwfile"
        pwfile.write_text(cluster.password + "\n")
        if cluster.user is not None:
            os.chown(pwfile, cluster.user.pw_uid, cluster.user.pw_gid)
        cluster._as_server_user(
            "initdb", "-D", str(cluster.data), "-U", SUPERUSER, f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--no-locale",
            "--no-sync", "--no-instructions",
        )  # fmt: skip
        pwfile.unlink()
        with (cluster.data / "postgresql.conf").open("a") as conf:
            conf.write(SERVER_CONF.format(socket_dir=cluster.root))
        return cluster

    def start(self) -> None:
        self._as_server_user(
            "pg_ctl", "start", "-D", str(self.data), "-l", str(self.log), "-w",
            "-t", str(START_TIMEOUT_S), "-o", f"-p {self.port}",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._as_server_user("pg_ctl", "stop", "-D", str(self.data), "-m", mode, "-w")

    def destroy(self) -> None:
        """Stop the server if it runs, and delete everything it had."""
        if (self.data / "postmaster.pid").exists():
            self._run_as_server_user("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run `sql` as the superuser through the unix socket; its output."""
        done = subprocess.run(
            [
                str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                "-h", str(self.root), "-p", str(self.port), "-U", SUPERUSER, "-d", database,
                "-c", sql,
            ],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"psql {sql!r}: {done.stderr.strip()}")
        return done.stdout.strip()

    def new_database(self, template: str | None = None) -> str:
        """A new database (a clone of `template` if given); its name."""
        name = f"test_{next(self._names)}"
        clone = f" TEMPLATE {_identifier(template)}" if template else ""
        self.psql(f"CREATE DATABASE {name}{clone}")
        return name

    def drop_database(self, name: str) -> None:
        self.psql(f"DROP DATABASE IF EXISTS {_identifier(name)} WITH (FORCE)")

    def _as_server_user(self, program: str, *args: str) -> None:
        done = self._run_as_server_user(program, *args)
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{program} failed:\n{done.stdout}{done.stderr}{log}")

    def _run_as_server_user(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        user = self.user
        return subprocess.run(
            [str(self.bindir / program), *args],
            cwd=self.root,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
            env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "HOME": str(self.root)},
            capture_output=True,
            text=True,
            check=False,
        )


def _identifier(name: str) -> str:
    if re.fullmatch(r"[a-z_][a-z0-9_]*", name) is None:
        raise ValueError(f"not a plain identifier: {name!r}")
    return name


def start_cluster() -> PgCluster:
    """A running cluster, or the test fails with the install hint."""
    bindir = find_bindir()
    if bindir is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    cluster = PgCluster.create(bindir)
    for _attempt in range(3):
        try:
            cluster.start()
            return cluster
        except RuntimeError as exc:
            # Most likely someone took the free port between our look and the bind.
            failure = exc
            cluster.port = free_port()
    cluster.destroy()
    raise RuntimeError("PostgreSQL did not start") from failure


def migrate_database(url: str) -> None:
    """Apply the migrations, from a thread of its own: pytest-asyncio owns this one's loop."""

    async def upgrade() -> None:
        store = Store.open(url)
        try:
            await migrate.upgrade(store.engine)
        finally:
            await store.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, upgrade()).result()


class Clones:
    """Databases cloned from the template one test ahead, and dropped behind the tests,
    on a worker thread: cloning and dropping overlap the tests instead of adding to them."""

    def __init__(self, cluster: PgCluster) -> None:
        self.cluster = cluster
        self.worker = ThreadPoolExecutor(1, thread_name_prefix="pg-clones")
        self.drops: list[Future[None]] = []
        self.ready = self.worker.submit(cluster.new_database, TEMPLATE)

    def take(self) -> str:
        name = self.ready.result()
        self.ready = self.worker.submit(self.cluster.new_database, TEMPLATE)
        return name

    def drop(self, name: str) -> None:
        self.drops.append(self.worker.submit(self.cluster.drop_database, name))

    def close(self) -> None:
        self.drop(self.ready.result())
        self.worker.shutdown(wait=True)
        for dropped in self.drops:
            dropped.result()  # a failure to drop is reported, not lost


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    cluster = start_cluster()
    try:
        cluster.psql(f"CREATE DATABASE {TEMPLATE}")
        migrate_database(cluster.url(TEMPLATE))
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def pg_clones(pg_cluster: PgCluster) -> Iterator[Clones]:
    clones = Clones(pg_cluster)
    yield clones
    clones.close()


@pytest.fixture
def pg_database(pg_cluster: PgCluster, pg_clones: Clones) -> Iterator[str]:
    """The URL of a fresh database at the head revision."""
    name = pg_clones.take()
    yield pg_cluster.url(name)
    pg_clones.drop(name)


@pytest.fixture
def pg_empty_database(pg_cluster: PgCluster) -> Iterator[str]:
    """The URL of a fresh database without any table."""
    name = pg_cluster.new_database()
    yield pg_cluster.url(name)
    pg_cluster.drop_database(name)


@pytest.fixture
def pg_cluster_factory() -> Iterator[Callable[[], PgCluster]]:
    """Start servers of the test's own; all are destroyed after it."""
    made: list[PgCluster] = []

    def make() -> PgCluster:
        made.append(start_cluster())
        return made[-1]

    yield make
    for cluster in made:
        cluster.destroy()
