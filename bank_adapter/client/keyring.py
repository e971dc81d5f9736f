"""The adapter's published keys (`GET /v1/keys`), and when the SDK may fetch them again.

An answer signed with a kid the client does not know is most often a key rotation the
client has not seen yet: it refetches the JWKS once and verifies again. A forged answer
can name any kid, so the refetch is rate-limited (`REFRESH_INTERVAL_S`): a stream of
unknown kids costs the adapter one key fetch a minute per client, not one per answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from bank_adapter.core.keys import PublicKey, load_public_pem

REFRESH_INTERVAL_S = 60.0


def parse_jwks(document: Mapping[str, Any]) -> dict[str, PublicKey]:
    """The keys of a `/v1/keys` document, by kid (from each entry's `pem`)."""
    return {
        entry["kid"]: PublicKey(entry["kid"], load_public_pem(entry["pem"].encode("ascii")))
        for entry in document["keys"]
    }


async def fetch_adapter_keys(
    base_url: str,
    session: aiohttp.ClientSession | None = None,
    client_timeout: aiohttp.ClientTimeout | None = None,
) -> dict[str, PublicKey]:
    """The adapter's published keys (`GET /v1/keys`), by kid."""
    own = session is None
    http = session or aiohttp.ClientSession()
    try:
        url = base_url.rstrip("/") + "/v1/keys"
        async with http.get(url, timeout=client_timeout or http.timeout) as response:
            response.raise_for_status()
            document = await response.json()
    finally:
        if own:
            await http.close()
    return parse_jwks(document)


class KeyRing:
    """The keys a client verifies answers with; `due()` says whether a refetch is allowed."""

    def __init__(
        self,
        keys: Mapping[str, PublicKey] | None,
        *,
        refresh_interval_s: float = REFRESH_INTERVAL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.keys: dict[str, PublicKey] = dict(keys or {})
        self.loaded = keys is not None
        self._interval = refresh_interval_s
        self._monotonic = monotonic
        self._fetched_at: float | None = None

    def due(self) -> bool:
        return self._fetched_at is None or self._monotonic() - self._fetched_at >= self._interval

    def replace(self, keys: Mapping[str, PublicKey]) -> None:
        self.keys = dict(keys)
        self.loaded = True
        self._fetched_at = self._monotonic()
