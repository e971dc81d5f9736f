"""Operator and discovery endpoints: health, readiness, metrics, keys, OpenAPI."""

from __future__ import annotations

import asyncio
import functools
import json

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bank_adapter.contract import openapi_document
from bank_adapter.core.keys import jwk
from bank_adapter.web.runtime import RUNTIME

READY_TIMEOUT_S = 2.0


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    checks = {"partners": bool(rt.partners), "signing_key": True, "database": False}
    try:
        await asyncio.wait_for(rt.store.ping(), READY_TIMEOUT_S)
        checks["database"] = True
    except Exception:
        checks["database"] = False
    ready = all(checks.values())
    rt.metrics.ready.set(1 if ready else 0)
    suspended = rt.partner_states.suspended_ids(rt.partners)
    body = {"ready": ready, "checks": checks, "suspendedPartners": suspended}
    return web.json_response(body, status=200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    body = request.app[RUNTIME].metrics.exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def keys(request: web.Request) -> web.Response:
    rt = request.app[RUNTIME]
    return web.json_response({"keys": [jwk(key) for key in rt.published_keys]})


@functools.cache
def _openapi_body() -> bytes:
    # Generated from the models once per process: ~15 ms, and it never changes.
    return json.dumps(openapi_document(), ensure_ascii=False).encode("utf-8")


async def openapi(_request: web.Request) -> web.Response:
    return web.Response(body=_openapi_body(), content_type="application/json")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/v1/keys", keys)
    app.router.add_get("/v1/openapi.json", openapi)
