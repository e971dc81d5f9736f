"""The SDK against a real service: typed results, one exception per contract family,
retries by the contract's rule, key refresh on an unknown kid, and what it imports."""

from __future__ import annotations

import contextlib
from decimal import Decimal

import pytest

from bank_adapter.client import (
    ActivationResponse,
    BankAdapterError,
    ConflictError,
    ForbiddenError,
    InvalidRequestError,
    NotFoundError,
    PartnerClient,
    PaymentAck,
    RateLimitedError,
    RejectedError,
    RequestTimeoutError,
    Retries,
    ServiceUnavailableError,
    SignatureError,
    Timeouts,
    UnverifiedReply,
)
from bank_adapter.core.keys import SigningKey, generate
from tests.client.proxy import proxy_for

# The engine does not matter to the client: SQLite only.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def through(proxy, service, partner_id="JWSA", **options) -> PartnerClient:
    """A client of `partner_id` talking to the service through `proxy`."""
    base = service.client(partner_id)
    return PartnerClient(
        proxy.url, base.config, session=service.http, clock=service.runtime.clock, **options
    )


async def test_operations_return_their_typed_messages(service):
    client = service.client("XMLA")
    id_number, mobile = await service.register()
    bill = await service.bill(id_number, amount="650.00")
    started = await client.activate(
        id_number=id_number, mobile=mobile, channel="APP", bank_customer_ref="c-1"
    )
    assert isinstance(started, ActivationResponse)
    assert started.status == "OTP_SENT"
    ack = await client.pay(bank_payment_ref="T-1", bill_number=bill, amount="650.00", channel="APP")
    assert isinstance(ack, PaymentAck)
    assert (ack.status, ack.bank_payment_ref) == ("POSTED", "T-1")
    found = await client.inquire_bills(channel="APP", bill_number=bill)
    assert [(b.bill_number, b.amount, b.status) for b in found.bills] == [
        (bill, Decimal("650.00"), "PAID")
    ]


async def test_a_contract_error_raises_its_family_with_the_signed_problem(service):
    client = service.client("JWSA")
    id_number, _ = await service.register()
    bill = await service.bill(id_number, amount="100.00")
    await client.pay(bank_payment_ref="D-1", bill_number=bill, amount="100.00", channel="APP")
    with pytest.raises(ConflictError) as raised:
        await client.pay(bank_payment_ref="D-1", bill_number=bill, amount="99.00", channel="APP")
    err = raised.value
    assert (err.status, err.code) == (409, "DUPLICATE_CONFLICT")
    assert err.problem["code"] == "DUPLICATE_CONFLICT"
    assert err.problem["inReplyTo"] == err.reply.in_reply_to  # the answer to this request
    assert err.reply.body  # the signed bytes, kept as evidence
    assert isinstance(err, BankAdapterError)


async def provoke(service, code: str) -> None:
    client = service.client("JWSA")
    if code == "PAYMENT_NOT_FOUND":
        await client.payment_status(bank_payment_ref="none", channel="APP")
    elif code == "OTP_INVALID":
        id_number, mobile = await service.register()
        started = await client.activate(
            id_number=id_number, mobile=mobile, channel="APP", bank_customer_ref="c"
        )
        otp = await service.otp(mobile)
        wrong = "000000" if otp != "000000" else "111111"
        await client.confirm(activation_id=started.activation_id, otp=wrong, channel="APP")
    elif code == "INVALID_ID_NUMBER":
        await client.inquire_bills(channel="APP", id_number="1234567890")
    elif code == "SIGNATURE_INVALID":
        forged = service.client("JWSA", key=SigningKey("jwsa-1", generate("EC-P256")))
        await forged.inquire_bills(channel="APP", id_number="1234567890")
    else:
        await service.client("SUSP").inquire_bills(channel="APP", id_number="1234567890")


@pytest.mark.parametrize(
    ("family", "code"),
    [
        (NotFoundError, "PAYMENT_NOT_FOUND"),
        (RejectedError, "OTP_INVALID"),
        (InvalidRequestError, "INVALID_ID_NUMBER"),
        (SignatureError, "SIGNATURE_INVALID"),
        (ForbiddenError, "PARTNER_SUSPENDED"),
    ],
)
async def test_each_family_is_raised_for_its_codes(service, family, code):
    with pytest.raises(family) as raised:
        await provoke(service, code)
    assert raised.value.code == code


async def until_rate_limited(client: PartnerClient) -> None:
    for _ in range(50):
        with contextlib.suppress(NotFoundError):
            await client.payment_status(bank_payment_ref="none", channel="APP")
    raise AssertionError("never rate limited")


async def test_rate_limited_carries_retry_after(service):
    with pytest.raises(RateLimitedError) as raised:
        await until_rate_limited(service.client("LIMT"))  # 1 request/s, burst 2
    assert raised.value.retry_after is not None
    assert raised.value.retry_after >= 1


async def test_retries_resend_a_payment_after_a_5xx_with_a_new_message_id(service):
    id_number, _ = await service.register()
    bill = await service.bill(id_number, amount="10.00")
    async with proxy_for(service) as proxy:
        proxy.script = [proxy.unavailable, proxy.unavailable]
        client = through(proxy, service, retries=Retries(attempts=3, backoff_s=0.0))
        ack = await client.pay(
            bank_payment_ref="R-5", bill_number=bill, amount="10.00", channel="APP"
        )
    assert ack.status == "POSTED"
    assert len(proxy.sent) == 3
    assert len({m["messageId"] for m in proxy.sent}) == 3
    assert {m["bankPaymentRef"] for m in proxy.sent} == {"R-5"}
    assert {m["paidAt"] for m in proxy.sent} == {proxy.sent[0]["paidAt"]}  # the bank's record


async def test_without_retries_a_5xx_raises_retryable(service):
    async with proxy_for(service) as proxy:
        proxy.script = [proxy.unavailable]
        client = through(proxy, service)
        with pytest.raises(ServiceUnavailableError) as raised:
            await client.payment_status(bank_payment_ref="x", channel="APP")
    assert (raised.value.status, raised.value.code) == (503, "SERVICE_UNAVAILABLE")
    assert len(proxy.sent) == 1


async def test_retries_never_resend_after_a_4xx(service):
    async with proxy_for(service) as proxy:
        client = through(proxy, service, retries=Retries(attempts=5, backoff_s=0.0))
        with pytest.raises(NotFoundError):
            await client.payment_status(bank_payment_ref="nothing", channel="APP")
    assert len(proxy.sent) == 1


async def test_an_activation_is_never_resent_even_with_retries(service):
    """A second start would send a second OTP and end the first activation."""
    id_number, mobile = await service.register()
    async with proxy_for(service) as proxy:
        proxy.script = [proxy.unavailable]
        client = through(proxy, service, retries=Retries(attempts=5, backoff_s=0.0))
        with pytest.raises(ServiceUnavailableError):
            await client.activate(
                id_number=id_number, mobile=mobile, channel="APP", bank_customer_ref="c"
            )
    assert len(proxy.sent) == 1


async def test_a_timeout_is_retried_and_then_answered(service):
    id_number, _ = await service.register()
    bill = await service.bill(id_number, amount="20.00")
    async with proxy_for(service) as proxy:
        proxy.script = [proxy.silent]  # the first send is never answered
        # Generous: the first send waits out the whole 3 s; the retry takes milliseconds.
        client = through(
            proxy, service, timeouts=Timeouts(total_s=3.0), retries=Retries(attempts=4, backoff_s=0)
        )
        ack = await client.pay(
            bank_payment_ref="TO-1", bill_number=bill, amount="20.00", channel="APP"
        )
    assert ack.status == "POSTED"
    assert [m["bankPaymentRef"] for m in proxy.sent] == ["TO-1"] * len(proxy.sent)
    assert len(proxy.sent) >= 2


async def test_a_timeout_without_retries_raises(service):
    async with proxy_for(service) as proxy:
        proxy.script = [proxy.silent]
        client = through(proxy, service, timeouts=Timeouts(total_s=0.5))
        with pytest.raises(RequestTimeoutError):
            await client.payment_status(bank_payment_ref="x", channel="APP")


async def test_keys_are_fetched_on_first_use_and_again_for_an_unknown_kid(service):
    async with proxy_for(service) as proxy:
        client = through(proxy, service)  # no adapter_keys
        with pytest.raises(NotFoundError):
            await client.payment_status(bank_payment_ref="x", channel="APP")
        assert proxy.key_fetches == 1
        client.keyring.replace({})  # as if the adapter had rotated to a key not seen yet
        client.keyring._fetched_at = None  # and the last fetch were long ago
        with pytest.raises(NotFoundError):
            await client.payment_status(bank_payment_ref="x", channel="APP")
        assert proxy.key_fetches == 2


async def test_a_forged_kid_refetches_the_keys_at_most_once_a_minute(service):
    async with proxy_for(service) as proxy:
        client = through(proxy, service, adapter_keys=service.adapter_keys)
        proxy.script = [proxy.rogue_signed, proxy.rogue_signed]
        for _ in range(2):
            with pytest.raises(UnverifiedReply) as raised:
                await client.payment_status(bank_payment_ref="x", channel="APP")
            assert raised.value.code == "UNKNOWN_KEY"
    assert proxy.key_fetches == 1
