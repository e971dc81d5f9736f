"""The bank's settlement file: a UTF-8 CSV, parsed into rows a batch of lines at a time.

The header is exactly `bank_payment_ref,bill_number,amount,paid_at,status` (line 1).
Every data line then has those five fields: a non-empty reference, a bill number (data:
not validated, the bank may have mistyped it and that is a break to report, not a file
error), an amount with exactly two decimals, `paid_at` in RFC 3339 with an offset (the
contract's wire form), and `status` POSTED or REVERSED.

Problems are records, not exceptions: the parser reports every bad line and goes on, so
an analyst sees all of them at once; a file that cannot be read as CSV at all (no or
another header, UTF-16, broken quoting) ends with that one problem. Each problem names
its line (the header is line 1; a record spanning several lines through a quoted line
break is named by its last one) and its column: the header's name for the field, or
`field N` for one beyond the fifth.

Encoding: UTF-8, strictly; a byte sequence that is not UTF-8 is a problem naming the
line and the field that holds it. A UTF-8 byte order mark before the header is accepted
and skipped (spreadsheet programs write one when saving "CSV UTF-8"; it is not
content); a UTF-16 or UTF-32 byte order mark means the file is not UTF-8 at all.

Speed: a day is a million lines. Records are taken `BATCH` at a time; a batch of
one-line, UTF-8, valid records (the common case) is checked column by column in C loops
(`_valid_rows`), and any other batch record by record (`_row`), which names every
problem as above. Rows come out in stored form (`Stored`), as the external sort keeps
them; `typed` makes one a `BankRow`.
"""

from __future__ import annotations

import codecs
import csv
import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from operator import itemgetter
from typing import Final, NamedTuple, TypeVar

from bank_adapter.core.messages import TIMESTAMP_PATTERN, PaymentStatus
from bank_adapter.core.money import AMOUNT_PATTERN

MAX_SHOWN: Final = 20
MAX_LINE_BYTES: Final = 64 * 1024  # a settlement line has about 100
HEADER: Final = ("bank_payment_ref", "bill_number", "amount", "paid_at", "status")
_AMOUNT: Final = re.compile(AMOUNT_PATTERN)
_TIMESTAMP: Final = re.compile(TIMESTAMP_PATTERN)
_STATUSES: Final = {status.value: status for status in PaymentStatus}
_STATUS_TEXTS: Final = {status.value: status.value for status in PaymentStatus}
T = TypeVar("T")
BATCH: Final = 1_000
# TIMESTAMP_PATTERN narrowed to fields in range (months, hours, offsets...): a value that
# matches it on a real date (`_is_date`) is one `_is_timestamp` accepts, so a batch of
# them needs no `datetime` per row. Any other value takes the exact check.
_PLAIN_TIMESTAMP: Final = re.compile(
    r"20[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)
_DAY: Final = itemgetter(slice(0, 10))
_UTF8_BOM: Final = codecs.BOM_UTF8
_FOREIGN_BOMS: Final = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE)


class BankRow(NamedTuple):
    """One settlement line. Tuples order by reference, then line: the external sort's key."""

    bank_payment_ref: str
    line: int
    bill_number: str
    amount: str  # the wire form, two decimals, as the checksum takes it
    amount_halalas: int
    paid_at: str  # as the bank wrote it (validated): reported back, never compared
    status: PaymentStatus


# A row in stored form: a BankRow's values, the status as its text. Plain values, so
# the external sort writes and reads them in C and the join compares them as they are.
Stored = tuple[str, int, str, str, int, str, str]


@dataclass(frozen=True, slots=True)
class Problem:
    """Why one line of the file cannot be used."""

    line: int
    column: str | None  # None only when the line could not be split into fields
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


class BadSettlement(ValueError):
    """The file cannot be reconciled; the message lists its problems."""

    def __init__(self, problems: Sequence[Problem], total: int) -> None:
        self.problems = tuple(problems)
        self.total = total
        lines = [str(problem) for problem in problems]
        if total > len(problems):
            lines.append(f"... and {total - len(problems)} more")
        noun = "problem" if total == 1 else "problems"
        super().__init__(f"{total} {noun}:\n  " + "\n  ".join(lines))


class Problems:
    """Sets the problems aside while the rows stream on; keeps the first `shown`."""

    def __init__(self, shown: int = MAX_SHOWN) -> None:
        self._shown = shown
        self._first: list[Problem] = []
        self.total = 0

    def rows(self, items: Iterable[T | Problem]) -> Iterator[T]:
        for item in items:
            if not isinstance(item, Problem):
                yield item
            else:
                self.total += 1
                if len(self._first) < self._shown:
                    self._first.append(item)

    def check(self) -> None:
        """BadSettlement if there was any problem."""
        if self.total:
            raise BadSettlement(self._first, self.total)


def typed(row: Stored) -> BankRow:
    """The `BankRow` stored as `row`."""
    ref, line, bill, amount, halalas, paid_at, status = row
    return BankRow(ref, line, bill, amount, halalas, paid_at, _STATUSES[status])


def parse_stored(lines: Iterable[bytes]) -> Iterator[list[Stored] | Problem]:
    """The rows of the file whose raw lines (with their line ends) are `lines`, by
    batches in stored form (plain values, status as its text: what the external sort
    keeps), and a `Problem` in place of each line that is not a valid row.

    A line longer than MAX_LINE_BYTES (not a settlement file, then) ends the file: read
    it with `readline(MAX_LINE_BYTES + 1)` so that such a line never has to fit in memory.
    """
    decoder = _Decoder(lines)
    records = csv.reader(decoder, strict=True)
    try:
        header = next(records, None)
        problem = _header_problem(header, decoder)
    except csv.Error as exc:
        yield Problem(records.line_num, None, f"not readable as CSV: {exc}")
        return
    except _Unreadable as exc:
        yield exc.problem
        return
    if problem is not None:
        yield problem
        return
    while True:
        first, batch = records.line_num + 1, list[list[str]]()
        try:
            batch.extend(islice(records, BATCH))  # keeps what came before an error
        except csv.Error as exc:
            yield from _checked(batch, first, records.line_num - 1, decoder)
            yield Problem(records.line_num, None, f"not readable as CSV: {exc}")
            return
        except _Unreadable as exc:
            yield from _checked(batch, first, exc.problem.line - 1, decoder)
            yield exc.problem
            return
        if not batch:
            return
        yield from _checked(batch, first, records.line_num, decoder)


def _checked(
    batch: list[list[str]], first: int, last: int, decoder: _Decoder
) -> Iterator[list[Stored] | Problem]:
    """The records of lines `first` to `last`, as rows or problems. A batch of one-line
    records, all UTF-8 and all valid, is checked column by column (`_valid_rows`); any
    other goes record by record, as its problems must be named."""
    if not batch:
        return
    if last - first + 1 == len(batch) and not decoder.bad:
        rows = _valid_rows(batch, first)
        if rows is not None:
            yield rows
            return
    good: list[Stored] = []
    line = first - 1
    for record in batch:
        line += 1 + sum(field.count("\n") for field in record)  # quoted line breaks
        item = _row(record, line, decoder.take_bad(line))
        if isinstance(item, Problem):
            if good:
                yield good
                good = []
            yield item
        else:
            good.append(item)
    if good:
        yield good


def _valid_rows(batch: list[list[str]], first: int) -> list[Stored] | None:
    """The rows of `batch` (lines `first`, `first` + 1, ...) if every one is valid, else
    None. The checks of `_row` a column at a time, in C loops, for the common case."""
    if set(map(len, batch)) != {len(HEADER)}:
        return None
    refs, bills, amounts, paid_ats, statuses = zip(*batch, strict=True)
    if not (
        all(refs)
        and all(map(_AMOUNT.fullmatch, amounts))
        and _STATUSES.keys() >= set(statuses)
        and all(map(_PLAIN_TIMESTAMP.fullmatch, paid_ats))
        and all(_is_date(day) for day in set(map(_DAY, paid_ats)))
    ):
        return None
    halalas = map(int, ",".join(amounts).replace(".", "").split(","))
    lines = range(first, first + len(batch))
    status_texts = map(_STATUS_TEXTS.__getitem__, statuses)  # one string each, not one a row
    return list(zip(refs, lines, bills, amounts, halalas, paid_ats, status_texts, strict=True))


class _Unreadable(Exception):
    """The rest of the file cannot be read: `problem` says why."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem


class _Decoder:
    """Decodes raw lines for the csv module and remembers, by line number, those that
    were not UTF-8; they are decoded with surrogate escapes, so the field holding the
    bad byte can be named."""

    def __init__(self, lines: Iterable[bytes]) -> None:
        self._lines = lines
        self.bad: dict[int, UnicodeDecodeError] = {}

    def __iter__(self) -> Iterator[str]:
        for number, raw in enumerate(self._lines, 1):
            if len(raw) > MAX_LINE_BYTES:
                raise _Unreadable(Problem(number, None, f"longer than {MAX_LINE_BYTES} bytes"))
            line = raw if number > 1 else _without_bom(raw)
            try:
                yield line.decode("utf-8")
            except UnicodeDecodeError as exc:
                self.bad[number] = exc
                yield line.decode("utf-8", "surrogateescape")

    def take_bad(self, upto: int) -> UnicodeDecodeError | None:
        """The last line up to `upto` that was not UTF-8, forgetting those lines."""
        lines = [number for number in self.bad if number <= upto]
        errors = [self.bad.pop(number) for number in lines]
        return errors[-1] if errors else None


def _without_bom(first: bytes) -> bytes:
    if first.startswith(_FOREIGN_BOMS):
        raise _Unreadable(Problem(1, None, "the file is UTF-16 or UTF-32; it must be UTF-8"))
    return first.removeprefix(_UTF8_BOM)


def _header_problem(header: list[str] | None, decoder: _Decoder) -> Problem | None:
    expected = ",".join(HEADER)
    if header is None:
        return Problem(1, HEADER[0], f"missing header (the file is empty); expected {expected}")
    if decoder.take_bad(1) is not None or tuple(header) != HEADER:
        column = _first_difference(header)
        return Problem(1, column, f"the header must be exactly {expected}")
    return None


def _first_difference(header: list[str]) -> str:
    for index, name in enumerate(HEADER):
        if index >= len(header) or header[index] != name:
            return name
    return f"field {len(HEADER) + 1}"


def _row(record: list[str], line: int, bad: UnicodeDecodeError | None) -> Stored | Problem:
    if bad is not None:
        return _encoding_problem(record, line, bad)
    if len(record) != len(HEADER):
        return _count_problem(record, line)
    ref, bill_number, amount, paid_at, status = record
    if not ref:
        return Problem(line, "bank_payment_ref", "empty")
    if not _AMOUNT.fullmatch(amount):
        return Problem(line, "amount", f"{amount!r} is not an amount with two decimals")
    if not _is_timestamp(paid_at):
        return Problem(line, "paid_at", f"{paid_at!r} is not an RFC 3339 date-time with offset")
    if status not in _STATUSES:
        return Problem(line, "status", f"{status!r} is neither POSTED nor REVERSED")
    halalas = int(amount.replace(".", ""))  # exact: the pattern allows two decimals only
    return (ref, line, bill_number, amount, halalas, paid_at, _STATUS_TEXTS[status])


@functools.lru_cache(maxsize=1024)  # a day's file holds a few dates, and a few years only
def _is_date(text: str) -> bool:  # exist (20xx-xx-xx): bounded
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_timestamp(text: str) -> bool:
    if not _TIMESTAMP.fullmatch(text):
        return False
    try:
        datetime.fromisoformat(text)  # the right shape, but a real instant? (not 02-30)
    except ValueError:
        return False
    return True


def _encoding_problem(record: list[str], line: int, bad: UnicodeDecodeError) -> Problem:
    index = next((i for i, field in enumerate(record) if not _is_text(field)), None)
    column = None if index is None else _column_name(index)
    byte = bad.object[bad.start]
    return Problem(line, column, f"not UTF-8 (byte 0x{byte:02X} at offset {bad.start})")


def _is_text(field: str) -> bool:
    try:
        field.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _count_problem(record: list[str], line: int) -> Problem:
    found = f"{len(record)} field{'s' if len(record) != 1 else ''}"
    if not record:
        return Problem(line, HEADER[0], f"empty line; expected {len(HEADER)} fields")
    missing = len(record) < len(HEADER)
    column = _column_name(len(record) if missing else len(HEADER))
    what = "missing" if missing else "too many fields"
    return Problem(line, column, f"{what}: the line has {found}, expected {len(HEADER)}")


def _column_name(index: int) -> str:
    return HEADER[index] if index < len(HEADER) else f"field {index + 1}"
