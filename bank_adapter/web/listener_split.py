"""Which paths each listener serves when the admin listener is on (BANK_ADAPTER_ADMIN_PORT).

The internal API, the console and /metrics belong to the platform and its operators;
the partner API belongs to the banks. With an admin port set, each listener answers only
its own paths, both answer /healthz and /readyz (for load balancers and orchestrators),
and the other listener's paths get what any unknown path gets: the signed 404. Without
an admin port this middleware is not installed and everything is served on one port.

A request's listener is told by the local port it arrived on, which the two listeners
never share (settings refuse an admin port equal to the public one).
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Middleware

from bank_adapter.web.middleware import Handler

BOTH = frozenset({"/healthz", "/readyz"})
ADMIN_PATHS = frozenset({"/metrics", "/console"})
ADMIN_PREFIXES = ("/internal/", "/console/")


def is_admin_path(path: str) -> bool:
    return path in ADMIN_PATHS or path.startswith(ADMIN_PREFIXES)


def listener_split(admin_port: int) -> Middleware:
    @web.middleware
    async def split(request: web.Request, handler: Handler) -> web.StreamResponse:
        on_admin = _arrived_on(request) == admin_port
        if request.path not in BOTH and is_admin_path(request.path) != on_admin:
            raise web.HTTPNotFound
        return await handler(request)

    return split


def _arrived_on(request: web.Request) -> int | None:
    """The local port of the request's connection (None once the connection is gone)."""
    transport = request.transport
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    return sockname[1] if isinstance(sockname, tuple) else None
