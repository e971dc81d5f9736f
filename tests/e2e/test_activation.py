"""Activation end to end: every outcome and every error code, in every format/profile,
against the real server on a loopback port and a real SQLite file."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bank_adapter.core.messages import ActivationConfirm
from bank_adapter.domain.ids import luhn_complete

ALL_PARTNERS = ["JWSA", "JWSR", "XMLA", "XMLR", "HSJA", "HSXA"]


async def events_of(service, type_):
    status, data = await service.admin("GET", "/internal/v1/events?limit=500")
    assert status == 200
    return [event for event in data["events"] if event["type"] == type_]


@pytest.mark.parametrize("partner_id", ALL_PARTNERS)
async def test_otp_flow_activates_the_account(service, partner_id):
    id_number, mobile = await service.register()
    client = service.client(partner_id)

    started = await client.replies.activate(
        id_number=id_number, mobile="0" + mobile[4:], channel="APP", bank_customer_ref="c-1"
    )

    assert started.status == 200
    assert started.message.status == "OTP_SENT"
    assert started.message.masked_mobile == "+9665*****" + mobile[-3:]
    expires_in = started.message.otp_expires_at - service.runtime.clock()
    assert timedelta(minutes=4, seconds=50) < expires_in <= timedelta(minutes=5)
    assert started.message.in_reply_to is not None
    otp = await service.otp(mobile)
    assert re.fullmatch(r"\d{6}", otp)
    done = await client.replies.confirm(
        activation_id=started.message.activation_id, otp=otp, channel="APP"
    )
    assert done.status == 200
    assert done.message.status == "ACTIVATED"
    _status, account = await service.admin("GET", f"/internal/v1/accounts/{id_number}")
    assert account["status"] == "ACTIVE"
    [event] = [
        e
        for e in await events_of(service, "ACCOUNT_ACTIVATED")
        if e["data"]["idNumber"] == id_number
    ]
    assert event["data"] == {"idNumber": id_number, "partnerId": partner_id, "channel": "APP"}


@pytest.mark.parametrize("partner_id", ["JWSA", "XMLA", "HSXA"])
async def test_strong_auth_channel_activates_without_otp(service, partner_id):
    id_number, mobile = await service.register()

    reply = await service.client(partner_id).replies.activate(
        id_number=id_number,
        mobile=mobile,
        channel="ATM",
        bank_customer_ref="atm-1",
        terminal_id="ATM-0042",
    )

    assert reply.status == 200
    assert reply.message.status == "ACTIVATED"
    assert reply.message.activation_id is None
    _status, sms = await service.admin("GET", f"/internal/v1/sms?mobile=%2B{mobile[1:]}")
    assert sms["messages"] == []
    [event] = [
        e
        for e in await events_of(service, "ACCOUNT_ACTIVATED")
        if e["data"]["idNumber"] == id_number
    ]
    assert event["data"]["channel"] == "ATM"


async def test_the_otp_is_stored_only_as_a_hash(service):
    id_number, mobile = await service.register()
    await service.client("JWSA").replies.activate(
        id_number=id_number, mobile=mobile, channel="APP", bank_customer_ref="c"
    )
    otp = await service.otp(mobile)
    async with service.runtime.store.engine.connect() as tx:
        rows = (await tx.exec_driver_sql("SELECT * FROM activations")).all()
    assert rows
    assert all(otp not in str(row) for row in rows)


# --- activation request errors, in both formats ---------------------------------------

ACTIVATION_ERRORS = [
    # (account fields, request overrides, channel, expected status, code)
    ({}, {"id_number": "1234567890"}, "APP", 400, "INVALID_ID_NUMBER"),
    ({}, {"id_number": "5000000005"}, "APP", 400, "INVALID_ID_NUMBER"),
    ({}, {"mobile": "0400000000"}, "APP", 400, "INVALID_MOBILE"),
    ({}, {"id_number": "UNREGISTERED"}, "APP", 404, "ACCOUNT_NOT_FOUND"),
    ({"blocked": True}, {}, "APP", 422, "ID_BLOCKED"),
    ({"idExpiry": "2020-01-01"}, {}, "APP", 422, "ID_EXPIRED"),
    ({"biometricEnrolled": False}, {}, "APP", 422, "BIOMETRIC_NOT_ENROLLED"),
    ({}, {"mobile": "0599999999"}, "APP", 422, "MOBILE_MISMATCH"),
    ({}, {}, "KIOSK", 403, "CHANNEL_NOT_ALLOWED"),
]


@pytest.mark.parametrize("partner_id", ["JWSA", "XMLA"])
@pytest.mark.parametrize(("account", "override", "channel", "status", "code"), ACTIVATION_ERRORS)
async def test_activation_errors(service, partner_id, account, override, channel, status, code):
    id_number, mobile = await service.register(**account)
    if override.get("id_number") == "UNREGISTERED":
        # Valid (Luhn, visitor) but never registered.
        override = {"id_number": luhn_complete("4" + id_number[1:9])}
    request = {"id_number": id_number, "mobile": mobile} | override

    reply = await service.client(partner_id).replies.activate(
        **request, channel=channel, bank_customer_ref="c"
    )

    assert (reply.status, reply.code) == (status, code)
    assert reply.message is None
    if partner_id == "JWSA":
        assert reply.headers["content-type"].startswith("application/problem+json")
        assert reply.error["status"] == status
        assert reply.error["inReplyTo"]
        assert id_number not in reply.body.decode()
    else:
        assert reply.headers["content-type"].startswith("application/xml")
        assert b"<InReplyTo>" in reply.body


async def test_already_active_account(service):
    id_number, mobile = await service.register()
    client = service.client("JWSA")
    first = await client.replies.activate(
        id_number=id_number, mobile=mobile, channel="ATM", bank_customer_ref="c"
    )
    assert first.message.status == "ACTIVATED"

    again = await client.replies.activate(
        id_number=id_number, mobile=mobile, channel="APP", bank_customer_ref="c"
    )

    assert (again.status, again.code) == (409, "ACCOUNT_ALREADY_ACTIVE")


async def test_first_failing_rule_in_contract_order_is_reported(service):
    # Blocked, expired, not enrolled and the wrong mobile: ID_BLOCKED comes first.
    id_number, _ = await service.register(
        blocked=True, idExpiry="2020-01-01", biometricEnrolled=False
    )
    client = service.client("XMLA")

    reply = await client.replies.activate(
        id_number=id_number, mobile="0599999999", channel="APP", bank_customer_ref="c"
    )
    assert reply.code == "ID_BLOCKED"
    # A channel the partner may not use beats an invalid ID number.
    reply = await client.replies.activate(
        id_number="123", mobile="bad", channel="KIOSK", bank_customer_ref="c"
    )
    assert reply.code == "CHANNEL_NOT_ALLOWED"
    reply = await client.replies.activate(
        id_number="123", mobile="bad", channel="APP", bank_customer_ref="c"
    )
    assert reply.code == "INVALID_ID_NUMBER"


# --- confirmation errors -------------------------------------------------------------


async def start(service, partner_id="JWSA"):
    id_number, mobile = await service.register()
    client = service.client(partner_id)
    reply = await client.replies.activate(
        id_number=id_number, mobile=mobile, channel="APP", bank_customer_ref="c"
    )
    assert reply.message.status == "OTP_SENT"
    return client, reply.message.activation_id, await service.otp(mobile), id_number


def wrong(otp):
    return f"{(int(otp) + 1) % 1_000_000:06d}"


@pytest.mark.parametrize("partner_id", ["JWSA", "XMLA", "HSJA"])
async def test_wrong_otp_three_times_burns_the_activation(service, partner_id):
    client, activation_id, otp, id_number = await start(service, partner_id)

    codes = [
        (
            await client.replies.confirm(activation_id=activation_id, otp=wrong(otp), channel="APP")
        ).code
        for _ in range(3)
    ]
    late_right = await client.replies.confirm(activation_id=activation_id, otp=otp, channel="APP")

    assert codes == ["OTP_INVALID", "OTP_INVALID", "OTP_ATTEMPTS_EXCEEDED"]
    assert (late_right.status, late_right.code) == (422, "OTP_ATTEMPTS_EXCEEDED")
    _status, account = await service.admin("GET", f"/internal/v1/accounts/{id_number}")
    assert account["status"] == "PENDING"


async def test_right_otp_on_the_third_try_activates(service):
    client, activation_id, otp, _ = await start(service)
    for _ in range(2):
        assert (
            await client.replies.confirm(activation_id=activation_id, otp=wrong(otp), channel="APP")
        ).code == "OTP_INVALID"

    reply = await client.replies.confirm(activation_id=activation_id, otp=otp, channel="APP")

    assert reply.message.status == "ACTIVATED"


async def test_expired_otp(service, clock):
    client, activation_id, otp, _ = await start(service)
    clock.advance(minutes=5, seconds=1)

    reply = await client.replies.confirm(activation_id=activation_id, otp=otp, channel="APP")

    assert (reply.status, reply.code) == (422, "OTP_EXPIRED")


async def test_unknown_activation_and_another_partners_activation(service):
    _, activation_id, otp, _ = await start(service, "JWSA")
    other = service.client("JWSR")

    unknown = await other.replies.confirm(
        activation_id="7f0c0a52-0000-4000-8000-000000000000", otp=otp, channel="APP"
    )
    foreign = await other.replies.confirm(activation_id=activation_id, otp=otp, channel="APP")

    assert (unknown.status, unknown.code) == (404, "ACTIVATION_NOT_FOUND")
    assert (foreign.status, foreign.code) == (404, "ACTIVATION_NOT_FOUND")


async def test_confirming_twice_reports_already_active(service):
    client, activation_id, otp, _ = await start(service)
    assert (
        await client.replies.confirm(activation_id=activation_id, otp=otp, channel="APP")
    ).message.status == "ACTIVATED"

    again = await client.replies.confirm(activation_id=activation_id, otp=otp, channel="APP")

    assert (again.status, again.code) == (409, "ACCOUNT_ALREADY_ACTIVE")


async def test_activation_through_another_bank_meanwhile(service):
    client, activation_id, otp, id_number = await start(service, "JWSA")
    _status, account = await service.admin("GET", f"/internal/v1/accounts/{id_number}")
    atm = await service.client("XMLA").replies.activate(
        id_number=id_number, mobile=account["mobile"], channel="ATM", bank_customer_ref="c"
    )
    assert atm.message.status == "ACTIVATED"

    reply = await client.replies.confirm(activation_id=activation_id, otp=otp, channel="APP")

    assert (reply.status, reply.code) == (409, "ACCOUNT_ALREADY_ACTIVE")
    assert (
        len(
            [
                e
                for e in await events_of(service, "ACCOUNT_ACTIVATED")
                if e["data"]["idNumber"] == id_number
            ]
        )
        == 1
    )


async def test_confirm_schema_errors_name_the_field(service):
    client = service.client("JWSA")
    message = ActivationConfirm.model_construct(
        **client.common("APP"), activation_id="not-a-uuid", otp="123456"
    )
    body = (
        b'{"messageId":"%s","timestamp":"%s","channel":"APP","activationId":"not-a-uuid","otp":"123456"}'
        % (str(message.message_id).encode(), message.timestamp.isoformat().encode())
    )

    reply = await client.send_body("/v1/activations/confirm", body)

    assert (reply.status, reply.code) == (400, "SCHEMA_INVALID")
    assert "activationId" in reply.error["detail"]
    assert reply.error["inReplyTo"] == str(message.message_id)
