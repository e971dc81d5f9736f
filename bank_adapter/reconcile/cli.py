"""`bank-adapter reconcile` and `bank-adapter statement`: the operator's day-end commands.

Exit codes of `reconcile`: 0 the day matches, 1 it has breaks (the report says which),
2 nothing was reconciled: bad input (the settlement file, the partner, the date), a job
that cannot run (no database file, no output directory) or one that failed midway; 3 the
database cannot be reached. Nothing is written on 2 or 3 (outputs appear only when
complete), and the database is only ever read. A day not final yet (the partner's
cut-off has not passed) is reconciled all the same, with a warning: payments may still
be posted or reversed on it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Final

from sqlalchemy.exc import SQLAlchemyError

from bank_adapter import command_settings
from bank_adapter.clock import system_clock
from bank_adapter.core.messages import DATE_PATTERN
from bank_adapter.core.money import format_amount, from_halalas
from bank_adapter.domain.payments import day_is_final
from bank_adapter.domain.statement import DayFigures
from bank_adapter.exits import database_errors
from bank_adapter.logging import get_logger
from bank_adapter.partners import Partner, load_partners
from bank_adapter.reconcile.matching import Outcome, OutOfOrder
from bank_adapter.reconcile.runner import Job, run_job
from bank_adapter.reconcile.settlement import HEADER, MAX_SHOWN, BadSettlement
from bank_adapter.settings import Settings
from bank_adapter.store import migrate
from bank_adapter.store.engine import async_url
from bank_adapter.store.repository import StorageUnavailable, Store

EXIT_OK, EXIT_BREAKS, EXIT_BAD_INPUT = 0, 1, 2
_DATE: Final = re.compile(DATE_PATTERN)

Subcommands = argparse._SubParsersAction  # argparse's type for add_subparsers()


class CannotRun(Exception):
    """Bad input or setting found before any work: the message says which."""


def add_commands(commands: Subcommands[argparse.ArgumentParser]) -> None:
    """Add `reconcile` and `statement` to the `bank-adapter` command."""
    _add_reconcile(commands)
    _add_statement(commands)


def _add_reconcile(commands: Subcommands[argparse.ArgumentParser]) -> None:
    reconcile = commands.add_parser(
        "reconcile",
        help="compare a bank's settlement file with the ledger",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=f"""\
Compare a bank's settlement file for one business date with the adapter's ledger,
matching on bank_payment_ref, and report every break: MISSING_AT_ADAPTER,
MISSING_AT_BANK, AMOUNT_MISMATCH, BILL_MISMATCH, STATUS_MISMATCH,
BUSINESS_DATE_MISMATCH (the ledger has the reference on another date) and
DUPLICATE_AT_BANK, with both sides' Count, Total and Checksum (as in the statement).

The file: UTF-8 CSV (a leading byte order mark is skipped), header exactly
  {",".join(HEADER)}
amounts with two decimals, paid_at RFC 3339 with offset, status POSTED or REVERSED.

The report is JSON on stdout (or --out), with "final": false when the day is not
final yet (the bank's cut-off has not passed: payments may still be posted or
reversed on it; a warning says so on stderr). Logs go to stderr, and a progress bar
too when stderr is a terminal. Large days stream: memory does not grow with the
file. The database is only read.

exit status: 0 the day matches, 1 breaks found, 2 bad input (the problems listed
with their line and column, header = line 1: the first {MAX_SHOWN} and the count) or
the job cannot run, 3 the database cannot be reached; nothing is written on 2 or 3.""",
    )
    _add_partner_and_date(reconcile)
    reconcile.add_argument(
        "--bank-file", required=True, type=Path, metavar="CSV", help="the settlement file"
    )
    reconcile.add_argument(
        "--out", type=Path, metavar="FILE", help="write the JSON report here (default: stdout)"
    )
    reconcile.add_argument(
        "--csv", type=Path, metavar="FILE", help="also write the breaks as CSV here"
    )
    reconcile.set_defaults(run=run_reconcile)


def _add_statement(commands: Subcommands[argparse.ArgumentParser]) -> None:
    statement = commands.add_parser(
        "statement",
        help="a partner's day figures, as the bank sees them",
        description="Print, as JSON, the figures of a partner's business date that the "
        "bank's statement (/v1/reconciliation/statement) carries: count (entries, posted "
        "and reversed), total (POSTED amounts), checksum, and final (true once the "
        "partner's cut-off has passed). Read from the running day figures, like the "
        "statement itself. Exit 2 for an unknown partner or a bad date.",
    )
    _add_partner_and_date(statement)
    statement.set_defaults(run=run_statement)


def _add_partner_and_date(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--partner", required=True, metavar="ID", help="the bank's partner id, e.g. RJHI"
    )
    parser.add_argument(
        "--date", required=True, type=_business_date, metavar="YYYY-MM-DD", help="business date"
    )


def _business_date(text: str) -> date:
    try:
        if _DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD")


def run_reconcile(args: argparse.Namespace) -> int:
    """Exit 1 promises a report of breaks: a failure nobody foresaw is left to the
    command's own handling (exit 70), never returned as 1."""
    try:
        settings, partner = _checked(args.partner)
        final = day_is_final(args.date, partner.cutoff, system_clock())
        job = Job(args.partner, args.date, args.bank_file, final, args.out, args.csv)
        _check_paths(job)
        if not final:
            _warn_not_final(partner, args.date)
        outcome = asyncio.run(_reconcile(settings, job))
    except BadSettlement as exc:
        return _fail(f"{args.bank_file}: {exc}")
    except (CannotRun, OSError, SQLAlchemyError, StorageUnavailable, OutOfOrder) as exc:
        return _fail(str(exc))
    return EXIT_OK if outcome.matched else EXIT_BREAKS


def _warn_not_final(partner: Partner, day: date) -> None:
    get_logger("bank_adapter.reconcile").warning(
        "day_not_final",
        partner=partner.id,
        business_date=day.isoformat(),
        detail=f"the cut-off ({partner.cutoff:%H:%M} Asia/Riyadh) that closes this day has "
        "not passed: payments may still be posted or reversed; reconcile again once "
        "`bank-adapter statement` says final",
    )


def _check_paths(job: Job) -> None:
    """Fail now, not after the whole day, on a missing file or output directory."""
    if not job.bank_file.is_file():
        raise CannotRun(f"{job.bank_file}: no such file")
    for output in (job.out, job.csv):
        if output is not None and not output.parent.is_dir():
            raise CannotRun(f"{output}: no such directory {output.parent}")


async def _reconcile(settings: Settings, job: Job) -> Outcome:
    async with _store(settings) as store:
        return await run_job(job, store, stdout=sys.stdout, stderr=sys.stderr)


def run_statement(args: argparse.Namespace) -> int:
    try:
        settings, partner = _checked(args.partner)
        figures = asyncio.run(_day_figures(settings, partner.id, args.date))
    except (CannotRun, SQLAlchemyError) as exc:
        return _fail(str(exc))
    print(json.dumps(_statement(partner, args.date, figures), indent=2))
    return EXIT_OK


async def _day_figures(settings: Settings, partner_id: str, day: date) -> DayFigures:
    async with _store(settings) as store, store.read() as tx:
        return await tx.day_figures(partner_id, day)


@asynccontextmanager
async def _store(settings: Settings) -> AsyncIterator[Store]:
    """The adapter's database, once it answers (else DatabaseUnavailable, exit 3) and
    holds the adapter's schema; read only from here on."""
    store = Store.open(settings.database_url, busy_timeout_s=settings.db_busy_timeout_s)
    try:
        with database_errors(settings.database_url):
            revision = await migrate.current_revision(store.engine)
        if revision is None:
            raise CannotRun(
                "the database has no bank-adapter schema; check BANK_ADAPTER_DATABASE_URL"
            )
        await store.engine.dispose()  # reads go through the store's own driver from here
        yield store
    finally:
        await store.close()


def _statement(partner: Partner, day: date, figures: DayFigures) -> dict[str, object]:
    return {
        "partner": partner.id,
        "businessDate": day.isoformat(),
        "final": day_is_final(day, partner.cutoff, system_clock()),
        "count": figures.count,
        "total": format_amount(from_halalas(figures.total_halalas)),
        "checksum": figures.checksum_hex,
    }


def _checked(partner_id: str) -> tuple[Settings, Partner]:
    """The settings and the partner, once both are known good and the database is there."""
    settings = command_settings.load(os.environ)
    partner = load_partners(settings.partners_dir, sandbox=settings.sandbox).get(partner_id)
    if partner is None:
        raise CannotRun(f"unknown partner {partner_id!r} (not in {settings.partners_dir})")
    _require_database(settings.database_url)
    return settings, partner


def _require_database(url: str) -> None:
    """Refuse an SQLite file that does not exist rather than create an empty one."""
    parsed = async_url(url)  # checked by command_settings.load
    name = parsed.database or ":memory:"
    if parsed.get_backend_name() == "sqlite" and name != ":memory:" and not Path(name).is_file():
        raise CannotRun(f"no database at {name} (see BANK_ADAPTER_DATABASE_URL)")


def _fail(message: str) -> int:
    print(f"bank-adapter: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT
