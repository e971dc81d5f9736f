"""Property: whatever bytes a codec gets, the answer is a contract 4xx code, never another
exception (which the service would turn into a 5xx). Both codecs, every request model,
random bytes and mutations of valid messages."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from bank_adapter.core import codec_json, codec_xml
from bank_adapter.core.limits import REQUEST_XML
from bank_adapter.core.messages import OPERATIONS
from bank_adapter.core.xmlparse import parse_xml
from bank_adapter.errors import AdapterError, Code
from tests.hostile.fuzz import FUZZ, changed_fields, mutated

# What XML 1.0 can carry at all (C1 controls and U+007F it can: those the schema refuses).
XML_CHARS = st.characters(
    exclude_categories=["Cs"],
    exclude_characters=[*(chr(c) for c in range(0x20) if c not in (9, 10, 13)), "\ufffe", "\uffff"],
)
DECODING_CODES = {Code.MALFORMED_MESSAGE, Code.SCHEMA_INVALID}
NOW = datetime(2026, 1, 31, 6, 30, tzinfo=UTC)

# A valid request of each operation, in JSON form.
VALID: dict[str, dict[str, Any]] = {
    "/v1/activations": {"idNumber": "1000000016", "mobile": "0500000001", "bankCustomerRef": "c"},
    "/v1/activations/confirm": {
        "activationId": "1b4e28ba-2fa1-41d2-883f-0016d3cca427", "otp": "123456",
    },
    "/v1/bills/inquiry": {"idNumber": "1000000016"},
    "/v1/fees/quote": {"idNumber": "2000000030", "serviceCode": "IQAMA_RENEWAL", "periods": 12},
    "/v1/payments": {
        "bankPaymentRef": "R-1", "billNumber": "1000000000010", "amount": "300.00",
        "currency": "SAR", "paidAt": "2026-01-31T09:30:00+03:00",
    },
    "/v1/payments/reversal": {"bankPaymentRef": "R-1", "reason": "customer"},
    "/v1/payments/status": {"bankPaymentRef": "R-1"},
    "/v1/reconciliation/statement": {"businessDate": "2026-01-31", "pageSize": 100},
}  # fmt: skip
COMMON = {
    "messageId": "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b",
    "timestamp": "2026-01-31T09:30:00+03:00",
    "channel": "ATM",
}


def valid_json(path: str) -> dict[str, Any]:
    return COMMON | VALID[path]


def valid_xml(path: str) -> bytes:
    op = OPERATIONS[path]
    model = codec_json.validate(op.request_model, valid_json(path))
    return codec_xml.encode_xml(model, op.request_root)


def code_of(decode: Callable[[], object]) -> Code | None:
    """The contract code `decode` refuses with, None when it accepts."""
    try:
        decode()
    except AdapterError as refused:
        return refused.code
    return None


def decode_json(path: str, body: bytes) -> None:
    model = OPERATIONS[path].request_model
    code = code_of(lambda: codec_json.validate(model, codec_json.decode_json(body)))
    assert code in {None, *DECODING_CODES}


def decode_xml(path: str, body: bytes) -> None:
    op = OPERATIONS[path]
    root = op.request_root
    code = code_of(
        lambda: codec_xml.decode_xml(parse_xml(body, REQUEST_XML), op.request_model, root)
    )
    assert code in {None, *DECODING_CODES}


@pytest.mark.parametrize("path", OPERATIONS)
def test_the_valid_messages_decode(path: str) -> None:
    codec_json.validate(OPERATIONS[path].request_model, valid_json(path))
    decode_xml(path, valid_xml(path))


@pytest.mark.parametrize("path", OPERATIONS)
@FUZZ
@given(body=st.binary(max_size=512))
def test_random_bytes_in_either_format(path: str, body: bytes) -> None:
    decode_json(path, body)
    decode_xml(path, body)


@pytest.mark.parametrize("path", OPERATIONS)
@FUZZ
@given(data=st.data())
def test_mutated_bytes_of_a_valid_message(path: str, data: st.DataObject) -> None:
    decode_json(path, data.draw(mutated(json.dumps(valid_json(path)).encode())))
    decode_xml(path, data.draw(mutated(valid_xml(path))))


@pytest.mark.parametrize("path", OPERATIONS)
@FUZZ
@given(data=st.data())
def test_any_json_values_in_the_fields(path: str, data: st.DataObject) -> None:
    fields = data.draw(changed_fields(valid_json(path)))
    decode_json(path, json.dumps(fields).encode("ascii"))


@pytest.mark.parametrize("path", OPERATIONS)
@FUZZ
@given(data=st.data())
def test_any_text_in_the_xml_elements(path: str, data: st.DataObject) -> None:
    root = parse_xml(valid_xml(path))
    element = data.draw(st.sampled_from(list(root)))
    element.text = data.draw(
        st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40).filter(
            lambda text: (
                all(ch in "\t\n\r" or ord(ch) >= 0x20 for ch in text)
                and "\ufffe" not in text
                and "\uffff" not in text
            )
        )
    )

    decode_xml(path, etree.tostring(root))
