"""`bank-adapter demo`: a simulated business day through a running sandbox.

Every step states what it expects; the run fails if any answer differs. It registers
fresh accounts each time, so it can run again and again against the same sandbox.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from bank_adapter.client import (
    BankAdapterError,
    PartnerClient,
    PaymentAck,
    Statement,
    fetch_adapter_keys,
)
from bank_adapter.core.keys import SigningKey, generate
from bank_adapter.core.messages import ActivationRequest
from bank_adapter.domain.ids import luhn_complete, mask_id
from bank_adapter.exits import OperatorError
from bank_adapter.sandbox import partner_config

Step = Callable[[], Awaitable[str]]


class DemoFailure(Exception):
    """A step's answer was not what the contract says it should be."""


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise DemoFailure(what)


class Demo:
    def __init__(
        self, url: str, admin_url: str, token: str, partners_dir: Path, http: aiohttp.ClientSession
    ) -> None:
        self.url = url.rstrip("/")
        self.admin_url = admin_url.rstrip("/")
        self.token = token
        self.partners_dir = partners_dir
        self.http = http
        self.keys: dict[str, Any] = {}

    async def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with self.http.request(
            method, self.admin_url + path, json=body, headers=headers
        ) as response:
            expect(response.status < 300, f"{method} {path} answered {response.status}")
            return await response.json()

    async def new_account(self) -> tuple[str, str]:
        id_number = luhn_complete("1" + "".join(secrets.choice("0123456789") for _ in range(8)))
        mobile = "+9665" + "".join(secrets.choice("0123456789") for _ in range(8))
        await self.admin("POST", "/internal/v1/accounts", {
            "idNumber": id_number, "mobile": mobile, "biometricEnrolled": True,
            "idExpiry": "2031-12-31", "fullNameEn": "Demo Customer",
        })  # fmt: skip
        return id_number, mobile

    def client(self, partner_id: str) -> PartnerClient:
        config = partner_config(self.partners_dir, partner_id)
        return PartnerClient(self.url, config, adapter_keys=self.keys, session=self.http)

    async def otp_activation(self, partner_id: str, channel: str) -> str:
        id_number, mobile = await self.new_account()
        client = self.client(partner_id)
        started = await client.activate(
            id_number=id_number, mobile=mobile, channel=channel, bank_customer_ref="demo"
        )
        expect(started.status == "OTP_SENT", f"{partner_id}: expected OTP_SENT, got {started}")
        sms = await self.admin("GET", f"/internal/v1/sms?mobile={quote(mobile)}")
        otp = re.search(r"\b(\d{6})\b", sms["messages"][-1]["text"])
        if otp is None:
            raise DemoFailure("no OTP in the sandbox SMS outbox")
        wrong = "000000" if otp.group(1) != "000000" else "111111"
        activation_id = str(started.activation_id)
        await refused(
            client.confirm(activation_id=activation_id, otp=wrong, channel=channel),
            "OTP_INVALID",
            f"{partner_id}: a wrong OTP",
        )
        done = await client.confirm(activation_id=activation_id, otp=otp.group(1), channel=channel)
        expect(done.status == "ACTIVATED", f"{partner_id}: confirm gave {done.status}")
        account = await self.admin("GET", f"/internal/v1/accounts/{id_number}")
        expect(account["status"] == "ACTIVE", "account not ACTIVE after confirmation")
        profile = f"{client.config.format}/{client.config.signature}"
        return f"{partner_id} {profile}: {mask_id(id_number)} OTP_SENT, OTP_INVALID, ACTIVATED"

    async def atm_activation(self) -> str:
        id_number, mobile = await self.new_account()
        done = await self.client("NCBK").activate(
            id_number=id_number, mobile=mobile, channel="ATM", bank_customer_ref="atm"
        )
        expect(done.status == "ACTIVATED", f"ATM activation gave {done.status}")
        return "NCBK xml/xmldsig ATM: ACTIVATED without OTP (strong authentication)"

    async def replay(self) -> str:
        id_number, mobile = await self.new_account()
        client = self.client("RJHI")
        message = ActivationRequest(
            **client.common("APP"), id_number=id_number, mobile=mobile, bank_customer_ref="replay"
        )
        signed, headers = client.sign("/v1/activations", client.encode("/v1/activations", message))
        first = await client.post("/v1/activations", signed, headers)
        again = await client.post("/v1/activations", signed, headers)
        same_signature = first.headers.get("x-jws-signature") == again.headers.get(
            "x-jws-signature"
        )
        expect(
            first.body == again.body and same_signature,
            "a repeated message did not get the stored answer byte for byte",
        )
        return "RJHI: same MessageId and body -> the stored answer, byte for byte"

    async def forged(self) -> str:
        client = self.client("RJHI")
        forger = replace(client.config, key=SigningKey(client.config.key.kid, generate("EC-P256")))
        forged_client = PartnerClient(self.url, forger, adapter_keys=self.keys, session=self.http)
        await refused(
            forged_client.activate(
                id_number="1000000001", mobile="0500000001", channel="APP", bank_customer_ref="x"
            ),
            "SIGNATURE_INVALID",
            "a forged request",
        )
        return "RJHI forged signature: 401 SIGNATURE_INVALID"

    async def payment_day(self, partner_id: str) -> str:
        """Issue a bill, find it, pay it, retry, reverse, pay again, check the statement."""
        id_number, _ = await self.new_account()
        issued = await self.admin("POST", "/internal/v1/bills", {
            "idNumber": id_number, "serviceCode": "TRAFFIC_VIOLATION", "amount": "300.00",
            "dueDate": "2031-12-31",
        })  # fmt: skip
        bill_number = str(issued["billNumber"])
        client = self.client(partner_id)
        found = await client.inquire_bills(channel="APP", id_number=id_number)
        expect(
            [bill.bill_number for bill in found.bills] == [bill_number],
            f"{partner_id}: inquiry found {[bill.bill_number for bill in found.bills]}",
        )
        reference = "DEMO-" + secrets.token_hex(6)

        async def pay(ref: str) -> PaymentAck:
            return await client.pay(
                bank_payment_ref=ref, bill_number=bill_number, amount="300.00", channel="APP"
            )

        posted = await pay(reference)
        expect(posted.status == "POSTED", f"{partner_id}: payment gave {posted.status}")
        retry = await pay(reference)
        expect(retry.payment_id == posted.payment_id, f"{partner_id}: a retry was posted twice")
        undone = await client.reverse(bank_payment_ref=reference, reason="demo", channel="APP")
        expect(undone.status == "REVERSED", f"reversal gave {undone.status}")
        again = await pay(reference + "-2")
        expect(again.status == "POSTED", f"second payment gave {again.status}")
        await self.statement_matches(client, again.business_date)
        return f"{partner_id}: bill found, POSTED, retry same PaymentId, REVERSED, paid again"

    async def statement_matches(self, client: PartnerClient, day: date) -> None:
        """Walk the day's statement and recompute its checksum from the entries."""
        digests = 0
        entries = 0
        last: Statement | None = None
        async for page in client.statement_pages(business_date=day, page_size=200):
            for entry in page.entries:
                line = f"{entry.bank_payment_ref}|{entry.bill_number}|{entry.amount}|{entry.status}"
                digests ^= int.from_bytes(hashlib.sha256(line.encode()).digest(), "big")
                entries += 1
            last = page
        expect(last is not None and last.count == entries, "statement count differs")
        expect(last is not None and last.checksum == f"{digests:064x}", "checksum differs")

    async def fee_quote(self) -> str:
        id_number = luhn_complete("2" + "".join(secrets.choice("0123456789") for _ in range(8)))
        await self.admin("POST", "/internal/v1/accounts", {
            "idNumber": id_number, "mobile": "+966511111111", "biometricEnrolled": True,
            "idExpiry": "2031-12-31",
        })  # fmt: skip
        client = self.client("NCBK")
        quoted = await client.quote_fee(
            id_number=id_number, service_code="IQAMA_RENEWAL", periods=12, channel="ATM"
        )
        amounts = [str(bill.amount) for bill in quoted.bills]
        expect(amounts == ["650.00"], f"quote gave {amounts}")
        paid = await client.pay(
            bank_payment_ref="Q-" + secrets.token_hex(6),
            bill_number=quoted.bills[0].bill_number,
            amount="650.00",
            channel="ATM",
            terminal_id="ATM-0042",
        )
        expect(paid.status == "POSTED", f"quoted bill payment gave {paid.status}")
        return "NCBK xml/xmldsig: iqama renewal 12 months quoted 650.00 and paid at an ATM"

    async def suspended(self) -> str:
        await refused(
            self.client("BSFR").activate(
                id_number="1000000001", mobile="0500000001", channel="APP", bank_customer_ref="x"
            ),
            "PARTNER_SUSPENDED",
            "a suspended partner",
        )
        return "BSFR (suspended): 403 PARTNER_SUSPENDED"


async def refused(call: Awaitable[object], code: str, what: str) -> None:
    """`call` must raise the contract error `code`."""
    try:
        await call
    except BankAdapterError as err:
        expect(err.code == code, f"{what}: expected {code}, got {err}")
        return
    raise DemoFailure(f"{what}: expected {code}, got a success")


async def run_demo(url: str, admin_url: str, token: str, partners_dir: Path) -> bool:
    """The partner API at `url`, the internal API at `admin_url` (the same URL unless the
    service has an admin listener)."""
    async with aiohttp.ClientSession() as http:
        demo = Demo(url, admin_url, token, partners_dir, http)
        try:
            demo.keys = await fetch_adapter_keys(demo.url, http)
        except aiohttp.ClientError as exc:
            raise OperatorError(
                f"cannot fetch the adapter's keys from {demo.url}/v1/keys ({exc}); is the "
                "sandbox running (scripts/sandbox)? Point --url, or BANK_ADAPTER_HOST and "
                "BANK_ADAPTER_PORT, at it"
            ) from exc
        steps: list[Step] = [
            lambda: demo.otp_activation("RJHI", "APP"),
            lambda: demo.otp_activation("NCBK", "WEB"),
            lambda: demo.otp_activation("RIBL", "APP"),
            lambda: demo.otp_activation("SABB", "IVR"),
            demo.atm_activation,
            demo.replay,
            lambda: demo.payment_day("RJHI"),
            lambda: demo.payment_day("SABB"),
            demo.fee_quote,
            demo.forged,
            demo.suspended,
        ]
        failures = 0
        for number, step in enumerate(steps, 1):
            try:
                print(f"[{number}/{len(steps)}] ok    {await step()}")
            except (DemoFailure, BankAdapterError) as exc:
                failures += 1
                print(f"[{number}/{len(steps)}] FAIL  {exc}")
        print(f"demo: {len(steps) - failures} passed, {failures} failed")
        return failures == 0
