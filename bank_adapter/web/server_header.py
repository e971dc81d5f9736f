"""The `Server` header names the product, not the framework and its version.

aiohttp answers `Server: Python/3.x aiohttp/3.x` unless a response already has one: a
free hint to whoever scans for a vulnerable version, and nothing a bank needs. The
signal runs before aiohttp fills in its default, so setting it here is enough.
"""

from __future__ import annotations

from aiohttp import web

SERVER = "bank-adapter"


async def _name_the_product(_request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Server"] = SERVER


def install(app: web.Application) -> None:
    app.on_response_prepare.append(_name_the_product)
