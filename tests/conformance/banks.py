"""Banks for the conformance kit to judge: a good one, played by the SDK, and wrong ones
that each make one mistake on top of the good one's run.

Every bank runs the same steps a bank's engineer would: activate the `activation`
account with the OTP from the kit's SMS outbox, find the bills, pay the `payment` bill
and reverse it, pay the `lost_answer` bill (whose first answer the kit loses), and walk
the day's statement to its last page.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from bank_adapter.client import (
    AnswerLostError,
    ConflictError,
    InvalidRequestError,
    PartnerClient,
    PartnerConfig,
    Retries,
)
from bank_adapter.clock import Clock, system_clock
from bank_adapter.core.messages import BillInquiry

ALL_RULES = (
    "SIG-REQUEST", "MSG-UNIQUE", "CLOCK", "KEYS-FETCHED", "ACTIVATION-OTP", "PAYMENT-POSTED",
    "PAYMENT-RETRY-SAME-REF", "REVERSAL", "STATEMENT-WALK", "SCHEMA",
)  # fmt: skip


@dataclass
class Bank:
    url: str
    config: PartnerConfig
    http: aiohttp.ClientSession
    fixtures: dict[str, Any] = field(default_factory=dict)

    def client(
        self, *, retries: Retries | None = None, clock: Clock = system_clock
    ) -> PartnerClient:
        # No adapter_keys: the SDK fetches /v1/keys itself (KEYS-FETCHED).
        return PartnerClient(self.url, self.config, session=self.http, retries=retries, clock=clock)

    async def get(self, path: str) -> Any:
        async with self.http.get(self.url + path) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def load_fixtures(self) -> None:
        self.fixtures = await self.get("/sandbox/v1/conformance/fixtures")

    async def report(self) -> dict[str, Any]:
        report: dict[str, Any] = await self.get("/sandbox/v1/conformance/report")
        return report

    @property
    def account(self) -> dict[str, str]:
        account: dict[str, str] = self.fixtures["accounts"][0]
        return account

    def bill(self, purpose: str) -> dict[str, str]:
        return next(bill for bill in self.fixtures["bills"] if bill["purpose"] == purpose)

    @property
    def day(self) -> date:
        return date.fromisoformat(self.fixtures["businessDate"])

    # --- the good bank's steps ---------------------------------------------------------

    async def activate(self) -> None:
        client = self.client()
        started = await client.activate(
            id_number=self.account["idNumber"],
            mobile=self.account["mobile"],
            channel="APP",
            bank_customer_ref="conformance-1",
        )
        assert started.status == "OTP_SENT"
        sms = await self.get(f"/sandbox/v1/conformance/sms?mobile={quote(self.account['mobile'])}")
        otp = re.search(r"\b(\d{6})\b", sms["messages"][-1]["text"])
        assert otp is not None
        done = await client.confirm(
            activation_id=str(started.activation_id), otp=otp.group(1), channel="APP"
        )
        assert done.status == "ACTIVATED"

    async def pay_and_reverse(self) -> None:
        client = self.client()
        found = await client.inquire_bills(channel="APP", id_number=self.account["idNumber"])
        assert {bill.bill_number for bill in found.bills} == {
            bill["billNumber"] for bill in self.fixtures["bills"]
        }
        bill = self.bill("payment")
        reference = "PAY-" + secrets.token_hex(6)
        ack = await client.pay(
            bank_payment_ref=reference,
            bill_number=bill["billNumber"],
            amount=bill["amount"],
            channel="APP",
        )
        assert ack.status == "POSTED"
        undone = await client.reverse(bank_payment_ref=reference, reason="customer", channel="APP")
        assert undone.status == "REVERSED"

    async def pay_lost_answer(self) -> None:
        """The SDK's retries resend the notification: new MessageId, same BankPaymentRef."""
        client = self.client(retries=Retries(attempts=3, backoff_s=0.0))
        bill = self.bill("lost_answer")
        ack = await client.pay(
            bank_payment_ref="LOST-" + secrets.token_hex(6),
            bill_number=bill["billNumber"],
            amount=bill["amount"],
            channel="APP",
        )
        assert ack.status == "POSTED"

    async def walk_statement(self, *, pages_to_read: int | None = None) -> None:
        client = self.client()
        pages = []
        async for page in client.statement_pages(business_date=self.day, page_size=1):
            pages.append(page)
            if len(pages) == pages_to_read:
                return  # abandoned mid-walk
        assert len(pages) == 2  # the reversed payment and the posted one
        entries = [entry for page in pages for entry in page.entries]
        digest = 0
        for entry in entries:
            line = f"{entry.bank_payment_ref}|{entry.bill_number}|{entry.amount}|{entry.status}"
            digest ^= int.from_bytes(hashlib.sha256(line.encode()).digest(), "big")
        assert pages[-1].checksum == f"{digest:064x}"

    # --- the wrong banks' mistakes ---------------------------------------------------------

    async def pay_lost_answer_under_a_new_reference(self) -> None:
        client = self.client()  # no retries: the bank handles the lost answer itself, wrongly
        bill = self.bill("lost_answer")
        with pytest.raises(AnswerLostError):
            await client.pay(
                bank_payment_ref="LOST-" + secrets.token_hex(6),
                bill_number=bill["billNumber"],
                amount=bill["amount"],
                channel="APP",
            )
        with pytest.raises(ConflictError) as refused:
            await client.pay(
                bank_payment_ref="AGAIN-" + secrets.token_hex(6),
                bill_number=bill["billNumber"],
                amount=bill["amount"],
                channel="APP",
            )
        assert refused.value.code == "BILL_ALREADY_PAID"

    async def send_a_tampered_body(self) -> None:
        client = self.client()
        path = "/v1/bills/inquiry"
        message = BillInquiry(**client.common("APP"), id_number=self.account["idNumber"])
        body, headers = client.sign(path, client.encode(path, message))
        tampered = body.replace(b"APP", b"WEB")  # a proxy "normalised" the body after signing
        assert tampered != body
        reply = await client.post(path, tampered, headers)
        assert (reply.status, reply.code) == (401, "SIGNATURE_INVALID")

    async def reuse_a_message_id(self) -> None:
        client = self.client()
        first = BillInquiry(**client.common("APP"), id_number=self.account["idNumber"])
        assert (await client.send("/v1/bills/inquiry", first)).ok
        second = first.model_copy(update={"terminal_id": "KIOSK-2"})
        reply = await client.send("/v1/bills/inquiry", second)
        assert (reply.status, reply.code) == (409, "MESSAGE_ID_REUSED")

    async def send_with_a_slow_clock(self) -> None:
        # Ten minutes behind (ahead, an http-sig `created` would fail the signature first).
        client = self.client(clock=lambda: system_clock() - timedelta(minutes=10))
        with pytest.raises(InvalidRequestError) as refused:
            await client.inquire_bills(channel="APP", id_number=self.account["idNumber"])
        assert refused.value.code == "STALE_MESSAGE"


GOOD_RUN = ("activate", "pay_and_reverse", "pay_lost_answer", "walk_statement")
WRONG_BANKS = {
    # the mistake, the step it replaces (None: added after the good run), the rule it breaks
    "new reference after the lost answer": (
        "pay_lost_answer_under_a_new_reference",
        "pay_lost_answer",
        "PAYMENT-RETRY-SAME-REF",
    ),
    "tampered body": ("send_a_tampered_body", None, "SIG-REQUEST"),
    "reused MessageId": ("reuse_a_message_id", None, "MSG-UNIQUE"),
    "clock ten minutes off": ("send_with_a_slow_clock", None, "CLOCK"),
    "statement abandoned mid-walk": ("abandon_the_statement", "walk_statement", "STATEMENT-WALK"),
}


async def run_bank(bank: Bank, mistake: str | None = None) -> None:
    """The good run, with `mistake` (a WRONG_BANKS key) made in it."""
    await bank.load_fixtures()
    steps = list(GOOD_RUN)
    if mistake is not None:
        wrong_step, replaced, _ = WRONG_BANKS[mistake]
        if replaced is None:
            steps.append(wrong_step)
        else:
            steps[steps.index(replaced)] = wrong_step
    for step in steps:
        if step == "abandon_the_statement":
            await bank.walk_statement(pages_to_read=1)
        else:
            await getattr(bank, step)()


def expected_statuses(mistake: str | None) -> dict[str, str]:
    statuses = dict.fromkeys(ALL_RULES, "pass")
    if mistake is not None:
        rule = WRONG_BANKS[mistake][2]
        statuses[rule] = "not_exercised" if rule == "STATEMENT-WALK" else "fail"
    return statuses


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {rule["id"]: rule["status"] for rule in report["rules"]}
