"""The reconciliation job's shell: files, database and progress around the pure core.

1. Read the settlement file into the external sort (`sorting`), parsing as it goes
   (`settlement`, by batches). Any problem stops the job here, before anything is
   written.
2. In one read transaction (one snapshot): read the day's ledger in reference order,
   a batch at a time (`ledger`), merge-join each batch with the sorted bank rows and
   classify (`matching`), writing each break to a scratch file as it is found. Rows
   stay in their stored form (plain tuples) through the join; only the pairs that do
   not agree are made typed rows and classified, the others are just counted.
   References missing on the day are looked up on other dates in batches of
   `LOOKUP_BATCH` (one query per batch, not per row: a file sent for the wrong date
   misses every row), the pairs waiting meanwhile, so breaks stay in reference order.
3. Write the report (stdout or a file) and the CSV from the scratch file (`report`).

Memory is bounded by constants (a parse batch, a sort run or the merge's blocks, one
ledger batch, one lookup batch), never by the size of the day. Scratch space is a
temporary directory (under TMPDIR) of about the settlement file's size (twice that
while runs are merged in passes, past 64 runs: 1,920,000 rows), removed at the end.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from datetime import date
from functools import partial
from itertools import chain, islice
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Final, TextIO

from bank_adapter import logging as adapter_logging
from bank_adapter.reconcile.ledger import day_rows, payments_by_ref
from bank_adapter.reconcile.ledger import typed as ledger_row
from bank_adapter.reconcile.matching import (
    Join,
    Outcome,
    Pair,
    Reconciliation,
    StoredBank,
    StoredLedger,
)
from bank_adapter.reconcile.progress import Progress, tracked
from bank_adapter.reconcile.report import (
    break_record,
    replacing,
    report_head,
    write_csv,
    write_report,
)
from bank_adapter.reconcile.settlement import (
    MAX_LINE_BYTES,
    Problems,
    parse_stored,
)
from bank_adapter.reconcile.settlement import (
    typed as bank_row,
)
from bank_adapter.reconcile.sorting import SortedSpill
from bank_adapter.store.repository import Store
from bank_adapter.store.tx import SqlTx

LOOKUP_BATCH: Final = 1_000
StoredPair = tuple[StoredBank | None, StoredLedger | None, bool]


@dataclass(frozen=True, slots=True)
class Job:
    partner_id: str
    day: date
    bank_file: Path
    final: bool  # the day has closed: nothing can change its ledger any more
    out: Path | None = None  # None: stdout
    csv: Path | None = None


async def run_job(job: Job, store: Store, *, stdout: TextIO, stderr: TextIO) -> Outcome:
    """Reconcile; BadSettlement (before anything is written) if the file is unusable."""
    with TemporaryDirectory(prefix="bank-adapter-reconcile-") as scratch:
        breaks = Path(scratch) / "breaks.jsonl"
        with SortedSpill(Path(scratch)) as spill:
            _load(job.bank_file, spill, Progress(stderr, "reading  "))
            total = max(spill.count, 1)
            progress = Progress(stderr, "comparing")
            bank_rows = tracked(spill.in_ref_order(), progress, lambda rows: rows / total)
            with breaks.open("w", encoding="utf-8") as log:
                outcome = await _compare(job, store, bank_rows, log)
        _write(job, outcome, breaks, stdout)
    _log_outcome(job, outcome)
    return outcome


def _load(path: Path, spill: SortedSpill, progress: Progress) -> None:
    problems = Problems()
    size = max(path.stat().st_size, 1)
    with path.open("rb") as raw:
        lines = iter(partial(raw.readline, MAX_LINE_BYTES + 1), b"")
        rows = chain.from_iterable(problems.rows(parse_stored(lines)))
        spill.add(tracked(rows, progress, lambda _rows: raw.tell() / size))
    problems.check()


async def _compare(job: Job, store: Store, bank_rows: Iterable[StoredBank], log: TextIO) -> Outcome:
    reconciliation = Reconciliation(job.day)
    merge: Join[StoredBank, StoredLedger] = Join(bank_rows)
    async with (
        store.read(snapshot=True) as tx,
        aclosing(day_rows(tx, job.partner_id, job.day)) as batches,
    ):
        async for batch in batches:
            await _classify(merge.pairs(batch), tx, job, reconciliation, log)
        await _classify(merge.rest(), tx, job, reconciliation, log)
    return reconciliation.outcome


async def _classify(
    pairs: Iterator[StoredPair], tx: SqlTx, job: Job, reconciliation: Reconciliation, log: TextIO
) -> None:
    """Classify `pairs`, `LOOKUP_BATCH` at a time: the rows that agree are counted as they
    are; the others become typed rows, the references the day lacks are looked up on
    other dates (one query), and their breaks are written."""
    while waiting := list(islice(pairs, LOOKUP_BATCH)):
        left = [
            Pair(
                None if bank is None else bank_row(bank),
                None if ledger is None else ledger_row(tx, ledger, job.day),
                duplicate,
            )
            for bank, ledger, duplicate in waiting
            if not reconciliation.add_if_same(bank, ledger, duplicate)
        ]
        refs = [pair.lookup_ref for pair in left if pair.lookup_ref is not None]
        found = await payments_by_ref(tx, job.partner_id, refs) if refs else {}
        for pair in left:
            elsewhere = found.get(pair.lookup_ref) if found and pair.lookup_ref else None
            for each in reconciliation.add(pair, elsewhere):
                log.write(json.dumps(break_record(each)) + "\n")


def _write(job: Job, outcome: Outcome, breaks: Path, stdout: TextIO) -> None:
    head = report_head(job.partner_id, job.day, job.final, str(job.bank_file), outcome)
    if job.csv is not None:
        with breaks.open(encoding="utf-8") as lines, replacing(job.csv) as out:
            write_csv(out, lines)
    with breaks.open(encoding="utf-8") as lines:
        if job.out is None:
            write_report(stdout, head, lines)
            return
        with replacing(job.out) as out:
            write_report(out, head, lines)


def _log_outcome(job: Job, outcome: Outcome) -> None:
    adapter_logging.get_logger("bank_adapter.reconcile").info(
        "reconciled",
        partner=job.partner_id,
        business_date=job.day.isoformat(),
        matched=outcome.matched,
        bank_count=outcome.bank.count,
        adapter_count=outcome.adapter.count,
        breaks=sum(outcome.break_counts.values()),
    )
