"""The usual signing mistakes, recognised from a request that failed a diagnostic check.

Each function looks at a failed request the way a support engineer would: it tries the
mistake on for size (the DER form of an ECDSA signature, the body serialised another
way, `@path` with the host or query) with the profile's own functions, and names it
when it fits. A hint is advice for the bank's engineer, never a verification: what
passes or fails is decided by the profiles alone.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from lxml import etree

from bank_adapter.core import httpsig, jws, xmldsig
from bank_adapter.core.algorithms import Algorithm, EcdsaP256
from bank_adapter.core.keys import PublicKey
from bank_adapter.core.messages import OPERATIONS, XML_NAMESPACE
from bank_adapter.core.profiles import key_kind_for
from bank_adapter.core.signing import VerifyPolicy
from bank_adapter.core.wire import WireRequest
from bank_adapter.errors import AdapterError
from bank_adapter.partners import Partner

DIAGNOSE_PATH: Final = "/sandbox/v1/diagnose"

RESERIALISED: Final = (
    "the body was re-serialised after signing: what was signed is the same JSON written "
    "another way ({form}). Sign the exact bytes you send, and send the bytes you signed"
)
JWS_BASE64: Final = (
    "base64 instead of base64url: JWS segments are base64url without padding "
    "('-' and '_' instead of '+' and '/', no '=')"
)
SF_BASE64URL: Final = (
    "base64url instead of base64: a Structured Field byte sequence (:...:) is standard "
    "base64 with padding ('+', '/', '=')"
)
XML_BASE64URL: Final = "base64url instead of base64: XML-DSig values are standard base64"
DER_SIGNATURE: Final = (
    "the ECDSA signature is DER-encoded (an ASN.1 SEQUENCE of r and s, as Java's "
    "Signature and `openssl dgst` produce); {profile} takes raw r||s, 64 bytes for P-256"
)
DER_VERIFIES: Final = " (converted to r||s it verifies)"
ATTACHED_JWS: Final = (
    "an attached JWS: the payload segment must be empty (a detached JWS, "
    "BASE64URL(protected) '..' BASE64URL(signature), RFC 7515 appendix F)"
)
HTU_URL: Final = "htu is the request path only ({path}), not the full URL"
HTU_QUERY: Final = "htu is the request path only ({path}), without a query string"
HTU_OTHER: Final = (
    "the message was signed for {htu}, another operation: sign each request for its own path"
)
SIGNED_FOR_DIAGNOSE: Final = (
    "signed for {sent}, the diagnose endpoint: sign for the operation's path "
    "({path}, as sent in X-Diagnose-Path)"
)
PATH_WITH_HOST: Final = (
    "@path was signed as {signed}: @path is the path alone ({path}), without scheme and host"
)
PATH_WITH_QUERY: Final = "@path was signed as {signed}: @path is the path alone, without the query"
CONTENT_TYPE_CHANGED: Final = (
    "Content-Type changed between signing and sending: signed as {signed!r}, sent as {sent!r}"
)
OTHER_BODY: Final = (
    "the Content-Digest is over a different body than the one received (the body changed "
    "after the digest was computed, or the digest was computed over other bytes); "
    "computed.contentDigest is the digest of the bytes that arrived"
)
HEX_DIGEST: Final = "the digest is written in hex: Content-Digest carries base64 of the raw hash"
CERTIFICATE_IN_KEY_INFO: Final = (
    "KeyInfo carries a certificate (X509Data) instead of a KeyName: keys or certificates "
    "in the message are never trusted; name your registered key with "
    "<ds:KeyName>{kids}</ds:KeyName>"
)
KEY_VALUE_IN_KEY_INFO: Final = (
    "KeyInfo carries a public key (KeyValue) instead of a KeyName: keys in the message are "
    "never trusted; name your registered key with <ds:KeyName>{kids}</ds:KeyName>"
)
INCLUSIVE_C14N: Final = (
    "the DigestValue is over the inclusive c14n of the document: the Reference declares "
    "exclusive c14n, so compute the digest with exclusive c14n"
)
REINDENTED: Final = (
    "the document was re-indented after signing (it was signed without the whitespace "
    "between elements that it now has): sign the exact bytes you send"
)
XML_CHANGED: Final = (
    "the document changed after it was signed (re-serialised, re-indented, re-encoded or "
    "its prefixes rewritten): sign the exact bytes you send; computed.referenceDigest is "
    "the digest of what arrived"
)


def partner(sent: str | None, partners: Mapping[str, Partner]) -> str | None:
    if not sent:
        return "every request names its bank: X-Partner-Id: <your 4-letter code>"
    same = next((known for known in partners if known.lower() == sent.strip().lower()), None)
    if same is not None and same != sent:
        return f"X-Partner-Id is {same}, exactly (it was sent as {sent!r})"
    return None


def kid(sent: object, policy: VerifyPolicy) -> str:
    """Why the key id sent names no usable key of the partner."""
    registered = ", ".join(sorted(policy.keys)) or "none"
    if not isinstance(sent, str) or not sent:
        return f"no key id was sent; the keys registered for this partner are: {registered}"
    key = policy.keys.get(sent)
    if key is not None and key.not_after is not None:
        usable = ", ".join(sorted(k.kid for k in policy.keys.values() if k.usable_at(policy.now)))
        return (
            f"key {sent} was retired at {key.not_after.isoformat()}; sign with a current "
            f"key: {usable or 'none is registered'}"
        )
    same = next((k for k in policy.keys if k.lower() == sent.lower()), None)
    if same is not None:
        return f"a kid not registered: {sent!r} differs from the registered {same!r} in case"
    return f"a kid not registered: {sent!r} is not one of this partner's keys ({registered})"


def algorithm(alg: object, key: PublicKey, policy: VerifyPolicy) -> str | None:
    """Why `alg` cannot be used with `key` for this partner."""
    allowed = ", ".join(sorted(policy.algorithms))
    if not isinstance(alg, str):
        return f"no algorithm was named; this partner signs with {allowed}"
    if alg.lower() == "none" or alg.upper().startswith("HS"):
        return f"alg {alg} (unsigned or shared-secret) is never accepted; use {allowed}"
    if alg not in policy.algorithms:
        return f"{alg} is not one of this partner's algorithms ({allowed})"
    fitting = sorted(name for name in policy.algorithms if key_kind_for(name) == key.kind)
    return f"key {key.kid} is an {key.kind} key: sign with {', '.join(fitting) or 'another key'}"


# --- jws -------------------------------------------------------------------------------


def jws_header(value: str | None, wire: WireRequest) -> str | None:
    if not value:
        if wire.header("signature-input") or wire.header("signature"):
            return "the request carries RFC 9421 headers, but this partner signs with jws"
        return None
    segments = value.split(".")
    if len(segments) == 3 and segments[1]:
        return ATTACHED_JWS
    if any(char in value for char in "+/="):
        return JWS_BASE64
    return None


def jws_binding(header: Mapping[str, Any], path: str) -> str | None:
    if header.get("htm") != "POST":
        return f"htm is the HTTP method, POST (it was {header.get('htm')!r})"
    htu = header.get("htu")
    if not isinstance(htu, str):
        return None
    parts = urlsplit(htu)
    if parts.scheme or parts.netloc:
        return HTU_URL.format(path=path)
    if parts.query or htu.endswith("?"):
        return HTU_QUERY.format(path=path)
    if parts.path == DIAGNOSE_PATH:
        return SIGNED_FOR_DIAGNOSE.format(sent=htu, path=path)
    if parts.path in OPERATIONS:
        return HTU_OTHER.format(htu=htu)
    return None


def jws_signature(
    signed: jws.DetachedJws, algorithm: Algorithm, key: PublicKey, body: bytes
) -> str | None:
    der = _der_hint(signed.signature, algorithm, key, jws.signing_input(signed.protected, body))
    if der is not None:
        return der.format(profile="JWS (RFC 7518 section 3.4)")
    for form, variant in _json_variants(body):
        if algorithm.verify(
            key.key, signed.signature, jws.signing_input(signed.protected, variant)
        ):
            return RESERIALISED.format(form=form)
    prefix = signed.protected + b"."
    if algorithm.verify(key.key, signed.signature, prefix + base64.b64encode(body)):
        return JWS_BASE64 + " (the body in the signing input was base64-encoded)"
    if algorithm.verify(key.key, signed.signature, prefix + body):
        return "the signing input takes BASE64URL(body), not the body bytes themselves"
    return None


# --- http-sig --------------------------------------------------------------------------


def httpsig_header(wire: WireRequest, now: datetime) -> str | None:
    if not wire.header("signature-input") or not wire.header("signature"):
        if wire.header(jws.SIGNATURE_HEADER):
            return "the request carries X-JWS-Signature, but this partner signs with http-sig"
        return None
    if re.search(r"=\s*:[^:]*[-_][^:]*:", wire.header("signature") or ""):
        return SF_BASE64URL
    try:
        declared = httpsig.read_declaration(wire.header("signature-input") or "")
    except AdapterError:
        return None
    return _coverage_hint(declared, now)


def _coverage_hint(declared: httpsig.Declaration, now: datetime) -> str | None:
    components = declared.components
    if any(name != name.lower() for name in components):
        return 'component names are lower case ("content-type", not "Content-Type")'
    if "@path" not in components and {"@target-uri", "@request-target"} & set(components):
        return "cover @path (the path alone), not @target-uri or @request-target"
    missing = [name for name in httpsig.REQUEST_COMPONENTS if name not in components]
    if missing:
        return f"the signature must also cover {' '.join(missing)}"
    created = declared.parameters.get("created")
    if type(created) is int and created > now.timestamp() * 100:
        return "created is in milliseconds: RFC 9421 times are whole seconds since 1970"
    return None


def content_digest(value: str | None, body: bytes) -> str | None:
    if value is None:
        return "send Content-Digest: sha-256=:<base64 of the SHA-256 of the body>: and cover it"
    if re.search(r"=\s*:[^:]*[-_][^:]*:", value):
        return SF_BASE64URL
    match = re.search(r"sha-256=:([^:]*):", value)
    if match is None:
        return "Content-Digest needs a sha-256 member: sha-256=:<base64>:"
    if re.fullmatch(r"[0-9a-fA-F]{64}", match.group(1)):
        return HEX_DIGEST
    try:
        sent = base64.b64decode(match.group(1), validate=True)
    except ValueError:
        return None
    for form, variant in _json_variants(body):
        if hashlib.sha256(variant).digest() == sent:
            return RESERIALISED.format(form=form)
    return OTHER_BODY


def httpsig_signature(
    signed: httpsig.SignatureInput,
    algorithm: Algorithm,
    key: PublicKey,
    wire: WireRequest,
    target: str | None,
) -> str | None:
    declared = signed.declaration

    def verifies(path: str, headers: Mapping[str, str] = wire.headers) -> bool:
        derived = {"@method": wire.method, "@path": path}
        try:
            base = httpsig.covered_base(declared, derived, headers)
        except AdapterError:
            return False
        return algorithm.verify(key.key, signed.signature, base)

    base = _quiet_base(declared, wire)
    if base is not None:
        der = _der_hint(signed.signature, algorithm, key, base)
        if der is not None:
            return der.format(profile="RFC 9421 (section 3.3.4)")
    for candidate, hint in _path_candidates(wire, target):
        if verifies(candidate):
            return hint
    sent_type = wire.header("content-type") or ""
    for signed_type in _content_type_candidates(sent_type):
        if verifies(wire.path, {**wire.headers, "content-type": signed_type}):
            return CONTENT_TYPE_CHANGED.format(signed=signed_type, sent=sent_type)
    return None


def _quiet_base(declared: httpsig.Declaration, wire: WireRequest) -> bytes | None:
    try:
        return httpsig.covered_base(declared, httpsig.request_components(wire), wire.headers)
    except AdapterError:
        return None


def _path_candidates(wire: WireRequest, target: str | None) -> list[tuple[str, str]]:
    path = wire.path
    candidates: list[tuple[str, str]] = []
    host = wire.header("host")
    if host:
        for url in (f"https://{host}{path}", f"http://{host}{path}", f"{host}{path}"):
            candidates.append((url, PATH_WITH_HOST.format(signed=url, path=path)))
    if target and target != path:
        sent = urlsplit(target)
        if sent.path == DIAGNOSE_PATH:
            candidates.append((target, SIGNED_FOR_DIAGNOSE.format(sent=target, path=path)))
            candidates.append((sent.path, SIGNED_FOR_DIAGNOSE.format(sent=sent.path, path=path)))
        if sent.query:
            with_query = f"{path}?{sent.query}"
            candidates.append((with_query, PATH_WITH_QUERY.format(signed=with_query)))
            candidates.append((target, PATH_WITH_QUERY.format(signed=target)))
    return candidates


def _content_type_candidates(sent: str) -> list[str]:
    bare = sent.split(";", 1)[0].strip()
    return [
        value
        for value in (bare, f"{bare}; charset=utf-8", f"{bare};charset=UTF-8")
        if value != sent
    ]


# --- xmldsig -----------------------------------------------------------------------------


def xmldsig_shape(root: etree._Element, wire: WireRequest) -> str | None:
    if next(root.iter(f"{{{xmldsig.DS_NS}}}Signature"), None) is not None:
        return None
    if any(etree.QName(element).localname == "Signature" for element in root.iter("{*}*")):
        return f"the Signature element must be in the XML-DSig namespace {xmldsig.DS_NS}"
    if wire.header(jws.SIGNATURE_HEADER) or wire.header("signature-input"):
        return "this partner signs inside the document (xmldsig), not in HTTP headers"
    return None


def xmldsig_key(signature: etree._Element, policy: VerifyPolicy) -> str | None:
    try:
        name = xmldsig.key_name(signature)
    except AdapterError:
        return None
    if name is not None:
        return kid(name, policy)
    kids = " or ".join(sorted(k.kid for k in policy.keys.values() if k.usable_at(policy.now)))
    key_info = signature.find(f"{{{xmldsig.DS_NS}}}KeyInfo")
    held = {etree.QName(child).localname for child in key_info} if key_info is not None else set()
    if "X509Data" in held:
        return CERTIFICATE_IN_KEY_INFO.format(kids=kids)
    if "KeyValue" in held:
        return KEY_VALUE_IN_KEY_INFO.format(kids=kids)
    return kid(None, policy)


def xmldsig_digest(signature: etree._Element) -> str | None:
    digest_value = signature.find(
        f"{{{xmldsig.DS_NS}}}SignedInfo/{{{xmldsig.DS_NS}}}Reference/{{{xmldsig.DS_NS}}}DigestValue"
    )
    text = (digest_value.text or "").strip() if digest_value is not None else ""
    if re.search(r"[-_]", text):
        return XML_BASE64URL
    try:
        sent = base64.b64decode(text, validate=True)
    except ValueError:
        return None
    document = xmldsig.enveloped(signature)
    if hashlib.sha256(etree.tostring(document, method="c14n")).digest() == sent:
        return INCLUSIVE_C14N
    for element in document.iter():
        if element.text is not None and not element.text.strip() and len(element):
            element.text = None
        if element.tail is not None and not element.tail.strip():
            element.tail = None
    compact = etree.tostring(document, method="c14n", exclusive=True, with_comments=False)
    if hashlib.sha256(compact).digest() == sent:
        return REINDENTED
    return XML_CHANGED


def xmldsig_binding(root: etree._Element, path: str) -> str | None:
    local = etree.QName(root).localname
    sent_to = next((op.path for op in OPERATIONS.values() if op.request_root == local), None)
    expected = OPERATIONS[path].request_root
    if etree.QName(root).namespace != XML_NAMESPACE:
        return f"the root element must be {expected} in namespace {XML_NAMESPACE}"
    if sent_to is not None:
        return f"the document is a {local}, the request of {sent_to}: {path} takes a {expected}"
    return None


def xmldsig_signature(
    signature: etree._Element, method: xmldsig.Method, key: PublicKey
) -> str | None:
    if method.key_kind != "EC-P256":
        return None
    try:
        value = xmldsig.signature_value(signature)
        signed_info = xmldsig.canonical_signed_info(signature)
    except AdapterError:
        return None
    der = _der_hint(value, EcdsaP256(), key, signed_info)
    return der.format(profile="XML-DSig ECDSA-SHA256 (RFC 4050)") if der else None


# --- shared probes -----------------------------------------------------------------------


def _der_hint(signature: bytes, algorithm: Algorithm, key: PublicKey, data: bytes) -> str | None:
    """DER_SIGNATURE (unformatted) when an ECDSA signature is in DER form, else None."""
    if not isinstance(algorithm, EcdsaP256) or len(signature) == 64:
        return None
    try:
        r, s = decode_dss_signature(signature)
    except ValueError:
        return None
    if max(r.bit_length(), s.bit_length()) > 256:
        return None
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    verifies = algorithm.verify(key.key, raw, data)
    return DER_SIGNATURE + (DER_VERIFIES if verifies else "")


_JSON_FORMS: Final[tuple[tuple[str, dict[str, Any]], ...]] = (
    ("compact", {"separators": (",", ":")}),
    ("with spaces after ',' and ':'", {}),
    ("indented", {"indent": 2}),
    ("keys sorted", {"separators": (",", ":"), "sort_keys": True}),
    ("keys sorted, with spaces", {"sort_keys": True}),
    ("non-ASCII characters unescaped", {"separators": (",", ":"), "ensure_ascii": False}),
    ("non-ASCII unescaped, with spaces", {"ensure_ascii": False}),
)


def _json_variants(body: bytes) -> list[tuple[str, bytes]]:
    """The body's JSON written the ways common serialisers write it, other than as sent."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return []
    variants: dict[bytes, str] = {}
    for form, options in _JSON_FORMS:
        text = json.dumps(data, **options).encode("utf-8")
        variants.setdefault(text, form)
        variants.setdefault(text + b"\n", f"{form}, with a final newline")
    variants.setdefault(body.rstrip(b"\r\n"), "without the final newline")
    variants.setdefault(body + b"\n", "with a final newline")
    variants.pop(body, None)
    return [(form, variant) for variant, form in variants.items()]
