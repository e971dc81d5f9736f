"""Both codecs: round trips, one test per rejection, details that name fields and never
values, and the property that any message survives either format unchanged."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from pydantic import BaseModel, ValidationError

from bank_adapter.contract import json_messages
from bank_adapter.core import codec_json, codec_xml
from bank_adapter.core.messages import (
    CHECKSUM_PATTERN,
    ERROR_ROOT,
    OPERATIONS,
    TEXT_PATTERN,
    ActivationConfirm,
    ActivationRequest,
    ActivationResponse,
    Bill,
    BillInquiry,
    BillInquiryResponse,
    ErrorResponse,
    FeeQuote,
    PaymentAck,
    PaymentNotification,
    PaymentReversal,
    PaymentStatusQuery,
    Problem,
    Statement,
    StatementEntry,
    StatementRequest,
    WireModel,
)
from bank_adapter.core.money import AMOUNT_PATTERN, from_halalas
from bank_adapter.core.xmlparse import parse_xml
from bank_adapter.errors import AdapterError, Code

NS = "urn:bank-adapter:v1"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
RIYADH = timezone(timedelta(hours=3))
ID_NUMBER = "1000000008"

REQUEST = {
    "message_id": UUID("6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"),
    "timestamp": datetime(2026, 1, 31, 9, 30, tzinfo=RIYADH),
    "channel": "ATM",
    "terminal_id": "ATM-0042",
}
RESPONSE = {
    "message_id": UUID("0b7e6f4c-2d1a-4c3b-9e8f-7a6b5c4d3e2f"),
    "in_reply_to": REQUEST["message_id"],
    "timestamp": datetime(2026, 1, 31, 6, 30, 1, 250000, tzinfo=UTC),
}
BILL = Bill(
    bill_number="1000000018",
    service_code="IQAMA_RENEWAL",
    description_ar="تجديد إقامة",
    description_en="Iqama renewal",
    amount=Decimal("650.00"),
    currency="SAR",
    due_date=date(2026, 2, 28),
    expires_at=datetime(2026, 3, 1, 0, 0, tzinfo=RIYADH),
    status="UNPAID",
)
ENTRY = StatementEntry(
    bank_payment_ref="RJHI-000123",
    payment_id="P-20260131-000001",
    bill_number="1000000018",
    amount=Decimal("650.00"),
    paid_at=datetime(2026, 1, 31, 9, 29, 58, tzinfo=RIYADH),
    status="POSTED",
)

# One instance of every message, by XML root.
SAMPLES: dict[str, WireModel] = {
    "ActivationRequest": ActivationRequest(
        **REQUEST, id_number=ID_NUMBER, mobile="0551234678", bank_customer_ref="c-42"
    ),
    "ActivationConfirm": ActivationConfirm(
        **REQUEST, activation_id=UUID("1b4e28ba-2fa1-41d2-883f-0016d3cca427"), otp="123456"
    ),
    "BillInquiry": BillInquiry(**REQUEST, id_number=ID_NUMBER),
    "FeeQuote": FeeQuote(**REQUEST, id_number=ID_NUMBER, service_code="IQAMA_RENEWAL", periods=12),
    "PaymentNotification": PaymentNotification(
        **REQUEST,
        bank_payment_ref="RJHI-000123",
        bill_number="1000000018",
        amount=Decimal("650.00"),
        currency="SAR",
        paid_at=datetime(2026, 1, 31, 9, 29, 58, tzinfo=RIYADH),
    ),
    "PaymentReversal": PaymentReversal(
        **REQUEST, bank_payment_ref="RJHI-000123", reason="customer dispute"
    ),
    "PaymentStatusQuery": PaymentStatusQuery(**REQUEST, bank_payment_ref="RJHI-000123"),
    "StatementRequest": StatementRequest(
        **REQUEST, business_date=date(2026, 1, 31), page_size=500, page_token="t-1"
    ),
    "ActivationResponse": ActivationResponse(
        **RESPONSE,
        status="OTP_SENT",
        activation_id=UUID("1b4e28ba-2fa1-41d2-883f-0016d3cca427"),
        otp_expires_at=datetime(2026, 1, 31, 6, 35, 1, tzinfo=UTC),
        masked_mobile="+9665*****678",
    ),
    "BillInquiryResponse": BillInquiryResponse(**RESPONSE, bills=[BILL, BILL]),
    "PaymentAck": PaymentAck(
        **RESPONSE,
        bank_payment_ref="RJHI-000123",
        status="POSTED",
        payment_id="P-20260131-000001",
        business_date=date(2026, 1, 31),
    ),
    "Statement": Statement(
        **RESPONSE,
        business_date=date(2026, 1, 31),
        final=False,
        count=1,
        total=Decimal("650.00"),
        entries=[ENTRY],
        checksum="ab" * 32,
        next_page_token="t-2",
    ),
    ERROR_ROOT: ErrorResponse(**RESPONSE, code=Code.BILL_NOT_FOUND, description="no such bill"),
}
PROBLEM = Problem(
    type="urn:bank-adapter:v1:error:BILL_NOT_FOUND",
    title="Bill not found",
    status=404,
    detail="no such bill",
    code=Code.BILL_NOT_FOUND,
    message_id=RESPONSE["message_id"],
    timestamp=RESPONSE["timestamp"],
)
MODELS = {root: type(model) for root, model in SAMPLES.items()}
JSON_SAMPLES = {root: m for root, m in SAMPLES.items() if root != ERROR_ROOT} | {"Problem": PROBLEM}


def json_round_trip(model: BaseModel) -> BaseModel:
    return codec_json.validate(type(model), codec_json.decode_json(codec_json.encode_json(model)))


def xml_round_trip(model: BaseModel, root: str) -> BaseModel:
    body = codec_xml.encode_xml(model, root)
    return codec_xml.decode_xml(parse_xml(body), type(model), root)


def json_body(root: str, **changes: object) -> dict[str, object]:
    """The sample as decoded JSON, with fields changed (None: removed)."""
    data = json.loads(codec_json.encode_json(SAMPLES[root]))
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def xml_body(root: str, edit: Callable[[etree._Element], object] = lambda _: None) -> bytes:
    """The sample as XML, after `edit` changed its tree."""
    tree = parse_xml(codec_xml.encode_xml(SAMPLES[root], root))
    edit(tree)
    return etree.tostring(tree)


def child(tree: etree._Element, name: str) -> etree._Element:
    element = tree.find(f"{{{NS}}}{name}")
    assert element is not None
    return element


def set_text(name: str, text: str) -> Callable[[etree._Element], None]:
    return lambda tree: setattr(child(tree, name), "text", text)


def json_error(root: str, data: dict[str, object]) -> AdapterError:
    with pytest.raises(AdapterError) as exc:
        codec_json.validate(MODELS[root], data)
    return exc.value


def xml_error(root: str, body: bytes, expected_root: str | None = None) -> AdapterError:
    with pytest.raises(AdapterError) as exc:
        codec_xml.decode_xml(parse_xml(body), MODELS[expected_root or root], expected_root or root)
    return exc.value


def schema_detail(error: AdapterError) -> str:
    assert error.code is Code.SCHEMA_INVALID
    return error.detail


# --- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("root", JSON_SAMPLES)
def test_json_round_trip(root: str) -> None:
    assert json_round_trip(JSON_SAMPLES[root]) == JSON_SAMPLES[root]


@pytest.mark.parametrize("root", SAMPLES)
def test_xml_round_trip(root: str) -> None:
    assert xml_round_trip(SAMPLES[root], root) == SAMPLES[root]


def test_samples_cover_every_message() -> None:
    roots = {op.request_root for op in OPERATIONS.values()}
    roots |= {op.response_root for op in OPERATIONS.values()}
    assert set(SAMPLES) == roots | {ERROR_ROOT}
    assert set(JSON_SAMPLES) == {model.__name__ for model in json_messages()}


EQUIVALENT_JSON = b"""{
  "messageId": "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b",
  "timestamp": "2026-01-31T09:30:00+03:00",
  "channel": "ATM",
  "terminalId": "ATM-0042",
  "bankPaymentRef": "RJHI-000123",
  "billNumber": "1000000018",
  "amount": "650.00",
  "currency": "SAR",
  "paidAt": "2026-01-31T09:29:58+03:00"
}"""
EQUIVALENT_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<b:PaymentNotification xmlns:b="urn:bank-adapter:v1">
  <b:MessageId>6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b</b:MessageId>
  <b:Timestamp>2026-01-31T09:30:00+03:00</b:Timestamp>
  <b:Channel>ATM</b:Channel>
  <b:TerminalId>ATM-0042</b:TerminalId>
  <b:BankPaymentRef>RJHI-000123</b:BankPaymentRef>
  <b:BillNumber>1000000018</b:BillNumber>
  <!-- a comment between elements is no content -->
  <b:Amount>650.00</b:Amount>
  <b:Currency>SAR</b:Currency>
  <b:PaidAt>2026-01-31T09:29:58+03:00</b:PaidAt>
  <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo/></ds:Signature>
</b:PaymentNotification>"""


def test_both_formats_decode_to_the_same_model() -> None:
    from_json = codec_json.validate(PaymentNotification, codec_json.decode_json(EQUIVALENT_JSON))
    from_xml = codec_xml.decode_xml(
        parse_xml(EQUIVALENT_XML), PaymentNotification, "PaymentNotification"
    )
    assert from_json == from_xml == SAMPLES["PaymentNotification"]


def test_a_comment_inside_a_value_does_not_cut_it() -> None:
    # The XSD and the signature see "650.00"; reading only up to the comment would see "6".
    body = EQUIVALENT_XML.replace(b">650.00<", b">6<!-- -->50.00<")
    decoded = codec_xml.decode_xml(parse_xml(body), PaymentNotification, "PaymentNotification")
    assert decoded.amount == Decimal("650.00")


def test_amounts_stay_exact() -> None:
    entries = [ENTRY.model_copy(update={"amount": Decimal(a)}) for a in ("0.10", "0.20")]
    statement = SAMPLES["Statement"].model_copy(
        update={"entries": entries, "total": sum(e.amount for e in entries)}
    )
    for decoded in (json_round_trip(statement), xml_round_trip(statement, "Statement")):
        assert isinstance(decoded, Statement)
        assert decoded.total == Decimal("0.30")
        assert [str(e.amount) for e in decoded.entries] == ["0.10", "0.20"]
    assert b'"total":"0.30"' in codec_json.encode_json(statement)


# --- encoding ------------------------------------------------------------------------------


def test_json_is_compact_utf8_by_alias_without_nulls() -> None:
    body = codec_json.encode_json(SAMPLES["BillInquiry"])
    assert b" " not in body
    assert b'"idNumber"' in body
    assert b"billNumber" not in body
    assert "تجديد إقامة".encode() in codec_json.encode_json(SAMPLES["BillInquiryResponse"])


def test_xml_has_a_declaration_the_xsd_order_and_no_signature() -> None:
    body = codec_xml.encode_xml(SAMPLES["PaymentNotification"], "PaymentNotification")
    assert body.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<PaymentNotification")
    names = [etree.QName(e).localname for e in parse_xml(body)]
    assert names == [
        "MessageId", "Timestamp", "Channel", "TerminalId",
        "BankPaymentRef", "BillNumber", "Amount", "Currency", "PaidAt",
    ]  # fmt: skip
    assert DSIG.encode() not in body


def test_xml_lists_are_wrapped() -> None:
    tree = parse_xml(codec_xml.encode_xml(SAMPLES["BillInquiryResponse"], "BillInquiryResponse"))
    assert [etree.QName(e).localname for e in child(tree, "Bills")] == ["Bill", "Bill"]
    empty = SAMPLES["Statement"].model_copy(update={"entries": []})
    assert b"<Entries/>" in codec_xml.encode_xml(empty, "Statement")
    assert xml_round_trip(empty, "Statement") == empty


def test_xml_error_fields_read_like_a_problem() -> None:
    tree = parse_xml(codec_xml.encode_xml(SAMPLES[ERROR_ROOT], ERROR_ROOT))
    fields = codec_xml.error_fields(tree)
    assert fields["code"] == "BILL_NOT_FOUND"
    assert fields["inReplyTo"] == str(REQUEST["message_id"])


# --- decode_json: bytes that are no JSON object --------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (b'{"a": 1, "a": 2}', "duplicate key"),
        (b'{"a": NaN}', "NaN"),
        (b'{"a": [Infinity]}', "Infinity"),
        (b'{"a": "\xff"}', "not UTF-8"),
        (b'\xef\xbb\xbf{"a": 1}', "not valid JSON"),
        (b'{"a": "\\ud800"}', "lone surrogate"),
        (b'{"a": [["\\udc00"]]}', "lone surrogate"),
        (b"[" * 100_000, "nested too deeply"),
    ],
)
def test_malformed_json(body: bytes, reason: str) -> None:
    with pytest.raises(AdapterError) as exc:
        codec_json.decode_json(body)
    assert exc.value.code is Code.MALFORMED_MESSAGE
    assert reason in exc.value.detail


def test_json_numbers_never_pass_through_float() -> None:
    data = codec_json.decode_json(b'{"a": 0.1, "b": 1e2, "c": 7, "d": "\\ud83d\\ude00"}')
    assert data == {"a": Decimal("0.1"), "b": Decimal("1e2"), "c": 7, "d": "\U0001f600"}


# --- one test per schema rejection, in both formats ----------------------------------------


def test_json_missing_field() -> None:
    detail = schema_detail(
        json_error("PaymentNotification", json_body("PaymentNotification", amount=None))
    )
    assert detail == "amount: missing"


def test_xml_missing_field() -> None:
    body = xml_body("PaymentNotification", lambda t: t.remove(child(t, "Amount")))
    detail = schema_detail(xml_error("PaymentNotification", body))
    assert detail.startswith("/PaymentNotification/Currency: ")
    assert "Expected is ( Amount )" in detail


def test_json_extra_field() -> None:
    detail = schema_detail(
        json_error("PaymentStatusQuery", json_body("PaymentStatusQuery", note="x"))
    )
    assert detail == "note: unknown field"


def test_xml_extra_field() -> None:
    def add(tree: etree._Element) -> None:
        etree.SubElement(tree, f"{{{NS}}}Note").text = "x"

    detail = schema_detail(xml_error("PaymentStatusQuery", xml_body("PaymentStatusQuery", add)))
    assert detail.startswith("/PaymentStatusQuery/Note: This element is not expected.")


def test_json_wrong_enum() -> None:
    detail = schema_detail(
        json_error("PaymentStatusQuery", json_body("PaymentStatusQuery", channel="app"))
    )
    assert detail == "channel: must be 'APP', 'WEB', 'IVR', 'ATM' or 'KIOSK'"


def test_xml_wrong_enum() -> None:
    body = xml_body("PaymentStatusQuery", set_text("Channel", "app"))
    detail = schema_detail(xml_error("PaymentStatusQuery", body))
    assert detail == "/PaymentStatusQuery/Channel: must be one of APP, WEB, IVR, ATM, KIOSK"


def test_json_number_instead_of_amount_string() -> None:
    data = codec_json.decode_json(EQUIVALENT_JSON.replace(b'"650.00"', b"650.00"))
    detail = schema_detail(json_error("PaymentNotification", data))
    assert detail == "amount: must be a decimal string with two decimals, e.g. 650.00"


@pytest.mark.parametrize("amount", ["650.000", "650.0", "650", "0650.00", "-650.00", "6.5e2"])
def test_json_amount_not_two_decimals(amount: str) -> None:
    detail = schema_detail(
        json_error("PaymentNotification", json_body("PaymentNotification", amount=amount))
    )
    assert detail.startswith("amount: must be a decimal string with two decimals")


@pytest.mark.parametrize("amount", ["650.000", "650.0", "650", "0650.00", "-650.00", " 650.00"])
def test_xml_amount_not_two_decimals(amount: str) -> None:
    body = xml_body("PaymentNotification", set_text("Amount", amount))
    detail = schema_detail(xml_error("PaymentNotification", body))
    assert detail.startswith("/PaymentNotification/Amount: does not match the pattern (0|")


def test_json_naive_timestamp() -> None:
    data = json_body("PaymentStatusQuery", timestamp="2026-01-31T09:30:00")
    detail = schema_detail(json_error("PaymentStatusQuery", data))
    assert detail.startswith("timestamp: must be an RFC 3339 date-time with offset in the years")


def test_xml_naive_timestamp() -> None:
    body = xml_body("PaymentStatusQuery", set_text("Timestamp", "2026-01-31T09:30:00"))
    detail = schema_detail(xml_error("PaymentStatusQuery", body))
    assert detail.startswith("/PaymentStatusQuery/Timestamp: does not match the pattern")


# Every date and date-time field of a request, by root and element: the contract's years.
DATE_FIELDS = [
    ("PaymentStatusQuery", "Timestamp", "2026-01-31T09:30:00+03:00"),
    ("PaymentNotification", "PaidAt", "2026-01-31T09:30:00+03:00"),
    ("StatementRequest", "BusinessDate", "2026-01-31"),
]
OUT_OF_RANGE = {
    "T": ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1999-12-31T23:59:59Z",
          "2100-01-01T00:00:00+03:00", "0000-01-01T00:00:00Z"],
    "-": ["0001-01-01", "9999-12-31", "1999-12-31", "2100-01-01"],
}  # fmt: skip


def out_of_range(example: str) -> list[str]:
    return OUT_OF_RANGE["T" if "T" in example else "-"]


def edges(example: str) -> list[str]:
    if "T" in example:
        return ["2000-01-01T00:00:00Z", "2000-01-01T14:00:00+14:00", "2099-12-31T23:59:59.999999Z",
                "2099-12-31T09:59:59-14:00"]  # fmt: skip
    return ["2000-01-01", "2099-12-31"]


@pytest.mark.parametrize(
    "value", ["2000-01-01T00:00:00+14:00", "2099-12-31T23:59:59-14:00", "2000-01-01T13:59:59+14:00"]
)
def test_an_instant_outside_the_years_in_utc_is_refused_in_both_formats(value: str) -> None:
    """Written in 2000 or 2099, but 1999 or 2100 in UTC, where the adapter answers."""
    detail = schema_detail(
        json_error("PaymentNotification", json_body("PaymentNotification", paidAt=value))
    )
    assert detail.startswith("paidAt: must be an RFC 3339 date-time with offset in the years")
    body = xml_body("PaymentNotification", set_text("PaidAt", value))
    detail = schema_detail(xml_error("PaymentNotification", body))
    assert detail.startswith("/PaymentNotification/PaidAt: must be an RFC 3339 date-time")


@pytest.mark.parametrize(("root", "element", "example"), DATE_FIELDS)
def test_json_dates_outside_2000_to_2099_name_the_field(
    root: str, element: str, example: str
) -> None:
    field = element[0].lower() + element[1:]
    for value in out_of_range(example):
        detail = schema_detail(json_error(root, json_body(root, **{field: value})))
        assert detail.startswith(f"{field}: must be "), detail
        assert "2000 to 2099" in detail
    for value in edges(example):
        codec_json.validate(MODELS[root], json_body(root, **{field: value}))


@pytest.mark.parametrize(("root", "element", "example"), DATE_FIELDS)
def test_xml_dates_outside_2000_to_2099_name_the_field(
    root: str, element: str, example: str
) -> None:
    for value in out_of_range(example):
        detail = schema_detail(xml_error(root, xml_body(root, set_text(element, value))))
        assert detail.startswith(f"/{root}/{element}: "), detail  # pattern, or year 0 invalid
    for value in edges(example):
        body = xml_body(root, set_text(element, value))
        codec_xml.decode_xml(parse_xml(body), MODELS[root], root)


@pytest.mark.parametrize(
    "value",
    [
        datetime(1999, 12, 31, tzinfo=UTC),
        datetime(2100, 1, 1, tzinfo=UTC),
        datetime(2000, 1, 1, tzinfo=timezone(timedelta(hours=14))),
        date(1999, 12, 31),
    ],
)
def test_python_values_outside_the_years_are_refused_too(value: object) -> None:
    field = "paid_at" if isinstance(value, datetime) else "business_date"
    model = PaymentNotification if field == "paid_at" else StatementRequest
    sample = SAMPLES[model.__name__].model_dump()
    with pytest.raises(ValidationError):
        model(**{**sample, field: value})


def test_xml_impossible_timestamp() -> None:
    body = xml_body("PaymentStatusQuery", set_text("Timestamp", "2026-02-30T09:30:00Z"))
    detail = schema_detail(xml_error("PaymentStatusQuery", body))
    assert detail == "/PaymentStatusQuery/Timestamp: is not a valid Timestamp"


def test_json_bad_uuid() -> None:
    data = json_body("PaymentStatusQuery", messageId="6f1c2a9e3b4d4e5f8a7b9c0d1e2f3a4b")
    detail = schema_detail(json_error("PaymentStatusQuery", data))
    assert detail == "messageId: must be a UUID (8-4-4-4-12 hex digits)"


def test_xml_bad_uuid() -> None:
    body = xml_body("PaymentStatusQuery", set_text("MessageId", "not-a-uuid"))
    detail = schema_detail(xml_error("PaymentStatusQuery", body))
    assert detail.startswith(
        "/PaymentStatusQuery/MessageId: does not match the pattern [0-9a-fA-F]{8}"
    )


def test_json_integer_as_string() -> None:
    detail = schema_detail(json_error("FeeQuote", json_body("FeeQuote", periods="12")))
    assert detail == "periods: must be a valid integer"


def test_xml_integer_out_of_range() -> None:
    body = xml_body("FeeQuote", set_text("Periods", "0"))
    assert schema_detail(xml_error("FeeQuote", body)) == "/FeeQuote/Periods: must be at least 1"


def test_xml_boolean() -> None:
    body = xml_body("Statement", set_text("Final", "yes"))
    assert (
        schema_detail(xml_error("Statement", body)) == "/Statement/Final: is not a valid xs:boolean"
    )


@pytest.mark.parametrize("final", ["1", "true", " true "])
def test_xml_boolean_lexical_forms(final: str) -> None:
    body = xml_body("Statement", set_text("Final", final))
    assert codec_xml.decode_xml(parse_xml(body), Statement, "Statement").final is True


def test_xml_wrong_root_element() -> None:
    detail = schema_detail(xml_error("PaymentAck", xml_body("PaymentStatusQuery"), "PaymentAck"))
    assert detail == (
        "root element {urn:bank-adapter:v1}PaymentStatusQuery "
        "is not the expected {urn:bank-adapter:v1}PaymentAck"
    )


def test_xml_wrong_namespace() -> None:
    body = xml_body("PaymentStatusQuery").replace(NS.encode(), b"urn:bank-adapter:v2")
    detail = schema_detail(xml_error("PaymentStatusQuery", body))
    assert detail.startswith("root element {urn:bank-adapter:v2}PaymentStatusQuery is not")


def test_xml_unqualified_children() -> None:
    body = EQUIVALENT_XML.replace(b"<b:Amount>650.00</b:Amount>", b"<Amount>650.00</Amount>")
    detail = schema_detail(xml_error("PaymentNotification", body))
    assert detail.startswith("/PaymentNotification/Amount: This element is not expected.")


def test_xml_elements_out_of_order() -> None:
    def swap(tree: etree._Element) -> None:
        tree.insert(1, child(tree, "Channel"))

    detail = schema_detail(xml_error("PaymentStatusQuery", xml_body("PaymentStatusQuery", swap)))
    assert detail == (
        "/PaymentStatusQuery/Channel: This element is not expected. Expected is ( Timestamp )."
    )


def test_xml_signature_only_last() -> None:
    def signature_first(tree: etree._Element) -> None:
        tree.insert(0, etree.Element(f"{{{DSIG}}}Signature"))

    body = xml_body("PaymentStatusQuery", signature_first)
    detail = schema_detail(xml_error("PaymentStatusQuery", body))
    assert detail.startswith("/PaymentStatusQuery/Signature: This element is not expected.")


def test_xml_attributes_are_refused() -> None:
    body = xml_body("PaymentStatusQuery", lambda t: child(t, "Channel").set("x", "1"))
    detail = schema_detail(xml_error("PaymentStatusQuery", body))
    assert detail == "/PaymentStatusQuery/Channel: The attribute '…' is not allowed."


def test_bill_inquiry_wants_one_key_in_json() -> None:
    data = json_body("BillInquiry", billNumber="1000000018")
    detail = schema_detail(json_error("BillInquiry", data))
    assert detail == "exactly one of idNumber and billNumber is required"


def test_bill_inquiry_wants_one_key_in_xml() -> None:
    def add(tree: etree._Element) -> None:
        child(tree, "IdNumber").addnext(etree.Element(f"{{{NS}}}BillNumber"))

    detail = schema_detail(xml_error("BillInquiry", xml_body("BillInquiry", add)))
    assert detail.startswith("/BillInquiry/BillNumber: This element is not expected.")


def test_list_items_are_named_by_path() -> None:
    data = json_body("BillInquiryResponse")
    data["bills"][1]["amount"] = "1.5"  # type: ignore[index]
    detail = schema_detail(json_error("BillInquiryResponse", data))
    assert detail == "bills[1].amount: must be a decimal string with two decimals, e.g. 650.00"

    def edit(tree: etree._Element) -> None:
        child(child(tree, "Bills")[1], "Amount").text = "1.5"

    detail = schema_detail(xml_error("BillInquiryResponse", xml_body("BillInquiryResponse", edit)))
    assert detail.startswith("/BillInquiryResponse/Bills/Bill[2]/Amount: does not match")


# --- every problem, and never a value ------------------------------------------------------


def test_json_detail_lists_every_problem() -> None:
    data = json_body(
        "PaymentNotification", amount=650, timestamp=None, channel="ATMX", currency="USD", x=1
    )
    detail = schema_detail(json_error("PaymentNotification", data))
    assert detail.split("; ") == [
        "timestamp: missing",
        "channel: must be 'APP', 'WEB', 'IVR', 'ATM' or 'KIOSK'",
        "amount: must be a decimal string with two decimals, e.g. 650.00",
        "currency: must be 'SAR'",
        "x: unknown field",
    ]


def test_xml_detail_lists_every_problem() -> None:
    def edit(tree: etree._Element) -> None:
        child(tree, "MessageId").text = "x"
        child(tree, "Channel").text = "ATMX"
        child(tree, "BankPaymentRef").text = "r" * 65
        child(tree, "Amount").text = "650"
        child(tree, "Currency").text = "USD"

    detail = schema_detail(xml_error("PaymentNotification", xml_body("PaymentNotification", edit)))
    assert [problem.split(":")[0] for problem in detail.split("; ")] == [
        "/PaymentNotification/MessageId",
        "/PaymentNotification/Channel",
        "/PaymentNotification/BankPaymentRef",
        "/PaymentNotification/Amount",
        "/PaymentNotification/Currency",
    ]
    assert "/PaymentNotification/BankPaymentRef: must be at most 64 characters" in detail


def test_a_flood_of_problems_is_summed_up() -> None:
    data = json_body("PaymentStatusQuery") | {f"k{i}": i for i in range(100)}
    detail = schema_detail(json_error("PaymentStatusQuery", data))
    assert detail.count("unknown field") == codec_json.MAX_LISTED_PROBLEMS
    assert detail.endswith("; and 80 more")


def test_problems_are_printable_and_bounded() -> None:
    data = json_body("PaymentStatusQuery") | {"a\x00b" + "c" * 1000: 1}
    detail = schema_detail(json_error("PaymentStatusQuery", data))
    assert detail.startswith("a?bccc")
    assert len(detail) == codec_json.MAX_PROBLEM_LENGTH
    Problem.model_validate({**PROBLEM.model_dump(), "detail": detail})


SECRETS = [ID_NUMBER + "12345678901", "0551234678x" * 3]


@pytest.mark.parametrize("secret", SECRETS)
def test_json_details_never_echo_values(secret: str) -> None:
    data = json_body("ActivationRequest", idNumber=secret, mobile=secret, messageId=secret)
    detail = schema_detail(json_error("ActivationRequest", data))
    assert detail.startswith("messageId: must be a UUID")
    assert "idNumber: must have at most 20 characters" in detail
    assert secret not in detail
    assert ID_NUMBER not in detail


@pytest.mark.parametrize("secret", SECRETS)
def test_xml_details_never_echo_values(secret: str) -> None:
    def edit(tree: etree._Element) -> None:
        for name in ("IdNumber", "Mobile", "MessageId"):
            child(tree, name).text = secret
        child(tree, "Channel").text = secret
        child(tree, "Channel").set("note", secret)

    detail = schema_detail(xml_error("ActivationRequest", xml_body("ActivationRequest", edit)))
    assert "/ActivationRequest/IdNumber: must be at most 20 characters" in detail
    assert secret not in detail
    assert ID_NUMBER not in detail


# --- peeking at the MessageId --------------------------------------------------------------


def test_peek_message_id_in_json() -> None:
    assert codec_json.peek_message_id(json_body("PaymentStatusQuery")) == REQUEST["message_id"]
    assert codec_json.peek_message_id({"messageId": "nope"}) is None
    assert codec_json.peek_message_id({"messageId": 7}) is None
    assert codec_json.peek_message_id({}) is None


def test_peek_message_id_in_xml() -> None:
    assert codec_xml.peek_message_id(parse_xml(EQUIVALENT_XML)) == REQUEST["message_id"]
    broken = xml_body("PaymentStatusQuery", set_text("MessageId", "nope"))
    assert codec_xml.peek_message_id(parse_xml(broken)) is None
    assert codec_xml.peek_message_id(parse_xml(b"<x/>")) is None


# --- the property: any message survives either format --------------------------------------

# Characters XML 1.0 can carry and an XSD string keeps as they are.
XML_CONTROLS = [chr(c) for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)]
XML_CHARS = st.characters(
    exclude_categories=["Cs"], exclude_characters=[*XML_CONTROLS, "\ufffe", "\uffff"]
)
TEXT_CHARS = st.characters(exclude_categories=["Cc", "Cs"], exclude_characters="\ufffe\uffff")
OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


def value_strategy(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Python values for one property of a model's JSON Schema."""
    if "$ref" in schema:
        target = defs[schema["$ref"].rsplit("/", 1)[1]]
        return value_strategy(target, defs) if "enum" in target else model_dicts(target, defs)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if schema.get("type") == "array":
        return st.lists(value_strategy(schema["items"], defs), max_size=3)
    scalar = SCALARS.get(schema.get("format") or schema.get("pattern") or "")
    return _plain(schema) if scalar is None else scalar


def _plain(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if schema["type"] == "boolean":
        return st.booleans()
    if schema["type"] == "integer":
        return st.integers(schema["minimum"], schema["maximum"])
    chars = TEXT_CHARS if schema.get("pattern") == TEXT_PATTERN else XML_CHARS
    return st.text(chars, min_size=schema["minLength"], max_size=schema["maxLength"])


SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "uuid": st.uuids(),
    "date": st.dates(date(2000, 1, 1), date(2099, 12, 31)),
    # A day's margin: the instant is in the contract's years whatever the offset.
    "date-time": st.datetimes(datetime(2000, 1, 2), datetime(2099, 12, 30), timezones=OFFSETS),
    CHECKSUM_PATTERN: st.from_regex(r"\A[0-9a-f]{64}\Z"),
    AMOUNT_PATTERN: st.integers(0, 10**15 - 1).map(from_halalas),
}


def model_dicts(schema: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts of field values for a model, optional fields sometimes left out."""
    strategies = {name: _field(spec, defs) for name, spec in schema["properties"].items()}
    required = set(schema.get("required", ()))
    return st.fixed_dictionaries(
        {name: s for name, s in strategies.items() if name in required},
        optional={name: s for name, s in strategies.items() if name not in required},
    )


def _field(spec: dict[str, Any], defs: dict[str, Any]) -> st.SearchStrategy[Any]:
    variants = [v for v in spec.get("anyOf", [spec]) if v.get("type") != "null"]
    return value_strategy(variants[0], defs)


@functools.cache
def instances(model_cls: type[BaseModel]) -> st.SearchStrategy[BaseModel]:
    schema = model_cls.model_json_schema(by_alias=True)

    def build(data: dict[str, Any]) -> BaseModel | None:
        try:
            return model_cls.model_validate(data)
        except ValidationError:  # a BillInquiry with both keys or neither
            return None

    built = model_dicts(schema, schema.get("$defs", {})).map(build)
    return built.filter(lambda model: model is not None)  # type: ignore[return-value]


@pytest.mark.parametrize("root", JSON_SAMPLES)
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_message_survives_json(root: str, data: st.DataObject) -> None:
    model = data.draw(instances(type(JSON_SAMPLES[root])))
    assert json_round_trip(model) == model


@pytest.mark.parametrize("root", SAMPLES)
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_message_survives_xml(root: str, data: st.DataObject) -> None:
    model = data.draw(instances(MODELS[root]))
    assert xml_round_trip(model, root) == model
