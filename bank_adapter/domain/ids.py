"""Person identifiers: the 10-digit numbers of section 4 and their masking for logs.

Choices the contract leaves open:
- `parse_id_number` strips surrounding whitespace (a pasted number often carries a
  trailing space or newline) and nothing else: inner spaces, dashes and non-ASCII digits
  (Arabic-Indic, full-width) are refused, so the stored number is always 10 ASCII digits.
- `mask_ids_in_text` works on every run of 10 or more decimal digits of any script that
  holds an ID-like window (a digit 1-4 followed by nine more). Masking whole runs, not
  exact 10-digit tokens, means an ID glued to other digits cannot slip through; runs
  without such a window (Saudi mobiles, short numbers) are left readable. Safety wins over
  readability: an ID-shaped run that is something else (a UUID group of 12 decimal
  digits, an epoch timestamp) is masked too.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final

from bank_adapter.errors import AdapterError, Code


class IdType(StrEnum):
    NATIONAL_ID = "NATIONAL_ID"
    IQAMA = "IQAMA"
    BORDER_NUMBER = "BORDER_NUMBER"
    GCC_ID = "GCC_ID"  # never inferred: GCC citizens get numbers starting with 1 or 2


_TYPE_BY_FIRST_DIGIT: Final = {
    "1": IdType.NATIONAL_ID,
    "2": IdType.IQAMA,
    "3": IdType.BORDER_NUMBER,
    "4": IdType.BORDER_NUMBER,
}
_ASCII_DIGITS: Final = re.compile(r"[0-9]+")
_NINE_DIGITS: Final = re.compile(r"[0-9]{9}")
_TEN_DIGITS: Final = re.compile(r"[0-9]{10}")
_DIGIT_RUN: Final = re.compile(r"\d{10,}")  # \d on str: every script's decimal digits
_DOUBLED: Final = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # Luhn: 2*d with its digits summed
_SHOWN: Final = 3  # mask_id keeps the first digit and the last two


def _luhn_sum(digits: str) -> int:
    # Positions count from the right, the check digit being position 0 (not doubled).
    return sum(
        _DOUBLED[int(char)] if position % 2 else int(char)
        for position, char in enumerate(reversed(digits))
    )


def luhn_valid(digits: str) -> bool:
    """Standard Luhn over every digit given, the last being the check digit."""
    return _ASCII_DIGITS.fullmatch(digits) is not None and _luhn_sum(digits) % 10 == 0


def luhn_complete(nine_digits: str) -> str:
    """Append the check digit that makes a valid 10-digit number (demo data, tests)."""
    if _NINE_DIGITS.fullmatch(nine_digits) is None:
        raise ValueError("luhn_complete expects exactly 9 ASCII digits")
    return nine_digits + str(-_luhn_sum(nine_digits + "0") % 10)


def parse_id_number(raw: str) -> str:
    """The canonical ID number, or INVALID_ID_NUMBER; details never echo the number."""
    id_number = raw.strip()
    if _TEN_DIGITS.fullmatch(id_number) is None:
        raise AdapterError(Code.INVALID_ID_NUMBER, "IdNumber must be exactly 10 digits")
    if id_number[0] not in _TYPE_BY_FIRST_DIGIT:
        raise AdapterError(Code.INVALID_ID_NUMBER, "IdNumber must start with 1, 2, 3 or 4")
    if not luhn_valid(id_number):
        raise AdapterError(Code.INVALID_ID_NUMBER, "IdNumber check digit is wrong")
    return id_number


def id_number_or_none(raw: str) -> str | None:
    """The canonical ID number, or None for anything else: the key to look a person up by,
    so a malformed one (a NUL byte, say) never reaches a database query."""
    try:
        return parse_id_number(raw)
    except AdapterError:
        return None


def default_id_type(id_number: str) -> IdType:
    """The type a number has unless registered otherwise (GCC_ID is only ever explicit)."""
    return _TYPE_BY_FIRST_DIGIT[parse_id_number(id_number)[0]]


def mask_id(id_number: str) -> str:
    """'1234567897' -> '1*******97': at most three characters of the input survive."""
    if len(id_number) <= _SHOWN:  # showing three would show it all
        return "*" * len(id_number)
    return id_number[0] + "*" * (len(id_number) - _SHOWN) + id_number[-2:]


def _holds_id(run: str) -> bool:
    # Any digit 1-4 with at least nine digits after it starts an ID-shaped window.
    return any(1 <= int(char) <= 4 for char in run[: len(run) - 9])


def _mask_run(match: re.Match[str]) -> str:
    run = match.group()
    return mask_id(run) if _holds_id(run) else run


def mask_ids_in_text(text: str) -> str:
    """Mask every digit run that could hold an ID number (URL paths, free text in logs)."""
    return _DIGIT_RUN.sub(_mask_run, text)
