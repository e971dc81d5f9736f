"""The bank-side SDK: an async client that signs requests in the partner's profile and
verifies every answer against the adapter's published keys before handing it back.

    keys = await fetch_adapter_keys(base_url)
    async with PartnerClient(base_url, config, adapter_keys=keys) as client:
        reply = await client.activate(id_number="1…", mobile="05…", channel="APP",
                                      bank_customer_ref="c-42")
        if reply.ok: ...

A reply whose signature does not verify raises `UnverifiedReply`: a bank must never act
on an unsigned or forged answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any
from uuid import UUID, uuid4

import aiohttp
from pydantic import BaseModel

from bank_adapter.clock import Clock, system_clock
from bank_adapter.core import codec_json, codec_xml
from bank_adapter.core.httpsig import HttpSigProfile
from bank_adapter.core.jws import JwsProfile
from bank_adapter.core.keys import PublicKey, SigningKey, load_public_pem
from bank_adapter.core.messages import (
    OPERATIONS,
    ActivationConfirm,
    ActivationRequest,
    BillInquiry,
    FeeQuote,
    Operation,
    PaymentNotification,
    PaymentReversal,
    PaymentStatusQuery,
    StatementRequest,
)
from bank_adapter.core.money import parse_amount
from bank_adapter.core.signing import SignatureProfile, VerifyPolicy
from bank_adapter.core.xmldsig import XmlDsigProfile
from bank_adapter.core.xmlparse import parse_xml
from bank_adapter.errors import AdapterError

CONTENT_TYPES = {"json": "application/json", "xml": "application/xml"}
# The adapter answers with its own key; any algorithm its key kind allows is accepted.
RESPONSE_ALGORITHMS = frozenset(
    {"ES256", "RS256", "PS256", "EdDSA", "RSA-SHA256", "ECDSA-SHA256"}
    | {"ecdsa-p256-sha256", "rsa-pss-sha512", "rsa-v1_5-sha256", "ed25519"}
)


class UnverifiedReply(Exception):
    """The adapter's answer did not carry a valid adapter signature."""


@dataclass(frozen=True, slots=True)
class PartnerConfig:
    partner_id: str
    format: str  # "json" or "xml"
    signature: str  # "jws", "xmldsig" or "http-sig"
    key: SigningKey
    algorithm: str


@dataclass(frozen=True, slots=True)
class Reply:
    """A verified answer: `message` for 2xx, `code`/`error` for errors; raw bytes kept."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    message: BaseModel | None = None
    error: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def in_reply_to(self) -> str | None:
        """The MessageId the answer says it answers (absent on some errors)."""
        if self.message is not None:
            value = getattr(self.message, "in_reply_to", None)
        else:
            value = self.error.get("inReplyTo")
        return str(value) if value is not None else None

    @property
    def code(self) -> str | None:
        value = self.error.get("code") if self.error else None
        return str(value) if value is not None else None


def profile_for(name: str) -> SignatureProfile:
    profiles: dict[str, SignatureProfile] = {
        "jws": JwsProfile(),
        "xmldsig": XmlDsigProfile(),
        "http-sig": HttpSigProfile(),
    }
    return profiles[name]


async def fetch_adapter_keys(
    base_url: str, session: aiohttp.ClientSession | None = None
) -> dict[str, PublicKey]:
    """The adapter's published keys (`GET /v1/keys`), by kid."""
    own = session is None
    http = session or aiohttp.ClientSession()
    try:
        async with http.get(base_url.rstrip("/") + "/v1/keys") as response:
            response.raise_for_status()
            document = await response.json()
    finally:
        if own:
            await http.close()
    return {
        entry["kid"]: PublicKey(entry["kid"], load_public_pem(entry["pem"].encode("ascii")))
        for entry in document["keys"]
    }


class PartnerClient:
    def __init__(
        self,
        base_url: str,
        config: PartnerConfig,
        *,
        adapter_keys: Mapping[str, PublicKey],
        session: aiohttp.ClientSession | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self.config = config
        self.adapter_keys = dict(adapter_keys)
        self.profile = profile_for(config.signature)
        self._session = session
        self._own_session = session is None

    async def __aenter__(self) -> PartnerClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    # --- operations --------------------------------------------------------------------

    async def activate(
        self,
        *,
        id_number: str,
        mobile: str,
        channel: str,
        bank_customer_ref: str,
        terminal_id: str | None = None,
    ) -> Reply:
        message = ActivationRequest(
            **self.common(channel, terminal_id),
            id_number=id_number,
            mobile=mobile,
            bank_customer_ref=bank_customer_ref,
        )
        return await self.send("/v1/activations", message)

    async def confirm(
        self, *, activation_id: str | UUID, otp: str, channel: str, terminal_id: str | None = None
    ) -> Reply:
        message = ActivationConfirm(
            **self.common(channel, terminal_id), activation_id=activation_id, otp=otp
        )
        return await self.send("/v1/activations/confirm", message)

    async def inquire_bills(
        self, *, channel: str, id_number: str | None = None, bill_number: str | None = None
    ) -> Reply:
        message = BillInquiry(**self.common(channel), id_number=id_number, bill_number=bill_number)
        return await self.send("/v1/bills/inquiry", message)

    async def quote_fee(
        self, *, id_number: str, service_code: str, periods: int, channel: str
    ) -> Reply:
        message = FeeQuote(
            **self.common(channel), id_number=id_number, service_code=service_code, periods=periods
        )
        return await self.send("/v1/fees/quote", message)

    async def pay(
        self,
        *,
        bank_payment_ref: str,
        bill_number: str,
        amount: Decimal | str,
        channel: str,
        paid_at: datetime | None = None,
        terminal_id: str | None = None,
    ) -> Reply:
        """Notify a payment. On a timeout or 5xx, call again with the same reference."""
        message = PaymentNotification(
            **self.common(channel, terminal_id),
            bank_payment_ref=bank_payment_ref,
            bill_number=bill_number,
            amount=parse_amount(amount) if isinstance(amount, str) else amount,
            currency="SAR",
            paid_at=paid_at or self.clock(),
        )
        return await self.send("/v1/payments", message)

    async def reverse(self, *, bank_payment_ref: str, reason: str, channel: str) -> Reply:
        message = PaymentReversal(
            **self.common(channel), bank_payment_ref=bank_payment_ref, reason=reason
        )
        return await self.send("/v1/payments/reversal", message)

    async def payment_status(self, *, bank_payment_ref: str, channel: str) -> Reply:
        message = PaymentStatusQuery(**self.common(channel), bank_payment_ref=bank_payment_ref)
        return await self.send("/v1/payments/status", message)

    async def statement(
        self,
        *,
        business_date: date,
        channel: str = "WEB",
        page_size: int | None = None,
        page_token: str | None = None,
    ) -> Reply:
        message = StatementRequest(
            **self.common(channel),
            business_date=business_date,
            page_size=page_size,
            page_token=page_token,
        )
        return await self.send("/v1/reconciliation/statement", message)

    async def statement_pages(
        self, *, business_date: date, channel: str = "WEB", page_size: int | None = None
    ) -> AsyncIterator[Reply]:
        """Every page of a day's statement, first to last; stops at the first error."""
        token: str | None = None
        while True:
            reply = await self.statement(
                business_date=business_date, channel=channel, page_size=page_size, page_token=token
            )
            yield reply
            token = getattr(reply.message, "next_page_token", None)
            if not reply.ok or token is None:
                return

    # --- plumbing ----------------------------------------------------------------------

    def common(self, channel: str, terminal_id: str | None = None) -> dict[str, Any]:
        """Fresh common request fields: a new MessageId and the current time."""
        fields: dict[str, Any] = {
            "message_id": uuid4(),
            "timestamp": self.clock(),
            "channel": channel,
        }
        if terminal_id is not None:
            fields["terminal_id"] = terminal_id
        return fields

    def encode(self, path: str, message: BaseModel) -> bytes:
        if self.config.format == "xml":
            return codec_xml.encode_xml(message, OPERATIONS[path].request_root)
        return codec_json.encode_json(message)

    async def send(self, path: str, message: BaseModel) -> Reply:
        """Send a message; the answer must be signed by the adapter and be about it."""
        reply = await self.send_body(path, self.encode(path, message))
        sent = str(getattr(message, "message_id", ""))
        answered = reply.in_reply_to
        # An answer whose InReplyTo names another message is someone else's (a proxy's
        # cache, a mixed-up connection): a signature alone does not tie it to this one.
        if answered is not None and answered != sent:
            raise UnverifiedReply(f"the answer is to message {answered}, not {sent}")
        return reply

    def sign(
        self, path: str, body: bytes, *, now: datetime | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The signed body and headers of a request, as `send_body` would send them."""
        content_type = CONTENT_TYPES[self.config.format]
        partner_header = (("X-Partner-Id", self.config.partner_id),)
        signed = self.profile.sign_request(
            "POST", path, content_type, body, partner_header,
            self.config.key, self.config.algorithm, now or self.clock(),
        )  # fmt: skip
        headers = {"Content-Type": content_type, "X-Partner-Id": self.config.partner_id}
        headers.update(signed.headers)
        return signed.body, headers

    async def send_body(self, path: str, body: bytes) -> Reply:
        signed_body, headers = self.sign(path, body)
        return await self.post(path, signed_body, headers)

    async def post(self, path: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        """POST exactly these bytes and headers; verify and decode the answer."""
        async with self.session.post(
            self.base_url + path, data=body, headers=dict(headers)
        ) as response:
            raw = await response.read()
            reply_headers = {name.lower(): value for name, value in response.headers.items()}
            status = response.status
        self.verify(status, reply_headers, raw)
        return decode_reply(OPERATIONS.get(path), status, reply_headers, raw)

    def verify(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        content_type = headers.get("content-type", "").split(";")[0].strip()
        profile = self.profile
        unknown_partner_answer = "x-jws-signature" in headers and "signature" not in headers
        if content_type == "application/problem+json" and unknown_partner_answer:
            profile = profile_for("jws")  # errors for unknown partners are JWS-signed JSON
        policy = VerifyPolicy(self.adapter_keys, RESPONSE_ALGORITHMS, self.clock())
        try:
            profile.verify_response(status, headers, body, policy)
        except AdapterError as exc:
            raise UnverifiedReply(f"answer {status} failed verification: {exc.code.value}") from exc


def decode_reply(
    op: Operation[Any] | None, status: int, headers: Mapping[str, str], body: bytes
) -> Reply:
    content_type = headers.get("content-type", "").split(";")[0].strip()
    if content_type == "application/xml":
        root = parse_xml(body)
        if root.tag == f"{{{codec_xml.NAMESPACE}}}Error":
            return Reply(status, headers, body, error=codec_xml.error_fields(root))
        assert op is not None
        message = codec_xml.decode_xml(root, op.response_model, op.response_root)
        return Reply(status, headers, body, message=message)
    data = codec_json.decode_json(body)
    if status >= 300 or content_type == "application/problem+json":
        return Reply(status, headers, body, error=data)
    assert op is not None
    return Reply(status, headers, body, message=codec_json.validate(op.response_model, data))
