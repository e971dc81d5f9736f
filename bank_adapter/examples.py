"""Worked examples of every operation, generated from the message models.

One business morning of one bank (RJHI) and one citizen, written as the wire values of
each message; every message goes through its model (so it is valid, or this fails) and
is written in both formats, JSON as the JSON codec encodes it and XML as the XML codec
does, indented for reading. Errors: one answer per contract code, as problem+json and as
an XML `Error`. The bodies are unsigned; `docs/vectors/` shows them signed.

    python -m bank_adapter.examples [DIR]      # DIR defaults to docs/examples

A test checks that the files in the repository are what this writes, and validates
them against the XSD and the JSON Schemas.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final
from uuid import UUID

from lxml import etree
from pydantic import BaseModel

from bank_adapter.core import codec_json, codec_xml
from bank_adapter.core.messages import (
    ERROR_ROOT,
    OPERATIONS,
    ErrorResponse,
    PaymentStatus,
    Problem,
)
from bank_adapter.core.money import parse_amount, to_halalas
from bank_adapter.domain.statement import Entry, checksum_of
from bank_adapter.errors import AdapterError, Code, http_status, title

ERROR_TYPE: Final = "urn:bank-adapter:v1:error:"
# Codes only the internal API and the router answer with: no partner message carries them.
NOT_CONTRACT_CODES: Final = frozenset(
    {Code.UNAUTHORIZED, Code.NOT_FOUND, Code.METHOD_NOT_ALLOWED, Code.INTERNAL_ERROR}
)
CONTRACT_CODES: Final = tuple(code for code in Code if code not in NOT_CONTRACT_CODES)


def _id(n: int) -> str:
    return f"3f6c2a10-5b7e-4c1d-9a2f-{n:012d}"


@dataclass(frozen=True, slots=True)
class Example:
    """One exchange: the request to `path` and the 200 answer."""

    name: str
    path: str
    summary: str
    request: Mapping[str, Any]
    response: Mapping[str, Any]


def _request(n: int, time: str, channel: str = "APP", **fields: Any) -> dict[str, Any]:
    return {
        "messageId": _id(n),
        "timestamp": f"2026-03-01T{time}+03:00",
        "channel": channel,
    } | fields


def _answer(n: int, time: str, **fields: Any) -> dict[str, Any]:
    return {
        "messageId": _id(100 + n),
        "inReplyTo": _id(n),
        "timestamp": f"2026-03-01T{time}+03:00",
    } | fields


_TRAFFIC = {
    "serviceCode": "TRAFFIC_VIOLATION",
    "currency": "SAR",
    "dueDate": "2026-03-31",
    "status": "UNPAID",
}
_BILLS = [
    _TRAFFIC
    | {
        "billNumber": "1000000000010",
        "descriptionAr": "مخالفة مرورية: تجاوز السرعة",
        "descriptionEn": "Traffic violation: speeding",
        "amount": "300.00",
    },
    _TRAFFIC
    | {
        "billNumber": "1000000000029",
        "descriptionAr": "مخالفة مرورية: وقوف خاطئ",
        "descriptionEn": "Traffic violation: parking",
        "amount": "150.00",
    },
]
_ENTRIES = [
    {"bankPaymentRef": "RJHI-2026-000041", "paymentId": "P0000000000000000041",
     "billNumber": "1000000000032", "amount": "650.00",
     "paidAt": "2026-03-01T08:02:11+03:00", "status": "POSTED"},
    {"bankPaymentRef": "RJHI-2026-000042", "paymentId": "P0000000000000000042",
     "billNumber": "1000000000010", "amount": "300.00",
     "paidAt": "2026-03-01T09:40:02+03:00", "status": "REVERSED"},
    {"bankPaymentRef": "RJHI-2026-000043", "paymentId": "P0000000000000000043",
     "billNumber": "1000000000029", "amount": "150.00",
     "paidAt": "2026-03-01T10:05:40+03:00", "status": "POSTED"},
]  # fmt: skip
_CHECKSUM: Final = checksum_of(
    Entry(e["bankPaymentRef"], e["billNumber"], to_halalas(parse_amount(e["amount"])),
          PaymentStatus(e["status"]))
    for e in _ENTRIES
)  # fmt: skip
_DAY = {
    "businessDate": "2026-03-01",
    "final": False,
    "count": 3,
    "total": "800.00",
    "checksum": _CHECKSUM,
}
# An opaque token, as the adapter issues them (its content is the adapter's business).
_PAGE_TOKEN: Final = (
    "WyJSSkhJIiwiMjAyNi0wMy0wMSIsIlAwMDAwMDAwMDAwMDAwMDAwMDQyIiw0M10.q0Jb7mH2cV1xWm9kL3pZcQ"  # noqa: S105 (an example, not a secret)
)

# fmt: off
EXAMPLES: Final = (
    Example(
        "activation", "/v1/activations",
        "Start an activation in the bank's app: the OTP goes by SMS to the registered mobile.",
        _request(1, "09:30:00", idNumber="1000000016", mobile="0500000001",
                 bankCustomerRef="CUST-000123"),
        _answer(1, "09:30:00", status="OTP_SENT", activationId=_id(900),
                otpExpiresAt="2026-03-01T09:35:00+03:00", maskedMobile="+9665*****001"),
    ),
    Example(
        "activation-confirm", "/v1/activations/confirm",
        "Finish it with the OTP the customer typed.",
        _request(2, "09:31:20", activationId=_id(900), otp="482913"),
        _answer(2, "09:31:20", status="ACTIVATED"),
    ),
    Example(
        "activation-atm", "/v1/activations",
        "At an ATM (card and PIN: a strongly authenticated channel) the account is active at once.",
        _request(3, "09:32:00", "ATM", terminalId="ATM-RUH-0042", idNumber="2000000030",
                 mobile="0500000003", bankCustomerRef="CUST-000777"),
        _answer(3, "09:32:00", status="ACTIVATED"),
    ),
    Example(
        "bill-inquiry", "/v1/bills/inquiry",
        "A person's open bills, by ID number.",
        _request(4, "09:35:00", idNumber="1000000016"),
        _answer(4, "09:35:00", bills=_BILLS),
    ),
    Example(
        "bill-inquiry-by-bill-number", "/v1/bills/inquiry",
        "One bill, by its number, in whatever state it is.",
        _request(5, "09:36:00", "IVR", billNumber="1000000000010"),
        _answer(5, "09:36:00", bills=_BILLS[:1]),
    ),
    Example(
        "fee-quote", "/v1/fees/quote",
        "Price a 12-month iqama renewal; the adapter issues the bill, ready to pay.",
        _request(6, "09:38:00", idNumber="2000000030", serviceCode="IQAMA_RENEWAL", periods=12),
        _answer(6, "09:38:00", bills=[{
            "billNumber": "1000000000045", "serviceCode": "IQAMA_RENEWAL",
            "descriptionAr": "تجديد الإقامة (12 شهرا)",
            "descriptionEn": "Iqama renewal (12 months)",
            "amount": "650.00", "currency": "SAR", "dueDate": "2026-03-08",
            "expiresAt": "2026-03-08T23:59:59+03:00", "status": "UNPAID",
        }]),
    ),
    Example(
        "payment", "/v1/payments",
        "The bank took 300.00 SAR for the speeding fine.",
        _request(7, "09:40:05", bankPaymentRef="RJHI-2026-000042", billNumber="1000000000010",
                 amount="300.00", currency="SAR", paidAt="2026-03-01T09:40:02+03:00"),
        _answer(7, "09:40:05", bankPaymentRef="RJHI-2026-000042", status="POSTED",
                paymentId="P0000000000000000042", businessDate="2026-03-01"),
    ),
    Example(
        "payment-retry", "/v1/payments",
        "The answer to the payment was lost: the same payment again, with a new MessageId and "
        "Timestamp and the same BankPaymentRef. The payment as it stands, never a second one.",
        _request(8, "09:40:41", bankPaymentRef="RJHI-2026-000042", billNumber="1000000000010",
                 amount="300.00", currency="SAR", paidAt="2026-03-01T09:40:02+03:00"),
        _answer(8, "09:40:41", bankPaymentRef="RJHI-2026-000042", status="POSTED",
                paymentId="P0000000000000000042", businessDate="2026-03-01"),
    ),
    Example(
        "payment-status", "/v1/payments/status",
        "What became of a payment.",
        _request(9, "09:41:00", bankPaymentRef="RJHI-2026-000042"),
        _answer(9, "09:41:00", bankPaymentRef="RJHI-2026-000042", status="POSTED",
                paymentId="P0000000000000000042", businessDate="2026-03-01"),
    ),
    Example(
        "payment-reversal", "/v1/payments/reversal",
        "Undo it the same business day (before the bank's cut-off).",
        _request(10, "09:50:00", bankPaymentRef="RJHI-2026-000042",
                 reason="Customer disputed the charge"),
        _answer(10, "09:50:00", bankPaymentRef="RJHI-2026-000042", status="REVERSED",
                paymentId="P0000000000000000042", businessDate="2026-03-01"),
    ),
    Example(
        "statement", "/v1/reconciliation/statement",
        "The day's first page, two entries a page: NextPageToken says there is more.",
        _request(11, "10:10:00", businessDate="2026-03-01", pageSize=2),
        _answer(11, "10:10:00", **_DAY, entries=_ENTRIES[:2], nextPageToken=_PAGE_TOKEN),
    ),
    Example(
        "statement-last-page", "/v1/reconciliation/statement",
        "The next page, with the token: no NextPageToken, the walk is over.",
        _request(12, "10:10:01", businessDate="2026-03-01", pageSize=2, pageToken=_PAGE_TOKEN),
        _answer(12, "10:10:01", **_DAY, entries=_ENTRIES[2:]),
    ),
)
# fmt: on

# A detail the adapter gives for each contract code, and the operation it answers.
ERRORS: Final[Mapping[Code, tuple[str, str]]] = {
    Code.MALFORMED_MESSAGE: (
        "/v1/payments",
        "the body is not valid JSON: Expecting ',' delimiter: line 1 column 58 (char 57)",
    ),
    Code.SCHEMA_INVALID: ("/v1/payments", "amount: must match pattern '^[0-9]{1,13}\\.[0-9]{2}$'"),
    Code.STALE_MESSAGE: ("/v1/payments", "timestamp is more than 300 s from the adapter's clock"),
    Code.INVALID_ID_NUMBER: ("/v1/activations", "IdNumber check digit is wrong"),
    Code.INVALID_MOBILE: (
        "/v1/activations",
        "Mobile must be a Saudi mobile: 05XXXXXXXX or +9665XXXXXXXX",
    ),
    Code.SIGNATURE_MISSING: ("/v1/payments", "X-JWS-Signature header is missing"),
    Code.SIGNATURE_INVALID: ("/v1/payments", "the signature does not verify"),
    Code.UNKNOWN_PARTNER: ("/v1/payments", "X-Partner-Id names no registered partner"),
    Code.UNKNOWN_KEY: ("/v1/payments", "the signing key is not registered for this partner"),
    Code.ALGORITHM_NOT_ALLOWED: (
        "/v1/payments",
        "algorithm 'RS256' is not allowed for this partner",
    ),
    Code.CHANNEL_NOT_ALLOWED: ("/v1/activations", "channel KIOSK is not allowed for this partner"),
    Code.PARTNER_SUSPENDED: ("/v1/payments", "this partner is suspended"),
    Code.ACCOUNT_NOT_FOUND: ("/v1/activations", "no account with this ID number"),
    Code.ACTIVATION_NOT_FOUND: ("/v1/activations/confirm", ""),
    Code.BILL_NOT_FOUND: ("/v1/payments", ""),
    Code.PAYMENT_NOT_FOUND: ("/v1/payments/status", "no payment with this BankPaymentRef"),
    Code.MESSAGE_ID_REUSED: ("/v1/payments", "this MessageId was used for another message"),
    Code.DUPLICATE_CONFLICT: (
        "/v1/payments",
        "BankPaymentRef was already used with another Amount",
    ),
    Code.ACCOUNT_ALREADY_ACTIVE: ("/v1/activations", ""),
    Code.BILL_ALREADY_PAID: ("/v1/payments", ""),
    Code.BILL_CANCELLED: ("/v1/payments", ""),
    Code.ALREADY_REVERSED: ("/v1/payments/reversal", ""),
    Code.PAYLOAD_TOO_LARGE: ("/v1/payments", "request bodies are limited to 65536 bytes"),
    Code.FORMAT_NOT_ALLOWED: ("/v1/payments", "this partner sends application/json only"),
    Code.MOBILE_MISMATCH: ("/v1/activations", ""),
    Code.BIOMETRIC_NOT_ENROLLED: ("/v1/activations", ""),
    Code.ID_EXPIRED: ("/v1/activations", ""),
    Code.ID_BLOCKED: ("/v1/activations", ""),
    Code.OTP_INVALID: ("/v1/activations/confirm", "Wrong OTP; 2 tries left"),
    Code.OTP_EXPIRED: ("/v1/activations/confirm", ""),
    Code.OTP_ATTEMPTS_EXCEEDED: ("/v1/activations/confirm", ""),
    Code.AMOUNT_MISMATCH: ("/v1/payments", "Amount must equal the bill's amount"),
    Code.BILL_EXPIRED: ("/v1/payments", ""),
    Code.REVERSAL_WINDOW_CLOSED: (
        "/v1/payments/reversal",
        "the cut-off of business date 2026-02-28 has passed",
    ),
    Code.SERVICE_NOT_APPLICABLE: (
        "/v1/fees/quote",
        "IQAMA_RENEWAL: the service does not apply to NATIONAL_ID holders",
    ),
    Code.RATE_LIMITED: ("/v1/payments", "request rate limit reached"),
    Code.OTP_LIMIT_REACHED: (
        "/v1/activations",
        "5 OTPs were sent for this account in the last hour",
    ),
    Code.SERVICE_UNAVAILABLE: ("/v1/payments", "storage unavailable; nothing was recorded"),
}  # fmt: skip
# Codes decided before the MessageId can be read: their answers carry no InReplyTo.
_NO_REPLY_TO: Final = frozenset(
    {Code.MALFORMED_MESSAGE, Code.UNKNOWN_PARTNER, Code.PAYLOAD_TOO_LARGE}
)
_XML_DECLARATION: Final = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_ERROR_TIME: Final = datetime.fromisoformat("2026-03-01T09:40:05+03:00")


def example_files() -> dict[str, bytes]:
    """Every example file, by its path under the examples directory."""
    files: dict[str, bytes] = {}
    for example in EXAMPLES:
        operation = OPERATIONS[example.path]
        request = codec_json.validate(operation.request_model, example.request)
        response = codec_json.validate(operation.response_model, example.response)
        files |= _both(f"{example.name}/request", request, operation.request_root)
        files |= _both(f"{example.name}/response", response, operation.response_root)
    for code in CONTRACT_CODES:
        problem, error = error_answers(code)
        files[f"errors/{code.value}.json"] = _json(problem)
        if code is not Code.UNKNOWN_PARTNER:  # always answered in JSON (contract section 2)
            files[f"errors/{code.value}.xml"] = _xml(error, ERROR_ROOT)
    files["README.md"] = index().encode("utf-8")
    return files


def error_answers(code: Code) -> tuple[Problem, ErrorResponse]:
    """The answer with `code` to the payment example's request, in both formats."""
    _, detail = ERRORS[code]
    in_reply_to = None if code in _NO_REPLY_TO else UUID(_id(7))
    err = AdapterError(code, detail)
    problem = Problem(
        type=ERROR_TYPE + code.value,
        title=title(code),
        status=http_status(code),
        detail=err.detail,
        code=code.value,
        message_id=UUID(_id(500)),
        in_reply_to=in_reply_to,
        timestamp=_ERROR_TIME,
    )
    error = ErrorResponse(
        message_id=UUID(_id(500)), in_reply_to=in_reply_to, timestamp=_ERROR_TIME,
        code=code.value, description=err.detail,
    )  # fmt: skip
    return problem, error


def _both(stem: str, model: BaseModel, root: str) -> dict[str, bytes]:
    return {f"{stem}.json": _json(model), f"{stem}.xml": _xml(model, root)}


def _json(model: BaseModel) -> bytes:
    data = json.loads(codec_json.encode_json(model))
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _xml(model: BaseModel, root_name: str) -> bytes:
    root = etree.fromstring(codec_xml.encode_xml(model, root_name))
    etree.indent(root, space="  ")
    return _XML_DECLARATION + etree.tostring(root, encoding="UTF-8", xml_declaration=False) + b"\n"


def index() -> str:
    """docs/examples/README.md: what each file shows."""
    lines = [
        "# Worked examples",
        "",
        "Generated by `scripts/make-examples` from the message models (do not edit by hand:",
        "a test regenerates them and validates every file against `schemas/`). Bodies are",
        "shown indented and unsigned; on the wire, sign the exact bytes you send",
        "(see [`../vectors/`](../vectors/) and the [integration guide](../integration-guide.md)).",
        "The story: one citizen activates the bank's app with an OTP, a resident activates at",
        "an ATM, bills are found and a fee priced, a payment is posted, its answer lost and",
        "retried, queried, reversed, and the day's statement walked page by page.",
        "",
        "| example | operation | request | 200 answer |",
        "|---|---|---|---|",
    ]
    for example in EXAMPLES:
        name = example.name
        lines.append(
            f"| {example.summary} | `POST {example.path}` | "
            f"[JSON]({name}/request.json) [XML]({name}/request.xml) | "
            f"[JSON]({name}/response.json) [XML]({name}/response.xml) |"
        )
    lines += [
        "",
        "## Errors",
        "",
        "One answer per contract code, to the payment request above (`inReplyTo` is absent when",
        "the request's MessageId could not be read). JSON partners get `application/problem+json`,",
        "XML partners an `Error` document; an unknown partner is always answered in JSON.",
        "Meaning, retry rule and wording for the customer: the guide's error catalogue.",
        "",
        "| code | HTTP status | typical operation | answer |",
        "|---|---|---|---|",
    ]
    for code in CONTRACT_CODES:
        path, _ = ERRORS[code]
        xml = "" if code is Code.UNKNOWN_PARTNER else f" [XML](errors/{code.value}.xml)"
        lines.append(
            f"| `{code.value}` | {http_status(code)} | `{path}` | "
            f"[JSON](errors/{code.value}.json){xml} |"
        )
    return "\n".join(lines) + "\n"


def write_examples(directory: Path) -> list[Path]:
    written = []
    for name, content in example_files().items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    for path in write_examples(Path(args[0] if args else "docs/examples")):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
