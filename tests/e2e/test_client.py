"""The bank-side SDK refuses answers it cannot tie to its own request."""

from __future__ import annotations

import pytest
from aiohttp import web

from bank_adapter.client import UnverifiedReply
from bank_adapter.core.messages import ActivationRequest

PATH = "/v1/activations"


def activation(client):
    return ActivationRequest(
        **client.common("APP"), id_number="1000000008", mobile="0500000001", bank_customer_ref="c"
    )


@pytest.mark.parametrize("partner_id", ["JWSA", "XMLA", "HSJA"])
async def test_a_genuine_answer_to_another_message_is_refused(service, partner_id):
    client = service.client(partner_id)
    first = await client.send(
        PATH,
        activation(client),
    )
    assert first.code == "ACCOUNT_NOT_FOUND"

    async def replay_proxy(_request: web.Request) -> web.Response:
        # A cache in the way answers every request with the first (validly signed) answer.
        return web.Response(status=first.status, body=first.body, headers=dict(first.headers))

    app = web.Application()
    app.router.add_post(PATH, replay_proxy)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    client.base_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    try:
        with pytest.raises(UnverifiedReply, match="not"):
            await client.send(
                PATH,
                activation(client),
            )
    finally:
        await runner.cleanup()


async def test_an_http_sig_bank_can_verify_the_unknown_partner_answer(service):
    client = service.client("HSJA")
    client.config = type(client.config)(
        "ZZZZ", "json", "http-sig", client.config.key, client.config.algorithm
    )
    reply = await client.send(
        PATH,
        activation(client),
    )
    assert (reply.status, reply.code) == (401, "UNKNOWN_PARTNER")
