"""The internal API's input rules (contract section 6), on both engines: anything outside
them is a 400 problem+json naming the field with nothing recorded, and a bill the
platform issued always reads back through `/v1/bills/inquiry`, in JSON and in XML."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.hostile.attack import counts

ACCOUNTS = "/internal/v1/accounts"
BILLS = "/internal/v1/bills"
CONTROLS = ["\x00", "\x01", "\x1f", "\x7f", "\x85", "\x9f"]


def bill_body(id_number: str, **changes: Any) -> dict[str, Any]:
    body = {
        "idNumber": id_number,
        "serviceCode": "TRAFFIC_VIOLATION",
        "amount": "150.00",
        "dueDate": "2031-01-01",
    }
    return {key: value for key, value in (body | changes).items() if value is not None}


def account_body(**changes: Any) -> dict[str, Any]:
    body = {
        "idNumber": "1000000016",
        "mobile": "+966500000001",
        "biometricEnrolled": True,
        "idExpiry": "2031-01-01",
    }
    return body | changes


async def refused(service: Any, path: str, body: Any, code: str, field: str) -> None:
    """400 `code` naming `field`, and nothing recorded anywhere."""
    before = await counts(service)
    status, problem = await service.admin("POST", path, body)
    assert (status, problem["code"]) == (400, code), problem
    assert field in problem["detail"]
    assert await counts(service) == before


async def reads_back(service: Any, id_number: str, bill_number: str) -> None:
    """The person's inquiry lists the bill, in JSON (jws) and XML (xmldsig)."""
    for partner_id in ("JWSA", "XMLA"):
        client = service.client(partner_id)
        reply = await client.replies.inquire_bills(channel="APP", id_number=id_number)
        assert reply.status == 200, reply.body
        assert [bill.bill_number for bill in reply.message.bills] == [bill_number]


# --- text --------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["descriptionAr", "descriptionEn"])
@pytest.mark.parametrize("control", CONTROLS)
async def test_a_description_with_a_control_character_is_refused(service, field, control):
    id_number, _ = await service.register()
    body = bill_body(id_number, **{field: f"Traffic{control}violation"})
    await refused(service, BILLS, body, "SCHEMA_INVALID", field)
    status, issued = await service.admin("POST", BILLS, bill_body(id_number))
    assert status == 201, issued
    await reads_back(service, id_number, issued["billNumber"])  # the person's bills still work


@pytest.mark.parametrize("field", ["fullNameAr", "fullNameEn"])
@pytest.mark.parametrize("control", CONTROLS)
async def test_a_name_with_a_control_character_is_refused(service, field, control):
    await refused(
        service, ACCOUNTS, account_body(**{field: f"Name{control}"}), "SCHEMA_INVALID", field
    )


@pytest.mark.parametrize("field", ["descriptionAr", "descriptionEn"])
async def test_descriptions_are_at_most_200_characters(service, field):
    id_number, _ = await service.register()
    await refused(
        service, BILLS, bill_body(id_number, **{field: "و" * 201}), "SCHEMA_INVALID", field
    )
    longest = bill_body(id_number, descriptionAr="و" * 200, descriptionEn="x" * 200)
    status, issued = await service.admin("POST", BILLS, longest)
    assert status == 201, issued
    assert (issued["descriptionAr"], issued["descriptionEn"]) == ("و" * 200, "x" * 200)
    await reads_back(service, id_number, issued["billNumber"])


@pytest.mark.parametrize("field", ["fullNameAr", "fullNameEn"])
async def test_names_are_at_most_200_characters(service, field):
    await refused(service, ACCOUNTS, account_body(**{field: "ع" * 201}), "SCHEMA_INVALID", field)
    id_number, _ = await service.register(**{field: "ع" * 200})
    status, account = await service.admin("GET", f"{ACCOUNTS}/{id_number}")
    assert (status, account[field]) == (200, "ع" * 200)


async def test_a_lone_surrogate_in_a_description_is_malformed(service):
    """JSON escapes can spell half a UTF-16 pair, which no UTF-8 column holds."""
    id_number, _ = await service.register()
    body = json.dumps(bill_body(id_number, descriptionEn="half \ud83d a pair")).encode("ascii")
    before = await counts(service)
    headers = {
        "Authorization": "Bearer test-admin-token-0123456789",
        "Content-Type": "application/json",
    }
    async with service.http.post(service.url + BILLS, data=body, headers=headers) as response:
        problem = await response.json(content_type=None)
    assert (response.status, problem["code"]) == (400, "MALFORMED_MESSAGE")
    assert "not valid Unicode" in problem["detail"]
    assert await counts(service) == before


async def test_printable_text_of_any_script_is_kept_and_reads_back(service):
    id_number, _ = await service.register()
    text = "مخالفة مرورية – “speeding” 🚗 ①"
    status, issued = await service.admin("POST", BILLS, bill_body(id_number, descriptionAr=text))
    assert (status, issued["descriptionAr"]) == (201, text)
    await reads_back(service, id_number, issued["billNumber"])


# --- amounts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount",
    ["0.00", "-1.00", "10000000.01", "9999999999999.99", "1.5", "1e3", "١٠.٠٠", 150, 150.0],
)
async def test_an_amount_that_is_not_a_positive_bounded_amount_is_refused(service, amount):
    id_number, _ = await service.register()
    await refused(service, BILLS, bill_body(id_number, amount=amount), "SCHEMA_INVALID", "amount")


@pytest.mark.parametrize("amount", ["0.01", "10000000.00"])
async def test_the_smallest_and_largest_amounts_are_issued_and_read_back(service, amount):
    id_number, _ = await service.register()
    status, issued = await service.admin("POST", BILLS, bill_body(id_number, amount=amount))
    assert (status, issued["amount"]) == (201, amount)
    await reads_back(service, id_number, issued["billNumber"])


# --- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dueDate", "1999-12-31"),
        ("dueDate", "2100-01-01"),
        ("dueDate", "0001-01-01"),
        ("expiresAt", "9999-12-31T23:59:59-05:00"),
        ("expiresAt", "0001-01-01T00:00:00+14:00"),
        ("expiresAt", "2099-12-31T23:59:59-14:00"),  # 2100 in UTC, where the adapter answers
        ("expiresAt", "2031-01-01T00:00:00"),  # no offset
    ],
)
async def test_bill_dates_outside_the_contracts_years_are_refused(service, field, value):
    id_number, _ = await service.register()
    await refused(service, BILLS, bill_body(id_number, **{field: value}), "SCHEMA_INVALID", field)


@pytest.mark.parametrize("value", ["1999-12-31", "2100-01-01", "9999-12-31"])
async def test_an_id_expiry_outside_the_contracts_years_is_refused(service, value):
    await refused(service, ACCOUNTS, account_body(idExpiry=value), "SCHEMA_INVALID", "idExpiry")


async def test_the_last_moment_of_2099_reads_back(service):
    id_number, _ = await service.register()
    body = bill_body(id_number, dueDate="2099-12-31", expiresAt="2099-12-31T23:59:59.999999Z")
    status, issued = await service.admin("POST", BILLS, body)
    assert status == 201, issued
    await reads_back(service, id_number, issued["billNumber"])


# --- ID numbers and mobiles --------------------------------------------------------------------


@pytest.mark.parametrize("id_number", ["1000000016\x00", "\x001000000016", "10000\x0000016"])
async def test_a_nul_in_an_id_number_is_invalid_never_a_database_error(service, id_number):
    await refused(
        service, ACCOUNTS, account_body(idNumber=id_number), "INVALID_ID_NUMBER", "IdNumber"
    )
    await refused(service, BILLS, bill_body(id_number), "INVALID_ID_NUMBER", "IdNumber")


@pytest.mark.parametrize("path_id", ["1000000016%00", "%001000000016", "10000%0000016", "%C3%28"])
async def test_a_malformed_id_number_in_a_path_is_not_found(service, path_id):
    status, problem = await service.admin("GET", f"{ACCOUNTS}/{path_id}")
    assert (status, problem["code"]) == (404, "ACCOUNT_NOT_FOUND")


@pytest.mark.parametrize("mobile", ["+966500000001\x00", "\x1b0500000001"])
async def test_a_control_character_in_a_mobile_is_invalid(service, mobile):
    await refused(service, ACCOUNTS, account_body(mobile=mobile), "INVALID_MOBILE", "Mobile")
