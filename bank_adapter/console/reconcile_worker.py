"""One console reconciliation, in a process of its own:

    python -m bank_adapter.console.reconcile_worker RUN_DIR PARTNER DATE FILE_NAME final|open

The console streams the uploaded settlement file into RUN_DIR and starts this; it runs
the reconciliation job of `bank_adapter.reconcile` (external sort and merge-join, the
same code and memory bound as `bank-adapter reconcile`) against the database named by
BANK_ADAPTER_DATABASE_URL, and leaves in RUN_DIR the report, the breaks CSV and the
report's head (figures and counts) for the page. A process, not a task of the service:
the job's parsing and sorting would otherwise hold the service's event loop (and its
memory) for the length of the day.

Exit status: 0 the day matches, 1 breaks, 2 the file is unusable (its problems, by line
and column, in RUN_DIR/error.txt), 3 the job could not run (the reason in error.txt).
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import resource
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Final

from sqlalchemy.exc import SQLAlchemyError

from bank_adapter import logging as adapter_logging
from bank_adapter.reconcile.matching import Outcome, OutOfOrder
from bank_adapter.reconcile.report import report_head
from bank_adapter.reconcile.runner import Job, run_job
from bank_adapter.reconcile.settlement import BadSettlement
from bank_adapter.store.repository import StorageUnavailable, Store

UPLOAD: Final = "settlement.csv"
REPORT: Final = "report.json"
BREAKS: Final = "breaks.csv"
HEAD: Final = "head.json"
ERROR: Final = "error.txt"
FINAL, OPEN = "final", "open"  # the last argument: whether the day had closed
EXIT_MATCHED, EXIT_BREAKS, EXIT_BAD_FILE, EXIT_CANNOT_RUN = 0, 1, 2, 3


def main(argv: Sequence[str]) -> int:
    run_dir, partner_id, day, file_name, final = (
        Path(argv[0]),
        argv[1],
        date.fromisoformat(argv[2]),
        argv[3],
        argv[4] == FINAL,
    )
    adapter_logging.configure(level=os.environ.get("BANK_ADAPTER_LOG_LEVEL", "INFO"))
    job = Job(partner_id, day, run_dir / UPLOAD, final, run_dir / REPORT, run_dir / BREAKS)
    try:
        outcome = asyncio.run(_run(job, os.environ["BANK_ADAPTER_DATABASE_URL"]))
    except BadSettlement as exc:
        (run_dir / ERROR).write_text(str(exc), encoding="utf-8")
        return EXIT_BAD_FILE
    except (OSError, SQLAlchemyError, StorageUnavailable, OutOfOrder) as exc:
        (run_dir / ERROR).write_text(f"{type(exc).__name__}: {exc}"[:2000], encoding="utf-8")
        return EXIT_CANNOT_RUN
    head = report_head(partner_id, day, final, file_name, outcome)
    (run_dir / HEAD).write_text(json.dumps(head), encoding="utf-8")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # Linux: KiB
    adapter_logging.get_logger("bank_adapter.console").info(
        "reconcile_job_done", peak_rss_mb=peak_mb
    )
    return EXIT_MATCHED if outcome.matched else EXIT_BREAKS


async def _run(job: Job, database_url: str) -> Outcome:
    store = Store.open(database_url)
    quiet = io.StringIO()  # the job's report goes to files; progress bars need a terminal
    try:
        return await run_job(job, store, stdout=quiet, stderr=quiet)
    finally:
        await store.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
