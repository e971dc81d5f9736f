"""A Statement page's entries from parsed JSON, checked column by column.

The SDK reads whole days of statements: a 5,000-entry page validated entry by entry
(pydantic calling the Python validators of Amount, Timestamp and the text fields for each)
cost more than the adapter spent serving it. Here each field is checked for all entries
at once with loops that run in C (`map` over compiled patterns and builtins), and the
entries are built as `StatementEntry.model_construct` builds a model, without running
validation again.

`validated_entries` only ever accepts: anything it is not sure of (a missing or extra
key, a non-string, a value outside its pattern or bounds, a day that does not exist)
makes it answer None, and the caller validates the page through the model, which names
the fault. It is stricter than the model, never looser, and what it builds equals what
the model builds (property-tested against `StatementEntry.model_validate`).
"""

from __future__ import annotations

import re
from collections import deque
from datetime import datetime
from decimal import Decimal
from itertools import repeat
from operator import itemgetter
from typing import Any, Final

from pydantic import BaseModel

from bank_adapter.core.messages import (
    END_INSTANT,
    FIRST_INSTANT,
    MAX_ENTRIES,
    NOT_TEXT,
    TIMESTAMP_PATTERN,
    PaymentStatus,
    StatementEntry,
)
from bank_adapter.core.money import AMOUNT_PATTERN

_FIELDS: Final = tuple(StatementEntry.model_fields)
_ALIASES: Final = frozenset(field.alias for field in StatementEntry.model_fields.values())
_COLUMNS: Final = itemgetter(*(StatementEntry.model_fields[name].alias for name in _FIELDS))
_AMOUNT: Final = re.compile(AMOUNT_PATTERN)
_TIMESTAMP: Final = re.compile(TIMESTAMP_PATTERN)
_STATUSES: Final = {status.value: status for status in PaymentStatus}
# StatementEntry's bounds: BankPaymentRef and PaymentId are text of 1 to 64 characters,
# BillNumber any string of 1 to 32.
_TEXT_MAX: Final = 64
_BILL_MAX: Final = 32
# The slots `model_construct` sets on a new model (pydantic's BaseModel.__slots__).
_SLOTS: Final = vars(BaseModel)
_SET_DICT: Final = _SLOTS["__dict__"].__set__
_SET_FIELDS_SET: Final = _SLOTS["__pydantic_fields_set__"].__set__
_SET_EXTRA: Final = _SLOTS["__pydantic_extra__"].__set__
_SET_PRIVATE: Final = _SLOTS["__pydantic_private__"].__set__


def validated_entries(items: object) -> list[StatementEntry] | None:
    """`items` (a JSON array) as StatementEntry models, or None to leave it to the model."""
    if type(items) is not list or len(items) > MAX_ENTRIES:
        return None
    if not items:
        return []
    if set(map(type, items)) != {dict} or set(map(frozenset, items)) != {_ALIASES}:
        return None
    columns = tuple(zip(*map(_COLUMNS, items), strict=True))
    if not all(map(_all_strings, columns)):
        return None
    refs, payment_ids, bills, amounts, stamps, statuses = columns
    if not (_is_text(refs) and _is_text(payment_ids) and _within(bills, _BILL_MAX)):
        return None
    paid = _instants(stamps)
    if paid is None or not all(map(_AMOUNT.fullmatch, amounts)):
        return None
    if not set(statuses) <= _STATUSES.keys():
        return None
    values = zip(
        refs,
        payment_ids,
        bills,
        map(Decimal, amounts),
        paid,
        map(_STATUSES.__getitem__, statuses),
        strict=True,
    )
    return _built([
        {"bank_payment_ref": ref, "payment_id": payment_id, "bill_number": bill,
         "amount": amount, "paid_at": paid_at, "status": status}
        for ref, payment_id, bill, amount, paid_at, status in values
    ])  # fmt: skip


def _all_strings(column: tuple[Any, ...]) -> bool:
    return set(map(type, column)) == {str}


def _within(column: tuple[str, ...], longest: int) -> bool:
    lengths = tuple(map(len, column))
    return min(lengths) >= 1 and max(lengths) <= longest


def _is_text(column: tuple[str, ...]) -> bool:
    # A forbidden character is one character: joining the values neither hides nor makes one.
    return _within(column, _TEXT_MAX) and NOT_TEXT.search("".join(column)) is None


def _instants(stamps: tuple[str, ...]) -> list[datetime] | None:
    if not all(map(_TIMESTAMP.fullmatch, stamps)):
        return None
    try:
        moments = list(map(datetime.fromisoformat, stamps))
    except ValueError:  # the right shape but no such day or time, e.g. 2026-02-30
        return None
    # The pattern holds the years written to 20xx, so these compare without overflow.
    return moments if min(moments) >= FIRST_INSTANT and max(moments) < END_INSTANT else None


def _built(fields: list[dict[str, Any]]) -> list[StatementEntry]:
    """What `StatementEntry.model_construct(**values)` makes of each complete set of field
    values (it spends more than validation on looking up aliases and defaults), made with
    the model's slot setters mapped over all entries at once."""
    count = len(fields)
    entries = list(map(StatementEntry.__new__, repeat(StatementEntry, count)))
    deque(map(_SET_DICT, entries, fields), 0)
    deque(map(_SET_FIELDS_SET, entries, map(set, repeat(_FIELDS, count))), 0)
    deque(map(_SET_EXTRA, entries, repeat(None, count)), 0)
    deque(map(_SET_PRIVATE, entries, repeat(None, count)), 0)
    return entries
