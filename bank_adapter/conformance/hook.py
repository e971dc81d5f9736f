"""The one thing the partner pipeline hands the conformance kit: the request as received.

The pipeline stores the `WireRequest` it built on the aiohttp request under
`REQUEST_WIRE`; the kit's middleware (`observe`) reads it after the answer is decided.
Outside `bank-adapter conformance serve` nobody reads it.
"""

from __future__ import annotations

from aiohttp import web

from bank_adapter.core.wire import WireRequest

REQUEST_WIRE = web.RequestKey("conformance_request_wire", WireRequest)
