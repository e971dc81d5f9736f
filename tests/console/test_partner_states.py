"""Suspending and resuming a partner at runtime: through the console and the internal API,
seen by the request pipeline at once here and within a bounded time on every other
instance, without a database read per request; audited, in /readyz and in /metrics."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import aiohttp
import pytest

from bank_adapter.client import PartnerClient, PartnerConfig
from bank_adapter.console.partner_state import PartnerState, PartnerStates
from bank_adapter.partners import Partner
from bank_adapter.store.repository import Store
from tests.console.conftest import running_instance

SEEN_WITHIN_S = 30.0  # generous: the refresh runs every second; a busy machine is slow


async def inquiry_status(service, partner_id: str = "JWSA", url: str | None = None) -> tuple:
    client = service.client(partner_id)
    if url is not None:
        partner = service.partners[partner_id]
        config = PartnerConfig(
            partner_id, partner.format, partner.signature, partner.key, partner.algorithm
        )
        client = PartnerClient(
            url, config, adapter_keys=service.adapter_keys, session=service.http,
            clock=service.runtime.clock,
        )  # fmt: skip
    reply = await client.replies.inquire_bills(channel="APP", bill_number="1000000000010")
    return reply.status, reply.code


async def audit_rows(console) -> str:
    return (await console.get("/console/audit")).text


async def test_suspend_in_the_console_refuses_the_next_request_and_resume_admits_it(
    console, service
):
    assert (await inquiry_status(service))[0] == 404  # admitted: no such bill

    page = await console.submit(
        "/console/partners/JWSA/suspend", {"reason": "key compromise suspected"},
        page="/console/partners",
    )  # fmt: skip
    assert page.status == 200
    assert "the partner&#x27;s state is changed" in page.text
    assert await inquiry_status(service) == (403, "PARTNER_SUSPENDED")

    await console.submit(
        "/console/partners/JWSA/resume", {"reason": "new key in place"}, page="/console/partners"
    )
    assert (await inquiry_status(service))[0] == 404

    log = await audit_rows(console)
    assert log.index("partner.resume") < log.index("partner.suspend")  # newest first
    assert "key compromise suspected" in log
    assert "new key in place" in log
    assert "Noura Operator" in log


async def test_a_suspension_needs_a_reason(console, service):
    page = await console.submit(
        "/console/partners/JWSA/suspend", {"reason": "   "}, page="/console/partners"
    )
    assert page.status == 400
    assert (await inquiry_status(service))[0] == 404


async def test_readyz_and_metrics_show_the_suspension(console, service):
    await console.submit(
        "/console/partners/JWSA/suspend", {"reason": "maintenance"}, page="/console/partners"
    )
    async with service.http.get(service.url + "/readyz") as response:
        ready = await response.json()
    assert "JWSA" in ready["suspendedPartners"]
    assert "SUSP" in ready["suspendedPartners"]
    async with service.http.get(service.url + "/metrics") as response:
        metrics = await response.text()
    assert 'bank_adapter_partner_suspended{partner="JWSA"} 1.0' in metrics
    assert 'bank_adapter_partner_suspended{partner="XMLA"} 0.0' in metrics


async def test_resuming_a_partner_its_file_suspends_overrides_the_file(console, service):
    assert (await inquiry_status(service, "SUSP"))[1] == "PARTNER_SUSPENDED"
    await console.submit(
        "/console/partners/SUSP/resume", {"reason": "contract signed"}, page="/console/partners"
    )
    assert (await inquiry_status(service, "SUSP"))[0] == 404
    page = await console.get("/console/partners")
    section = page.text.split('id="SUSP"')[1].split("</section>")[0]
    assert "Resumed by" in section
    assert "contract signed" in section
    assert "Partner file says" in section


async def test_the_internal_api_suspends_and_resumes_and_is_audited(service, console):
    status, body = await service.admin(
        "POST",
        "/internal/v1/partners/XMLA/suspend",
        {"reason": "bank asked", "operator": "ops-bot"},
    )
    assert status == 200
    assert body["suspended"] is True
    assert body["decision"]["changedBy"] == "ops-bot"
    assert await inquiry_status(service, "XMLA") == (403, "PARTNER_SUSPENDED")

    status, body = await service.admin(
        "POST", "/internal/v1/partners/XMLA/resume", {"reason": "bank ready"}
    )
    assert (status, body["suspended"]) == (200, False)
    assert body["decision"]["changedBy"] == "internal-api"
    assert (await inquiry_status(service, "XMLA"))[0] == 404

    status, listing = await service.admin("GET", "/internal/v1/partners")
    states = {entry["partnerId"]: entry["suspended"] for entry in listing["partners"]}
    assert states["XMLA"] is False
    assert states["SUSP"] is True
    log = await audit_rows(console)
    assert "ops-bot" in log
    assert "bank asked" in log
    assert "bank ready" in log


@pytest.mark.parametrize(
    ("path", "body", "token", "expected"),
    [
        ("/internal/v1/partners/XMLA/suspend", {"reason": "x"}, "wrong", (401, "UNAUTHORIZED")),
        ("/internal/v1/partners/XMLA/suspend", {}, None, (400, "SCHEMA_INVALID")),
        ("/internal/v1/partners/XMLA/suspend", {"reason": " "}, None, (400, "SCHEMA_INVALID")),
        ("/internal/v1/partners/NONE/suspend", {"reason": "x"}, None, (404, "NOT_FOUND")),
        ("/internal/v1/partners/XMLA/suspend", {"reason": "x", "why": 1}, None,
         (400, "SCHEMA_INVALID")),
    ],
)  # fmt: skip
async def test_the_internal_api_refuses_what_it_cannot_use(service, path, body, token, expected):
    kwargs = {"token": token} if token else {}
    status, problem = await service.admin("POST", path, body, **kwargs)
    assert (status, problem["code"]) == expected
    assert not service.runtime.partner_states.suspended(service.runtime.partners["XMLA"])


async def test_another_instance_sees_a_change_within_a_bounded_time(service, second_instance):
    other_url, other = second_instance
    assert (await inquiry_status(service, url=other_url))[0] == 404

    await service.admin("POST", "/internal/v1/partners/JWSA/suspend", {"reason": "drill"})

    started = time.monotonic()
    while not other.partner_states.suspended(other.partners["JWSA"]):
        assert time.monotonic() - started < SEEN_WITHIN_S, "the other instance never saw it"
        await asyncio.sleep(0.05)
    assert await inquiry_status(service, url=other_url) == (403, "PARTNER_SUSPENDED")


async def test_an_instance_starting_later_knows_the_state_before_its_first_request(
    service, settings, clock
):
    await service.admin("POST", "/internal/v1/partners/JWSA/suspend", {"reason": "before"})
    async with running_instance(settings, clock) as (other_url, _):
        assert await inquiry_status(service, url=other_url) == (403, "PARTNER_SUSPENDED")


async def test_admission_reads_no_database(service, tmp_path):
    """With the database gone, a suspended partner is still told so (403, from memory),
    while an admitted one gets 503: the decision needed no query."""
    await service.admin("POST", "/internal/v1/partners/JWSA/suspend", {"reason": "x"})
    gone = tmp_path / "gone"
    gone.mkdir()
    broken = Store.open(f"sqlite:///{gone / 'adapter.db'}")
    gone.rmdir()
    working = service.runtime.store
    service.runtime.store = broken
    try:
        assert await inquiry_status(service, "JWSA") == (403, "PARTNER_SUSPENDED")
        assert await inquiry_status(service, "XMLA") == (503, "SERVICE_UNAVAILABLE")
    finally:
        service.runtime.store = working
        await broken.close()


def _partner(partner_id: str, suspended: bool) -> Partner:
    from datetime import time as clock_time

    return Partner(
        partner_id, partner_id, "json", "jws", frozenset({"APP"}), frozenset({"ES256"}),
        frozenset(), clock_time(23), suspended, {},
    )  # fmt: skip


def _state(suspended: bool, version: int) -> PartnerState:
    return PartnerState(suspended, "why", "who", datetime(2026, 1, 1, tzinfo=UTC), version)


def test_the_file_decides_until_a_decision_is_recorded():
    states = PartnerStates()
    assert states.suspended(_partner("AAAA", True))
    assert not states.suspended(_partner("BBBB", False))
    states.merge({"AAAA": _state(False, 1)})
    assert not states.suspended(_partner("AAAA", True))


def test_an_older_state_read_late_never_replaces_a_newer_one():
    states = PartnerStates()
    states.merge({"AAAA": _state(True, 2)})
    states.merge({"AAAA": _state(False, 1)})  # a refresh that read before the change
    assert states.suspended(_partner("AAAA", False))
    states.merge({"AAAA": _state(False, 3)})
    assert not states.suspended(_partner("AAAA", False))


async def test_console_pages_need_the_admin_session_not_the_bearer_token(service):
    headers = {"Authorization": "Bearer test-admin-token-0123456789"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            service.url + "/console/partners/JWSA/suspend",
            data={"reason": "bearer"},
            headers=headers,
            allow_redirects=False,
        ) as response,
    ):
        assert response.status == 303  # to the login form
    assert not service.runtime.partner_states.suspended(service.runtime.partners["JWSA"])
