"""Statements: entry digests, running day figures against a from-scratch oracle, page tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, timedelta
from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bank_adapter.core.messages import PaymentStatus
from bank_adapter.core.money import MAX_AMOUNT, halalas_text, to_halalas
from bank_adapter.domain import statement
from bank_adapter.domain.payments import format_payment_id
from bank_adapter.domain.statement import (
    EMPTY_CHECKSUM,
    DayFigures,
    Entry,
    PageCursor,
    checksum_of,
    decode_page_token,
    encode_page_token,
    entry_digest,
    xor_digests,
)
from bank_adapter.errors import AdapterError, Code

POSTED, REVERSED = PaymentStatus.POSTED, PaymentStatus.REVERSED
ZEROS = "0" * 64
ENTRY = Entry("RJHI-000123", "1234567890123", 65000)
KEY = b"page-token-key-0123456789abcdef"
DAY = date(2026, 3, 15)
PARTNER = "RJHI"


def sha256(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def oracle(entries: Iterable[Entry]) -> tuple[int, int, str]:
    """Count, Total and Checksum computed the plainest way, as a bank would."""
    count, total, checksum = 0, 0, 0
    for entry in entries:
        amount = f"{entry.amount_halalas // 100}.{entry.amount_halalas % 100:02d}"
        line = f"{entry.bank_payment_ref}|{entry.bill_number}|{amount}|{entry.status.value}"
        count += 1
        total += entry.amount_halalas if entry.status is POSTED else 0
        checksum ^= int.from_bytes(sha256(line), "big")
    return count, total, f"{checksum:064x}"


# -- digests --------------------------------------------------------------------------


def test_entry_digest_is_sha256_of_the_pipe_joined_fields() -> None:
    expected = sha256("RJHI-000123|1234567890123|650.00|POSTED")
    assert entry_digest("RJHI-000123", "1234567890123", "650.00", POSTED) == expected
    assert ENTRY.digest(POSTED) == expected
    assert ENTRY.digest(REVERSED) == sha256("RJHI-000123|1234567890123|650.00|REVERSED")


def test_entry_digest_is_over_utf8() -> None:
    digest = entry_digest("مرجع-١", "1234567890123", "0.01", REVERSED)
    assert digest == hashlib.sha256("مرجع-١|1234567890123|0.01|REVERSED".encode()).digest()


@pytest.mark.parametrize(
    "amount", ["650", "650.0", "650.000", "-1.00", "6.5e2", " 650.00", "٦٥٠.٠٠"]
)
def test_entry_digest_takes_only_wire_amounts(amount: str) -> None:
    with pytest.raises(ValueError, match="two decimals"):
        entry_digest("REF", "1234567890123", amount, POSTED)


@pytest.mark.parametrize(
    ("halalas", "amount"), [(1, "0.01"), (10, "0.10"), (30, "0.30"), (65000, "650.00")]
)
def test_entry_amounts_are_written_with_two_decimals(halalas: int, amount: str) -> None:
    assert Entry("REF", "1234567890123", halalas).amount == amount


def test_an_empty_day_has_64_zeros() -> None:
    assert EMPTY_CHECKSUM.hex() == ZEROS
    assert checksum_of([]) == ZEROS
    assert DayFigures() == DayFigures(0, 0, EMPTY_CHECKSUM)
    assert DayFigures().checksum_hex == ZEROS


digests = st.binary(min_size=32, max_size=32)


@given(digests, digests, digests)
def test_xor_is_a_commutative_group_where_each_digest_is_its_own_inverse(
    a: bytes, b: bytes, c: bytes
) -> None:
    assert xor_digests(a, b) == xor_digests(b, a)
    assert xor_digests(xor_digests(a, b), c) == xor_digests(a, xor_digests(b, c))
    assert xor_digests(a, EMPTY_CHECKSUM) == a
    assert xor_digests(a, a) == EMPTY_CHECKSUM
    assert xor_digests(xor_digests(a, b), b) == a


@pytest.mark.parametrize(
    ("a", "b"), [(b"", bytes(32)), (bytes(31), bytes(32)), (bytes(32), bytes(33))]
)
def test_xor_takes_sha256_digests_only(a: bytes, b: bytes) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        xor_digests(a, b)


# -- day figures ----------------------------------------------------------------------


def test_a_posting_and_its_reversal() -> None:
    posted = DayFigures().post(ENTRY)
    assert (posted.count, posted.total_halalas, posted.checksum) == (1, 65000, ENTRY.digest(POSTED))
    reversed_ = posted.reverse(ENTRY)
    assert (reversed_.count, reversed_.total_halalas) == (1, 0)
    assert reversed_.checksum == ENTRY.digest(REVERSED)
    assert reversed_.checksum_hex == checksum_of([replace(ENTRY, status=REVERSED)])


def test_post_and_reverse_do_not_read_the_entrys_status() -> None:
    as_reversed = replace(ENTRY, status=REVERSED)
    assert DayFigures().post(as_reversed) == DayFigures().post(ENTRY)
    posted = DayFigures().post(ENTRY)
    assert posted.reverse(as_reversed) == posted.reverse(ENTRY)


def test_a_reversed_bill_paid_again_counts_twice_and_totals_once() -> None:
    again = Entry("RJHI-000124", ENTRY.bill_number, ENTRY.amount_halalas)
    figures = DayFigures().post(ENTRY).reverse(ENTRY).post(again)
    entries = [replace(ENTRY, status=REVERSED), again]
    assert (figures.count, figures.total_halalas, figures.checksum_hex) == oracle(entries)


@pytest.mark.parametrize(
    ("count", "total", "checksum"),
    [(-1, 0, EMPTY_CHECKSUM), (0, -1, EMPTY_CHECKSUM), (0, 0, bytes(31)), (0, 0, b"")],
)
def test_day_figures_refuse_impossible_values(count: int, total: int, checksum: bytes) -> None:
    with pytest.raises(ValueError, match="DayFigures"):
        DayFigures(count, total, checksum)


def test_reversing_what_was_never_posted_is_a_bug_not_a_negative_total() -> None:
    with pytest.raises(ValueError, match="negative"):
        DayFigures().reverse(ENTRY)


# A day: payments with distinct references, bills drawn from a small set (a reversed bill
# is paid again), some later reversed. Each step is ("post", amount) or ("reverse", index).
steps = st.lists(
    st.one_of(
        st.tuples(st.just("post"), st.integers(1, 10**9), st.integers(0, 4)),
        st.tuples(st.just("reverse"), st.integers(0, 10**6), st.just(0)),
    ),
    max_size=60,
)


def replay(day: list[tuple[str, int, int]]) -> tuple[DayFigures, list[Entry]]:
    """Apply the steps to running figures, and keep the entries as they end up."""
    figures, entries = DayFigures(), list[Entry]()
    for kind, number, bill in day:
        if kind == "post":
            entry = Entry(f"REF-{len(entries)}", f"BILL-{bill}", number)
            figures, entries = figures.post(entry), [*entries, entry]
            continue
        open_ = [i for i, entry in enumerate(entries) if entry.status is POSTED]
        if open_:
            index = open_[number % len(open_)]
            figures = figures.reverse(entries[index])
            entries[index] = replace(entries[index], status=REVERSED)
    return figures, entries


@given(steps)
def test_running_figures_equal_the_oracle_over_the_final_entries(
    day: list[tuple[str, int, int]],
) -> None:
    figures, entries = replay(day)
    assert (figures.count, figures.total_halalas, figures.checksum_hex) == oracle(entries)
    assert checksum_of(entries) == oracle(entries)[2]
    assert checksum_of(iter(entries)) == oracle(entries)[2]  # streams


@given(steps, st.randoms(use_true_random=False))
def test_checksum_does_not_depend_on_order(day: list[tuple[str, int, int]], rng: Random) -> None:
    _, entries = replay(day)
    shuffled = list(entries)
    rng.shuffle(shuffled)
    assert checksum_of(shuffled) == checksum_of(entries)


def test_halalas_add_exactly() -> None:
    figures = DayFigures().post(Entry("A", "B", 10)).post(Entry("C", "D", 20))
    assert figures.total_halalas == 30
    assert 0.1 + 0.2 != 0.3  # what a float total would have made of it


# -- page tokens ----------------------------------------------------------------------


def encode(after: str = "P0000000000000001234", snapshot: str | int = 98765) -> str:
    return encode_page_token(
        KEY, partner_id=PARTNER, business_date=DAY, after_payment_id=after, snapshot=snapshot
    )


def decode_error(
    token: str, *, key: bytes = KEY, partner_id: str = PARTNER, day: date = DAY
) -> AdapterError:
    with pytest.raises(AdapterError) as caught:
        decode_page_token(key, token, partner_id=partner_id, business_date=day)
    assert caught.value.code is Code.SCHEMA_INVALID
    assert caught.value.detail.startswith("pageToken: ")
    return caught.value


URL_SAFE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
# What the service puts in tokens: PaymentIds from the payments sequence, and a snapshot
# that is the highest sequence number at the walk's first page.
payment_ids = st.integers(1, 2**63 - 1).map(format_payment_id)
snapshots = st.integers(0, 2**63 - 1)
partners = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=4, max_size=4)


@given(partners, st.dates(), payment_ids, snapshots)
def test_page_tokens_round_trip(partner: str, day: date, after: str, snapshot: str | int) -> None:
    token = encode_page_token(
        KEY, partner_id=partner, business_date=day, after_payment_id=after, snapshot=snapshot
    )
    assert set(token) <= URL_SAFE
    assert len(token) <= 512  # the wire's PageToken limit
    cursor = decode_page_token(KEY, token, partner_id=partner, business_date=day)
    assert cursor == PageCursor(after, snapshot)
    assert type(cursor.snapshot) is type(snapshot)


def test_every_changed_character_fails() -> None:
    # Exhaustive on purpose: only a few changes of a trailing base64 character (its unused
    # low bits) decode to the same bytes, and canonical decoding must refuse those too.
    token = encode()
    for position, original in enumerate(token):
        for replacement in sorted(URL_SAFE - {original}):
            decode_error(token[:position] + replacement + token[position + 1 :])


@given(st.data())
def test_any_cut_or_addition_fails(data: st.DataObject) -> None:
    token = encode()
    start = data.draw(st.integers(0, len(token)))
    end = data.draw(st.integers(start, len(token)))
    insert = data.draw(st.text(min_size=0, max_size=3))
    tampered = token[:start] + insert + token[end:]
    if tampered != token:
        decode_error(tampered)


@pytest.mark.parametrize(
    "token", ["", ".", "abc", "abc.", ".abc", "a.b.c", "abc def.xyz", "YWJj.YWJj", "é.é"]
)
def test_garbage_fails(token: str) -> None:
    assert decode_error(token).detail == "pageToken: not a page token issued for this request"


def test_another_key_or_partner_fails_alike() -> None:
    by_key = decode_error(encode(), key=b"another-key-0123456789abcdef")
    by_partner = decode_error(encode(), partner_id="NCBK")
    assert by_key.detail == by_partner.detail


def test_another_business_date_says_so() -> None:
    error = decode_error(encode(), day=DAY + timedelta(days=1))
    assert error.detail == "pageToken: belongs to another businessDate"


def forge(payload: bytes) -> str:
    """A token over any payload, as code sharing the key could make one."""
    mac = hmac.digest(KEY, statement._TOKEN_CONTEXT + payload, "sha256")
    return ".".join(base64.urlsafe_b64encode(part).rstrip(b"=").decode() for part in (payload, mac))


def test_forge_makes_tokens_like_the_adapters() -> None:
    payload = json.dumps([PARTNER, DAY.isoformat(), "P1", 7], separators=(",", ":")).encode()
    assert forge(payload) == encode("P1", 7)


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"{}",
        b'["RJHI"]',
        b'["RJHI","2026-03-15","P1",true]',
        b'["RJHI","2026-03-15",1,1]',
        b'["RJHI","2026-03-15","P1",1,"extra"]',
        b'"RJHI"',
    ],
)
def test_a_validly_signed_payload_of_the_wrong_shape_fails(payload: bytes) -> None:
    decode_error(forge(payload))


def test_a_short_key_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        encode_page_token(
            b"short", partner_id=PARTNER, business_date=DAY, after_payment_id="P1", snapshot=1
        )


@given(
    st.text(min_size=1, max_size=64),
    st.text(min_size=1, max_size=32),
    st.integers(0, to_halalas(MAX_AMOUNT)),
    st.sampled_from(PaymentStatus),
)
def test_the_wire_digest_is_the_entry_digest(ref, bill, halalas, status):
    amount = halalas_text(halalas)
    expected = hashlib.sha256(f"{ref}|{bill}|{amount}|{status.value}".encode()).digest()

    assert statement.wire_entry_digest(ref, bill, amount, status) == expected
    assert statement.entry_digest(ref, bill, amount, status) == expected
