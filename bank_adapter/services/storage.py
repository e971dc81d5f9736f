"""What the services need from storage: one unit of work (`Tx`), engine-free.

The services decide; a `Tx` reads what a decision rests on and records what it decided.
Everything a decision writes (its rows, its events, the answer stored for replay, the
evidence kept for a dispute, its share of the day's figures) commits or rolls back with
it, and nothing is visible to anyone before that commit. How units of work share a
transaction (group commit) and which engine runs them is `bank_adapter.store`'s business.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from bank_adapter.core.messages import BillStatus, EntryRow
from bank_adapter.domain.activation import Account, ActivationAttempt
from bank_adapter.domain.bills import Bill
from bank_adapter.domain.payments import NewPayment, Payment
from bank_adapter.domain.statement import DayFigures, Entry


class StorageUnavailable(Exception):
    """The database could not record the unit of work: nothing of it was recorded."""


class DecideAgain(Exception):
    """What a decision rested on changed before it could commit: its writes are rolled
    back and it is decided again on what is there now."""


class DuplicateKey(DecideAgain):
    """A unique constraint refused a write: someone else got there first."""


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    body_sha256: str
    status: int
    content_type: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    type: str
    occurred_at: datetime
    data: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Sms:
    mobile: str
    text: str
    sent_at: datetime


@dataclass(frozen=True, slots=True)
class Evidence:
    """A bank's signed request, byte for byte: what settles a dispute."""

    partner_id: str
    bank_payment_ref: str
    operation: str
    message_id: str
    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    received_at: datetime


class Tx(Protocol):
    """One unit of work. Reads see everything committed before it and its own writes."""

    # --- stored answers (replay) ---
    async def answer(self, partner_id: str, message_id: str) -> StoredAnswer | None: ...
    def save_answer(
        self, partner_id: str, message_id: str, answer: StoredAnswer, now: datetime
    ) -> None: ...
    async def keyed_answer(self, key: str) -> StoredAnswer | None: ...
    async def save_keyed_answer(self, key: str, answer: StoredAnswer, now: datetime) -> None:
        """DuplicateKey if the key is taken."""

    # --- accounts and activations ---
    async def account(self, id_number: str) -> Account | None: ...
    async def save_account(self, account: Account, now: datetime) -> Account: ...
    async def activate_account(self, id_number: str, partner_id: str, now: datetime) -> bool: ...
    async def add_activation(
        self, attempt: ActivationAttempt, channel: str, now: datetime
    ) -> None: ...
    async def activation(self, activation_id: str) -> tuple[ActivationAttempt, str] | None: ...
    async def update_activation(self, activation_id: str, tries: int, state: str) -> None: ...
    async def otp_sends(self, id_number: str, since: datetime) -> list[datetime]: ...
    async def supersede_activations(self, id_number: str) -> None: ...

    # --- bills ---
    async def bill(self, bill_number: str) -> Bill | None: ...
    async def bills_of(self, id_number: str, status: BillStatus) -> list[Bill]: ...
    async def open_quote(self, quote_key: str) -> Bill | None: ...
    async def add_bill(self, bill: Bill, now: datetime, quote_key: str | None = None) -> None: ...
    async def move_bill(
        self, bill_number: str, old: BillStatus, new: BillStatus, now: datetime
    ) -> bool: ...

    # --- payments and the day's figures ---
    async def payment(self, partner_id: str, bank_payment_ref: str) -> Payment | None: ...
    async def add_payment(self, payment: NewPayment, now: datetime) -> Payment: ...
    async def reverse_payment(self, seq: int, reason: str, now: datetime) -> bool: ...
    async def day_page(
        self, partner_id: str, day: date, after_seq: int, upto_seq: int, limit: int
    ) -> list[EntryRow]:
        """Statement entries of the day with `after_seq` < seq <= `upto_seq`, by seq."""

    async def last_payment_seq(self) -> int: ...
    async def day_figures(self, partner_id: str, day: date) -> DayFigures: ...
    def post_to_day(self, partner_id: str, day: date, entry: Entry) -> None: ...
    def reverse_in_day(self, partner_id: str, day: date, entry: Entry) -> None: ...
    def add_evidence(self, evidence: Evidence) -> None: ...

    # --- outboxes ---
    def add_event(self, type_: str, data: Mapping[str, Any], now: datetime) -> None: ...
    async def queue_sms(self, mobile: str, text_: str, now: datetime) -> None: ...
