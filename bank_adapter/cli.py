"""The `bank-adapter` command. Every subcommand explains itself with --help.

Settings come from BANK_ADAPTER_* environment variables (see README, "Settings"), and
for every command but `serve` also from the sandbox's `var/sandbox.toml` when present
(`command_settings`). Reports go to stdout, logs to stderr, so output can be piped.
A mistake ends the command with one line on stderr and an exit code of `exits`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import traceback
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from alembic.util import CommandError

from bank_adapter import __version__, command_settings, diagnose_cli
from bank_adapter import logging as adapter_logging
from bank_adapter.clock import system_clock
from bank_adapter.conformance import cli as conformance_cli
from bank_adapter.core.keys import generate, private_pem, public_pem
from bank_adapter.core.money import from_halalas
from bank_adapter.exits import (
    EXIT_FAILED,
    EXIT_OK,
    OperatorError,
    database_errors,
    explain,
)
from bank_adapter.partners import load_partners
from bank_adapter.reconcile import cli as reconcile_cli
from bank_adapter.settings import MAX_WORKERS, Settings, SettingsError
from bank_adapter.store import migrate
from bank_adapter.store.repository import Store

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
T = TypeVar("T")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        adapter_logging.configure(level=_log_level(args))
        if args.run is not _serve:
            _read_sandbox_file()
        result: int = args.run(args)
    except (Exception, KeyboardInterrupt) as exc:
        if args.debug:
            traceback.print_exception(exc, file=sys.stderr)
        line, code = explain(exc)
        print(f"bank-adapter: {line}", file=sys.stderr)
        return code
    return result


def _read_sandbox_file() -> None:
    """The sandbox file's settings, under the environment's own (see `command_settings`)."""
    defaults = command_settings.sandbox_defaults(os.environ)
    if defaults:
        path = command_settings.sandbox_file(os.environ)
        adapter_logging.get_logger("bank_adapter.cli").debug("sandbox_settings", file=str(path))
    for name, value in defaults.items():
        os.environ.setdefault(name, value)


def _log_level(args: argparse.Namespace) -> str:
    """BANK_ADAPTER_LOG_LEVEL (default INFO), one step down per -v and up per -q."""
    configured = (os.environ.get("BANK_ADAPTER_LOG_LEVEL") or "INFO").upper()
    if configured not in LOG_LEVELS:
        raise SettingsError(
            f"BANK_ADAPTER_LOG_LEVEL: expected one of {', '.join(LOG_LEVELS)}, got {configured!r}"
        )
    step = LOG_LEVELS.index(configured) + args.quiet - args.verbose
    return LOG_LEVELS[min(max(step, 0), len(LOG_LEVELS) - 1)]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bank-adapter",
        description="The signed partner API between banks and the e-government platform. "
        "Settings come from BANK_ADAPTER_* environment variables. Exit codes: 0 done, "
        "1 the command found a problem (reconcile breaks, a demo step), 2 usage or "
        "configuration, 3 database unavailable, 4 cannot listen, 70 unexpected error.",
    )
    parser.add_argument("--version", action="version", version=f"bank-adapter {__version__}")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the service",
        description="Apply pending database migrations, load partners and keys, and serve "
        "the partner API, the internal API, the console and /healthz, /readyz, /metrics on "
        "BANK_ADAPTER_HOST:BANK_ADAPTER_PORT (TLS when BANK_ADAPTER_TLS_CERT/KEY are set); "
        "with BANK_ADAPTER_ADMIN_PORT, the internal API, the console and /metrics on that "
        "port only. With --workers N, N processes share the port(s).",
    )
    serve.add_argument(
        "--workers",
        type=_workers,
        default=None,
        metavar="N",
        help="processes serving the same port(s), each with its own database connections "
        f"(1 to {MAX_WORKERS}; default: BANK_ADAPTER_WORKERS, else 1)",
    )
    # A worker of `serve --workers N`, started by its parent with the sockets it bound.
    serve.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    for name in ("--public-fd", "--admin-fd"):
        serve.add_argument(name, type=int, action="append", default=[], help=argparse.SUPPRESS)
    serve.add_argument("--lifeline-fd", type=int, default=None, help=argparse.SUPPRESS)
    serve.set_defaults(run=_serve)

    _add_db_commands(commands)
    keys = commands.add_parser("keys", help="key pairs", description="Key pair tools.")
    keys_commands = keys.add_subparsers(title="keys commands", required=True, metavar="ACTION")
    gen = keys_commands.add_parser(
        "generate",
        help="make a key pair",
        description="Write a new private key (KID.key.pem, mode 0600) and its public key "
        "(KID.pem, to register with the other side) into --dir.",
    )
    gen.add_argument(
        "--kid",
        required=True,
        type=_kid,
        help="key id (letters, digits, '.', '_', '-'), e.g. adapter-2027-01 or rjhi-2027-01",
    )
    gen.add_argument(
        "--kind",
        default="EC-P256",
        choices=["EC-P256", "RSA", "Ed25519"],
        help="EC-P256 (recommended, fast), RSA (3072 bits) or Ed25519 (http-sig and jws only)",
    )
    gen.add_argument(
        "--dir",
        type=Path,
        default=Path("var") / "keys",
        help="output directory (default: var/keys, which git ignores)",
    )
    gen.set_defaults(run=_keys_generate)

    partners = commands.add_parser("partners", help="partner files", description="Partner files.")
    partners_commands = partners.add_subparsers(
        title="partners commands", required=True, metavar="ACTION"
    )
    check = partners_commands.add_parser(
        "check",
        help="validate a partners directory",
        description="Load every <ID>.toml like `serve` would and print a summary; on the "
        "first unusable file print its name and the field at fault and exit 2.",
    )
    check.add_argument(
        "directory",
        type=Path,
        nargs="?",
        default=None,
        help="default: BANK_ADAPTER_PARTNERS_DIR or ./partners",
    )
    check.add_argument("--sandbox", action="store_true", help="accept sandbox partners (test keys)")
    check.set_defaults(run=_partners_check)

    sandbox = commands.add_parser("sandbox", help="sandbox data", description="Sandbox helpers.")
    sandbox_commands = sandbox.add_subparsers(
        title="sandbox commands", required=True, metavar="ACTION"
    )
    seed = sandbox_commands.add_parser(
        "seed",
        help="load demo accounts",
        description="Apply migrations and register the demo accounts (every state: pending, "
        "blocked, expired, not enrolled) in BANK_ADAPTER_DATABASE_URL, then list them.",
    )
    seed.set_defaults(run=_sandbox_seed)

    demo = commands.add_parser(
        "demo",
        help="drive a simulated day through a running sandbox",
        description="Register fresh accounts through the internal API and activate them "
        "through every sandbox partner (JSON/JWS, XML/XML-DSig, HTTP signatures), reading "
        "OTPs from the sandbox SMS outbox, checking replays and a forged request. "
        "Exit 0 when every step behaved as expected.",
    )
    demo.add_argument(
        "--url",
        default=None,
        help="service URL (default: http://BANK_ADAPTER_HOST:BANK_ADAPTER_PORT, as the "
        "sandbox serves; 127.0.0.1:8080 when unset)",
    )
    demo.add_argument(
        "--admin-url",
        default=None,
        help="the internal API's URL, when the service has an admin listener (default: "
        "http://BANK_ADAPTER_ADMIN_HOST:BANK_ADAPTER_ADMIN_PORT when that is set, else --url)",
    )
    demo.add_argument(
        "--admin-token", default=None, help="internal API token (default: BANK_ADAPTER_ADMIN_TOKEN)"
    )
    demo.add_argument(
        "--partners-dir",
        type=Path,
        default=None,
        help="sandbox partner files and test keys (default: BANK_ADAPTER_PARTNERS_DIR or "
        "./partners)",
    )
    demo.set_defaults(run=_demo)

    reconcile_cli.add_commands(commands)  # reconcile, statement
    diagnose_cli.add_commands(commands)
    conformance_cli.add_commands(commands)  # conformance serve, conformance report
    _add_common_options(parser, top=True)
    return parser


def _add_common_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """-v, -q and --debug on the command and on every subcommand, either side of it.

    On subcommands they default to nothing (SUPPRESS), or they would reset a value
    given before the subcommand's name."""

    def default(value: object) -> object:
        return value if top else argparse.SUPPRESS

    parser.add_argument(
        "-v", "--verbose", action="count", default=default(0), help="log more (-v: debug)"
    )
    parser.add_argument(
        "-q", "--quiet", action="count", default=default(0), help="log less (-q: warnings only)"
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=default(False),
        help="on an error, print the traceback before the one-line explanation",
    )
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subcommand in action.choices.values():
                _add_common_options(subcommand, top=False)


def _add_db_commands(commands: reconcile_cli.Subcommands[argparse.ArgumentParser]) -> None:
    db = commands.add_parser("db", help="database maintenance", description="Database maintenance.")
    db_commands = db.add_subparsers(title="db commands", required=True, metavar="ACTION")
    upgrade = db_commands.add_parser(
        "upgrade",
        help="apply schema migrations",
        description="Apply every pending schema migration to BANK_ADAPTER_DATABASE_URL. "
        "Safe to run again; `serve` does it at start-up too.",
    )
    upgrade.set_defaults(run=_db_upgrade)
    current = db_commands.add_parser(
        "current",
        help="show the schema revision",
        description="Print the schema revision of BANK_ADAPTER_DATABASE_URL and the "
        "revision this version of bank-adapter expects (head). Exit 0 when they agree, "
        "1 when the database is behind (run `bank-adapter db upgrade`), empty or ahead "
        "(a newer bank-adapter migrated it).",
    )
    current.set_defaults(run=_db_current)
    downgrade = db_commands.add_parser(
        "downgrade",
        help="undo schema migrations",
        description="Undo schema migrations of BANK_ADAPTER_DATABASE_URL down to REVISION, "
        "to go back to an older bank-adapter: first stop every instance and take a backup "
        "(tables or columns the undone migrations added are dropped, with their data).",
    )
    downgrade.add_argument(
        "revision",
        metavar="REVISION",
        help="the revision to go back to (as `db current` prints it), or -1 for one step",
    )
    downgrade.set_defaults(run=_db_downgrade)
    purge = db_commands.add_parser(
        "purge",
        help="forget old message ids and idempotency keys",
        description="Delete stored answers (seen MessageIds, the internal API's "
        "idempotency keys) older than the retention window "
        "(BANK_ADAPTER_MESSAGE_RETENTION_DAYS, at least and by default 7 days).",
    )
    purge.set_defaults(run=_db_purge)


def _settings() -> Settings:
    return command_settings.load(os.environ)


def _serve(args: argparse.Namespace) -> int:
    from bank_adapter import serve

    settings = _settings()
    if args.worker is not None:
        fields = {"worker": args.worker, "pid": os.getpid()}
        adapter_logging.configure(level=_log_level(args), fields=fields)
        worker = serve.WorkerArgs(
            args.worker, tuple(args.public_fd), tuple(args.admin_fd), args.lifeline_fd
        )
        metrics_dir = Path(os.environ[serve.METRICS_DIR_VARIABLE])
        return serve.serve_worker(settings, worker, metrics_dir)
    workers = args.workers or settings.workers
    return serve.serve(settings, workers=workers, log_level=_log_level(args))


def _db_upgrade(_args: argparse.Namespace) -> int:
    settings = _settings()

    async def run(store: Store) -> str | None:
        await migrate.upgrade(store.engine)
        return await migrate.current_revision(store.engine)

    print(f"database at revision {_with_store(settings, run)}")
    return EXIT_OK


def _db_current(_args: argparse.Namespace) -> int:
    settings = _settings()

    async def run(store: Store) -> str | None:
        return await migrate.current_revision(store.engine)

    current, head = _with_store(settings, run), migrate.head_revision()
    advice = "" if current == head else "; run `bank-adapter db upgrade` (or the newer version)"
    print(f"database at revision {current or 'none (empty)'}, head {head}{advice}")
    return EXIT_OK if current == head else EXIT_FAILED


def _db_downgrade(args: argparse.Namespace) -> int:
    settings = _settings()

    async def run(store: Store) -> str | None:
        if await migrate.current_revision(store.engine) is None:
            raise OperatorError("the database has no schema: nothing to downgrade")
        try:
            await migrate.downgrade(store.engine, args.revision)
        except CommandError as exc:
            raise OperatorError(f"{exc}; `bank-adapter db current` shows the revision") from exc
        return await migrate.current_revision(store.engine)

    print(f"database at revision {_with_store(settings, run) or 'none (empty)'}")
    return EXIT_OK


def _with_store(settings: Settings, job: Callable[[Store], Awaitable[T]]) -> T:
    """Run `job` on a store of the settings' database, closed afterwards; a database
    that cannot be reached or opened becomes DatabaseUnavailable."""

    async def run() -> T:
        store = Store.open(settings.database_url, busy_timeout_s=settings.db_busy_timeout_s)
        try:
            return await job(store)
        finally:
            await store.close()

    with database_errors(settings.database_url):
        return asyncio.run(run())


def _workers(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r}: expected a number of processes") from None
    if not 1 <= count <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"{count}: expected 1 to {MAX_WORKERS}")
    return count


def _kid(value: str) -> str:
    # The kid becomes a file name: nothing that could leave --dir.
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", value):
        raise argparse.ArgumentTypeError(f"{value!r}: use letters, digits, '.', '_' and '-'")
    return value


def _db_purge(_args: argparse.Namespace) -> int:
    settings = _settings()
    cutoff = system_clock() - timedelta(days=settings.message_retention_days)

    async def run(store: Store) -> int:
        if await migrate.current_revision(store.engine) is None:
            raise OperatorError("the database has no schema yet: run `bank-adapter db upgrade`")
        async with store.write() as tx:
            return await tx.purge_answers(cutoff)

    print(f"purged {_with_store(settings, run)} stored answers older than {cutoff.isoformat()}")
    return EXIT_OK


def _keys_generate(args: argparse.Namespace) -> int:
    directory: Path = args.dir
    directory.mkdir(parents=True, exist_ok=True)
    private_path = directory / f"{args.kid}.key.pem"
    public_path = directory / f"{args.kid}.pem"
    if private_path.exists() or public_path.exists():
        raise OperatorError(
            f"{private_path} or {public_path} exists; not overwriting (choose another --kid)"
        )
    key = generate(args.kind)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(private_pem(key))
    public_path.write_bytes(public_pem(key.public_key()))
    print(f"private key: {private_path} (keep secret)")
    print(f"public key:  {public_path} (register it with the other side)")
    return EXIT_OK


def _partners_check(args: argparse.Namespace) -> int:
    settings = Settings.from_env(os.environ)
    directory = args.directory or settings.partners_dir
    partners = load_partners(directory, sandbox=args.sandbox or settings.sandbox)
    for partner in partners.values():
        keys = ", ".join(
            f"{key.kid}{' until ' + key.not_after.isoformat() if key.not_after else ''}"
            for key in partner.keys.values()
        )
        state = " SUSPENDED" if partner.suspended else ""
        print(
            f"{partner.id}{state}: {partner.format}/{partner.signature} "
            f"algorithms={sorted(partner.algorithms)} channels={sorted(partner.channels)} "
            f"cutoff={partner.cutoff.strftime('%H:%M')} keys=[{keys}]"
        )
    print(f"{len(partners)} partner(s) OK in {directory}")
    return EXIT_OK


def _sandbox_seed(_args: argparse.Namespace) -> int:
    from bank_adapter import sandbox

    settings = _settings()

    async def run(store: Store) -> list[sandbox.DemoAccount]:
        await migrate.upgrade(store.engine)
        return await sandbox.seed(store, system_clock())

    for demo in _with_store(settings, run):
        print(f"{demo.account.id_number}  {demo.account.mobile}  {demo.note}")
    for bill in sandbox.DEMO_BILLS:
        amount = from_halalas(bill.amount_halalas)
        print(f"bill {bill.bill_number}  {amount} SAR  {bill.description_en}  ({bill.id_number})")
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from bank_adapter.demo import run_demo

    settings = Settings.from_env(os.environ)
    token = args.admin_token or settings.admin_token
    if not token:
        raise OperatorError(
            "--admin-token or BANK_ADAPTER_ADMIN_TOKEN is required (the sandbox's is "
            "sandbox-admin-token)"
        )
    url = args.url or _local_url(settings, settings.host, settings.port)
    admin = settings.admin_address
    admin_url = args.admin_url or (url if admin is None else _local_url(settings, *admin))
    partners_dir = args.partners_dir or settings.partners_dir
    return EXIT_OK if asyncio.run(run_demo(url, admin_url, token, partners_dir)) else EXIT_FAILED


def _local_url(settings: Settings, host: str, port: int) -> str:
    """Where `serve` with these settings answers on `host`:`port`, seen from this machine."""
    host = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104
    host = "[::1]" if host == "::" else f"[{host}]" if ":" in host else host
    scheme = "https" if settings.tls_cert_file is not None else "http"
    return f"{scheme}://{host}:{port}"


if __name__ == "__main__":
    sys.exit(main())
