"""Statement pages in wire form (`StatementPage`): both codecs write exactly the bytes they
write for the same page as one validated `Statement`, whatever the entries hold; and the
ledger's conversions to wire form (amounts, stored times) agree with the models'."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bank_adapter.core import codec_json, codec_xml
from bank_adapter.core.messages import (
    EntryRow,
    PaymentStatus,
    Statement,
    StatementPage,
    format_timestamp,
)
from bank_adapter.core.money import format_amount, from_halalas, halalas_text, halalas_texts
from bank_adapter.core.xmlparse import parse_xml
from bank_adapter.domain.payments import format_payment_id, format_payment_ids
from bank_adapter.store.drivers import SqliteValues, Values

HEAD = Statement(
    message_id=UUID("0b7e6f4c-2d1a-4c3b-9e8f-7a6b5c4d3e2f"),
    in_reply_to=UUID("6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"),
    timestamp=datetime(2026, 1, 31, 6, 30, 1, 250000, tzinfo=UTC),
    business_date=date(2026, 1, 31),
    final=False,
    count=7,
    total=Decimal("650.00"),
    entries=[],
    checksum="ab" * 32,
    next_page_token="t-2",
)
# XML carries no control characters but tab, line feed and carriage return.
XML_CHARS = st.characters(
    blacklist_categories=("Cs",),
    blacklist_characters=[chr(c) for c in range(32) if c not in (9, 10, 13)],
)
# TEXT_PATTERN: no control characters, surrogates or the two non-characters.
TEXT_CHARS = st.characters(
    blacklist_categories=("Cs", "Cc"), blacklist_characters=["\ufffe", "\uffff"]
)
INSTANTS = st.datetimes(
    min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC)
)


@st.composite
def entry_rows(draw: st.DrawFn) -> EntryRow:
    paid_at = draw(INSTANTS)
    if draw(st.booleans()):
        paid_at = paid_at.replace(microsecond=0)
    return EntryRow(
        bank_payment_ref=draw(st.text(TEXT_CHARS, min_size=1, max_size=64)),
        payment_id=format_payment_id(draw(st.integers(1, 10**19 - 1))),
        bill_number=draw(st.text(XML_CHARS, min_size=1, max_size=32)),
        amount=halalas_text(draw(st.integers(0, 10**15 - 1))),
        paid_at=format_timestamp(paid_at),
        status=draw(st.sampled_from(PaymentStatus)).value,
    )


@given(st.lists(entry_rows(), max_size=8), st.booleans())
def test_a_page_is_written_as_its_validated_statement(rows, last_page):
    head = HEAD.model_copy(update={"next_page_token": None}) if last_page else HEAD
    page = StatementPage(head, rows)
    statement = page.as_statement()

    assert codec_json.encode_json(page) == codec_json.encode_json(statement)
    assert codec_xml.encode_xml(page, "Statement") == codec_xml.encode_xml(statement, "Statement")


@given(st.lists(entry_rows(), min_size=1, max_size=4))
def test_a_page_decodes_to_its_validated_statement(rows):
    page = StatementPage(HEAD, rows)
    json_body = codec_json.encode_json(page)
    xml_root = parse_xml(codec_xml.encode_xml(page, "Statement"))

    assert codec_json.validate(Statement, codec_json.decode_json(json_body)) == page.as_statement()
    assert codec_xml.decode_xml(xml_root, Statement, "Statement") == page.as_statement()


def test_markup_in_entries_is_escaped_as_the_models_escape_it():
    ref, bill = 'R"1\\<&>\u00e9\u2028', "B<&>\"'\t\n\r"
    row = EntryRow(ref, "P0000000000000000001", bill, "0.01", "2026-01-31T06:30:00Z", "POSTED")
    page = StatementPage(HEAD, [row])

    assert codec_json.encode_json(page) == codec_json.encode_json(page.as_statement())
    assert codec_xml.encode_xml(page, "Statement") == codec_xml.encode_xml(
        page.as_statement(), "Statement"
    )


def test_a_page_head_carries_no_entries():
    entry = StatementPage(
        HEAD, [EntryRow("R", "P1", "B", "1.00", "2026-01-31T06:30:00Z", "POSTED")]
    )
    with pytest.raises(ValueError, match="no entries"):
        StatementPage(entry.as_statement(), [])


@given(st.integers(0, 10**15))
def test_halalas_text_is_the_amount_of_the_halalas(halalas):
    assert halalas_text(halalas) == format_amount(from_halalas(halalas))


def test_halalas_text_refuses_negative_amounts():
    with pytest.raises(ValueError, match="not negative"):
        halalas_text(-1)


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 2),
        max_value=datetime(2099, 12, 30),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=3)), timezone(-timedelta(hours=5))]
        ),
    )
)
def test_stored_times_come_back_in_wire_form_on_both_engines(moment):
    expected = format_timestamp(moment.astimezone(UTC))
    sqlite = SqliteValues()

    assert sqlite.wire_ts(sqlite.ts(moment)) == expected
    assert Values().wire_ts(moment) == expected


def test_sqlite_times_in_another_stored_form_take_the_long_way():
    assert SqliteValues().wire_ts("2026-01-31 06:30:00") == "2026-01-31T06:30:00Z"
    assert SqliteValues().wire_ts("2026-01-31 06:30:00.5") == "2026-01-31T06:30:00.500000Z"


@given(st.lists(st.integers(0, 10**15)))
def test_a_pages_amounts_are_written_as_each_alone(halalas):
    assert halalas_texts(halalas) == [halalas_text(h) for h in halalas]


@given(st.lists(st.integers(1, 10**19 - 1)))
def test_a_pages_payment_ids_are_written_as_each_alone(seqs):
    assert format_payment_ids(seqs) == [format_payment_id(seq) for seq in seqs]


@pytest.mark.parametrize("seqs", [[1, 0], [10**19, 1]])
def test_payment_ids_out_of_range_are_refused_for_a_page_too(seqs):
    with pytest.raises(ValueError, match="out of range"):
        format_payment_ids(seqs)


def test_a_pages_negative_amount_is_refused():
    with pytest.raises(ValueError, match="not negative"):
        halalas_texts([100, -1])


@given(
    st.lists(INSTANTS), st.lists(st.sampled_from(["2026-01-31 06:30:00", "2026-01-31 06:30:00.5"]))
)
def test_a_pages_stored_times_are_written_as_each_alone(moments, odd):
    sqlite = SqliteValues()
    stored = [sqlite.ts(moment) for moment in moments]

    assert sqlite.wire_times(stored) == [sqlite.wire_ts(value) for value in stored]
    mixed = stored + odd
    assert sqlite.wire_times(mixed) == [sqlite.wire_ts(value) for value in mixed]
    assert Values().wire_times(moments) == [Values().wire_ts(moment) for moment in moments]
