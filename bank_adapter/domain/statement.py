"""Statements: the day's figures (Count, Total, Checksum) and the page tokens.

Day figures. The contract's Checksum is the XOR, over the day's entries, of
SHA-256("BankPaymentRef|BillNumber|Amount|Status"). Neither SQLite nor PostgreSQL
aggregates 256-bit XOR, and a day may hold a million payments, so the shell keeps one
running `DayFigures` row per (partner, business date), changed in the same transaction
as each payment and reversal. XOR is order-free and its own inverse, and sums add, so
the changes of many decisions combine into one `DayChange` before they are applied:
a transaction that commits many decisions at once writes each day's row once. A
reversal swaps the entry's contribution in place: out with its POSTED digest, in with
its REVERSED one. The entry stays in the day (Count unchanged) and leaves Total (the
sum of POSTED amounts).
`checksum_of` computes the same from scratch, for tests and the reconciliation job.

Paging. Entries are ordered by PaymentId, which follows recording order (see
`payments`), so with an index on (partner, business date, PaymentId) a page is one
range scan, never a scan of the day:
- First page (no token): the shell takes a snapshot, the highest payment key visible
  now, and serves the day's first `PageSize` entries with keys up to the snapshot
  (reading one more tells whether a next page exists).
- Next pages: the token carries the last PaymentId served and the snapshot; the page
  holds the entries after the one, up to the other.
The cursor only moves forward and the snapshot bounds the walk, so every entry that
existed when the first page was served comes exactly once, and payments arriving
meanwhile (keys above the snapshot) wait for the next walk. A payment whose key was
drawn before the snapshot but committed after it did not exist at the first page either.
A reversal changes an entry's status, never its place; a page shows the status as it is
served, and Count, Total and Checksum are the whole day's as they stand at each page
(contract). Once the day is Final, a walk and the figures describe the same set.

Tokens are opaque to banks and cannot be forged or moved: base64url(JSON payload) "."
base64url(HMAC-SHA256), the payload binding the partner and the business date. The key
is a server secret, the same on every instance; after it changes, old tokens are
refused (SCHEMA_INVALID) and the bank starts its walk again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import reduce
from typing import Final, NamedTuple

from bank_adapter.core.messages import PaymentStatus
from bank_adapter.core.money import format_amount, from_halalas, parse_amount
from bank_adapter.errors import AdapterError, Code

DIGEST_SIZE: Final = 32
EMPTY_CHECKSUM: Final = bytes(DIGEST_SIZE)  # hex: 64 zeros, the checksum of an empty day
DEFAULT_PAGE_SIZE: Final = 500
MIN_TOKEN_KEY: Final = 16

_TOKEN_CONTEXT: Final = b"bank-adapter/statement-page-token/v1\x00"
_TOKEN_SHAPE: Final = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_NOT_OURS: Final = "pageToken: not a page token issued for this request"


def entry_digest(
    bank_payment_ref: str, bill_number: str, amount: str, status: PaymentStatus
) -> bytes:
    """SHA-256 of "BankPaymentRef|BillNumber|Amount|Status" in UTF-8.

    `amount` is the wire form, two decimals ("650.00"); anything else is a ValueError,
    since "650" or "650.0" would give a different digest than the bank computes.
    """
    parse_amount(amount)
    return wire_entry_digest(bank_payment_ref, bill_number, amount, status)


def wire_entry_digest(
    bank_payment_ref: str, bill_number: str, amount: str, status: PaymentStatus
) -> bytes:
    """`entry_digest` of an amount already known to be in the wire form (a settlement
    row's, validated as it was read, or one `halalas_text` wrote): a million of them
    are taken per reconciliation."""
    text = f"{bank_payment_ref}|{bill_number}|{amount}|{status.value}"
    return hashlib.sha256(text.encode("utf-8")).digest()


def xor_digests(a: bytes, b: bytes) -> bytes:
    """The bytewise XOR of two SHA-256 digests."""
    if len(a) != DIGEST_SIZE or len(b) != DIGEST_SIZE:
        raise ValueError(f"digests are {DIGEST_SIZE} bytes")
    return (int.from_bytes(a) ^ int.from_bytes(b)).to_bytes(DIGEST_SIZE)


@dataclass(frozen=True, slots=True)
class Entry:
    """A statement entry's checksummed fields; `status` is as the entry stands now."""

    bank_payment_ref: str
    bill_number: str
    amount_halalas: int
    status: PaymentStatus = PaymentStatus.POSTED

    @property
    def amount(self) -> str:
        return format_amount(from_halalas(self.amount_halalas))

    def digest(self, status: PaymentStatus) -> bytes:
        """This entry's digest were its status `status`."""
        return entry_digest(self.bank_payment_ref, self.bill_number, self.amount, status)


@dataclass(frozen=True, slots=True)
class DayFigures:
    """Count, Total (POSTED only) and Checksum of one partner's business date."""

    count: int = 0
    total_halalas: int = 0
    checksum: bytes = EMPTY_CHECKSUM

    def __post_init__(self) -> None:
        if self.count < 0 or self.total_halalas < 0:
            raise ValueError("DayFigures count and total cannot be negative")
        if len(self.checksum) != DIGEST_SIZE:
            raise ValueError(f"DayFigures.checksum is {DIGEST_SIZE} bytes")

    @property
    def checksum_hex(self) -> str:
        """The wire form: lowercase hex, 64 characters."""
        return self.checksum.hex()

    def post(self, entry: Entry) -> DayFigures:
        """The figures with `entry` added as POSTED (`entry.status` is not read)."""
        return DayChange.posting(entry).applied_to(self)

    def reverse(self, entry: Entry) -> DayFigures:
        """The figures with posted `entry` turned REVERSED (`entry.status` is not read)."""
        return DayChange.reversing(entry).applied_to(self)


@dataclass(frozen=True, slots=True)
class DayChange:
    """What postings and reversals do to a day's figures; changes add up in any order."""

    count: int = 0
    total_halalas: int = 0
    checksum: bytes = EMPTY_CHECKSUM

    @classmethod
    def posting(cls, entry: Entry) -> DayChange:
        return cls(1, entry.amount_halalas, entry.digest(PaymentStatus.POSTED))

    @classmethod
    def reversing(cls, entry: Entry) -> DayChange:
        swap = xor_digests(entry.digest(PaymentStatus.POSTED), entry.digest(PaymentStatus.REVERSED))
        return cls(0, -entry.amount_halalas, swap)

    def __add__(self, other: DayChange) -> DayChange:
        return DayChange(
            self.count + other.count,
            self.total_halalas + other.total_halalas,
            xor_digests(self.checksum, other.checksum),
        )

    def applied_to(self, figures: DayFigures) -> DayFigures:
        return DayFigures(
            figures.count + self.count,
            figures.total_halalas + self.total_halalas,
            xor_digests(figures.checksum, self.checksum),
        )


def checksum_of(entries: Iterable[Entry]) -> str:
    """The contract's Checksum of `entries` as they stand, computed from scratch (streams)."""
    digests = (entry.digest(entry.status) for entry in entries)
    return reduce(xor_digests, digests, EMPTY_CHECKSUM).hex()


class PageCursor(NamedTuple):
    """Where the next page starts (after this PaymentId) and where the walk ends."""

    after_payment_id: str
    snapshot: str | int


def encode_page_token(
    key: bytes,
    *,
    partner_id: str,
    business_date: date,
    after_payment_id: str,
    snapshot: str | int,
) -> str:
    """An opaque, URL-safe NextPageToken that only `key` can have made."""
    payload = json.dumps(
        [partner_id, business_date.isoformat(), after_payment_id, snapshot],
        separators=(",", ":"),
    ).encode("ascii")
    return f"{_b64encode(payload)}.{_b64encode(_mac(key, payload))}"


def decode_page_token(
    key: bytes, token: str, *, partner_id: str, business_date: date
) -> PageCursor:
    """The cursor in `token`, or SCHEMA_INVALID naming pageToken.

    A token made with another key, altered in any way, or issued to another partner is
    refused alike; one for another business date says so, as the bank can fix that.
    """
    fields = _fields(_verified_payload(key, token))
    if fields is None or fields[0] != partner_id:
        raise AdapterError(Code.SCHEMA_INVALID, _NOT_OURS)
    if fields[1] != business_date.isoformat():
        raise AdapterError(Code.SCHEMA_INVALID, "pageToken: belongs to another businessDate")
    return fields[2]


def _verified_payload(key: bytes, token: str) -> bytes:
    if not _TOKEN_SHAPE.fullmatch(token):
        raise AdapterError(Code.SCHEMA_INVALID, _NOT_OURS)
    payload_text, mac_text = token.split(".")
    payload, mac = _b64decode(payload_text), _b64decode(mac_text)
    if payload is None or mac is None or not hmac.compare_digest(mac, _mac(key, payload)):
        raise AdapterError(Code.SCHEMA_INVALID, _NOT_OURS)
    return payload


def _fields(payload: bytes) -> tuple[str, str, PageCursor] | None:
    # Only this module writes payloads: this guards against a key shared with other code.
    try:
        fields = json.loads(payload)
    except ValueError:
        return None
    match fields:
        case [_, _, _, bool()]:
            return None
        case [str(partner), str(day), str(after), str() | int() as snapshot]:
            return partner, day, PageCursor(after, snapshot)
    return None


def _mac(key: bytes, payload: bytes) -> bytes:
    if len(key) < MIN_TOKEN_KEY:
        raise ValueError(f"the page token key needs at least {MIN_TOKEN_KEY} bytes")
    return hmac.digest(key, _TOKEN_CONTEXT + payload, "sha256")


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes | None:
    # Canonical form only: a changed unused trailing bit must not decode to the same bytes.
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        return None
    return data if _b64encode(data) == text else None
