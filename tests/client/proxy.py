"""A real HTTP hop between the SDK and a running service, which can answer in its place:
a signed 503, no answer at all, or the service's answer re-signed with a key nobody
published. It records what the SDK sent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import aiohttp
from aiohttp import web

from bank_adapter.core.keys import SigningKey, generate
from bank_adapter.errors import AdapterError, Code
from bank_adapter.web import replies
from bank_adapter.web.partner_api import to_aiohttp

Action = Callable[[web.Request, bytes], Awaitable[web.Response]]
_HOP = {"content-length", "transfer-encoding", "connection", "host", "date", "server"}


@dataclass
class Proxy:
    upstream: str
    runtime: Any
    http: aiohttp.ClientSession
    url: str = ""
    sent: list[dict[str, Any]] = field(default_factory=list)  # the JSON requests, in order
    key_fetches: int = 0
    script: list[Action | None] = field(default_factory=list)  # per POST; None: forward
    released: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        if request.path == "/v1/keys":
            self.key_fetches += 1
        if request.method == "POST":
            self.sent.append(json.loads(body))
            action = self.script.pop(0) if self.script else None
            if action is not None:
                return await action(request, body)
        return await self.forward(request, body)

    async def forward(self, request: web.Request, body: bytes) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        async with self.http.request(
            request.method, self.upstream + request.path_qs, data=body, headers=headers
        ) as answer:
            raw = await answer.read()
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP}
            return web.Response(status=answer.status, body=raw, headers=kept)

    # --- actions -------------------------------------------------------------------------

    async def unavailable(self, request: web.Request, body: bytes) -> web.Response:
        """The service's own signed 503, as when its storage is down."""
        partner = self.runtime.partners[request.headers["X-Partner-Id"]]
        err = AdapterError(Code.SERVICE_UNAVAILABLE, "storage unavailable; nothing was recorded")
        message_id = UUID(json.loads(body)["messageId"])
        return to_aiohttp(
            replies.failure(self.runtime, partner, err, message_id, self.runtime.clock())
        )

    async def silent(self, request: web.Request, body: bytes) -> web.Response:
        """Never answers (until the test ends): the SDK's timeout decides."""
        await self.released.wait()
        return web.Response(status=204)

    async def rogue_signed(self, request: web.Request, body: bytes) -> web.Response:
        """The service's answer, re-signed by a key the adapter never published."""
        answer = await self.forward(request, body)
        assert isinstance(answer.body, bytes)
        rogue = SigningKey("rogue-1", generate("EC-P256"))
        profile = self.runtime.profiles["jws"]
        signed = profile.sign_response(
            answer.status, answer.content_type, answer.body, rogue, self.runtime.clock()
        )
        headers = {"Content-Type": answer.headers["Content-Type"], **dict(signed.headers)}
        return web.Response(status=answer.status, body=signed.body, headers=headers)


@asynccontextmanager
async def proxy_for(service: Any) -> AsyncIterator[Proxy]:
    proxy = Proxy(service.url, service.runtime, service.http)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    proxy.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    try:
        yield proxy
    finally:
        proxy.released.set()
        await runner.cleanup()
