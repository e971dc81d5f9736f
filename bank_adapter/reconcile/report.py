"""The reconciliation report: JSON (figures, counts and every break) and CSV (the breaks).

Breaks can be as many as the rows, so none is kept: each is written as found, one JSON
object per line, to a scratch file. The counts are known only at the end, so the report
is assembled afterwards, its head first and then the scratch lines copied verbatim into
its `breaks` array: memory holds one break at a time. The CSV is made from the same
lines, so both formats say the same.

The report:
    {"partner", "businessDate", "final", "bankFile", "matched",   # final: cut-off passed
     "bank": {"count", "total", "checksum"}, "adapter": {...},   # statement figures
     "breakCounts": {CLASS: n, ...},                              # every class
     "breaks": [{"class", "bankPaymentRef", "field", "bankValue", "adapterValue",
                 "bank": {"line", "billNumber", "amount", "paidAt", "status"} | null,
                 "adapter": {"paymentId", "billNumber", "amount", "paidAt", "status",
                             "businessDate"} | null}, ...]}
Output files are written beside their final name and renamed into place when complete,
so a run that fails leaves no half-written report behind.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, Final, TextIO

from bank_adapter.core.messages import format_timestamp
from bank_adapter.core.money import format_amount, from_halalas
from bank_adapter.domain.statement import DayFigures
from bank_adapter.reconcile.matching import Break, LedgerRow, Outcome
from bank_adapter.reconcile.settlement import BankRow

CSV_HEADER: Final = (
    "class",
    "bank_payment_ref",
    "field",
    "bank_value",
    "adapter_value",
    "bank_line",
    "payment_id",
)


def break_record(found: Break) -> dict[str, Any]:
    return {
        "class": found.kind.value,
        "bankPaymentRef": found.bank_payment_ref,
        "field": found.field,
        "bankValue": found.bank_value,
        "adapterValue": found.adapter_value,
        "bank": None if found.bank is None else _bank_side(found.bank),
        "adapter": None if found.adapter is None else _adapter_side(found.adapter),
    }


def _bank_side(row: BankRow) -> dict[str, Any]:
    return {
        "line": row.line,
        "billNumber": row.bill_number,
        "amount": row.amount,
        "paidAt": row.paid_at,
        "status": row.status.value,
    }


def _adapter_side(row: LedgerRow) -> dict[str, Any]:
    return {
        "paymentId": row.payment_id,
        "billNumber": row.bill_number,
        "amount": row.amount,
        "paidAt": format_timestamp(row.paid_at),
        "status": row.status.value,
        "businessDate": row.business_date.isoformat(),
    }


def report_head(
    partner_id: str, day: date, final: bool, bank_file: str, outcome: Outcome
) -> dict[str, Any]:
    return {
        "partner": partner_id,
        "businessDate": day.isoformat(),
        "final": final,
        "bankFile": bank_file,
        "matched": outcome.matched,
        "bank": _figures(outcome.bank),
        "adapter": _figures(outcome.adapter),
        "breakCounts": {kind.value: count for kind, count in outcome.break_counts.items()},
    }


def _figures(figures: DayFigures) -> dict[str, Any]:
    total = format_amount(from_halalas(figures.total_halalas))
    return {"count": figures.count, "total": total, "checksum": figures.checksum_hex}


def write_report(out: TextIO, head: dict[str, Any], break_lines: Iterable[str]) -> None:
    """The JSON report: `head`, then `break_lines` (JSON objects) as its `breaks`."""
    opening = json.dumps(head, indent=2)
    out.write(opening.removesuffix("\n}") + ',\n  "breaks": [')
    separator = "\n    "
    for line in break_lines:
        out.write(separator + line.rstrip("\n"))
        separator = ",\n    "
    out.write("]\n}\n" if separator == "\n    " else "\n  ]\n}\n")


def write_csv(out: TextIO, break_lines: Iterable[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for line in break_lines:
        writer.writerow(_csv_row(json.loads(line)))


def _csv_row(record: dict[str, Any]) -> list[Any]:
    bank, adapter = record["bank"] or {}, record["adapter"] or {}
    return [
        record["class"],
        record["bankPaymentRef"],
        record["field"],
        record["bankValue"],
        record["adapterValue"],
        bank.get("line"),
        adapter.get("paymentId"),
    ]


@contextmanager
def replacing(path: Path) -> Iterator[TextIO]:
    """A text file that becomes `path` when the block completes, and vanishes otherwise."""
    scratch = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with scratch.open("w", encoding="utf-8", newline="") as out:
            yield out
        scratch.replace(path)
    finally:
        scratch.unlink(missing_ok=True)
