"""Property, through the real server on both engines: no content gets a 5xx. Internal API
bodies with any JSON in their fields, and partner messages mutated before signing (an
insider bank) or after it (anyone): every answer is below 500 and signed, a refused
platform body records nothing, and a bill the platform accepted reads back through
`/v1/bills/inquiry` in JSON and XML."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bank_adapter.errors import AdapterError
from tests.hostile.attack import counts, encode, fields, post, sign
from tests.hostile.fuzz import FUZZ, changed_fields, mutated

PARTNERS = ["JWSA", "XMLA", "HSJA", "HSXA"]
PATHS = ["/v1/activations", "/v1/payments", "/v1/bills/inquiry", "/v1/reconciliation/statement"]
VALID = {
    "/v1/activations": {"idNumber": "1000000016", "mobile": "0500000001", "bankCustomerRef": "c"},
    "/v1/payments": {
        "bankPaymentRef": "F-1", "billNumber": "1000000000010", "amount": "300.00",
        "currency": "SAR", "paidAt": "2026-01-31T09:30:00+03:00",
    },
    "/v1/bills/inquiry": {"idNumber": "1000000016"},
    "/v1/reconciliation/statement": {"businessDate": "2026-01-31", "pageSize": 10},
}  # fmt: skip
ACCOUNT = {"idNumber": "1000000016", "mobile": "0500000001", "biometricEnrolled": True}
BILL = {
    "idNumber": "1000000016",
    "serviceCode": "OTHER",
    "amount": "10.00",
    "dueDate": "2031-01-01",
}
TOKEN = "test-admin-token-0123456789"  # the `service` fixture's (tests/conftest.py)


async def admin_post(service: Any, path: str, body: bytes) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    async with service.http.post(service.url + path, data=body, headers=headers) as response:
        return response.status, await response.json(content_type=None)


@FUZZ
@given(data=st.data())
async def test_internal_account_bodies(service, data: st.DataObject) -> None:
    body = json.dumps(data.draw(changed_fields(ACCOUNT))).encode("ascii")
    before = await counts(service)
    status, answer = await admin_post(service, "/internal/v1/accounts", body)
    assert status < 500, answer
    if status >= 400:
        assert await counts(service) == before


@FUZZ
@given(data=st.data())
async def test_internal_bill_bodies_refused_or_read_back(service, data: st.DataObject) -> None:
    body = json.dumps(data.draw(changed_fields(BILL))).encode("ascii")
    before = await counts(service)
    status, answer = await admin_post(service, "/internal/v1/bills", body)
    assert status < 500, answer
    if status >= 400:
        assert await counts(service) == before
        return
    await service.register("100000001")  # the person, should the body have named another
    for partner_id in ("JWSA", "XMLA"):
        reply = await service.client(partner_id).replies.inquire_bills(
            channel="APP", bill_number=answer["billNumber"]
        )
        assert reply.status == 200, reply.body


@FUZZ
@given(data=st.data())
async def test_internal_bill_lists_all_or_nothing(service, data: st.DataObject) -> None:
    """A list with any JSON in its items' fields: refused with nothing recorded, or every
    bill issued, in order, each reading back."""
    items = data.draw(st.lists(st.one_of(st.just(BILL), changed_fields(BILL)), max_size=4))
    before = await counts(service)
    status, answer = await admin_post(service, "/internal/v1/bills", json.dumps(items).encode())
    assert status < 500, answer
    if status >= 400:
        assert await counts(service) == before
        return
    assert [bill["amount"] for bill in answer] == [item["amount"] for item in items]
    for bill in answer:
        reply = await service.client("JWSA").replies.inquire_bills(
            channel="APP", bill_number=bill["billNumber"]
        )
        assert reply.status == 200, reply.body


@FUZZ
@given(data=st.data())
async def test_internal_bodies_as_mutated_bytes(service, data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(["/internal/v1/accounts", "/internal/v1/bills"]))
    valid = json.dumps(ACCOUNT if path.endswith("accounts") else BILL).encode()
    status, answer = await admin_post(service, path, data.draw(mutated(valid)))
    assert status < 500, answer


@pytest.mark.parametrize("partner_id", PARTNERS)
@FUZZ
@given(data=st.data())
async def test_partner_messages_mutated_before_signing(service, partner_id, data) -> None:
    """An insider bank signs whatever it likes; xmldsig can only sign what parses."""
    path = data.draw(st.sampled_from(PATHS))
    partner = service.partners[partner_id]
    message = fields(path, service.runtime.clock(), **VALID[path])
    try:
        if partner.signature == "xmldsig":
            body = encode("xml", path, data.draw(changed_fields(message)))
        else:
            body = data.draw(mutated(encode(partner.format, path, message)))
        signed = sign(service, partner_id, path, body)
    except (ValueError, AdapterError):  # what lxml cannot write, or xmldsig cannot sign
        return
    answer = await post(service, path, *signed)
    assert answer.status < 500, answer.body[:300]


@pytest.mark.parametrize("partner_id", PARTNERS)
@FUZZ
@given(data=st.data())
async def test_partner_messages_mutated_after_signing(service, partner_id, data) -> None:
    path = data.draw(st.sampled_from(PATHS))
    partner = service.partners[partner_id]
    message = fields(path, service.runtime.clock(), **VALID[path])
    body, headers = sign(service, partner_id, path, encode(partner.format, path, message))
    changed = data.draw(mutated(body))
    answer = await post(service, path, changed, headers)
    assert answer.status < 500, answer.body[:300]
    # Bytes signed as they are: any change is refused (xmldsig signs the canonical form).
    assert answer.status >= 400 or changed == body or partner.signature == "xmldsig"
