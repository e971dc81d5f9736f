"""Replay and idempotency (contract section 3): a repeated message gets its stored answer
byte for byte, whatever its age; a reused MessageId with another body is refused; and
both hold under concurrency, across a restart, and not for 5xx answers."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web

from bank_adapter.core.messages import ActivationRequest
from bank_adapter.store.repository import Store
from bank_adapter.web.app import build_app
from bank_adapter.web.runtime import build_runtime

PATH = "/v1/activations"
SIGNATURE_HEADERS = ("x-jws-signature", "signature", "signature-input", "content-digest")


async def signed_activation(service, partner_id, id_number, mobile, ref="r", **changes):
    client = service.client(partner_id)
    fields = client.common("APP") | changes
    message = ActivationRequest(**fields, id_number=id_number, mobile=mobile, bank_customer_ref=ref)
    body, headers = client.sign(PATH, client.encode(PATH, message))
    return client, body, headers


def signature_headers(reply):
    return {name: reply.headers.get(name) for name in SIGNATURE_HEADERS}


async def count(service, table):
    async with service.runtime.store.read() as tx:
        return await tx.count(table)


@pytest.mark.parametrize("partner_id", ["JWSA", "XMLA", "HSJA", "HSXA"])
async def test_same_message_gets_the_stored_answer_byte_for_byte_whatever_its_age(
    service, clock, partner_id
):
    id_number, mobile = await service.register()
    client, body, headers = await signed_activation(service, partner_id, id_number, mobile)
    first = await client.post(PATH, body, headers)
    assert first.message.status == "OTP_SENT"

    clock.advance(hours=2)  # far past the freshness window
    again = await client.post(PATH, body, headers)

    assert again.status == first.status
    assert again.body == first.body
    assert signature_headers(again) == signature_headers(first)
    assert await count(service, "activations") == 1
    assert await count(service, "sms_outbox") == 1


async def test_stored_error_answers_are_replayed_too(service):
    client, body, headers = await signed_activation(service, "JWSA", "1000000008", "0500000001")
    first = await client.post(PATH, body, headers)
    assert first.code == "ACCOUNT_NOT_FOUND"
    # The account appears afterwards; the stored answer still stands for that message.
    await service.register(prefix="100000000", mobile="+966500000001")

    again = await client.post(PATH, body, headers)

    assert again.body == first.body
    assert again.code == "ACCOUNT_NOT_FOUND"


@pytest.mark.parametrize("partner_id", ["JWSA", "XMLA", "HSXA"])
async def test_reused_message_id_with_another_body(service, partner_id):
    id_number, mobile = await service.register()
    client, body, headers = await signed_activation(service, partner_id, id_number, mobile)
    first = await client.post(PATH, body, headers)
    message_id = first.message.in_reply_to
    _, other_body, other_headers = await signed_activation(
        service, partner_id, id_number, mobile, ref="another", message_id=message_id
    )

    reused = await client.post(PATH, other_body, other_headers)

    assert (reused.status, reused.code) == (409, "MESSAGE_ID_REUSED")
    if partner_id == "JWSA":
        assert reused.error["inReplyTo"] == str(message_id)
    assert await count(service, "activations") == 1


async def test_message_ids_are_per_partner(service):
    id_number, mobile = await service.register()
    client_a, body_a, headers_a = await signed_activation(service, "JWSA", id_number, mobile)
    first = await client_a.post(PATH, body_a, headers_a)
    _, body_b, headers_b = await signed_activation(
        service, "JWSR", id_number, mobile, message_id=first.message.in_reply_to
    )

    other_partner = await service.client("JWSR").post(PATH, body_b, headers_b)

    assert other_partner.status == 200
    assert other_partner.body != first.body


async def test_concurrent_identical_messages_are_processed_once(service):
    id_number, mobile = await service.register()
    client, body, headers = await signed_activation(service, "JWSA", id_number, mobile)

    replies = await asyncio.gather(*(client.post(PATH, body, headers) for _ in range(20)))

    assert {reply.status for reply in replies} == {200}
    assert len({reply.body for reply in replies}) == 1
    assert len({reply.headers["x-jws-signature"] for reply in replies}) == 1
    assert await count(service, "activations") == 1
    assert await count(service, "sms_outbox") == 1


async def test_concurrent_different_bodies_under_one_message_id(service):
    accounts = [await service.register() for _ in range(8)]
    client, first_body, first_headers = await signed_activation(service, "JWSA", *accounts[0])
    shared_id = json.loads(first_body)["messageId"]
    requests = [(first_body, first_headers)]
    for id_number, mobile in accounts[1:]:
        _, body, headers = await signed_activation(
            service, "JWSA", id_number, mobile, message_id=shared_id
        )
        requests.append((body, headers))

    replies = await asyncio.gather(
        *(client.post(PATH, body, headers) for body, headers in requests)
    )

    assert sorted(reply.status for reply in replies) == [200] + [409] * 7
    assert {reply.code for reply in replies if reply.status == 409} == {"MESSAGE_ID_REUSED"}
    assert await count(service, "activations") == 1


async def test_stored_answers_survive_a_restart(service, settings, clock):
    id_number, mobile = await service.register()
    client, body, headers = await signed_activation(service, "XMLA", id_number, mobile)
    first = await client.post(PATH, body, headers)
    # A second service process on the same database file, the first one gone.
    runtime = build_runtime(settings, clock)
    runner = web.AppRunner(build_app(runtime), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        restarted = service.client("XMLA")
        restarted.base_url = f"http://127.0.0.1:{port}"
        again = await restarted.post(PATH, body, headers)
    finally:
        await runner.cleanup()

    assert again.body == first.body


async def test_a_503_is_never_stored_so_the_retry_is_processed(service, tmp_path: Path):
    id_number, mobile = await service.register()
    client, body, headers = await signed_activation(service, "JWSA", id_number, mobile)
    working = service.runtime.store
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not an SQLite database file" * 100)
    service.runtime.store = Store.open(f"sqlite:///{broken}")
    try:
        down = await client.post(PATH, body, headers)
    finally:
        await service.runtime.store.close()
        service.runtime.store = working

    retried = await client.post(PATH, body, headers)

    assert (down.status, down.code) == (503, "SERVICE_UNAVAILABLE")
    assert retried.status == 200
    assert retried.message.status == "OTP_SENT"
    assert await count(service, "activations") == 1


async def test_replayed_answer_carries_the_original_timestamp(service, clock):
    id_number, mobile = await service.register()
    client, body, headers = await signed_activation(service, "JWSA", id_number, mobile)
    first = await client.post(PATH, body, headers)
    clock.advance(days=3)

    again = await client.post(PATH, body, headers)

    assert again.message.timestamp == first.message.timestamp
    assert service.runtime.clock() - again.message.timestamp > timedelta(days=2)
