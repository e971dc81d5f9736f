"""`bank-adapter reconcile` and `bank-adapter statement`: the operator's day-end commands.

Exit codes of `reconcile`: 0 the day matches, 1 it has breaks (the report says which),
2 nothing was reconciled: bad input (the settlement file, the partner, the date), a job
that cannot run (no database, no output directory) or one that failed midway. Nothing
is written on 2 (outputs appear only when complete), and the database is only ever read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from datetime import date
from pathlib import Path
from typing import Final

from sqlalchemy.exc import SQLAlchemyError

from bank_adapter.clock import system_clock
from bank_adapter.core.messages import DATE_PATTERN
from bank_adapter.core.money import format_amount, from_halalas
from bank_adapter.domain.payments import day_is_final
from bank_adapter.domain.statement import DayFigures
from bank_adapter.logging import get_logger
from bank_adapter.partners import Partner, load_partners
from bank_adapter.reconcile.matching import Outcome, OutOfOrder
from bank_adapter.reconcile.runner import Job, run_job
from bank_adapter.reconcile.settlement import HEADER, BadSettlement
from bank_adapter.settings import Settings
from bank_adapter.store.engine import async_url
from bank_adapter.store.repository import Store

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

The report is JSON on stdout (or --out); logs go to stderr, and a progress bar
too when stderr is a terminal. Large days stream: memory does not grow with the file.

exit status: 0 the day matches, 1 breaks found, 2 bad input (every problem listed
with its line and column, header = line 1) or the job cannot run; nothing is written.""",
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
    job = Job(args.partner, args.date, args.bank_file, args.out, args.csv)
    try:
        settings, _partner = _checked(job.partner_id)
        _check_paths(job)
        outcome = asyncio.run(_reconcile(settings, job))
    except BadSettlement as exc:
        return _fail(f"{job.bank_file}: {exc}")
    except (CannotRun, OSError, SQLAlchemyError, OutOfOrder) as exc:
        return _fail(str(exc))
    except Exception:
        # Exit 1 promises a report of breaks; a failure nobody foresaw must not look like one.
        get_logger("bank_adapter.reconcile").exception("reconciliation failed")
        return EXIT_BAD_INPUT
    return EXIT_OK if outcome.matched else EXIT_BREAKS


def _check_paths(job: Job) -> None:
    """Fail now, not after the whole day, on a missing file or output directory."""
    if not job.bank_file.is_file():
        raise CannotRun(f"{job.bank_file}: no such file")
    for output in (job.out, job.csv):
        if output is not None and not output.parent.is_dir():
            raise CannotRun(f"{output}: no such directory {output.parent}")


async def _reconcile(settings: Settings, job: Job) -> Outcome:
    store = Store.open(settings.database_url, busy_timeout_s=settings.db_busy_timeout_s)
    try:
        return await run_job(job, store, stdout=sys.stdout, stderr=sys.stderr)
    finally:
        await store.close()


def run_statement(args: argparse.Namespace) -> int:
    try:
        settings, partner = _checked(args.partner)
        figures = asyncio.run(_day_figures(settings, partner.id, args.date))
    except (CannotRun, SQLAlchemyError) as exc:
        return _fail(str(exc))
    print(json.dumps(_statement(partner, args.date, figures), indent=2))
    return EXIT_OK


async def _day_figures(settings: Settings, partner_id: str, day: date) -> DayFigures:
    store = Store.open(settings.database_url, busy_timeout_s=settings.db_busy_timeout_s)
    try:
        async with store.read() as tx:
            return await tx.day_figures(partner_id, day)
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
    settings = Settings.from_env(os.environ)
    partner = load_partners(settings.partners_dir, sandbox=settings.sandbox).get(partner_id)
    if partner is None:
        raise CannotRun(f"unknown partner {partner_id!r} (not in {settings.partners_dir})")
    _require_database(settings.database_url)
    return settings, partner


def _require_database(url: str) -> None:
    """Refuse an SQLite file that does not exist rather than create an empty one."""
    try:
        parsed = async_url(url)
    except ValueError as exc:
        raise CannotRun(f"BANK_ADAPTER_DATABASE_URL: {exc}") from None
    name = parsed.database or ":memory:"
    if parsed.get_backend_name() == "sqlite" and name != ":memory:" and not Path(name).is_file():
        raise CannotRun(f"no database at {name} (see BANK_ADAPTER_DATABASE_URL)")


def _fail(message: str) -> int:
    print(f"bank-adapter: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT
