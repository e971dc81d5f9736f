"""Shape limits (`core/limits.py`): every legitimate message fits with room, absurd shapes
are refused right after the parse, before canonicalisation or any signature work."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import xmlsec
from cryptography.hazmat.primitives import serialization
from lxml import etree
from pydantic import BaseModel

from bank_adapter.core import codec_json, codec_xml, limits
from bank_adapter.core.httpsig import HttpSigProfile
from bank_adapter.core.jws import JwsProfile
from bank_adapter.core.keys import SigningKey, generate
from bank_adapter.core.limits import ANY_JSON, ANY_XML, REQUEST_XML, ShapeError
from bank_adapter.core.messages import OPERATIONS, TEXT_PATTERN, Statement
from bank_adapter.core.signing import VerifyPolicy
from bank_adapter.core.wire import WireRequest
from bank_adapter.core.xmldsig import DS_NS, XmlDsigProfile
from bank_adapter.core.xmlparse import parse_xml
from bank_adapter.errors import AdapterError, Code
from tests.certs import self_signed

NOW = datetime(2026, 3, 1, 6, 30, tzinfo=UTC)
LAST_MOMENT = datetime(2099, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=14)))
WIDE_TEXT = "ي"  # two bytes in UTF-8, allowed by TEXT_PATTERN

# --- the largest legitimate messages ---------------------------------------------------------


def largest(model_cls: type[BaseModel]) -> Any:
    """An instance of `model_cls` with every field present at its largest."""
    schema = model_cls.model_json_schema(by_alias=True)
    return model_cls.model_validate(_object(schema, schema.get("$defs", {})))


def _object(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    values = {name: _value(spec, defs) for name, spec in schema["properties"].items()}
    if "billNumber" in values and "idNumber" in values and "bills" not in values:
        del values["billNumber"]  # BillInquiry takes exactly one of the two
    return values


def _value(spec: dict[str, Any], defs: dict[str, Any]) -> Any:
    spec = next((v for v in spec.get("anyOf", [spec]) if v.get("type") != "null"), spec)
    if "$ref" in spec:
        target = defs[spec["$ref"].rsplit("/", 1)[1]]
        return target["enum"][-1] if "enum" in target else _object(target, defs)
    if "enum" in spec:
        return spec["enum"][-1]
    if spec.get("type") == "array":
        return [_value(spec["items"], defs)] * spec["maxItems"]
    scalars = {
        "uuid": uuid.UUID(int=2**128 - 1),
        "date": date(2099, 12, 31),
        "date-time": LAST_MOMENT,
    }
    if spec.get("format") in scalars:
        return scalars[spec["format"]]
    if spec.get("type") == "boolean":
        return True
    if spec.get("type") == "integer":
        return spec["maximum"]
    if "examples" in spec:  # an amount
        return Decimal("9999999999999.99")
    if spec.get("pattern") not in (None, TEXT_PATTERN):
        return "f" * 64  # the checksum
    return WIDE_TEXT * spec["maxLength"]


def certificate_of(key: SigningKey) -> str:
    certificate = self_signed(key.private_key, name="A bank with a long name " * 2)
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")


def with_certificate(body: bytes, key: SigningKey) -> bytes:
    """What Java XML-DSig tooling sends: the certificate in KeyInfo too (never trusted)."""
    root = etree.fromstring(body)
    key_info = root.find(f"{{{DS_NS}}}Signature/{{{DS_NS}}}KeyInfo")
    assert key_info is not None
    x509_data = etree.SubElement(key_info, f"{{{DS_NS}}}X509Data")
    etree.SubElement(x509_data, f"{{{DS_NS}}}X509SubjectName").text = "CN=A bank"
    etree.SubElement(x509_data, f"{{{DS_NS}}}X509Certificate").text = certificate_of(key)
    return etree.tostring(root.getroottree(), encoding="UTF-8", xml_declaration=True)


@pytest.fixture(scope="module")
def rsa_key() -> SigningKey:
    return SigningKey("bank-2026-01-with-a-long-key-id", generate("RSA"))


def shape(root: etree._Element) -> dict[str, float]:
    return {
        "depth": max(len(list(element.iterancestors())) + 1 for element in root.iter()),
        "nodes": root.xpath("count(//node())"),
        "all_attributes": root.xpath("count(//@*)"),
        "text": root.xpath("string-length(string(/))"),
    }


def assert_room(root: etree._Element, bound: limits.XmlLimits, share: float) -> None:
    """The document uses at most `share` of each limit."""
    for name, used in shape(root).items():
        assert used <= getattr(bound, name) * share, (name, used)


@pytest.mark.parametrize("path", OPERATIONS)
def test_the_largest_request_of_each_operation_fits_with_room(
    path: str, rsa_key: SigningKey
) -> None:
    op = OPERATIONS[path]
    body = codec_xml.encode_xml(largest(op.request_model), op.request_root)
    signed = XmlDsigProfile().sign_request(
        "POST", path, "application/xml", body, (), rsa_key, "RSA-SHA256", NOW
    )
    sent = with_certificate(signed.body, rsa_key)

    assert len(sent) < 16 * 1024
    assert_room(parse_xml(sent, REQUEST_XML), REQUEST_XML, share=0.5)
    # JSON: flat objects, far inside the limits.
    data = codec_json.decode_json(codec_json.encode_json(largest(op.request_model)))
    assert len(data) <= ANY_JSON.members / 4


def test_the_largest_statement_page_fits_both_formats(rsa_key: SigningKey) -> None:
    page = largest(Statement)
    assert len(page.entries) == 5000
    signed = XmlDsigProfile().sign_response(
        200, "application/xml", codec_xml.encode_xml(page, "Statement"), rsa_key, NOW
    )
    policy = VerifyPolicy({rsa_key.kid: rsa_key.public}, frozenset({"RSA-SHA256"}), NOW)
    verified = XmlDsigProfile().verify_response(200, {}, signed.body, policy)
    assert verified.xml_root is not None
    assert_room(verified.xml_root, ANY_XML, share=0.5)

    data = codec_json.decode_json(codec_json.encode_json(page))
    assert len(data["entries"]) == 5000  # type: ignore[arg-type]
    assert ANY_JSON.values / 2 >= 5000 * 6


# --- absurd XML shapes -------------------------------------------------------------------------

SIGNED_SKELETON = (
    '<ActivationRequest xmlns="urn:bank-adapter:v1" {attributes}>{inside}'
    '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo/>'
    "</ds:Signature></ActivationRequest>"
)


def document(attributes: str = "", inside: str = "") -> bytes:
    return SIGNED_SKELETON.format(attributes=attributes, inside=inside).encode()


XML_ATTACKS = {
    "attributes on one element": document(" ".join(f'a{i}="v"' for i in range(17))),
    "thousands of attributes": document(" ".join(f'a{i}="v"' for i in range(7000))),
    "attributes spread out": document(inside='<x a="1" b="2" c="3"/>' * 22),
    "deep nesting": document(inside="<a>" * 16 + "</a>" * 16),
    "many elements": document(inside="<a/>" * 600),
    "many comments": document(inside="<!---->" * 600),
    "many text nodes": document(inside="<a/>x" * 300),
    "long text": document(inside="<a>" + "x" * 65_537 + "</a>"),
    "long attribute values": document('a="' + "x" * 65_537 + '"'),
}


@pytest.mark.parametrize("attack", XML_ATTACKS)
def test_absurd_xml_is_malformed_before_anything_else(attack: str) -> None:
    with pytest.raises(AdapterError) as refused:
        parse_xml(XML_ATTACKS[attack], REQUEST_XML)
    assert refused.value.code is Code.MALFORMED_MESSAGE
    assert "beyond the limits" in refused.value.detail


@pytest.mark.parametrize(
    ("attack", "allowed"),
    [
        ("attributes on one element", document(" ".join(f'a{i}="v"' for i in range(16)))),
        ("deep nesting", document(inside="<a>" * 14 + "</a>" * 14)),
        ("long text", document(inside="<a>" + "x" * 60_000 + "</a>")),
    ],
)
def test_just_inside_a_limit_is_accepted(attack: str, allowed: bytes) -> None:
    parse_xml(allowed, REQUEST_XML)
    with pytest.raises(AdapterError):
        parse_xml(XML_ATTACKS[attack], REQUEST_XML)


def test_responses_may_be_large_where_requests_may_not() -> None:
    body = document(inside="<a/>" * 600)
    assert parse_xml(body) is not None  # the default: any message
    with pytest.raises(AdapterError):
        parse_xml(body, REQUEST_XML)


def test_the_xmldsig_verifier_refuses_the_shape_before_canonicalising(
    monkeypatch: pytest.MonkeyPatch, rsa_key: SigningKey
) -> None:
    """The 64 KiB body with thousands of attributes and a well-shaped signature: refused
    without libxmlsec ever being asked (no canonicalisation, no digest)."""
    op = OPERATIONS["/v1/activations"]
    body = codec_xml.encode_xml(largest(op.request_model), op.request_root)
    signed = (
        XmlDsigProfile()
        .sign_request("POST", op.path, "application/xml", body, (), rsa_key, "RSA-SHA256", NOW)
        .body
    )
    attributes = " ".join(f'a{i}="v"' for i in range(6000)).encode()
    attack = signed.replace(b"<ActivationRequest ", b"<ActivationRequest " + attributes + b" ", 1)
    assert 60_000 < len(attack) <= 64 * 1024

    def never(*_args: object) -> None:
        raise AssertionError("libxmlsec was asked")

    monkeypatch.setattr(xmlsec, "SignatureContext", never)
    policy = VerifyPolicy({rsa_key.kid: rsa_key.public}, frozenset({"RSA-SHA256"}), NOW)
    with pytest.raises(AdapterError) as refused:
        XmlDsigProfile().verify_request(WireRequest("POST", op.path, {}, attack), policy)
    assert refused.value.code is Code.MALFORMED_MESSAGE


# --- absurd JSON shapes ------------------------------------------------------------------------


def nested(depth: int) -> bytes:
    return ('{"a":' * depth + "1" + "}" * depth).encode()


JSON_ATTACKS = {
    "deep nesting": nested(9),
    "deep arrays": b'{"a":' + b"[" * 8 + b"]" * 8 + b"}",
    "many members": json.dumps({f"k{i}": 1 for i in range(65)}).encode(),
    "long array": json.dumps({"a": [0] * 10_001}).encode(),
    "many values": json.dumps({"a": [[0] * 10_000] * 10, "b": [0] * 10}).encode(),
}


@pytest.mark.parametrize("attack", JSON_ATTACKS)
def test_absurd_json_is_malformed(attack: str) -> None:
    with pytest.raises(AdapterError) as refused:
        codec_json.decode_json(JSON_ATTACKS[attack])
    assert refused.value.code is Code.MALFORMED_MESSAGE
    assert "beyond the limits" in refused.value.detail


def test_json_just_inside_the_limits_is_accepted() -> None:
    codec_json.decode_json(nested(8))
    codec_json.decode_json(json.dumps({f"k{i}": 1 for i in range(64)}).encode())
    codec_json.decode_json(json.dumps({"a": [0] * 10_000}).encode())


@pytest.mark.parametrize("value", [1, "x", None, [], {}])
def test_scalars_and_empty_containers_are_within_any_limit(value: object) -> None:
    limits.check_json(value, limits.JWS_HEADER)


def test_the_value_count_is_over_the_whole_document() -> None:
    with pytest.raises(ShapeError, match="more than 100000 values"):
        limits.check_json({"a": [[0] * 10_000] * 10, "b": [0]}, ANY_JSON)


# --- signature headers -------------------------------------------------------------------------

KEY = SigningKey("bank-1", generate("EC-P256"))
POLICY = VerifyPolicy({"bank-1": KEY.public}, frozenset({"ES256", "ecdsa-p256-sha256"}), NOW)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@pytest.mark.parametrize(
    "header",
    [
        "e" * 4097,
        _b64(json.dumps({"alg": "ES256", "kid": "bank-1", "x": [[[[1]]]]}).encode()) + "..AA",
        _b64(json.dumps({"alg": "ES256", **{f"k{i}": 1 for i in range(40)}}).encode()) + "..AA",
    ],
)
def test_an_absurd_jws_header_is_signature_invalid(header: str) -> None:
    request = WireRequest("POST", "/v1/payments", {"x-jws-signature": header}, b"{}")
    with pytest.raises(AdapterError) as refused:
        JwsProfile().verify_request(request, POLICY)
    assert refused.value.code is Code.SIGNATURE_INVALID


@pytest.mark.parametrize(
    "field",
    ["signature-input", "signature", "content-digest"],
)
@pytest.mark.parametrize("size", ["long", "many members"])
def test_absurd_http_signature_fields_are_signature_invalid(field: str, size: str) -> None:
    signed = HttpSigProfile().sign_request(
        "POST", "/v1/payments", "application/json", b"{}",
        (("X-Partner-Id", "BANK"),), KEY, "ecdsa-p256-sha256", NOW,
    )  # fmt: skip
    headers = {name.lower(): value for name, value in signed.headers}
    headers |= {"content-type": "application/json", "x-partner-id": "BANK"}
    extra = ", ".join(f"x{i}=1" for i in range(16)) if size == "many members" else "x" * 4097
    headers[field] = f"{headers[field]}, {extra}" if size == "many members" else extra
    with pytest.raises(AdapterError) as refused:
        HttpSigProfile().verify_request(WireRequest("POST", "/v1/payments", headers, b"{}"), POLICY)
    assert refused.value.code is Code.SIGNATURE_INVALID
    assert "members" in refused.value.detail or "characters" in refused.value.detail
