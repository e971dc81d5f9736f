"""The internal API's partner endpoints (bearer token, JSON): the same runtime suspension
the console offers, for the platform's own tooling. Audited like the console's.

    GET  /internal/v1/partners                 every partner and its state
    POST /internal/v1/partners/{id}/suspend    {"reason": "...", "operator": "..."}
    POST /internal/v1/partners/{id}/resume     (operator optional: who, in the audit log)
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from bank_adapter.console import audit
from bank_adapter.console.partner_state import MAX_REASON, PartnerStates, change
from bank_adapter.errors import AdapterError, Code
from bank_adapter.partners import Partner
from bank_adapter.services.platform import parse_input
from bank_adapter.web.internal import check_token, read_json
from bank_adapter.web.runtime import RUNTIME


class Decision(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )

    reason: str = Field(min_length=1, max_length=MAX_REASON, pattern=r"\S")
    operator: str | None = Field(default=None, min_length=1, max_length=64)


def partner_json(partner: Partner, states: PartnerStates) -> dict[str, Any]:
    decision = states.decision(partner.id)
    return {
        "partnerId": partner.id,
        "suspended": states.suspended(partner),
        "fileDefault": {"suspended": partner.suspended},
        "decision": None
        if decision is None
        else {
            "suspended": decision.suspended,
            "reason": decision.reason,
            "changedBy": decision.changed_by,
            "changedAt": decision.changed_at.isoformat().replace("+00:00", "Z"),
        },
    }


async def list_partners(request: web.Request) -> web.Response:
    check_token(request)
    rt = request.app[RUNTIME]
    states = rt.partner_states
    return web.json_response(
        {"partners": [partner_json(p, states) for _, p in sorted(rt.partners.items())]}
    )


async def suspend(request: web.Request) -> web.Response:
    return await _decide(request, suspend=True)


async def resume(request: web.Request) -> web.Response:
    return await _decide(request, suspend=False)


async def _decide(request: web.Request, *, suspend: bool) -> web.Response:
    check_token(request)
    rt = request.app[RUNTIME]
    partner = rt.partners.get(request.match_info["partner"])
    if partner is None:
        raise AdapterError(Code.NOT_FOUND, "no partner with this id")
    decision = parse_input(Decision, await read_json(request))
    await change(
        rt.store,
        rt.partner_states,
        partner,
        suspend=suspend,
        reason=decision.reason.strip(),
        actor=decision.operator or audit.INTERNAL_API,
        via=audit.INTERNAL_API,
        now=rt.clock(),
    )
    return web.json_response(partner_json(partner, rt.partner_states))


def add_routes(app: web.Application) -> None:
    app.router.add_get("/internal/v1/partners", list_partners)
    app.router.add_post("/internal/v1/partners/{partner}/suspend", suspend)
    app.router.add_post("/internal/v1/partners/{partner}/resume", resume)
