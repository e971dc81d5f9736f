"""Money: `Decimal` riyals with exactly two decimals, or integer halalas; never float.

On the wire an amount is a decimal string ("650.00") in JSON and XML alike. A JSON
number is refused even when it looks right (`650.00`): a bank whose JSON library
round-trips amounts through binary floating point would otherwise slip through until
the day it sends 0.30000000000000004.

The codecs validate with `WIRE_CONTEXT`: from a message, only the string form is an
amount. Code building a model in Python may pass a `Decimal` with two decimals instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from itertools import repeat
from types import MappingProxyType
from typing import Annotated, Final

from pydantic import PlainSerializer, PlainValidator, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError

AMOUNT_PATTERN: Final = r"^(0|[1-9][0-9]{0,12})\.[0-9]{2}$"
HALALAS_PER_RIYAL: Final = 100
MAX_AMOUNT: Final = Decimal("9999999999999.99")  # 13 integer digits, as the pattern allows

WIRE_CONTEXT: Final[Mapping[str, bool]] = MappingProxyType({"wire": True})

_AMOUNT_RE: Final = re.compile(AMOUNT_PATTERN)
_CENT: Final = Decimal("0.01")
_EXPECTED: Final = "must be a decimal string with two decimals, e.g. 650.00"


def parse_amount(text: str) -> Decimal:
    """The amount written `text`, or ValueError when it is not the wire form."""
    if not _AMOUNT_RE.fullmatch(text):
        raise ValueError(_EXPECTED)
    return Decimal(text)


def format_amount(amount: Decimal) -> str:
    """The wire form: fixed point, two decimals, no exponent."""
    return f"{amount:.2f}"


def to_halalas(amount: Decimal) -> int:
    """Exact integer halalas; ValueError for fractions of a halala or non-amounts."""
    halalas = amount * HALALAS_PER_RIYAL
    if not halalas.is_finite() or halalas != halalas.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of halalas")
    return int(halalas)


def from_halalas(halalas: int) -> Decimal:
    """The amount of `halalas`, with exactly two decimals."""
    return (Decimal(halalas) / HALALAS_PER_RIYAL).quantize(_CENT)


def halalas_text(halalas: int) -> str:
    """`format_amount(from_halalas(halalas))` for `halalas` >= 0, in integer arithmetic."""
    if halalas < 0:
        raise ValueError("amounts are not negative")
    riyals, rest = divmod(halalas, HALALAS_PER_RIYAL)
    return f"{riyals}.{rest:02d}"


def halalas_texts(halalas: Sequence[int]) -> list[str]:
    """`halalas_text` of each of `halalas` (a statement page's), in C loops."""
    if halalas and min(halalas) < 0:
        raise ValueError("amounts are not negative")
    return list(map("%d.%02d".__mod__, map(divmod, halalas, repeat(HALALAS_PER_RIYAL))))


def is_amount(value: Decimal) -> bool:
    """True for what the wire can carry: finite, not negative, two decimals, in range."""
    return (
        value.is_finite()
        and not value.is_signed()
        and value.as_tuple().exponent == -2
        and value <= MAX_AMOUNT
    )


def _validate_amount(value: object, info: ValidationInfo) -> Decimal:
    if isinstance(value, str) and _AMOUNT_RE.fullmatch(value):
        return Decimal(value)
    from_wire = bool(info.context and info.context.get("wire"))
    if isinstance(value, Decimal) and not from_wire and is_amount(value):
        return value
    raise PydanticCustomError("amount", _EXPECTED)


Amount = Annotated[
    Decimal,
    PlainValidator(_validate_amount),
    PlainSerializer(format_amount, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN, "examples": ["650.00"]}),
]
