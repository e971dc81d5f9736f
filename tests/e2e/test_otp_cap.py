"""One pending activation per account, and at most N OTPs per account in any rolling hour
across banks (contract section 4, revision 1.1): real server, both engines."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from urllib.parse import quote

CAP = 5  # the default of BANK_ADAPTER_OTP_MAX_PER_HOUR


async def sms_count(service, mobile: str) -> int:
    status, data = await service.admin("GET", f"/internal/v1/sms?mobile={quote(mobile)}")
    assert status == 200
    return len(data["messages"])


async def otps(service, mobile: str) -> list[str]:
    _, data = await service.admin("GET", f"/internal/v1/sms?mobile={quote(mobile)}")
    return [re.search(r"\b(\d{6})\b", m["text"]).group(1) for m in data["messages"]]


async def start(service, partner_id: str, id_number: str, mobile: str):
    return await service.client(partner_id).replies.activate(
        id_number=id_number, mobile=mobile, channel="APP", bank_customer_ref="c"
    )


async def test_a_new_start_ends_the_earlier_pending_activation(service):
    id_number, mobile = await service.register()
    first = await start(service, "JWSA", id_number, mobile)
    first_otp = await service.otp(mobile)
    second = await start(service, "XMLA", id_number, mobile)  # another bank
    assert first.message.status == second.message.status == "OTP_SENT"
    assert first.message.activation_id != second.message.activation_id

    # The earlier one is gone, even with its own, right OTP, and that costs no try.
    ended = await service.client("JWSA").replies.confirm(
        activation_id=first.message.activation_id, otp=first_otp, channel="APP"
    )
    assert (ended.status, ended.code) == (404, "ACTIVATION_NOT_FOUND")
    done = await service.client("XMLA").replies.confirm(
        activation_id=second.message.activation_id, otp=await service.otp(mobile), channel="APP"
    )
    assert done.status == 200
    assert done.message.status == "ACTIVATED"


async def test_the_cap_refuses_a_start_sends_nothing_and_keeps_the_pending_one(service, clock):
    id_number, mobile = await service.register()
    started = [await start(service, ("JWSA", "XMLA")[i % 2], id_number, mobile) for i in range(CAP)]
    assert [reply.status for reply in started] == [200] * CAP
    clock.advance(minutes=2)

    refused = await start(service, "HSJA", id_number, mobile)

    assert (refused.status, refused.code) == (429, "OTP_LIMIT_REACHED")
    # The first OTP leaves the window 58 minutes from now: then one more may be sent.
    assert refused.retry_after is not None
    assert 58 * 60 - 5 <= refused.retry_after <= 58 * 60
    assert await sms_count(service, mobile) == CAP
    # The pending activation (the last one started) still confirms with its OTP.
    done = await service.client("JWSA").replies.confirm(
        activation_id=started[-1].message.activation_id,
        otp=await service.otp(mobile),
        channel="APP",
    )
    assert done.status == 200


async def test_refused_starts_do_not_count_and_the_window_rolls(service, clock):
    id_number, mobile = await service.register()
    for _ in range(CAP):
        assert (await start(service, "JWSA", id_number, mobile)).status == 200
    for _ in range(3):
        assert (await start(service, "JWSA", id_number, mobile)).code == "OTP_LIMIT_REACHED"

    clock.advance(hours=1, seconds=1)

    again = await start(service, "JWSA", id_number, mobile)
    assert again.status == 200
    assert await sms_count(service, mobile) == CAP + 1


async def test_the_cap_is_per_account(service):
    capped, capped_mobile = await service.register()
    for _ in range(CAP):
        await start(service, "JWSA", capped, capped_mobile)
    other, other_mobile = await service.register()

    assert (await start(service, "JWSA", capped, capped_mobile)).code == "OTP_LIMIT_REACHED"
    assert (await start(service, "JWSA", other, other_mobile)).status == 200


async def test_concurrent_starts_across_banks_send_exactly_the_cap(service):
    id_number, mobile = await service.register()
    partners = ("JWSA", "XMLA", "HSJA", "HSXA")

    replies = await asyncio.gather(
        *(start(service, partners[i % len(partners)], id_number, mobile) for i in range(4 * CAP))
    )

    sent = [reply for reply in replies if reply.status == 200]
    refused = [reply for reply in replies if reply.status != 200]
    assert len(sent) == CAP
    assert {reply.code for reply in refused} == {"OTP_LIMIT_REACHED"}
    assert all(reply.retry_after and reply.retry_after >= 1 for reply in refused)
    codes = await otps(service, mobile)
    assert len(codes) == CAP
    # Exactly one activation is still pending: the last started, whose OTP is the last SMS.
    outcomes = []
    for reply in sent:
        partner_id = partners[replies.index(reply) % len(partners)]
        confirmed = await service.client(partner_id).replies.confirm(
            activation_id=reply.message.activation_id, otp=codes[-1], channel="APP"
        )
        outcomes.append((confirmed.status, confirmed.code))
    assert sorted(outcomes, key=str) == sorted(
        [(200, None)] + [(404, "ACTIVATION_NOT_FOUND")] * (CAP - 1), key=str
    )


async def test_the_cap_is_configurable(service, clock):
    service.runtime.settings = replace(service.runtime.settings, otp_max_per_hour=2)
    id_number, mobile = await service.register()
    assert (await start(service, "JWSA", id_number, mobile)).status == 200
    assert (await start(service, "JWSA", id_number, mobile)).status == 200
    assert (await start(service, "JWSA", id_number, mobile)).code == "OTP_LIMIT_REACHED"
    clock.advance(minutes=1)
    assert (await start(service, "JWSA", id_number, mobile)).code == "OTP_LIMIT_REACHED"
    clock.advance(hours=1)
    assert (await start(service, "JWSA", id_number, mobile)).status == 200
