"""Bulk bill issuance through the real server, on both engines: `POST /internal/v1/bills`
with a list of up to 1,000 bills is all or nothing. A good list is issued in one unit of
work (in order, one audit entry); a list with any bad item is one 400 naming every bad
item by index, with nothing recorded; a single object is answered as it always was."""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest

from bank_adapter.console import audit
from bank_adapter.domain import bills as domain_bills
from bank_adapter.domain.ids import luhn_complete
from bank_adapter.services import platform
from tests.hostile.attack import counts

BILLS = "/internal/v1/bills"
TOKEN = "test-admin-token-0123456789"  # the `service` fixture's (tests/conftest.py)
SINGLE_FIELDS = {
    "idNumber", "billNumber", "serviceCode", "descriptionAr", "descriptionEn", "amount",
    "currency", "dueDate", "status",
}  # fmt: skip


def new_id() -> str:
    return luhn_complete("1" + "".join(secrets.choice("0123456789") for _ in range(8)))


def bill_body(id_number: str, index: int = 0, **changes: Any) -> dict[str, Any]:
    body = {
        "idNumber": id_number,
        "serviceCode": "TRAFFIC_VIOLATION",
        "amount": f"{100 + index}.25",
        "dueDate": "2031-01-01",
    }
    return {key: value for key, value in (body | changes).items() if value is not None}


def many(count: int, id_number: str | None = None) -> list[dict[str, Any]]:
    return [bill_body(id_number or new_id(), index) for index in range(count)]


def same_bill(stored: dict[str, Any], issued: dict[str, Any]) -> bool:
    """Field for field; `expiresAt` as an instant (stored in UTC, answered as given)."""
    return _rest(stored) == _rest(issued) and _expiry(stored) == _expiry(issued)


def _rest(bill: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in bill.items() if name != "expiresAt"}


def _expiry(bill: dict[str, Any]) -> datetime | None:
    return datetime.fromisoformat(bill["expiresAt"]) if "expiresAt" in bill else None


async def post_raw(service: Any, body: Any, **headers: str) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"} | headers
    async with service.http.post(service.url + BILLS, data=body, headers=headers) as response:
        return response.status, await response.json(content_type=None)


async def bill_count(service: Any) -> int:
    return (await counts(service))["bills"]


async def audit_entries(service: Any) -> list[audit.Entry]:
    async with service.runtime.store.snapshot() as conn:
        return await audit.entries(conn, None)


async def refused(service: Any, body: Any, code: str, *named: str) -> str:
    """400 `code` whose detail names each of `named`, and nothing recorded anywhere."""
    before = await counts(service)
    status, problem = await service.admin("POST", BILLS, body)
    assert (status, problem["code"]) == (400, code), problem
    for text in named:
        assert text in problem["detail"], problem
    assert await counts(service) == before
    return str(problem["detail"])


# --- a good list ---------------------------------------------------------------------------


async def test_a_list_is_issued_in_order_and_each_bill_reads_back(service):
    people = [(await service.register())[0] for _ in range(3)]
    items = [bill_body(people[index % 3], index) for index in range(12)]
    items[4] |= {"descriptionAr": "مخالفة وقوف", "descriptionEn": "Parking violation"}
    items[7] |= {"serviceCode": "IQAMA_RENEWAL", "expiresAt": "2031-02-01T00:00:00+03:00"}
    before = await bill_count(service)

    status, issued = await service.admin("POST", BILLS, items)

    assert status == 201, issued
    assert await bill_count(service) == before + len(items)
    assert [(b["idNumber"], b["amount"]) for b in issued] == [
        (item["idNumber"], item["amount"]) for item in items
    ]
    assert len({bill["billNumber"] for bill in issued}) == len(items)
    assert issued[4]["descriptionEn"] == "Parking violation"
    assert issued[7]["expiresAt"] == "2031-02-01T00:00:00+03:00"
    for bill in issued:  # the same JSON as the single form's and GET's
        assert set(bill) - {"expiresAt"} == SINGLE_FIELDS
        assert bill["status"] == "UNPAID"
        status, stored = await service.admin("GET", f"{BILLS}/{bill['billNumber']}")
        assert status == 200, stored
        assert same_bill(stored, bill)
    for partner_id in ("JWSA", "XMLA"):  # each person's inquiry lists their bills
        client = service.client(partner_id)
        for person in people:
            reply = await client.replies.inquire_bills(channel="APP", id_number=person)
            assert reply.status == 200, reply.body
            assert {bill.bill_number for bill in reply.message.bills} == {
                bill["billNumber"] for bill in issued if bill["idNumber"] == person
            }


async def test_a_list_of_a_thousand_bills_is_one_request_past_the_partner_body_limit(service):
    items = many(platform.MAX_BULK_BILLS)
    body = json.dumps(items).encode()
    assert len(body) > service.runtime.settings.max_body_bytes  # the route has its own limit
    before = await bill_count(service)

    status, issued = await post_raw(service, body)

    assert status == 201, issued
    assert len({bill["billNumber"] for bill in issued}) == platform.MAX_BULK_BILLS
    assert await bill_count(service) == before + platform.MAX_BULK_BILLS
    reply = await service.client("HSJA").replies.inquire_bills(
        channel="APP", bill_number=issued[-1]["billNumber"]
    )
    assert reply.status == 200, reply.body
    assert issued[-1]["amount"] == str(reply.message.bills[0].amount) == "1099.25"


async def test_a_list_is_one_audit_entry_with_the_count_and_total(service):
    items = many(3)  # 100.25 + 101.25 + 102.25

    status, issued = await service.admin("POST", BILLS, items)

    assert status == 201, issued
    newest = (await audit_entries(service))[0]
    assert (newest.action, newest.via, newest.subject) == (
        "bill.issue.bulk",
        "internal-api",
        "3 bills",
    )
    assert newest.detail == {"count": 3, "total": "303.75"}
    assert [entry.action for entry in await audit_entries(service)].count("bill.issue") == 0


async def test_a_list_of_one_is_a_list(service):
    id_number, _ = await service.register()

    status, issued = await service.admin("POST", BILLS, [bill_body(id_number)])

    assert status == 201, issued
    assert isinstance(issued, list)
    assert issued[0]["idNumber"] == id_number


async def test_a_bill_number_already_taken_is_drawn_again(service, monkeypatch):
    """Bill numbers are random: should one of a list collide with a stored bill, the
    whole list is drawn again, never half issued."""
    taken = await service.bill(new_id())
    numbers = iter([taken])
    real = domain_bills.new_bill_number
    monkeypatch.setattr(platform, "new_bill_number", lambda: next(numbers, None) or real())
    before = await bill_count(service)

    status, issued = await service.admin("POST", BILLS, many(5))

    assert status == 201, issued
    assert taken not in {bill["billNumber"] for bill in issued}
    assert await bill_count(service) == before + 5


# --- a bad list ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": "150.5"}, "amount"),
        ({"amount": "0.00"}, "amount"),
        ({"amount": 150}, "amount"),
        ({"dueDate": None}, "dueDate"),
        ({"dueDate": "2031-02-30"}, "dueDate"),
        ({"serviceCode": "PARKING"}, "serviceCode"),
        ({"descriptionEn": "Speeding\x00"}, "descriptionEn"),
        ({"descriptionAr": "x" * 201}, "descriptionAr"),
        ({"note": "extra"}, "note"),
    ],
)
async def test_one_bad_item_refuses_the_whole_list(service, changes, field):
    items = many(40)
    items[17] = bill_body(new_id(), 17, **changes)

    detail = await refused(service, items, "SCHEMA_INVALID", f"[17].{field}: ")

    assert detail.startswith("1 of 40 bills are invalid, none was issued: items 17;")


async def test_every_bad_item_is_named_with_its_index(service):
    items = many(30)
    for index in (3, 17, 18, 19, 25):
        items[index]["amount"] = "1.5"
    items[25]["dueDate"] = "tomorrow"

    detail = await refused(
        service, items, "SCHEMA_INVALID", "items 3, 17-19, 25;", "[3].amount", "[19].amount"
    )

    assert "[25].amount" in detail
    assert "[25].dueDate" in detail
    assert "[0]" not in detail
    assert "[20]" not in detail


async def test_an_item_that_is_not_an_object_is_named(service):
    items: list[Any] = many(3)
    items[1] = "a bill"

    await refused(service, items, "SCHEMA_INVALID", "items 1;", "[1]: ")


async def test_bad_id_numbers_alone_are_invalid_id_number(service):
    items = many(5)
    items[2]["idNumber"] = items[2]["idNumber"][:-1] + str((int(items[2]["idNumber"][-1]) + 1) % 10)
    items[4]["idNumber"] = "5000000000"

    await refused(
        service,
        items,
        "INVALID_ID_NUMBER",
        "items 2, 4;",
        "[2].idNumber: IdNumber check digit is wrong",
        "[4].idNumber: IdNumber must start with 1, 2, 3 or 4",
    )


async def test_bad_id_numbers_among_schema_problems_are_named_too(service):
    items = many(5)
    items[1]["amount"] = "-1.00"
    items[3]["idNumber"] = "123"

    await refused(
        service, items, "SCHEMA_INVALID", "items 1, 3;", "[1].amount", "[3].idNumber: IdNumber"
    )


async def test_a_list_with_every_item_bad_names_them_all_within_bounds(service):
    items = many(platform.MAX_BULK_BILLS)
    for item in items[::2]:
        item["amount"] = "1"

    detail = await refused(service, items, "SCHEMA_INVALID", "500 of 1000 bills are invalid")

    assert ", ".join(str(index) for index in range(0, 1000, 2)) in detail
    assert "and 480 more" in detail


@pytest.mark.parametrize("count", [0, platform.MAX_BULK_BILLS + 1])
async def test_an_empty_list_or_one_past_the_maximum_is_refused(service, count):
    await refused(service, many(count, new_id()), "SCHEMA_INVALID", "body: must have at")


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_list_past_its_body_limit_is_413(service, chunked):
    limit = service.runtime.settings.internal_max_body_bytes
    body = json.dumps(many(2)).encode()
    body = body[:-1] + b" " * limit + b"]"
    before = await counts(service)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit still holds
        for start in range(0, len(body), 256 * 1024):
            yield body[start : start + 256 * 1024]

    status, problem = await post_raw(service, chunks() if chunked else io.BytesIO(body))

    assert (status, problem["code"]) == (413, "PAYLOAD_TOO_LARGE"), problem
    assert str(limit) in problem["detail"]
    assert await counts(service) == before


# --- the single form -----------------------------------------------------------------------


async def test_a_single_object_is_answered_as_before(service):
    id_number, _ = await service.register()

    status, issued = await service.admin("POST", BILLS, bill_body(id_number))

    assert status == 201, issued
    assert isinstance(issued, dict)
    assert set(issued) == SINGLE_FIELDS
    assert (issued["idNumber"], issued["amount"], issued["currency"]) == (
        id_number,
        "100.25",
        "SAR",
    )
    status, stored = await service.admin("GET", f"{BILLS}/{issued['billNumber']}")
    assert (status, stored) == (200, issued)
    newest = (await audit_entries(service))[0]
    assert (newest.action, newest.subject) == ("bill.issue", issued["billNumber"])


async def test_a_bad_single_object_names_the_field_without_an_index(service):
    detail = await refused(service, bill_body(new_id(), amount="1.5"), "SCHEMA_INVALID", "amount")

    assert detail.startswith("amount: ")
