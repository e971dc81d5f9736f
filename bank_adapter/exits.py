"""Exit codes of the `bank-adapter` command, and the one line each mistake gets.

An operator's mistake or an outage the operator can fix (a setting, a file, a database
that does not answer, a port in use) ends the command with one line on stderr saying
what is wrong and what to do, and an exit code of the table below (also in the README,
"Exit codes"); `--debug` adds the traceback. Anything else is a bug: one line naming it,
exit 70.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bank_adapter.core.keys import KeyFormatError
from bank_adapter.domain.fees import FeeScheduleError
from bank_adapter.domain.ids import mask_ids_in_text
from bank_adapter.partners import PartnerConfigError
from bank_adapter.settings import SettingsError

EXIT_OK = 0
EXIT_FAILED = 1  # the command ran and found a problem: reconcile breaks, a demo step
EXIT_CONFIG = 2  # usage or configuration: command line, setting or file; nothing done
EXIT_DATABASE = 3  # the database cannot be reached or opened
EXIT_LISTEN = 4  # the service cannot listen on its address and port
EXIT_BUG = 70  # sysexits' EX_SOFTWARE: an error nobody foresaw
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C

# Errors whose message names the setting or file and the field at fault; where it cannot
# name the setting, the hint does.
CONFIG_ERRORS = (SettingsError, PartnerConfigError, KeyFormatError, FeeScheduleError)
HINTS: dict[type[Exception], str] = {
    KeyFormatError: "the adapter's keys are BANK_ADAPTER_SIGNING_KEY and "
    "BANK_ADAPTER_EXTRA_PUBLIC_KEYS (PEM files)",
    FeeScheduleError: "the fee schedule is BANK_ADAPTER_FEES_FILE (default ./fees.toml)",
}


class OperatorError(Exception):
    """Something the operator can fix; the message says what is wrong and what to do."""

    exit_code = EXIT_CONFIG


class DatabaseUnavailable(OperatorError):
    exit_code = EXIT_DATABASE


class CannotListen(OperatorError):
    exit_code = EXIT_LISTEN


def explain(exc: BaseException) -> tuple[str, int]:
    """The one line (without the `bank-adapter: ` prefix) and the exit code for `exc`."""
    if isinstance(exc, OperatorError):
        return one_line(exc), exc.exit_code
    if isinstance(exc, CONFIG_ERRORS):
        hint = HINTS.get(type(exc))
        return one_line(exc) + (f"; {hint}" if hint else ""), EXIT_CONFIG
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", EXIT_INTERRUPTED
    detail = f"{type(exc).__name__}: {one_line(exc)}"
    return f"unexpected error {detail}; run again with --debug for the traceback", EXIT_BUG


def one_line(exc: BaseException) -> str:
    """The message on one line, ID-number-shaped digits masked as in the logs."""
    return mask_ids_in_text(" ".join(str(exc).split())) or type(exc).__name__


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Turn a database that cannot be reached or opened into DatabaseUnavailable."""
    try:
        yield
    except (SQLAlchemyError, OSError) as exc:
        cause = exc.orig if isinstance(exc, DBAPIError) else None
        reason = one_line(cause or exc)
        raise DatabaseUnavailable(
            f"cannot use the database {redacted(url)}: {reason}; "
            "check BANK_ADAPTER_DATABASE_URL and that the database is up"
        ) from exc


def redacted(url: str) -> str:
    """The URL without its password: fit for a terminal and a log."""
    return make_url(url).render_as_string(hide_password=True)


def cannot_listen(exc: OSError, host: str, port: int, listener: str = "") -> CannotListen:
    """`listener` is "" for the public listener, "ADMIN_" for the admin one: the
    settings to change are named after it."""
    where = f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return CannotListen(
            f"cannot listen on {where}: the port is in use; stop what listens there "
            f"(`ss -ltnp 'sport = :{port}'` names it) or set another BANK_ADAPTER_{listener}PORT"
        )
    return CannotListen(
        f"cannot listen on {where}: {exc.strerror or one_line(exc)}; check "
        f"BANK_ADAPTER_{listener}HOST (an address of this machine) and "
        f"BANK_ADAPTER_{listener}PORT"
    )
