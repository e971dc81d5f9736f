"""Settings and strategies of the fuzz tests: byte mutations of a valid message, JSON.

`FUZZ` is the settings every fuzz test runs with: 30 examples a property on the suite's
`ci` profile (deterministic, no deadline: see tests/conftest.py), 2,000 when
HYPOTHESIS_PROFILE=long asks for a long run (see README, "Tests").
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FUZZ = settings(
    max_examples=2000 if os.environ.get("HYPOTHESIS_PROFILE") == "long" else 30,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Bytes a mutation likes to insert: structure, escapes, controls, multi-byte starts.
_SPICE = st.sampled_from(
    [b"<", b">", b"&", b'"', b"\\", b"{", b"}", b"[", b"]", b":", b",", b"\x00", b"\x1f",
     b"\x7f", b"\xc2\x85", b"\xff", b"\xed\xa0\x80", b"<!---->", b"<!DOCTYPE x>", b"\\u0000",
     b"\\ud800", b"1e999", b"9999-12-31T23:59:59-14:00", b" xmlns:a='b'", b" a='1'"]
)  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, raw: bytes) -> bytes:
    """`raw` with one to four bytes-level edits: flip, insert, delete, splice."""
    data = bytearray(raw)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(["flip", "insert", "delete", "splice"]))
        if edit == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif edit == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif edit == "splice":
            data[at:at] = draw(_SPICE)
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["", "0.00", "650.00", "1000000016", "+966500000001", "2026-01-31",
                       "2026-01-31T09:30:00+03:00", "9999-12-31T23:59:59-14:00", "\x00", "\ud800"])
)  # fmt: skip
JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


@st.composite
def changed_fields(draw: st.DrawFn, valid: dict[str, Any]) -> dict[str, Any]:
    """`valid` with some fields replaced by any JSON, some dropped, some added."""
    data = dict(valid)
    for name in draw(st.lists(st.sampled_from(sorted(valid)), max_size=3, unique=True)):
        if draw(st.booleans()):
            data[name] = draw(JSON_VALUES)
        else:
            del data[name]
    data |= draw(st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=2))
    return data
