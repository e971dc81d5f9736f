"""The service's listening sockets, bound before anything serves on them.

`serve` binds here, in one process, then hands the sockets to aiohttp (`SockSite`): in
that same process, or in each of its workers (`bank_adapter.serve`), which inherit them.
Binding once, in the parent, rather than in every worker with SO_REUSEPORT, is why a
port in use is one line and exit 4 before any worker starts, and why a second `serve`
started on the same port by mistake fails instead of quietly taking half the traffic.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from bank_adapter.exits import cannot_listen
from bank_adapter.settings import Settings

BACKLOG = 128  # aiohttp's default


@dataclass(frozen=True, slots=True)
class Listeners:
    public: tuple[socket.socket, ...]
    admin: tuple[socket.socket, ...] = ()

    def close(self) -> None:
        for sock in (*self.public, *self.admin):
            sock.close()


def bind_listeners(settings: Settings) -> Listeners:
    public = bind(settings.host, settings.port)
    if settings.admin_address is None:
        return Listeners(public)
    try:
        return Listeners(public, bind(*settings.admin_address, listener="ADMIN_"))
    except BaseException:
        Listeners(public).close()
        raise


def bind(host: str, port: int, *, listener: str = "") -> tuple[socket.socket, ...]:
    """A listening socket per address `host` resolves to, as asyncio's create_server
    binds them; `listener` names the settings in the error (see `cannot_listen`)."""
    bound: list[socket.socket] = []
    try:
        flags = socket.AI_PASSIVE
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=flags)
        for family, kind, proto, _, address in dict.fromkeys(found):
            sock = socket.socket(family, kind, proto)
            bound.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                # Else an IPv6 wildcard would also take the IPv4 port, and its own bind fail.
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(BACKLOG)
    except OSError as exc:
        for sock in bound:
            sock.close()
        raise cannot_listen(exc, host, port, listener) from exc
    return tuple(bound)
