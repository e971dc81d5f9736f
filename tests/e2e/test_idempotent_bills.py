"""`Idempotency-Key` on `POST /internal/v1/bills`, through the real server on both
engines: a retry with the key and the same body gets the first answer byte for byte and
records nothing; the key with another body is 409; a malformed key is 400; without a key
every request issues (as before); twins at once issue once; the key outlives a restart."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any

import pytest
from aiohttp import web
from multidict import CIMultiDict

from bank_adapter.web.app import build_app
from bank_adapter.web.runtime import build_runtime
from tests.e2e.test_bulk_bills import BILLS, TOKEN, audit_entries, bill_body, many, new_id
from tests.hostile.attack import counts

KEY = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"


async def post(
    service: Any, items: Any, *keys: str, url: str | None = None
) -> tuple[int, bytes, CIMultiDict[str]]:
    """Status, body and headers of a POST of `items` with each of `keys` as a header."""
    headers = CIMultiDict([("Authorization", f"Bearer {TOKEN}")])
    headers.add("Content-Type", "application/json")
    for key in keys:
        headers.add(KEY, key)
    body = json.dumps(items).encode()
    async with service.http.post((url or service.url) + BILLS, data=body, headers=headers) as r:
        return r.status, await r.read(), CIMultiDict(r.headers)


async def recorded(service: Any, before: dict[str, int]) -> dict[str, int]:
    """Rows added to each table since `before`, where any were."""
    after = await counts(service)
    return {name: after[name] - before[name] for name in after if after[name] != before[name]}


def issued_once(bills: int) -> dict[str, int]:
    return {"bills": bills, "audit_log": 1, "idempotency_keys": 1}


async def test_a_retried_list_gets_the_first_answer_and_issues_nothing(service):
    items = many(3)
    before = await counts(service)

    first = await post(service, items, "bulk-2031-01.retry:1")
    between = await counts(service)
    again = await post(service, items, "bulk-2031-01.retry:1")

    assert first[0] == 201, first[1]
    assert await recorded(service, before) == issued_once(3)
    assert again[:2] == first[:2]  # the same status and bytes: the same bill numbers
    assert again[2][REPLAYED] == "true"
    assert REPLAYED not in first[2]
    assert again[2]["Content-Type"] == first[2]["Content-Type"]
    assert await counts(service) == between
    assert [entry.action for entry in await audit_entries(service)].count("bill.issue.bulk") == 1


async def test_a_retried_single_bill_gets_the_first_answer(service):
    item = bill_body(new_id())
    before = await counts(service)

    first = await post(service, item, "single-1")
    again = await post(service, item, "single-1")

    assert first[0] == 201, first[1]
    assert again[:2] == first[:2]
    assert again[2][REPLAYED] == "true"
    assert await recorded(service, before) == issued_once(1)
    bill = json.loads(first[1])
    newest = (await audit_entries(service))[0]
    assert (newest.action, newest.subject) == ("bill.issue", bill["billNumber"])


async def test_the_key_with_another_body_is_409_and_nothing_is_recorded(service):
    items = many(2)
    status, _, _ = await post(service, items, "reused")
    assert status == 201
    before = await counts(service)

    status, body, _ = await post(service, [*items, bill_body(new_id())], "reused")

    problem = json.loads(body)
    assert (status, problem["code"]) == (409, "DUPLICATE_CONFLICT"), problem
    assert "Idempotency-Key was used for another request body" in problem["detail"]
    assert await counts(service) == before


@pytest.mark.parametrize(
    "keys",
    [("",), ("a" * 65,), ("two words",), ("a/b",), ("key;1",), ("k\u00e9",), ("one", "two")],
)
async def test_a_malformed_key_is_400_naming_the_header(service, keys):
    before = await counts(service)

    status, body, _ = await post(service, many(2), *keys)

    problem = json.loads(body)
    assert (status, problem["code"]) == (400, "SCHEMA_INVALID"), problem
    assert problem["detail"].startswith("Idempotency-Key: ")
    assert await counts(service) == before


async def test_a_key_of_64_characters_of_every_kind_allowed_is_taken(service):
    key = ("AZaz09._:-" * 7)[:64]
    before = await counts(service)

    status, body, _ = await post(service, many(1), key)

    assert status == 201, body
    assert await recorded(service, before) == issued_once(1)


async def test_a_refused_body_does_not_use_up_its_key(service):
    bad = many(2)
    bad[1]["amount"] = "1.5"
    status, _, _ = await post(service, bad, "fixed-later")
    assert status == 400
    before = await counts(service)

    status, body, headers = await post(service, many(2), "fixed-later")

    assert status == 201, body
    assert REPLAYED not in headers
    assert await recorded(service, before) == issued_once(2)


@pytest.mark.parametrize("keys", [(), ("first",)])
async def test_without_the_same_key_every_request_issues(service, keys):
    items = many(2)
    before = await counts(service)

    first = await post(service, items, *keys)
    second = await post(service, items)

    assert (first[0], second[0]) == (201, 201)
    assert {b["billNumber"] for b in json.loads(first[1])}.isdisjoint(
        b["billNumber"] for b in json.loads(second[1])
    )
    assert await recorded(service, before) == {
        "bills": 4,
        "audit_log": 2,
        **({"idempotency_keys": 1} if keys else {}),
    }


async def test_twins_at_once_issue_once_and_all_get_the_same_answer(service):
    items = many(5)
    before = await counts(service)

    answers = await asyncio.gather(*(post(service, items, "twins") for _ in range(12)))

    assert {(status, body) for status, body, _ in answers} == {answers[0][:2]}
    assert answers[0][0] == 201, answers[0][1]
    assert Counter(REPLAYED in headers for _, _, headers in answers) == {True: 11, False: 1}
    assert await recorded(service, before) == issued_once(5)


async def test_the_key_outlives_a_restart(service, settings, clock):
    items = many(2)
    first = await post(service, items, "before-restart")
    # A second service process on the same database, with nothing in memory of the first.
    runner = web.AppRunner(build_app(build_runtime(settings, clock)), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    before = await counts(service)
    try:
        again = await post(service, items, "before-restart", url=f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()

    assert first[0] == 201, first[1]
    assert again[:2] == first[:2]
    assert again[2][REPLAYED] == "true"
    assert await counts(service) == before
