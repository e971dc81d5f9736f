"""Signature diagnostics (contract section 10), profile by profile.

The bank's side is built with other implementations: joserfc for JWS, the
`http-message-signatures` library for RFC 9421, xmlsec1 (the command) for XML-DSig. A
correct request passes every check; each usual mistake fails the check the contract
says, with its hint, and `computed` holds what the bank's own tools compute from the
bytes that arrived (joserfc's signing input, the library's signature base, xmlsec1's
canonical SignedInfo and pre-digest buffer).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    encode_dss_signature,
)
from cryptography.x509.oid import NameOID
from http_message_signatures import HTTPMessageSigner, HTTPSignatureKeyResolver, algorithms
from joserfc import jws as joserfc_jws
from joserfc.jwk import ECKey
from joserfc.registry import HeaderParameter
from lxml import etree

from bank_adapter.core import mistakes
from bank_adapter.core.diagnose import CHECKS, Diagnosis, diagnose, lower_headers
from bank_adapter.core.httpsig import REQUEST_COMPONENTS
from bank_adapter.core.keys import PrivateKeyObject, SigningKey, load_private_pem
from bank_adapter.core.wire import WireRequest
from bank_adapter.partners import Partner, load_partners

ROOT = Path(__file__).resolve().parents[2]
PARTNERS = load_partners(ROOT / "partners", sandbox=True)
NOW = datetime(2026, 3, 1, 6, 30, tzinfo=UTC)
HOST = "127.0.0.1:8080"
PAYMENTS = "/v1/payments"
ACTIVATIONS = "/v1/activations"
DS = "http://www.w3.org/2000/09/xmldsig#"
BODY = json.dumps(
    {
        "messageId": "0f0e5a52-6c1b-4a8e-9d0c-3b7f6e2a1c90",
        "timestamp": "2026-03-01T09:30:00+03:00",
        "channel": "APP",
        "bankPaymentRef": "RJHI-2026-000042",
        "billNumber": "1000000000010",
        "amount": "300.00",
        "currency": "SAR",
        "paidAt": "2026-03-01T09:29:58+03:00",
    },
    separators=(",", ":"),
).encode()
INDENTED = json.dumps(json.loads(BODY), indent=2).encode()


def sandbox_key(kid: str) -> SigningKey:
    return SigningKey(
        kid, load_private_pem((ROOT / f"partners/sandbox-keys/{kid}.key.pem").read_bytes())
    )


def run(
    request: WireRequest, partners: dict[str, Partner] | None = None, **kw: object
) -> Diagnosis:
    return diagnose(request, PARTNERS if partners is None else partners, NOW, **kw)  # type: ignore[arg-type]


def failed(diagnosis: Diagnosis, check: str) -> None:
    """`check` failed, every check before it passed, and none ran after it."""
    names = [c.name for c in diagnosis.checks]
    assert names == list(CHECKS[: CHECKS.index(check) + 1]), diagnosis.as_json()
    assert [c.ok for c in diagnosis.checks] == [True] * (len(names) - 1) + [False]
    assert diagnosis.failed_check == check
    assert not diagnosis.ok
    answer = diagnosis.as_json()
    assert answer["failedCheck"] == check
    assert answer["detail"].startswith(diagnosis.checks[-1].detail)


def passed(diagnosis: Diagnosis) -> None:
    answer = diagnosis.as_json()
    assert answer["ok"] is True, answer
    assert answer["failedCheck"] is None
    assert answer["detail"] is None
    assert answer["checks"] == [{"name": name, "ok": True, "detail": None} for name in CHECKS]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def der(raw: bytes) -> bytes:
    return encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))


# --- jws: the bank signs with joserfc ----------------------------------------------------------

RJHI_KEY = sandbox_key("rjhi-test-2026-01")
_HEADERS = {
    "htm": HeaderParameter("HTTP method", "str"),
    "htu": HeaderParameter("HTTP path", "str"),
}
JOSERFC = joserfc_jws.JWSRegistry(header_registry=_HEADERS, algorithms=["ES256"])


def joserfc_signing_input(header: dict[str, str], body: bytes) -> str:
    """What joserfc signs: the first two segments of its compact serialisation."""
    compact = joserfc_jws.serialize_compact(
        header, body, ECKey.import_key(RJHI_KEY.private_key), registry=JOSERFC
    )
    return compact.rsplit(".", 1)[0]


def jws_header(**changes: str) -> dict[str, str]:
    return {"alg": "ES256", "kid": RJHI_KEY.kid, "htm": "POST", "htu": PAYMENTS, **changes}


def jws_request(
    header: dict[str, str] | None = None,
    body: bytes = BODY,
    sent_body: bytes | None = None,
    path: str = PAYMENTS,
    key: PrivateKeyObject | None = None,
) -> WireRequest:
    """Signed by joserfc over `body`; `sent_body` is what goes on the wire (default: `body`)."""
    header = header or jws_header()
    private = key or RJHI_KEY.private_key
    compact = joserfc_jws.serialize_compact(
        header, body, ECKey.import_key(private), registry=JOSERFC
    )
    headers = {
        "x-partner-id": "RJHI",
        "content-type": "application/json",
        "x-jws-signature": joserfc_jws.detach_content(compact),
        "host": HOST,
    }
    return WireRequest("POST", path, headers, body if sent_body is None else sent_body)


def with_signature(request: WireRequest, transform: object) -> WireRequest:
    protected, _, signature = request.headers["x-jws-signature"].split(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    value = f"{protected}..{transform(raw)}"  # type: ignore[operator]
    return dataclasses.replace(request, headers={**request.headers, "x-jws-signature": value})


def test_jws_a_correct_request_passes_every_check() -> None:
    diagnosis = run(jws_request())
    passed(diagnosis)
    assert diagnosis.profile == "jws"
    assert diagnosis.partner == "RJHI"
    assert diagnosis.computed == {
        "protectedHeader": jws_header(),
        "signingInput": joserfc_signing_input(jws_header(), BODY),
    }


def test_jws_body_reserialised_after_signing() -> None:
    diagnosis = run(jws_request(body=BODY, sent_body=INDENTED))
    failed(diagnosis, "signature")
    assert diagnosis.hint == mistakes.RESERIALISED.format(form="compact")
    # What the bank should have signed: the bytes that arrived.
    assert diagnosis.computed["signingInput"] == joserfc_signing_input(jws_header(), INDENTED)


@pytest.mark.parametrize(
    ("htu", "hint"),
    [
        (
            "https://sandbox.bank-adapter.example/v1/payments",
            mistakes.HTU_URL.format(path=PAYMENTS),
        ),
        ("/v1/payments?channel=APP", mistakes.HTU_QUERY.format(path=PAYMENTS)),
        ("/v1/payments/status", mistakes.HTU_OTHER.format(htu="/v1/payments/status")),
        (
            "/sandbox/v1/diagnose",
            mistakes.SIGNED_FOR_DIAGNOSE.format(sent="/sandbox/v1/diagnose", path=PAYMENTS),
        ),
    ],
    ids=["full-url", "query", "other-operation", "diagnose-endpoint"],
)
def test_jws_wrong_htu(htu: str, hint: str) -> None:
    header = jws_header(htu=htu)
    diagnosis = run(jws_request(header))
    failed(diagnosis, "binding")
    assert diagnosis.checks[-1].detail == "htu does not match the request path"
    assert diagnosis.hint == hint
    assert diagnosis.computed["protectedHeader"]["htu"] == htu
    assert diagnosis.computed["signingInput"] == joserfc_signing_input(header, BODY)


def test_jws_kid_not_registered() -> None:
    diagnosis = run(jws_request(jws_header(kid="rjhi-2026-01")))
    failed(diagnosis, "key")
    assert diagnosis.hint == (
        "a kid not registered: 'rjhi-2026-01' is not one of this partner's keys (rjhi-test-2026-01)"
    )


def test_jws_kid_differing_in_case() -> None:
    diagnosis = run(jws_request(jws_header(kid="RJHI-TEST-2026-01")))
    failed(diagnosis, "key")
    assert "differs from the registered 'rjhi-test-2026-01' in case" in (diagnosis.hint or "")


def test_jws_base64_instead_of_base64url() -> None:
    request = with_signature(jws_request(), lambda raw: base64.b64encode(raw).decode())
    diagnosis = run(request)
    failed(diagnosis, "signature_header")
    assert diagnosis.hint == mistakes.JWS_BASE64
    assert diagnosis.computed["signingInput"] == joserfc_signing_input(jws_header(), BODY)


def test_jws_der_instead_of_raw_ecdsa() -> None:
    diagnosis = run(with_signature(jws_request(), lambda raw: b64url(der(raw))))
    failed(diagnosis, "signature")
    expected = mistakes.DER_SIGNATURE.format(profile="JWS (RFC 7518 section 3.4)")
    assert diagnosis.hint == expected + mistakes.DER_VERIFIES


def test_jws_attached_instead_of_detached() -> None:
    request = jws_request()
    protected, _, signature = request.headers["x-jws-signature"].split(".")
    attached = f"{protected}.{b64url(BODY)}.{signature}"
    diagnosis = run(
        dataclasses.replace(request, headers={**request.headers, "x-jws-signature": attached})
    )
    failed(diagnosis, "signature_header")
    assert diagnosis.hint == mistakes.ATTACHED_JWS


def test_jws_signed_with_another_key() -> None:
    stranger = ec.generate_private_key(ec.SECP256R1())
    diagnosis = run(jws_request(key=stranger))
    failed(diagnosis, "signature")
    assert diagnosis.hint is None  # no usual mistake fits; the computed input is the clue
    assert diagnosis.detail == "the signature does not verify"


def test_jws_hmac_is_not_an_algorithm() -> None:
    header = jws_header(alg="HS256")
    protected = b64url(json.dumps(header).encode())
    request = jws_request()
    value = f"{protected}..{b64url(b'x' * 32)}"
    diagnosis = run(
        dataclasses.replace(request, headers={**request.headers, "x-jws-signature": value})
    )
    failed(diagnosis, "algorithm")
    assert diagnosis.hint == "alg HS256 (unsigned or shared-secret) is never accepted; use ES256"


def test_jws_missing_header_lists_what_is_missing() -> None:
    request = jws_request()
    headers = {k: v for k, v in request.headers.items() if k != "x-jws-signature"}
    diagnosis = run(dataclasses.replace(request, headers=headers))
    failed(diagnosis, "signature_header")
    assert diagnosis.computed == {}


# --- the checks every profile shares ---------------------------------------------------------


def test_unknown_partner_has_no_profile_and_nothing_computed() -> None:
    request = jws_request()
    diagnosis = run(
        dataclasses.replace(request, headers={**request.headers, "x-partner-id": "XXXX"})
    )
    failed(diagnosis, "partner")
    assert diagnosis.as_json()["profile"] is None
    assert diagnosis.computed == {}
    assert diagnosis.partner == "XXXX"


def test_missing_partner_id() -> None:
    request = jws_request()
    headers = {k: v for k, v in request.headers.items() if k != "x-partner-id"}
    diagnosis = run(dataclasses.replace(request, headers=headers))
    failed(diagnosis, "partner")
    assert diagnosis.partner is None
    assert diagnosis.hint == "every request names its bank: X-Partner-Id: <your 4-letter code>"


def test_a_suspended_partner_is_named_with_its_profile() -> None:
    request = jws_request()
    diagnosis = run(
        dataclasses.replace(request, headers={**request.headers, "x-partner-id": "BSFR"})
    )
    failed(diagnosis, "partner")
    assert diagnosis.checks[-1].detail == "this partner is suspended"
    assert diagnosis.profile == "jws"


def test_partner_id_in_lower_case() -> None:
    request = jws_request()
    diagnosis = run(
        dataclasses.replace(request, headers={**request.headers, "x-partner-id": "rjhi"})
    )
    failed(diagnosis, "partner")
    assert diagnosis.hint == "X-Partner-Id is RJHI, exactly (it was sent as 'rjhi')"


def test_format_other_than_the_partners() -> None:
    request = jws_request()
    diagnosis = run(
        dataclasses.replace(request, headers={**request.headers, "content-type": "application/xml"})
    )
    failed(diagnosis, "format")
    # Still computed: the bytes are what they are.
    assert diagnosis.computed["signingInput"] == joserfc_signing_input(jws_header(), BODY)


def test_content_type_parameters_do_not_change_the_format() -> None:
    request = jws_request()
    typed = {**request.headers, "content-type": "Application/JSON; charset=utf-8"}
    passed(run(dataclasses.replace(request, headers=typed)))


@pytest.mark.parametrize(
    ("name", "check"), [("x-jws-signature", "signature_header"), ("x-partner-id", "partner")]
)
def test_a_repeated_security_header(name: str, check: str) -> None:
    diagnosis = run(jws_request(), repeated_headers=frozenset({name}))
    failed(diagnosis, check)
    assert "more than once" in (diagnosis.checks[-1].detail or "")


def test_lower_headers_keeps_the_first_value_and_names_repeats() -> None:
    headers, repeated = lower_headers(
        [("X-Partner-Id", "RJHI"), ("x-partner-id", "NCBK"), ("Host", "h")]
    )
    assert headers == {"x-partner-id": "RJHI", "host": "h"}
    assert repeated == {"x-partner-id"}


def test_the_answer_has_the_contracts_members_only() -> None:
    answer = run(jws_request()).as_json()
    assert list(answer) == [
        "ok",
        "partner",
        "profile",
        "failedCheck",
        "detail",
        "checks",
        "computed",
    ]
    json.dumps(answer)  # plain JSON values


# --- http-sig: the bank signs with the http-message-signatures library ---------------------------

RIBL_KEY = sandbox_key("ribl-test-2026-01")
CREATED = int(NOW.timestamp())


@dataclass
class LibraryRequest:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class LibraryKeys(HTTPSignatureKeyResolver):
    private: PrivateKeyObject

    def resolve_public_key(self, key_id: str) -> object:
        return self.private.public_key()

    def resolve_private_key(self, key_id: str) -> PrivateKeyObject:
        return self.private


LIBRARY_ALGORITHMS = {
    "ed25519": algorithms.ED25519,
    "ecdsa-p256-sha256": algorithms.ECDSA_P256_SHA256,
}


def library_base(
    headers: dict[str, str],
    body: bytes | None,
    alg: str = "ed25519",
    kid: str = RIBL_KEY.kid,
    path: str = PAYMENTS,
) -> tuple[str, str]:
    """The library's signature base and @signature-params for a message with `headers`."""
    message = LibraryRequest("POST", f"http://{HOST}{path}", dict(headers))
    signer = HTTPMessageSigner(signature_algorithm=LIBRARY_ALGORITHMS[alg])
    prepared = signer.prepare(
        message, key_id=kid, created=NOW, covered_component_ids=REQUEST_COMPONENTS, body=body,
        use_existing_digest=body is None,
    )  # fmt: skip
    return prepared.signature_base.decode(), prepared.signature_params


def httpsig_request(
    body: bytes = BODY,
    *,
    partner: str = "RIBL",
    key: SigningKey = RIBL_KEY,
    alg: str = "ed25519",
    content_type: str = "application/json",
    path: str = PAYMENTS,
) -> WireRequest:
    """A request the library signs as RFC 9421 says, with the contract's components."""
    message = LibraryRequest(
        "POST", f"http://{HOST}{path}", {"Content-Type": content_type, "X-Partner-Id": partner}
    )
    signer = HTTPMessageSigner(
        signature_algorithm=LIBRARY_ALGORITHMS[alg], key_resolver=LibraryKeys(key.private_key)
    )
    signer.sign(
        message, key_id=key.kid, created=NOW, label="sig1",
        covered_component_ids=REQUEST_COMPONENTS, body=body,
    )  # fmt: skip
    headers = {name.lower(): value for name, value in message.headers.items()} | {"host": HOST}
    return WireRequest("POST", path, headers, body)


def resign(request: WireRequest, base: str, key: SigningKey = RIBL_KEY) -> WireRequest:
    """`request` signed over `base`, a hand-written (mistaken) signature base."""
    signature = base64.b64encode(key.private_key.sign(base.encode())).decode()  # type: ignore[call-arg]
    return dataclasses.replace(
        request, headers={**request.headers, "signature": f"sig1=:{signature}:"}
    )


def test_httpsig_a_correct_request_passes_every_check() -> None:
    request = httpsig_request()
    diagnosis = run(request)
    passed(diagnosis)
    base, _ = library_base({"Content-Type": "application/json", "X-Partner-Id": "RIBL"}, BODY)
    assert diagnosis.computed == {
        "signatureBase": base,
        "contentDigest": request.headers["content-digest"],
    }


def test_httpsig_a_correct_xml_request_passes_every_check() -> None:
    xml = (ROOT / "tests/data/xmldsig/activation_request.xml").read_bytes()
    sabb = sandbox_key("sabb-test-2026-01")
    message = LibraryRequest(
        "POST",
        f"http://{HOST}{ACTIVATIONS}",
        {"Content-Type": "application/xml", "X-Partner-Id": "SABB"},
    )
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.RSA_PSS_SHA512, key_resolver=LibraryKeys(sabb.private_key)
    )
    signer.sign(
        message,
        key_id=sabb.kid,
        created=NOW,
        label="sig1",
        covered_component_ids=REQUEST_COMPONENTS,
        body=xml,
    )
    headers = {name.lower(): value for name, value in message.headers.items()}
    passed(run(WireRequest("POST", ACTIVATIONS, headers, xml)))


def _mistaken_base(request: WireRequest, path: str, content_type: str = "application/json") -> str:
    params = request.headers["signature-input"].removeprefix("sig1=")
    return "\n".join(
        [
            '"@method": POST',
            f'"@path": {path}',
            f'"content-type": {content_type}',
            f'"content-digest": {request.headers["content-digest"]}',
            '"x-partner-id": RIBL',
            f'"@signature-params": {params}',
        ]
    )


@pytest.mark.parametrize(
    ("signed_path", "target", "hint"),
    [
        (
            f"https://{HOST}{PAYMENTS}",
            PAYMENTS,
            mistakes.PATH_WITH_HOST.format(signed=f"https://{HOST}{PAYMENTS}", path=PAYMENTS),
        ),
        (
            f"{HOST}{PAYMENTS}",
            PAYMENTS,
            mistakes.PATH_WITH_HOST.format(signed=f"{HOST}{PAYMENTS}", path=PAYMENTS),
        ),
        (
            f"{PAYMENTS}?ref=RJHI-1",
            f"{PAYMENTS}?ref=RJHI-1",
            mistakes.PATH_WITH_QUERY.format(signed=f"{PAYMENTS}?ref=RJHI-1"),
        ),
        (
            "/sandbox/v1/diagnose",
            "/sandbox/v1/diagnose",
            mistakes.SIGNED_FOR_DIAGNOSE.format(sent="/sandbox/v1/diagnose", path=PAYMENTS),
        ),
    ],
    ids=["scheme-and-host", "host", "query", "diagnose-endpoint"],
)
def test_httpsig_path_signed_with_host_or_query(signed_path: str, target: str, hint: str) -> None:
    request = httpsig_request()
    diagnosis = run(resign(request, _mistaken_base(request, signed_path)), target=target)
    failed(diagnosis, "signature")
    assert diagnosis.hint == hint
    base, _ = library_base({"Content-Type": "application/json", "X-Partner-Id": "RIBL"}, BODY)
    assert diagnosis.computed["signatureBase"] == base  # what the signature must cover


def test_httpsig_content_type_changed_after_signing() -> None:
    request = httpsig_request()
    request = dataclasses.replace(
        request, headers={**request.headers, "content-type": "application/json; charset=utf-8"}
    )
    diagnosis = run(resign(request, _mistaken_base(request, PAYMENTS)))
    failed(diagnosis, "signature")
    assert diagnosis.hint == mistakes.CONTENT_TYPE_CHANGED.format(
        signed="application/json", sent="application/json; charset=utf-8"
    )


def test_httpsig_content_digest_over_a_different_body() -> None:
    request = httpsig_request()
    other = BODY.replace(b'"300.00"', b'"350.00"')
    diagnosis = run(dataclasses.replace(request, body=other))
    failed(diagnosis, "digest")
    assert diagnosis.hint == mistakes.OTHER_BODY
    headers = {"Content-Type": "application/json", "X-Partner-Id": "RIBL"}
    message = LibraryRequest("POST", f"http://{HOST}{PAYMENTS}", dict(headers))
    HTTPMessageSigner(signature_algorithm=algorithms.ED25519).prepare(
        message,
        key_id=RIBL_KEY.kid,
        created=NOW,
        covered_component_ids=REQUEST_COMPONENTS,
        body=other,
    )
    assert diagnosis.computed["contentDigest"] == message.headers["Content-Digest"]
    # The base covers the Content-Digest as sent, whatever the body.
    sent = headers | {"Content-Digest": request.headers["content-digest"]}
    assert diagnosis.computed["signatureBase"] == library_base(sent, None)[0]


def test_httpsig_body_reserialised_after_signing() -> None:
    request = httpsig_request(BODY)
    diagnosis = run(dataclasses.replace(request, body=INDENTED))
    failed(diagnosis, "digest")
    assert diagnosis.hint == mistakes.RESERIALISED.format(form="compact")
    digest = base64.b64encode(hashlib.sha256(INDENTED).digest()).decode()
    assert diagnosis.computed["contentDigest"] == f"sha-256=:{digest}:"


def test_httpsig_hex_content_digest() -> None:
    request = httpsig_request()
    hexed = f"sha-256=:{hashlib.sha256(BODY).hexdigest()}:"
    diagnosis = run(
        dataclasses.replace(request, headers={**request.headers, "content-digest": hexed})
    )
    failed(diagnosis, "digest")
    assert diagnosis.hint == mistakes.HEX_DIGEST


def test_httpsig_base64url_signature() -> None:
    request = httpsig_request()
    raw = base64.b64decode(request.headers["signature"].split(":")[1])
    while not re.search(rb"[+/]", base64.b64encode(raw)):  # a signature base64url changes
        request = httpsig_request(BODY + b" ")
        raw = base64.b64decode(request.headers["signature"].split(":")[1])
    url = base64.urlsafe_b64encode(raw).decode()
    diagnosis = run(
        dataclasses.replace(request, headers={**request.headers, "signature": f"sig1=:{url}:"})
    )
    failed(diagnosis, "signature_header")
    assert diagnosis.hint == mistakes.SF_BASE64URL
    headers = {"Content-Type": "application/json", "X-Partner-Id": "RIBL"}
    assert diagnosis.computed["signatureBase"] == library_base(headers, request.body)[0]


def test_httpsig_der_instead_of_raw_ecdsa() -> None:
    echs = dataclasses.replace(
        PARTNERS["RIBL"],
        id="ECHS",
        algorithms=frozenset({"ecdsa-p256-sha256"}),
        keys=MappingProxyType({RJHI_KEY.kid: RJHI_KEY.public}),
    )
    request = httpsig_request(partner="ECHS", key=RJHI_KEY, alg="ecdsa-p256-sha256")
    raw = base64.b64decode(request.headers["signature"].split(":")[1])
    signature = f"sig1=:{base64.b64encode(der(raw)).decode()}:"
    diagnosis = run(
        dataclasses.replace(request, headers={**request.headers, "signature": signature}),
        {"ECHS": echs},
    )
    failed(diagnosis, "signature")
    expected = mistakes.DER_SIGNATURE.format(profile="RFC 9421 (section 3.3.4)")
    assert diagnosis.hint == expected + mistakes.DER_VERIFIES


def test_httpsig_keyid_not_registered() -> None:
    request = httpsig_request(key=dataclasses.replace(RIBL_KEY, kid="ribl-2026-01"))
    diagnosis = run(request)
    failed(diagnosis, "key")
    assert diagnosis.hint is not None
    assert diagnosis.hint.startswith("a kid not registered: 'ribl-2026-01'")


def test_httpsig_coverage_without_path() -> None:
    request = httpsig_request()
    inputs = request.headers["signature-input"].replace('"@path"', '"@target-uri"')
    diagnosis = run(
        dataclasses.replace(request, headers={**request.headers, "signature-input": inputs})
    )
    failed(diagnosis, "signature_header")
    assert diagnosis.hint == "cover @path (the path alone), not @target-uri or @request-target"
    assert "signatureBase" not in diagnosis.computed  # @target-uri is not known here


def test_httpsig_created_in_milliseconds() -> None:
    request = httpsig_request()
    inputs = request.headers["signature-input"].replace(
        f"created={CREATED}", f"created={CREATED}000"
    )
    diagnosis = run(
        dataclasses.replace(request, headers={**request.headers, "signature-input": inputs})
    )
    failed(diagnosis, "signature_header")
    assert (
        diagnosis.hint == "created is in milliseconds: RFC 9421 times are whole seconds since 1970"
    )


def test_httpsig_profile_mismatch() -> None:
    request = jws_request()
    diagnosis = run(
        dataclasses.replace(request, headers={**request.headers, "x-partner-id": "RIBL"})
    )
    failed(diagnosis, "signature_header")
    assert (
        diagnosis.hint
        == "the request carries X-JWS-Signature, but this partner signs with http-sig"
    )


# --- xmldsig: the bank signs with xmlsec1 -------------------------------------------------------

XMLSEC1 = shutil.which("xmlsec1")
pytestmark_xml = pytest.mark.skipif(
    XMLSEC1 is None, reason="xmlsec1 is installed by scripts/setup --dev"
)
NCBK_EC = sandbox_key("ncbk-test-2026-01")
NCBK_RSA = sandbox_key("ncbk-test-2025-07")
METHOD = {
    "EC-P256": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "RSA": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
}
ACTIVATION = """<ActivationRequest xmlns="urn:bank-adapter:v1">
  <MessageId>5b0c3f5e-2f4e-4d7b-9d61-0c5a3e2b1a10</MessageId>
  <Timestamp>2026-03-01T09:30:00+03:00</Timestamp>
  <Channel>APP</Channel>
  <IdNumber>1000000016</IdNumber>
  <Mobile>+966500000001</Mobile>
  <BankCustomerRef>{ref}</BankCustomerRef>
{signature}</ActivationRequest>
"""
SIGNATURE = """<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
<ds:SignedInfo>
<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
<ds:SignatureMethod Algorithm="{method}"/>
<ds:Reference URI="">
<ds:Transforms>
<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>
<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
</ds:Transforms>
<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
<ds:DigestValue/>
</ds:Reference>
</ds:SignedInfo>
<ds:SignatureValue/>
<ds:KeyInfo>{key_info}</ds:KeyInfo>
</ds:Signature>"""


def _pem_files(tmp_path: Path, key: SigningKey, certificate: bool = False) -> str:
    private = tmp_path / "key.pem"
    private.write_bytes(
        key.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    if not certificate:
        return str(private)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "NCBK sandbox")])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.private_key.public_key()).serial_number(1)
        .not_valid_before(NOW - timedelta(days=1)).not_valid_after(NOW + timedelta(days=365))
        .sign(key.private_key, hashes.SHA256())  # type: ignore[arg-type]
    )  # fmt: skip
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return f"{private},{tmp_path / 'cert.pem'}"


def xmlsec1_sign(
    tmp_path: Path,
    key: SigningKey = NCBK_EC,
    *,
    key_info: str | None = None,
    document: str = ACTIVATION,
    ref: str = "CUST-000123",
) -> bytes:
    """The bank's signed document, made by the xmlsec1 command from a template."""
    certificate = key_info is not None and "X509Data" in key_info
    template = document.format(
        ref=ref,
        signature=SIGNATURE.format(
            method=METHOD[key.kind], key_info=key_info or f"<ds:KeyName>{key.kid}</ds:KeyName>"
        ),
    )
    (tmp_path / "template.xml").write_text(template)
    subprocess.run(
        [XMLSEC1, "--sign", "--privkey-pem", _pem_files(tmp_path, key, certificate),
         "--output", str(tmp_path / "signed.xml"), str(tmp_path / "template.xml")],
        check=True, capture_output=True,
    )  # fmt: skip
    return (tmp_path / "signed.xml").read_bytes()


def xmlsec1_buffers(tmp_path: Path, body: bytes, key: SigningKey = NCBK_EC) -> dict[str, str]:
    """What xmlsec1 canonicalises when it verifies `body`: its pre-digest and pre-signed buffers."""
    (tmp_path / "received.xml").write_bytes(body)
    (tmp_path / "public.pem").write_bytes(key.public.pem().encode())
    result = subprocess.run(
        [XMLSEC1, "--verify", "--store-references", "--store-signatures",
         "--enabled-key-data", "key-name", f"--pubkey-pem:{key.kid}", str(tmp_path / "public.pem"),
         str(tmp_path / "received.xml")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    buffers = dict(
        re.findall(
            r"== (\w+) data - start buffer:\n(.*?)\n== \1 data - end buffer",
            result.stderr + result.stdout,
            re.S,
        )
    )
    return buffers


def xml_request(body: bytes, path: str = ACTIVATIONS) -> WireRequest:
    return WireRequest(
        "POST", path, {"x-partner-id": "NCBK", "content-type": "application/xml"}, body
    )


def b64_sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


@pytestmark_xml
@pytest.mark.interop
@pytest.mark.parametrize("key", [NCBK_EC, NCBK_RSA], ids=["ECDSA-SHA256", "RSA-SHA256"])
def test_xmldsig_a_correct_request_passes_every_check(tmp_path: Path, key: SigningKey) -> None:
    body = xmlsec1_sign(tmp_path, key)
    diagnosis = run(xml_request(body))
    passed(diagnosis)
    buffers = xmlsec1_buffers(tmp_path, body, key)
    assert diagnosis.computed == {
        "canonicalSignedInfo": buffers["PreSigned"],
        "referenceDigest": b64_sha256(buffers["PreDigest"]),
    }


@pytestmark_xml
@pytest.mark.interop
def test_xmldsig_certificate_in_key_info(tmp_path: Path) -> None:
    body = xmlsec1_sign(tmp_path, key_info="<ds:X509Data><ds:X509Certificate/></ds:X509Data>")
    assert b"<ds:X509Certificate>MII" in body  # xmlsec1 put the certificate in
    diagnosis = run(xml_request(body))
    failed(diagnosis, "key")
    assert diagnosis.hint == mistakes.CERTIFICATE_IN_KEY_INFO.format(
        kids="ncbk-test-2025-07 or ncbk-test-2026-01"
    )
    root = etree.fromstring(body)
    signed_info = root.find(f".//{{{DS}}}SignedInfo")
    expected = etree.tostring(signed_info, method="c14n", exclusive=True).decode()
    assert diagnosis.computed["canonicalSignedInfo"] == expected


@pytestmark_xml
@pytest.mark.interop
def test_xmldsig_reindented_after_signing(tmp_path: Path) -> None:
    compact = ACTIVATION.replace("\n  ", "").replace("\n{signature}", "{signature}")
    body = xmlsec1_sign(tmp_path, document=compact)
    root = etree.fromstring(body)
    etree.indent(root, space="  ")
    sent = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    diagnosis = run(xml_request(sent))
    failed(diagnosis, "digest")
    assert diagnosis.hint == mistakes.REINDENTED
    assert diagnosis.computed["referenceDigest"] == b64_sha256(
        xmlsec1_buffers(tmp_path, sent)["PreDigest"]
    )


@pytestmark_xml
@pytest.mark.interop
def test_xmldsig_document_changed_after_signing(tmp_path: Path) -> None:
    sent = xmlsec1_sign(tmp_path).replace(b"<Channel>APP", b"<Channel>WEB")
    diagnosis = run(xml_request(sent))
    failed(diagnosis, "digest")
    assert diagnosis.hint == mistakes.XML_CHANGED
    assert diagnosis.computed["referenceDigest"] == b64_sha256(
        xmlsec1_buffers(tmp_path, sent)["PreDigest"]
    )


@pytestmark_xml
@pytest.mark.interop
def test_xmldsig_kid_not_registered(tmp_path: Path) -> None:
    body = xmlsec1_sign(tmp_path, key_info="<ds:KeyName>ncbk-2026-01</ds:KeyName>")
    diagnosis = run(xml_request(body))
    failed(diagnosis, "key")
    assert diagnosis.hint == (
        "a kid not registered: 'ncbk-2026-01' is not one of this partner's keys "
        "(ncbk-test-2025-07, ncbk-test-2026-01)"
    )


@pytestmark_xml
@pytest.mark.interop
def test_xmldsig_retired_key(tmp_path: Path) -> None:
    body = xmlsec1_sign(tmp_path, NCBK_RSA)
    later = NOW.replace(year=2027, month=2)
    diagnosis = diagnose(xml_request(body), PARTNERS, later)
    failed(diagnosis, "key")
    assert diagnosis.hint == (
        "key ncbk-test-2025-07 was retired at 2027-01-31T00:00:00+00:00; sign with a current "
        "key: ncbk-test-2026-01"
    )


@pytestmark_xml
@pytest.mark.interop
def test_xmldsig_der_signature_value(tmp_path: Path) -> None:
    body = xmlsec1_sign(tmp_path)
    root = etree.fromstring(body)
    value = root.find(f".//{{{DS}}}SignatureValue")
    value.text = base64.b64encode(der(base64.b64decode(value.text))).decode()
    diagnosis = run(xml_request(etree.tostring(root)))
    failed(diagnosis, "signature")
    expected = mistakes.DER_SIGNATURE.format(profile="XML-DSig ECDSA-SHA256 (RFC 4050)")
    assert diagnosis.hint == expected + mistakes.DER_VERIFIES


@pytestmark_xml
@pytest.mark.interop
def test_xmldsig_base64url_digest_value(tmp_path: Path) -> None:
    for number in range(50):  # a document whose digest base64url spells differently
        body = xmlsec1_sign(tmp_path, ref=f"CUST-{number:06d}")
        digest = re.search(rb"<ds:DigestValue>(.*?)</ds:DigestValue>", body)[1]  # type: ignore[index]
        if re.search(rb"[+/]", digest):
            break
    url = base64.urlsafe_b64encode(base64.b64decode(digest))
    diagnosis = run(xml_request(body.replace(digest, url)))
    failed(diagnosis, "digest")
    assert diagnosis.hint == mistakes.XML_BASE64URL


@pytestmark_xml
@pytest.mark.interop
def test_xmldsig_document_of_another_operation(tmp_path: Path) -> None:
    diagnosis = run(xml_request(xmlsec1_sign(tmp_path), path=PAYMENTS))
    failed(diagnosis, "binding")
    assert diagnosis.hint == (
        "the document is a ActivationRequest, the request of /v1/activations: "
        "/v1/payments takes a PaymentNotification"
    )


@pytestmark_xml
@pytest.mark.interop
def test_xmldsig_signature_not_last(tmp_path: Path) -> None:
    body = xmlsec1_sign(tmp_path).replace(
        b"</ActivationRequest>", b"<TerminalId>T1</TerminalId></ActivationRequest>"
    )
    diagnosis = run(xml_request(body))
    failed(diagnosis, "signature_header")
    assert diagnosis.checks[-1].detail == "ds:Signature must be the last child of the root element"
    assert set(diagnosis.computed) == {"canonicalSignedInfo", "referenceDigest"}


def test_xmldsig_signature_in_headers_instead_of_the_document() -> None:
    body = (ROOT / "tests/data/xmldsig/activation_request.xml").read_bytes()
    request = xml_request(body)
    headers = {**request.headers, "signature-input": "sig1=()", "signature": "sig1=:AA==:"}
    diagnosis = run(dataclasses.replace(request, headers=headers))
    failed(diagnosis, "signature_header")
    assert diagnosis.hint == "this partner signs inside the document (xmldsig), not in HTTP headers"
    assert diagnosis.computed == {}


def test_xml_with_a_dtd_fails_the_format_check() -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><ActivationRequest/>'
    diagnosis = run(xml_request(body))
    failed(diagnosis, "format")
    assert diagnosis.computed == {}


def test_every_check_of_a_profile_uses_the_verifiers_functions() -> None:
    """A request the diagnosis passes is one the profile verifies, and the other way round."""
    from bank_adapter.core.jws import JwsProfile
    from bank_adapter.core.signing import VerifyPolicy

    policy = VerifyPolicy(PARTNERS["RJHI"].keys, PARTNERS["RJHI"].algorithms, NOW)
    good, bad = jws_request(), jws_request(body=BODY, sent_body=INDENTED)
    assert JwsProfile().verify_request(good, policy).kid == RJHI_KEY.kid
    assert run(good).ok
    with pytest.raises(Exception, match="SIGNATURE_INVALID"):
        JwsProfile().verify_request(bad, policy)
    assert not run(bad).ok
