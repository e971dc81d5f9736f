"""The hostile-input corpus: one test per attack class, against the real server on both
engines. Each asserts the contract code, that the answer is signed, and that nothing
changed in the database (a refusal after the signature verified stores its answer for
replay, contract section 3: one row in `messages`, nothing else).

The classes: forged, tampered, insider (another bank's key), replayed on another
operation, reused MessageId, stale, wrapped and comment-split XML, DTDs and entities,
oversized, wrong format, bytes that do not parse, absurd shapes, content that used to
become a 5xx (dates out of range, NUL bytes, control characters), money and ID formats,
algorithm games, missing and doubled signature headers, unknown and suspended partners.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from multidict import CIMultiDict
from yarl import URL

from bank_adapter.core.keys import SigningKey, generate
from tests.hostile.attack import Answer, counts, encode, fields, post, send, sign

DATA = Path(__file__).resolve().parents[1] / "data" / "xmldsig"
ACTIVATE = "/v1/activations"
PAY = "/v1/payments"
# One partner per profile and format.
JSON_PARTNERS = ["JWSA", "HSJA"]
ALL_PARTNERS = ["JWSA", "XMLA", "HSJA", "HSXA"]


def activation(service: Any, **values: Any) -> dict[str, Any]:
    person = {"idNumber": "1000000016", "mobile": "0500000001", "bankCustomerRef": "c-1"}
    return fields(ACTIVATE, service.runtime.clock(), **(person | values))


def payment(service: Any, **values: Any) -> dict[str, Any]:
    paid = {
        "bankPaymentRef": "HOSTILE-1",
        "billNumber": "1000000000010",
        "amount": "650.00",
        "currency": "SAR",
        "paidAt": "2026-01-31T09:30:00+03:00",
    }
    return fields(PAY, service.runtime.clock(), **(paid | values))


@dataclass(frozen=True)
class Refused:
    status: int
    code: str
    stored: bool  # decided after the signature verified: its answer is kept for replay


async def attempt(
    service: Any, attack: Callable[[], Awaitable[Answer]], expected: Refused
) -> Answer:
    before = await counts(service)
    answer = await attack()
    assert (answer.status, answer.code) == (expected.status, expected.code), answer.body[:300]
    after = await counts(service)
    assert after == before | {"messages": before["messages"] + int(expected.stored)}
    return answer


async def sent(
    service: Any, partner_id: str, path: str, data: dict[str, Any], expected: Refused
) -> Answer:
    """`data` signed by the partner and sent: refused as `expected`, nothing else changed."""
    return await attempt(service, lambda: send(service, partner_id, path, data), expected)


def fmt(service: Any, partner_id: str) -> str:
    return str(service.partners[partner_id].format)


# --- signatures: forged, tampered, insider, replayed elsewhere -------------------------------


@pytest.mark.parametrize("partner_id", ALL_PARTNERS)
async def test_forged_with_the_partners_kid(service, partner_id):
    partner = service.partners[partner_id]
    kind = {"ed25519": "Ed25519"}.get(partner.algorithm, "EC-P256")
    forger = SigningKey(partner.key.kid, generate(kind))
    body = encode(partner.format, ACTIVATE, activation(service))

    await attempt(
        service,
        lambda: post(service, ACTIVATE, *sign(service, partner_id, ACTIVATE, body, key=forger)),
        Refused(401, "SIGNATURE_INVALID", stored=False),
    )


@pytest.mark.parametrize("partner_id", ALL_PARTNERS)
async def test_tampered_after_signing(service, partner_id):
    body = encode(fmt(service, partner_id), ACTIVATE, activation(service))
    signed, headers = sign(service, partner_id, ACTIVATE, body)

    await attempt(
        service,
        lambda: post(service, ACTIVATE, signed.replace(b"c-1", b"c-2"), headers),
        Refused(401, "SIGNATURE_INVALID", stored=False),
    )


async def test_insider_bank_signing_as_another(service):
    """LIMT (also jws, ES256) signs with its own registered key and claims to be JWSA."""
    body = encode("json", ACTIVATE, activation(service))
    signed, headers = sign(service, "LIMT", ACTIVATE, body)

    await attempt(
        service,
        lambda: post(service, ACTIVATE, signed, headers | {"X-Partner-Id": "JWSA"}),
        Refused(401, "UNKNOWN_KEY", stored=False),
    )


@pytest.mark.parametrize("partner_id", ALL_PARTNERS)
async def test_replayed_on_another_operation(service, partner_id):
    """Signed for /v1/activations, sent to /v1/bills/inquiry (xmldsig: to the confirm path
    with the root left as it was, so the root no longer names the operation)."""
    body = encode(fmt(service, partner_id), ACTIVATE, activation(service))
    signed, headers = sign(service, partner_id, ACTIVATE, body)

    await attempt(
        service,
        lambda: post(service, "/v1/activations/confirm", signed, headers),
        Refused(401, "SIGNATURE_INVALID", stored=False),
    )


@pytest.mark.parametrize("partner_id", ["JWSA", "HSJA"])
async def test_algorithm_games(service, partner_id):
    body = encode("json", ACTIVATE, activation(service))
    signed, headers = sign(service, partner_id, ACTIVATE, body)
    if partner_id == "JWSA":
        headers["X-JWS-Signature"] = "eyJhbGciOiJub25lIiwia2lkIjoiandzYS0xIn0.."
    else:
        headers["Signature-Input"] = headers["Signature-Input"].replace(
            "ecdsa-p256-sha256", "rsa-v1_5-sha256"
        )

    await attempt(
        service,
        lambda: post(service, ACTIVATE, signed, headers),
        Refused(401, "ALGORITHM_NOT_ALLOWED", stored=False),
    )


@pytest.mark.parametrize("partner_id", ALL_PARTNERS)
async def test_no_signature(service, partner_id):
    partner = service.partners[partner_id]
    body = encode(partner.format, ACTIVATE, activation(service))
    headers = {"Content-Type": f"application/{partner.format}", "X-Partner-Id": partner_id}

    await attempt(
        service,
        lambda: post(service, ACTIVATE, body, headers),
        Refused(401, "SIGNATURE_MISSING", stored=False),
    )


@pytest.mark.parametrize(
    ("partner_id", "header"), [("JWSA", "X-JWS-Signature"), ("HSJA", "Signature")]
)
async def test_doubled_signature_header(service, partner_id, header):
    signed, headers = sign(
        service, partner_id, ACTIVATE, encode("json", ACTIVATE, activation(service))
    )
    doubled = CIMultiDict(headers)
    doubled.add(header, headers[header])

    await attempt(
        service,
        lambda: post(service, ACTIVATE, signed, doubled),
        Refused(401, "SIGNATURE_INVALID", stored=False),
    )


# --- XML: wrapping, comments, DTDs --------------------------------------------------------------


async def test_wrapped_xml_signature(service):
    genuine, headers = sign(service, "XMLA", ACTIVATE, encode("xml", ACTIVATE, activation(service)))
    inner = genuine.split(b"?>", 1)[1]
    forged = encode("xml", ACTIVATE, activation(service, mobile="0599999999"))
    wrapped = forged.replace(b"</ActivationRequest>", inner + b"</ActivationRequest>")

    await attempt(
        service,
        lambda: post(service, ACTIVATE, wrapped, headers),
        Refused(401, "SIGNATURE_INVALID", stored=False),
    )


async def test_comment_split_xml_text(service):
    signed, headers = sign(service, "XMLA", ACTIVATE, encode("xml", ACTIVATE, activation(service)))
    split = signed.replace(b"<BankCustomerRef>c-1", b"<BankCustomerRef>c<!---->-1", 1)

    await attempt(
        service,
        lambda: post(service, ACTIVATE, split, headers),
        Refused(401, "SIGNATURE_INVALID", stored=False),
    )


@pytest.mark.parametrize("name", ["billion_laughs.xml", "xxe_file.xml", "external_dtd.xml"])
async def test_dtds_and_entities(service, name):
    body = (DATA / name).read_bytes()
    headers = {"Content-Type": "application/xml", "X-Partner-Id": "XMLA"}

    await attempt(
        service,
        lambda: post(service, ACTIVATE, body, headers),
        Refused(400, "MALFORMED_MESSAGE", stored=False),
    )


async def test_a_relative_namespace_uri(service):
    """Well-formed XML that libxml2 cannot canonicalise: a malformed message, not a 500."""
    signed, headers = sign(service, "XMLA", ACTIVATE, encode("xml", ACTIVATE, activation(service)))
    ns = b'xmlns="urn:bank-adapter:v1"'
    assert ns in signed
    body = signed.replace(ns, ns + b' xmlns:a="b"', 1)

    await attempt(
        service,
        lambda: post(service, ACTIVATE, body, headers),
        Refused(400, "MALFORMED_MESSAGE", stored=False),
    )


# --- transport and bytes -------------------------------------------------------------------------


@pytest.mark.parametrize("partner_id", ALL_PARTNERS)
async def test_oversized(service, partner_id):
    body = b" " * (64 * 1024 + 1)
    headers = {
        "Content-Type": f"application/{fmt(service, partner_id)}",
        "X-Partner-Id": partner_id,
    }

    await attempt(
        service,
        lambda: post(service, ACTIVATE, body, headers),
        Refused(413, "PAYLOAD_TOO_LARGE", stored=False),
    )


@pytest.mark.parametrize("partner_id", ALL_PARTNERS)
async def test_wrong_format(service, partner_id):
    other = "xml" if fmt(service, partner_id) == "json" else "json"
    body = encode(other, ACTIVATE, activation(service))
    headers = {"Content-Type": f"application/{other}", "X-Partner-Id": partner_id}

    await attempt(
        service,
        lambda: post(service, ACTIVATE, body, headers),
        Refused(415, "FORMAT_NOT_ALLOWED", stored=False),
    )


@pytest.mark.parametrize("partner_id", ["JWSA", "HSJA", "HSXA"])
async def test_signed_bytes_that_do_not_parse(service, partner_id):
    """Only profiles that sign raw bytes can sign these; xmldsig needs a document."""

    await attempt(
        service,
        lambda: post(service, ACTIVATE, *sign(service, partner_id, ACTIVATE, b"\xff{<x")),
        Refused(400, "MALFORMED_MESSAGE", stored=False),
    )


async def test_unknown_partner(service):
    signed, headers = sign(service, "JWSA", ACTIVATE, encode("json", ACTIVATE, activation(service)))

    await attempt(
        service,
        lambda: post(service, ACTIVATE, signed, headers | {"X-Partner-Id": "ZZZZ"}),
        Refused(401, "UNKNOWN_PARTNER", stored=False),
    )


@pytest.mark.parametrize("partner_id", ["SUSP", "XSUS", "HSUS"])
async def test_suspended_partner(service, partner_id):
    data = activation(service)

    await sent(service, partner_id, ACTIVATE, data, Refused(403, "PARTNER_SUSPENDED", stored=False))


# --- absurd shapes -------------------------------------------------------------------------------


async def test_absurd_xml_shape_before_the_signature(service):
    """The defect-3 body: thousands of attributes on one element, a well-shaped signature."""
    signed, headers = sign(service, "XMLR", ACTIVATE, encode("xml", ACTIVATE, activation(service)))
    attributes = " ".join(f'a{i}="v"' for i in range(5000)).encode()
    body = signed.replace(b"<ActivationRequest ", b"<ActivationRequest " + attributes + b" ", 1)
    assert len(body) <= 64 * 1024

    await attempt(
        service,
        lambda: post(service, ACTIVATE, body, headers),
        Refused(400, "MALFORMED_MESSAGE", stored=False),
    )


@pytest.mark.parametrize("partner_id", JSON_PARTNERS)
async def test_absurd_json_shape_signed(service, partner_id):
    data = activation(service, bankCustomerRef={"a": {"b": {"c": {"d": {"e": {"f": {"g": {}}}}}}}})
    body = json.dumps(data).encode()

    await attempt(
        service,
        lambda: post(service, ACTIVATE, *sign(service, partner_id, ACTIVATE, body)),
        Refused(400, "MALFORMED_MESSAGE", stored=False),
    )


# --- replay and freshness ----------------------------------------------------------------------


@pytest.mark.parametrize("partner_id", ALL_PARTNERS)
async def test_reused_message_id_with_another_body(service, partner_id):
    first = activation(service, idNumber="1000000017")  # not Luhn-valid: refused, stored
    assert (await send(service, partner_id, ACTIVATE, first)).code == "INVALID_ID_NUMBER"
    again = first | {"bankCustomerRef": "c-other"}

    await attempt(
        service,
        lambda: send(service, partner_id, ACTIVATE, again),
        Refused(409, "MESSAGE_ID_REUSED", stored=False),
    )


@pytest.mark.parametrize("partner_id", ALL_PARTNERS)
async def test_stale_message(service, partner_id):
    data = activation(service)
    data["timestamp"] = (service.runtime.clock() - timedelta(hours=1)).isoformat()

    await sent(service, partner_id, ACTIVATE, data, Refused(400, "STALE_MESSAGE", stored=True))


# --- content that used to become a 5xx -----------------------------------------------------------


@pytest.mark.parametrize("partner_id", ALL_PARTNERS)
@pytest.mark.parametrize(
    "paid_at",
    [
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:00:00+14:00",
        "2100-01-01T00:00:00Z",
        "2000-01-01T00:00:00+14:00",  # 1999 in UTC: it would come back so on a statement
    ],
)
async def test_paid_at_outside_the_contracts_years(service, partner_id, paid_at):
    data = payment(service, paidAt=paid_at)

    answer = await sent(service, partner_id, PAY, data, Refused(400, "SCHEMA_INVALID", stored=True))
    assert b"aidAt" in answer.body  # the field is named: paidAt, or /PaymentNotification/PaidAt


@pytest.mark.parametrize("partner_id", JSON_PARTNERS)
@pytest.mark.parametrize("id_number", ["1000000016\x00", "\x001000000016", "10000\x0000016"])
async def test_nul_in_id_number(service, partner_id, id_number):
    data = activation(service, idNumber=id_number)

    await sent(service, partner_id, ACTIVATE, data, Refused(400, "INVALID_ID_NUMBER", stored=True))


@pytest.mark.parametrize("partner_id", JSON_PARTNERS)
@pytest.mark.parametrize("mobile", ["0500000001\x00", "\x1b0500000001"])
async def test_control_characters_in_a_mobile(service, partner_id, mobile):
    registered, _ = await service.register()
    data = activation(service, idNumber=registered, mobile=mobile)

    await sent(service, partner_id, ACTIVATE, data, Refused(400, "INVALID_MOBILE", stored=True))


@pytest.mark.parametrize("partner_id", JSON_PARTNERS)
@pytest.mark.parametrize("text", ["c\x00", "c\x7f", "c\u0085", "c\u009f"])
async def test_control_characters_in_text_fields(service, partner_id, text):
    data = payment(service, bankPaymentRef=text)

    answer = await sent(service, partner_id, PAY, data, Refused(400, "SCHEMA_INVALID", stored=True))
    assert b"bankPaymentRef" in answer.body


# --- money and identity formats ------------------------------------------------------------------


@pytest.mark.parametrize("partner_id", ALL_PARTNERS)
@pytest.mark.parametrize("amount", ["650", "650.0", "6.5e2", "٦٥٠.٠٠", "-650.00", "0650.00"])
async def test_money_formats(service, partner_id, amount):
    data = payment(service, amount=amount)

    await sent(service, partner_id, PAY, data, Refused(400, "SCHEMA_INVALID", stored=True))


@pytest.mark.parametrize("partner_id", JSON_PARTNERS)
async def test_an_amount_as_a_json_number(service, partner_id):
    data = payment(service, amount=650.00)

    await sent(service, partner_id, PAY, data, Refused(400, "SCHEMA_INVALID", stored=True))


@pytest.mark.parametrize("partner_id", ALL_PARTNERS)
@pytest.mark.parametrize("id_number", ["١٠٠٠٠٠٠٠١٦", "1000 000016", "１０００００００１６"])
async def test_id_number_formats(service, partner_id, id_number):
    data = activation(service, idNumber=id_number)

    await sent(service, partner_id, ACTIVATE, data, Refused(400, "INVALID_ID_NUMBER", stored=True))


@pytest.mark.parametrize("partner_id", JSON_PARTNERS)
async def test_a_lone_surrogate_in_a_json_string(service, partner_id):
    """No UTF-8 column holds half a UTF-16 pair: refused as it is parsed."""
    data = payment(service, bankPaymentRef="ref-\ud800")

    await sent(service, partner_id, PAY, data, Refused(400, "MALFORMED_MESSAGE", stored=False))


# --- paths: only the contract's, byte for byte ------------------------------------------------


@pytest.mark.parametrize("partner_id", ALL_PARTNERS)
@pytest.mark.parametrize(
    "raw_path", ["/v1/%70ayments", "/v1/payments%2Fstatus", "/v1/%2570ayments"]
)
async def test_a_percent_encoded_path_is_no_path_of_the_contract(service, partner_id, raw_path):
    """RFC 9421 @path and JWS htu are the path as sent: the router decodes `%70` to `p`,
    so the adapter refuses any spelling but the contract's own, signed over either form."""
    before = await counts(service)
    body = encode(fmt(service, partner_id), PAY, payment(service))
    for signed_path in (raw_path, PAY):
        signed, headers = sign(service, partner_id, PAY, body, signed_path=signed_path)
        async with service.http.post(
            URL(service.url + raw_path, encoded=True), data=signed, headers=headers
        ) as response:
            assert response.status == 404
            assert b"NOT_FOUND" in await response.read()
    assert await counts(service) == before
