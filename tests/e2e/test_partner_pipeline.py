"""The partner pipeline over real HTTP: transport checks, one test per signature
rejection reason, schema and freshness, and that every error answer is signed."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from uuid import uuid4

import pytest

from bank_adapter.client import RESPONSE_ALGORITHMS, PartnerClient
from bank_adapter.core.jws import JwsProfile
from bank_adapter.core.keys import SigningKey, generate
from bank_adapter.core.messages import ActivationRequest
from bank_adapter.core.signing import VerifyPolicy

PATH = "/v1/activations"


def activation(client: PartnerClient, **fields) -> ActivationRequest:
    values = {"id_number": "1000000008", "mobile": "0500000001", "bank_customer_ref": "c"} | fields
    return ActivationRequest(**client.common("APP"), **values)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def raw_post(service, path, body, headers):
    async with service.http.post(service.url + path, data=body, headers=headers) as response:
        return (
            response.status,
            {k.lower(): v for k, v in response.headers.items()},
            await response.read(),
        )


def assert_jws_signed_problem(service, status, headers, body, code):
    """The answer is a problem+json with `code`, signed by the adapter (detached JWS)."""
    assert headers["content-type"].startswith("application/problem+json")
    policy = VerifyPolicy(service.adapter_keys, RESPONSE_ALGORITHMS, service.runtime.clock())
    JwsProfile().verify_response(status, headers, body, policy)
    problem = json.loads(body)
    assert problem["code"] == code
    assert problem["status"] == status
    return problem


# --- transport: partner, suspension, size, format --------------------------------------


@pytest.mark.parametrize("partner_header", [None, "ZZZZ", "jwsa"])
async def test_unknown_partner_gets_a_jws_signed_problem(service, partner_header):
    client = service.client("JWSA")
    body, headers = client.sign(PATH, client.encode(PATH, activation(client)))
    headers.pop("X-Partner-Id")
    if partner_header:
        headers["X-Partner-Id"] = partner_header

    status, reply_headers, reply = await raw_post(service, PATH, body, headers)

    assert status == 401
    problem = assert_jws_signed_problem(service, status, reply_headers, reply, "UNKNOWN_PARTNER")
    # Contract 1.1 section 3: the body names a readable MessageId, so the answer does too.
    assert problem["inReplyTo"] == json.loads(body)["messageId"]


async def test_unknown_partner_for_an_xml_bank_is_still_a_signed_json_problem(service):
    client = service.client("XMLA")
    body, headers = client.sign(PATH, client.encode(PATH, activation(client)))
    headers["X-Partner-Id"] = "NONE"

    status, reply_headers, reply = await raw_post(service, PATH, body, headers)

    assert_jws_signed_problem(service, status, reply_headers, reply, "UNKNOWN_PARTNER")


@pytest.mark.parametrize("partner_id", ["SUSP", "XSUS", "HSUS"])
async def test_suspended_partner_is_answered_in_its_own_profile(service, partner_id):
    client = service.client(partner_id)
    reply = await client.send(PATH, activation(client))  # verifies in the partner's profile
    assert (reply.status, reply.code) == (403, "PARTNER_SUSPENDED")
    expected = "application/xml" if client.config.format == "xml" else "application/problem+json"
    assert reply.headers["content-type"].startswith(expected)


@pytest.mark.parametrize("partner_id", ["JWSA", "XMLA"])
async def test_oversized_body_is_refused_before_parsing(service, partner_id):
    client = service.client(partner_id)
    limit = service.runtime.settings.max_body_bytes
    content_type = "application/json" if partner_id == "JWSA" else "application/xml"
    headers = {"Content-Type": content_type, "X-Partner-Id": partner_id}

    status, reply_headers, body = await raw_post(service, PATH, b" " * (limit + 1), headers)

    client.verify(status, reply_headers, body)
    assert status == 413
    assert b"PAYLOAD_TOO_LARGE" in body


@pytest.mark.parametrize(
    ("partner_id", "content_type"),
    [
        ("JWSA", "application/xml"),
        ("JWSA", "text/plain"),
        ("XMLA", "application/json"),
        ("XMLA", None),
    ],
)
async def test_wrong_format_is_415_even_unsigned(service, partner_id, content_type):
    headers = {"X-Partner-Id": partner_id}
    if content_type:
        headers["Content-Type"] = content_type
    status, reply_headers, body = await raw_post(service, PATH, b"<x/>", headers)

    assert status == 415
    reply = service.client(partner_id)
    reply.verify(status, reply_headers, body)  # signed in the partner's own profile
    assert b"FORMAT_NOT_ALLOWED" in body


async def test_get_on_a_partner_path_is_a_signed_405(service):
    async with service.http.get(service.url + PATH, headers={"X-Partner-Id": "JWSA"}) as response:
        headers = {k.lower(): v for k, v in response.headers.items()}
        body = await response.read()
    service.client("JWSA").verify(response.status, headers, body)
    assert response.status == 405
    assert json.loads(body)["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize("partner_id", ["LIMT", "XLIM"])
async def test_rate_limit_answers_429_with_retry_after(service, partner_id):
    client = service.client(partner_id)
    replies = [await client.send(PATH, activation(client)) for _ in range(4)]

    limited = [reply for reply in replies if reply.status == 429]
    assert limited, [reply.status for reply in replies]
    assert limited[0].code == "RATE_LIMITED"
    assert int(limited[0].headers["retry-after"]) >= 1


# --- signatures: one test per rejection reason ------------------------------------------


async def test_missing_signature(service):
    client = service.client("JWSA")
    body = client.encode(PATH, activation(client))
    headers = {"Content-Type": "application/json", "X-Partner-Id": "JWSA"}

    status, reply_headers, reply = await raw_post(service, PATH, body, headers)

    assert status == 401
    client.verify(status, reply_headers, reply)
    assert json.loads(reply)["code"] == "SIGNATURE_MISSING"


@pytest.mark.parametrize("partner_id", ["JWSA", "XMLA", "HSJA", "HSXA"])
async def test_tampered_body(service, partner_id):
    client = service.client(partner_id)
    body, headers = client.sign(PATH, client.encode(PATH, activation(client)))
    tampered = body.replace(b"0500000001", b"0500000002")
    assert tampered != body

    reply = await client.post(PATH, tampered, headers)

    assert (reply.status, reply.code) == (401, "SIGNATURE_INVALID")


async def test_unknown_key(service):
    stranger = SigningKey("nobody-1", generate("EC-P256"))
    client = service.client("JWSA", key=stranger)
    reply = await client.send(PATH, activation(client))
    assert (reply.status, reply.code) == (401, "UNKNOWN_KEY")


async def test_key_of_another_partner_cannot_sign_for_this_one(service, test_partners):
    # JWSR's registered key and kid, presented as JWSA: JWSA's key ring does not have it.
    client = service.client("JWSA", key=test_partners["JWSR"].key, algorithm="PS256")
    reply = await client.send(PATH, activation(client))
    assert reply.status == 401
    assert reply.code in {"UNKNOWN_KEY", "ALGORITHM_NOT_ALLOWED"}
    same_alg = service.client(
        "JWSA", key=SigningKey("jwsr-1", test_partners["JWSA"].key.private_key)
    )
    reply = await same_alg.send(PATH, activation(same_alg))
    assert (reply.status, reply.code) == (401, "UNKNOWN_KEY")


async def test_expired_key_is_unknown(service, expired_key):
    client = service.client("JWSA", key=expired_key)
    reply = await client.send(PATH, activation(client))
    assert (reply.status, reply.code) == (401, "UNKNOWN_KEY")


async def test_algorithm_outside_the_partners_list(service):
    # HSXA allows ed25519 only; an RSA key with rsa-pss-sha512 is refused on the alg.
    rsa_key = SigningKey("hsxa-1", generate("RSA"))
    client = service.client("HSXA", key=rsa_key, algorithm="rsa-pss-sha512")
    reply = await client.send(PATH, activation(client))
    assert (reply.status, reply.code) == (401, "ALGORITHM_NOT_ALLOWED")


def jws_header(protected: dict, body: bytes, signature: bytes = b"") -> str:
    return f"{b64(json.dumps(protected).encode())}..{b64(signature)}"


@pytest.mark.parametrize("alg", ["none", "HS256", "RS256"])
async def test_jws_alg_none_hmac_and_unlisted_are_refused(service, alg):
    client = service.client("JWSA")
    body = client.encode(PATH, activation(client))
    protected = {"alg": alg, "kid": "jwsa-1", "htm": "POST", "htu": PATH}
    headers = {
        "Content-Type": "application/json",
        "X-Partner-Id": "JWSA",
        "X-JWS-Signature": jws_header(protected, body, b"sig"),
    }
    reply = await client.post(PATH, body, headers)
    assert (reply.status, reply.code) == (401, "ALGORITHM_NOT_ALLOWED")


@pytest.mark.parametrize(("method", "path"), [("GET", PATH), ("POST", "/v1/payments")])
async def test_jws_wrong_htm_or_htu(service, method, path):
    client = service.client("JWSA")
    body = client.encode(PATH, activation(client))
    signed = client.profile.sign_request(
        method,
        path,
        "application/json",
        body,
        (),
        client.config.key,
        "ES256",
        service.runtime.clock(),
    )
    headers = {"Content-Type": "application/json", "X-Partner-Id": "JWSA", **dict(signed.headers)}

    reply = await client.post(PATH, body, headers)

    assert (reply.status, reply.code) == (401, "SIGNATURE_INVALID")


async def test_http_sig_signed_for_another_path(service):
    client = service.client("HSJA")
    body = client.encode(PATH, activation(client))
    _, headers = client.sign("/v1/payments", body)
    reply = await client.post(PATH, body, headers)
    assert (reply.status, reply.code) == (401, "SIGNATURE_INVALID")


async def test_http_sig_missing_content_digest(service):
    client = service.client("HSJA")
    body, headers = client.sign(PATH, client.encode(PATH, activation(client)))
    headers.pop("Content-Digest")
    reply = await client.post(PATH, body, headers)
    assert (reply.status, reply.code) == (401, "SIGNATURE_INVALID")


async def test_duplicate_security_headers_are_refused(service):
    client = service.client("JWSA")
    body, headers = client.sign(PATH, client.encode(PATH, activation(client)))
    raw = [*list(headers.items()), ("X-JWS-Signature", headers["X-JWS-Signature"])]
    async with service.http.post(service.url + PATH, data=body, headers=raw) as response:
        payload = json.loads(await response.read())
    assert (response.status, payload["code"]) == (401, "SIGNATURE_INVALID")


async def test_xml_signed_for_another_operation(service):
    client = service.client("XMLA")
    # A correctly signed ActivationRequest sent to the confirm path.
    body, headers = client.sign(PATH, client.encode(PATH, activation(client)))
    reply = await client.post("/v1/activations/confirm", body, headers)
    assert (reply.status, reply.code) == (401, "SIGNATURE_INVALID")


async def test_xml_with_embedded_attacker_key(service):
    attacker = SigningKey("xmla-1", generate("EC-P256"))
    client = service.client("XMLA", key=attacker)
    body, headers = client.sign(PATH, client.encode(PATH, activation(client)))
    pem = attacker.public.pem().encode()
    with_key = body.replace(
        b"</ds:KeyName>",
        b"</ds:KeyName><ds:X509Data><ds:X509Certificate>"
        + pem[27:-26]
        + b"</ds:X509Certificate></ds:X509Data>",
    )
    reply = await client.post(PATH, with_key, headers)
    assert (reply.status, reply.code) == (401, "SIGNATURE_INVALID")


async def test_xml_signature_wrapping(service):
    client = service.client("XMLA")
    genuine, headers = client.sign(PATH, client.encode(PATH, activation(client)))
    # Wrap the genuinely signed document inside a forged one with other values.
    inner = genuine.split(b"?>", 1)[1]
    forged = client.encode(PATH, activation(client, mobile="0599999999"))
    wrapped = forged.replace(b"</ActivationRequest>", inner + b"</ActivationRequest>")
    reply = await client.post(PATH, wrapped, headers)
    assert reply.status in (400, 401)
    assert reply.code in {"SIGNATURE_INVALID", "SIGNATURE_MISSING", "SCHEMA_INVALID"}
    assert reply.code != "SCHEMA_INVALID" or reply.status == 400


@pytest.mark.parametrize(
    "prolog",
    [
        b'<!DOCTYPE ActivationRequest [<!ENTITY x "y">]>',
        b'<!DOCTYPE ActivationRequest SYSTEM "file:///etc/passwd">',
    ],
)
async def test_xml_dtd_and_entities_are_malformed(service, prolog):
    client = service.client("XMLA")
    body, headers = client.sign(PATH, client.encode(PATH, activation(client)))
    declaration, rest = body.split(b"?>", 1)
    reply = await client.post(PATH, declaration + b"?>" + prolog + rest, headers)
    assert (reply.status, reply.code) == (400, "MALFORMED_MESSAGE")


# --- after the signature: malformed, schema, freshness ----------------------------------


async def test_malformed_json_is_400_without_in_reply_to(service):
    client = service.client("JWSA")
    reply = await client.send_body(PATH, b'{"messageId": ')
    assert (reply.status, reply.code) == (400, "MALFORMED_MESSAGE")
    assert "inReplyTo" not in reply.error


async def test_schema_errors_list_every_field_and_are_replied_to(service):
    client = service.client("JWSA")
    message_id = str(uuid4())
    body = json.dumps({"messageId": message_id, "channel": "SMS", "idNumber": 1000000008}).encode()

    reply = await client.send_body(PATH, body)

    assert (reply.status, reply.code) == (400, "SCHEMA_INVALID")
    detail = reply.error["detail"]
    for field in ("timestamp", "channel", "idNumber", "mobile", "bankCustomerRef"):
        assert field in detail
    assert reply.error["inReplyTo"] == message_id
    assert "1000000008" not in detail


async def test_xml_schema_error_names_the_element(service):
    client = service.client("XMLA")
    body = client.encode(PATH, activation(client)).replace(
        b"<Channel>APP</Channel>", b"<Channel>SMS</Channel>"
    )
    reply = await client.send_body(PATH, body)
    assert (reply.status, reply.code) == (400, "SCHEMA_INVALID")
    assert "Channel" in reply.error["description"]


@pytest.mark.parametrize(
    "skew", [timedelta(seconds=-301), timedelta(seconds=301), timedelta(days=-2)]
)
async def test_stale_message(service, skew):
    client = service.client("HSJA")
    fields = client.common("APP") | {"timestamp": service.runtime.clock() + skew}
    message = ActivationRequest(
        **fields, id_number="1000000008", mobile="0500000001", bank_customer_ref="c"
    )
    reply = await client.send(PATH, message)
    assert (reply.status, reply.code) == (400, "STALE_MESSAGE")


async def test_timestamp_within_the_window_is_fresh(service):
    client = service.client("JWSA")
    fields = client.common("APP") | {"timestamp": service.runtime.clock() - timedelta(seconds=290)}
    message = ActivationRequest(
        **fields, id_number="1000000008", mobile="0500000001", bank_customer_ref="c"
    )
    reply = await client.send(PATH, message)
    assert reply.code == "ACCOUNT_NOT_FOUND"
