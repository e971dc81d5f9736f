"""Cursor parameters of paged console views: non-negative integers, anything else ignored."""

from __future__ import annotations

import re
from typing import Final

_DIGITS: Final = re.compile(r"[0-9]{1,18}")


def cursor(raw: str | None, *, default: int) -> int:
    return int(raw) if raw is not None and _DIGITS.fullmatch(raw) else default


def optional_cursor(raw: str | None) -> int | None:
    return int(raw) if raw is not None and _DIGITS.fullmatch(raw) else None
