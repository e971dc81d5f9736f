"""The ceiling: a minimal aiohttp app answering a small JSON POST.

    python bench/bare.py PORT

Served the way `bank-adapter serve` serves (an AppRunner without access log, one
TCPSite), reading and parsing the JSON body and answering a small JSON object: what
any aiohttp service pays per request before doing anything of its own. `bench/run.py`
divides every other row's rate by this one's, measured in the same run.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys

from aiohttp import web

PATH = "/v1/echo"


async def echo(request: web.Request) -> web.Response:
    message = json.loads(await request.read())
    return web.json_response({"messageId": message["messageId"], "status": "OK"})


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def serve(port: int) -> None:
    app = web.Application()
    app.router.add_post(PATH, echo)
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
