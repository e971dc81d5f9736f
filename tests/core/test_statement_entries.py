"""Statement entries checked column by column (`statement_entries`): whatever it accepts,
the model accepts as the same entries; anything else is left to the model, which names
the fault."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bank_adapter.core import codec_json
from bank_adapter.core.messages import Statement, StatementEntry, StatementPage
from bank_adapter.core.money import WIRE_CONTEXT
from bank_adapter.core.statement_entries import validated_entries
from bank_adapter.errors import AdapterError, Code
from tests.core.test_statement_page import HEAD, entry_rows

KEYS = ("bankPaymentRef", "paymentId", "billNumber", "amount", "paidAt", "status")
# Values the model refuses, or accepts only in some fields, or that sit on a bound.
ODD_VALUES = st.sampled_from([
    "", "x" * 32, "x" * 33, "x" * 64, "x" * 65, "a\nb", "ab\n", "\x7f", "\ufffe", "\U0001f600",
    "0.00", "01.00", "1.0", "9999999999999.99", "10000000000000.00", "1.00\n",
    "2026-02-30T00:00:00Z", "2026-01-31T06:30:00", "2000-01-01T00:00:00+00:01",
    "2000-01-01T00:00:00-00:01", "2099-12-31T23:59:59Z", "2099-12-31T23:59:59-00:01",
    "2026-01-31T06:30:00.1234567891+03:00", "2026-01-31 06:30:00Z", "posted", "REVERSED",
    1, 1.5, None, True, [], {},
])  # fmt: skip


def model_entries(items: list[Any]) -> list[StatementEntry]:
    return [
        StatementEntry.model_validate(item, context=WIRE_CONTEXT, by_alias=True, by_name=False)
        for item in items
    ]


def wire_items(rows: list[Any]) -> list[dict[str, object]]:
    body = codec_json.encode_json(StatementPage(HEAD, rows))
    items = codec_json.decode_json(body)["entries"]
    assert isinstance(items, list)
    return items


@settings(deadline=None)  # the first example pays for imports and schema building
@given(st.lists(entry_rows(), max_size=8))
def test_entries_as_the_adapter_writes_them_are_the_models_entries(rows):
    items = wire_items(rows)
    entries = validated_entries(items)

    assert entries is not None
    expected = model_entries(items)
    assert entries == expected
    assert [entry.model_fields_set for entry in entries] == [e.model_fields_set for e in expected]
    assert [entry.model_dump() for entry in entries] == [e.model_dump() for e in expected]


@st.composite
def altered_items(draw: st.DrawFn) -> list[Any]:
    items: list[Any] = wire_items(draw(st.lists(entry_rows(), min_size=1, max_size=4)))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(items) - 1))
        if not isinstance(items[at], dict):
            continue
        item = dict(items[at])
        change = draw(st.sampled_from(["value", "drop", "extra", "not an object"]))
        if change == "value":
            item[draw(st.sampled_from(KEYS))] = draw(ODD_VALUES)
        elif change == "drop":
            item.pop(draw(st.sampled_from(KEYS)), None)
        elif change == "extra":
            item[draw(st.sampled_from(["currency", "BankPaymentRef", "bank_payment_ref"]))] = "x"
        items[at] = item if change != "not an object" else draw(ODD_VALUES)
    return items


@settings(max_examples=300, deadline=None)
@given(altered_items())
def test_what_the_columns_accept_the_model_accepts_alike(items):
    entries = validated_entries(items)

    if entries is not None:
        assert entries == model_entries(items)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("amount", "1.0"),
        ("amount", 650),
        ("paidAt", "2026-02-30T00:00:00Z"),
        ("paidAt", "2000-01-01T00:00:00+00:01"),
        ("bankPaymentRef", "R\x00"),
        ("billNumber", "1" * 33),
        ("status", "CANCELLED"),
    ],
)
def test_a_faulty_entry_is_left_to_the_model_which_names_it(key, value):
    data = codec_json.decode_json(codec_json.encode_json(HEAD))
    good = {
        "bankPaymentRef": "R1", "paymentId": "P0000000000000000001", "billNumber": "1",
        "amount": "1.00", "paidAt": "2026-01-31T06:30:00Z", "status": "POSTED",
    }  # fmt: skip
    data["entries"] = [good, dict(good, **{key: value})]

    assert validated_entries(data["entries"]) is None
    with pytest.raises(AdapterError) as caught:
        codec_json.validate(Statement, data)
    assert caught.value.code == Code.SCHEMA_INVALID
    assert caught.value.detail.startswith(f"entries[1].{key}:")
