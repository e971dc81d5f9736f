"""The asyncio client: signs each request in the partner's profile, verifies every answer
against the adapter's published keys, and returns the operation's typed result or raises.

    async with PartnerClient(url, config) as bank:
        ack = await bank.pay(bank_payment_ref="R-1", bill_number="…", amount="300.00",
                             channel="APP")               # PaymentAck, or raises
        reply = await bank.replies.pay(...)                # the verified Reply, never raises
                                                           # for a contract error

Theory of operation, per send: stamp the call with a new MessageId and Timestamp, encode,
sign, POST the exact signed bytes; verify the answer (refetching `/v1/keys` once, rate
limited, when it names an unknown kid), decode what was verified, and check that it
answers this message (`InReplyTo`). With `retries`, a timeout, a lost answer or a 5xx
sends the same call again (`policy`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from datetime import date, datetime
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, TypeVar
from uuid import uuid4

import aiohttp
from pydantic import BaseModel

from bank_adapter.client import calls
from bank_adapter.client.calls import Call
from bank_adapter.client.config import RESPONSE_ALGORITHMS, PartnerConfig, profile_for
from bank_adapter.client.errors import (
    AnswerLostError,
    BankAdapterError,
    ConnectFailedError,
    RequestTimeoutError,
    UnverifiedReply,
    error_for,
)
from bank_adapter.client.keyring import KeyRing, fetch_adapter_keys
from bank_adapter.client.policy import DEFAULT_TIMEOUTS, NO_RETRIES, Retries, Timeouts
from bank_adapter.client.replies import Reply, decode, encode
from bank_adapter.clock import Clock, system_clock
from bank_adapter.core.keys import PublicKey
from bank_adapter.core.messages import OPERATIONS, PartnerRequest, Statement
from bank_adapter.core.signing import SignatureProfile, Verified, VerifyPolicy
from bank_adapter.errors import AdapterError, Code

P = ParamSpec("P")
R = TypeVar("R", bound=BaseModel)


def _typed(
    build: Callable[Concatenate[datetime, P], Call[R]],
) -> Callable[Concatenate[PartnerClient, P], Coroutine[Any, Any, R]]:
    async def operation(client: PartnerClient, /, *args: P.args, **kwargs: P.kwargs) -> R:
        return await client.call(build(client.clock(), *args, **kwargs))

    operation.__doc__ = build.__doc__
    return operation


def _untyped(
    build: Callable[Concatenate[datetime, P], Call[R]],
) -> Callable[Concatenate[Replies, P], Coroutine[Any, Any, Reply]]:
    async def operation(replies: Replies, /, *args: P.args, **kwargs: P.kwargs) -> Reply:
        client = replies.client
        return await client.send_call(build(client.clock(), *args, **kwargs))

    operation.__doc__ = build.__doc__
    return operation


class PartnerClient:
    """A bank's client of the partner API. `adapter_keys` omitted: fetched on first use."""

    def __init__(
        self,
        base_url: str,
        config: PartnerConfig,
        *,
        adapter_keys: Mapping[str, PublicKey] | None = None,
        session: aiohttp.ClientSession | None = None,
        clock: Clock = system_clock,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        retries: Retries | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self.config = config
        self.keyring = KeyRing(adapter_keys)
        self.timeout = aiohttp.ClientTimeout(
            total=timeouts.total_s, sock_connect=timeouts.connect_s
        )
        self.retries = retries or NO_RETRIES
        self.replies = Replies(self)
        self._session = session
        self._own_session = session is None
        self._refreshing = asyncio.Lock()

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

    @property
    def profile(self) -> SignatureProfile:
        return profile_for(self.config.signature)

    @property
    def adapter_keys(self) -> Mapping[str, PublicKey]:
        return self.keyring.keys

    # --- operations: typed results, contract errors raised ---------------------------

    activate = _typed(calls.activation)
    confirm = _typed(calls.confirmation)
    inquire_bills = _typed(calls.bill_inquiry)
    quote_fee = _typed(calls.fee_quote)
    pay = _typed(calls.payment)
    reverse = _typed(calls.reversal)
    payment_status = _typed(calls.payment_status)
    statement = _typed(calls.statement)

    async def statement_pages(
        self, *, business_date: date, channel: str = "WEB", page_size: int | None = None
    ) -> AsyncIterator[Statement]:
        """Every page of a day's statement, first to last."""
        token: str | None = None
        while True:
            page = await self.statement(
                business_date=business_date, channel=channel, page_size=page_size, page_token=token
            )
            yield page
            token = page.next_page_token
            if token is None:
                return

    async def call(self, call: Call[R]) -> R:
        """Send `call` (retrying as configured); its typed result, or the error raised."""
        return (await self.send_call(call)).result(call.result)

    # --- the verified exchange -------------------------------------------------------

    async def send_call(self, call: Call[Any]) -> Reply:
        """Send `call`, again after a timeout, lost answer or 5xx when retries allow it."""
        attempt = 1
        while True:
            try:
                reply = await self.send(call.operation.path, call.message(uuid4(), self.clock()))
                if reply.status < 500:
                    return reply
                error = error_for(reply)
            except (RequestTimeoutError, AnswerLostError) as exc:
                reply, error = None, exc
            wait = self.retries.wait_before(attempt, error) if call.retryable else None
            if wait is None:
                if reply is None:
                    raise error
                return reply
            await asyncio.sleep(wait)
            attempt += 1

    def common(self, channel: str, terminal_id: str | None = None) -> dict[str, Any]:
        """Fresh common request fields: a new MessageId and the current time."""
        fields: dict[str, Any] = {"message_id": uuid4(), "timestamp": self.clock()}
        fields["channel"] = channel
        if terminal_id is not None:
            fields["terminal_id"] = terminal_id
        return fields

    def encode(self, path: str, message: PartnerRequest) -> bytes:
        return encode(OPERATIONS[path], message, self.config.format)

    async def send(self, path: str, message: PartnerRequest) -> Reply:
        """Send one message once; the answer must be signed by the adapter and be about it."""
        reply = await self.send_body(path, self.encode(path, message))
        sent = str(message.message_id)
        answered = reply.in_reply_to
        # An answer whose InReplyTo names another message is someone else's (a proxy's
        # cache, a mixed-up connection): a signature alone does not tie it to this one.
        if answered is not None and answered != sent:
            raise UnverifiedReply(
                f"the answer is to message {answered}, not {sent}", status=reply.status
            )
        return reply

    def sign(
        self, path: str, body: bytes, *, now: datetime | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The signed body and headers of a request, as `send_body` would send them."""
        content_type = self.config.content_type
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
        status, reply_headers, raw = await self._exchange(path, body, headers)
        verified = await self._verified(status, reply_headers, raw)
        return decode(OPERATIONS.get(path), status, reply_headers, verified)

    async def _exchange(
        self, path: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        try:
            async with self.session.post(
                self.base_url + path, data=body, headers=dict(headers), timeout=self.timeout
            ) as response:
                raw = await response.read()
                reply_headers = {name.lower(): value for name, value in response.headers.items()}
                return response.status, reply_headers, raw
        except TimeoutError as exc:
            raise RequestTimeoutError(f"no answer from {path} in time: {exc!r}") from exc
        except aiohttp.ClientConnectorError as exc:
            raise ConnectFailedError(f"cannot connect to {self.base_url}: {exc}") from exc
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            raise AnswerLostError(f"the connection closed before {path} answered") from exc
        except aiohttp.ClientPayloadError as exc:
            raise AnswerLostError(f"the answer from {path} was cut off") from exc
        except aiohttp.ClientError as exc:
            raise BankAdapterError(f"{path}: {exc!r}") from exc

    async def _verified(self, status: int, headers: Mapping[str, str], body: bytes) -> Verified:
        """Verify an answer; an unknown kid refetches `/v1/keys` once (rate limited)."""
        if not self.keyring.loaded:
            await self._refresh_keys()
        try:
            return self.verify(status, headers, body)
        except UnverifiedReply as exc:
            if exc.code != Code.UNKNOWN_KEY.value or not self.keyring.due():
                raise
        await self._refresh_keys()
        return self.verify(status, headers, body)

    async def _refresh_keys(self) -> None:
        async with self._refreshing:
            if self.keyring.loaded and not self.keyring.due():
                return  # another request refreshed them meanwhile
            try:
                keys = await fetch_adapter_keys(self.base_url, self.session, self.timeout)
            except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as exc:
                raise UnverifiedReply(f"cannot fetch the adapter's keys: {exc!r}") from exc
            self.keyring.replace(keys)

    def verify(self, status: int, headers: Mapping[str, str], body: bytes) -> Verified:
        """Check the adapter's signature on an answer with the keys known now."""
        content_type = headers.get("content-type", "").split(";")[0].strip()
        profile = self.profile
        unknown_partner_answer = "x-jws-signature" in headers and "signature" not in headers
        if content_type == "application/problem+json" and unknown_partner_answer:
            profile = profile_for("jws")  # errors for unknown partners are JWS-signed JSON
        policy = VerifyPolicy(self.keyring.keys, RESPONSE_ALGORITHMS, self.clock())
        try:
            verified: Verified = profile.verify_response(status, headers, body, policy)
        except AdapterError as exc:
            raise UnverifiedReply(
                f"answer {status} failed verification: {exc.code.value}",
                status=status,
                code=exc.code.value,
            ) from exc
        return verified


class Replies:
    """The same operations answering the verified `Reply` instead of raising on contract
    errors (a forged answer or a transport failure still raises)."""

    def __init__(self, client: PartnerClient) -> None:
        self.client = client

    activate = _untyped(calls.activation)
    confirm = _untyped(calls.confirmation)
    inquire_bills = _untyped(calls.bill_inquiry)
    quote_fee = _untyped(calls.fee_quote)
    pay = _untyped(calls.payment)
    reverse = _untyped(calls.reversal)
    payment_status = _untyped(calls.payment_status)
    statement = _untyped(calls.statement)

    async def statement_pages(
        self, *, business_date: date, channel: str = "WEB", page_size: int | None = None
    ) -> AsyncIterator[Reply]:
        """Every page of a day's statement, first to last; stops after the first error."""
        token: str | None = None
        while True:
            reply = await self.statement(
                business_date=business_date, channel=channel, page_size=page_size, page_token=token
            )
            yield reply
            token = getattr(reply.message, "next_page_token", None)
            if not reply.ok or token is None:
                return
