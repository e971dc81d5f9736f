"""The `bank-adapter` command. Every subcommand explains itself with --help.

Settings come from BANK_ADAPTER_* environment variables (see README, "Settings").
Reports go to stdout, logs to stderr, so output can be piped.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from aiohttp import web

from bank_adapter import diagnose_cli
from bank_adapter import logging as adapter_logging
from bank_adapter.clock import system_clock
from bank_adapter.conformance import cli as conformance_cli
from bank_adapter.core.keys import KeyFormatError, generate, private_pem, public_pem
from bank_adapter.core.money import from_halalas
from bank_adapter.partners import PartnerConfigError, load_partners
from bank_adapter.reconcile import cli as reconcile_cli
from bank_adapter.settings import Settings, SettingsError
from bank_adapter.store import migrate
from bank_adapter.store.repository import Store
from bank_adapter.web.tls import server_context

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    adapter_logging.configure(level=os.environ.get("BANK_ADAPTER_LOG_LEVEL", "INFO"))
    try:
        result: int = args.run(args)
    except (SettingsError, PartnerConfigError, KeyFormatError) as exc:
        print(f"bank-adapter: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bank-adapter",
        description="The signed partner API between banks and the e-government platform. "
        "Settings come from BANK_ADAPTER_* environment variables.",
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the service",
        description="Apply pending database migrations, load partners and keys, and serve "
        "the partner API, the internal API and /healthz, /readyz, /metrics on "
        "BANK_ADAPTER_HOST:BANK_ADAPTER_PORT (TLS when BANK_ADAPTER_TLS_CERT/KEY are set).",
    )
    serve.set_defaults(run=_serve)

    db = commands.add_parser("db", help="database maintenance", description="Database maintenance.")
    db_commands = db.add_subparsers(title="db commands", required=True, metavar="ACTION")
    upgrade = db_commands.add_parser(
        "upgrade",
        help="apply schema migrations",
        description="Apply every pending schema migration to BANK_ADAPTER_DATABASE_URL. "
        "Safe to run again; `serve` does it at start-up too.",
    )
    upgrade.set_defaults(run=_db_upgrade)
    purge = db_commands.add_parser(
        "purge",
        help="forget old message ids",
        description="Delete stored answers (seen MessageIds) older than the retention "
        "window (BANK_ADAPTER_MESSAGE_RETENTION_DAYS, at least and by default 7 days).",
    )
    purge.set_defaults(run=_db_purge)

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
    gen.add_argument("--dir", type=Path, default=Path("."), help="output directory (default: .)")
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
        "--url", default="http://127.0.0.1:8080", help="service URL (default: the local sandbox)"
    )
    demo.add_argument(
        "--admin-token", default=None, help="internal API token (default: BANK_ADAPTER_ADMIN_TOKEN)"
    )
    demo.add_argument(
        "--partners-dir",
        type=Path,
        default=Path("partners"),
        help="sandbox partner files and test keys",
    )
    demo.set_defaults(run=_demo)

    reconcile_cli.add_commands(commands)  # reconcile, statement
    diagnose_cli.add_commands(commands)
    conformance_cli.add_commands(commands)  # conformance serve, conformance report
    return parser


def _settings() -> Settings:
    return Settings.from_env(os.environ)


def _serve(_args: argparse.Namespace) -> int:
    settings = _settings()
    from bank_adapter.web.app import build_app
    from bank_adapter.web.runtime import build_runtime

    runtime = build_runtime(settings, system_clock)
    asyncio.run(_run_server(build_app(runtime), settings))
    return EXIT_OK


async def _run_server(app: web.Application, settings: Settings) -> None:
    from bank_adapter.web.runtime import RUNTIME

    log = adapter_logging.get_logger("bank_adapter.serve")
    await migrate.upgrade(app[RUNTIME].store.engine)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port, ssl_context=server_context(settings))
    await site.start()
    log.info("serving", host=settings.host, port=settings.port, sandbox=settings.sandbox,
             partners=sorted(app[RUNTIME].partners))  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    log.info("stopping")
    await runner.cleanup()


def _db_upgrade(_args: argparse.Namespace) -> int:
    settings = _settings()

    async def run() -> str | None:
        store = Store.open(settings.database_url, busy_timeout_s=settings.db_busy_timeout_s)
        try:
            await migrate.upgrade(store.engine)
            return await migrate.current_revision(store.engine)
        finally:
            await store.close()

    print(f"database at revision {asyncio.run(run())}")
    return EXIT_OK


def _kid(value: str) -> str:
    # The kid becomes a file name: nothing that could leave --dir.
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", value):
        raise argparse.ArgumentTypeError(f"{value!r}: use letters, digits, '.', '_' and '-'")
    return value


def _db_purge(_args: argparse.Namespace) -> int:
    settings = _settings()
    cutoff = system_clock() - timedelta(days=settings.message_retention_days)

    async def run() -> int:
        store = Store.open(settings.database_url, busy_timeout_s=settings.db_busy_timeout_s)
        try:
            if await migrate.current_revision(store.engine) is None:
                raise SettingsError("the database has no schema yet: run `bank-adapter db upgrade`")
            async with store.write() as tx:
                return await tx.purge_answers(cutoff)
        finally:
            await store.close()

    print(f"purged {asyncio.run(run())} stored answers older than {cutoff.isoformat()}")
    return EXIT_OK


def _keys_generate(args: argparse.Namespace) -> int:
    directory: Path = args.dir
    directory.mkdir(parents=True, exist_ok=True)
    private_path = directory / f"{args.kid}.key.pem"
    public_path = directory / f"{args.kid}.pem"
    if private_path.exists() or public_path.exists():
        print(
            f"bank-adapter: {private_path} or {public_path} exists; not overwriting",
            file=sys.stderr,
        )
        return EXIT_USAGE
    key = generate(args.kind)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(private_pem(key))
    public_path.write_bytes(public_pem(key.public_key()))
    print(f"private key: {private_path} (keep secret)")
    print(f"public key:  {public_path} (register it with the other side)")
    return EXIT_OK


def _partners_check(args: argparse.Namespace) -> int:
    directory = args.directory or _settings().partners_dir
    partners = load_partners(directory, sandbox=args.sandbox or _settings().sandbox)
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

    async def run() -> list[sandbox.DemoAccount]:
        store = Store.open(settings.database_url, busy_timeout_s=settings.db_busy_timeout_s)
        try:
            await migrate.upgrade(store.engine)
            return await sandbox.seed(store, system_clock())
        finally:
            await store.close()

    for demo in asyncio.run(run()):
        print(f"{demo.account.id_number}  {demo.account.mobile}  {demo.note}")
    for bill in sandbox.DEMO_BILLS:
        amount = from_halalas(bill.amount_halalas)
        print(f"bill {bill.bill_number}  {amount} SAR  {bill.description_en}  ({bill.id_number})")
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from bank_adapter.demo import run_demo

    token = args.admin_token or os.environ.get("BANK_ADAPTER_ADMIN_TOKEN")
    if not token:
        print(
            "bank-adapter: --admin-token or BANK_ADAPTER_ADMIN_TOKEN is required", file=sys.stderr
        )
        return EXIT_USAGE
    return EXIT_OK if asyncio.run(run_demo(args.url, token, args.partners_dir)) else EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
