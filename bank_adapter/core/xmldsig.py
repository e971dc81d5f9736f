"""The `xmldsig` signature profile: one enveloped XML-DSig signature over the whole document.

Theory of operation (verification). XML-DSig allows far more than the contract does
(several references, ID and XPath references, arbitrary transforms, keys carried in the
message), and every one of those freedoms has been used for signature wrapping or key
substitution. So the shape is checked here, on the tree, before libxmlsec is asked about
the cryptography; libxmlsec alone would accept most of the attacks the tests replay.

1. Parse once with the hardened parser (`parse_xml`): DTDs and entity declarations, and
   a tree beyond the shape limits (a request's: `limits.REQUEST_XML`), are
   MALFORMED_MESSAGE before anything else happens, canonicalisation above all (its cost
   grows with the square of the attributes on one element).
2. Locate: the document holds exactly one `ds:Signature` anywhere (none is
   SIGNATURE_MISSING), and it is the root element's last child.
3. No comments or processing instructions inside the root: `URI=""` drops comments
   from the digest, and both split a text node, so that `<Ref>12<!---->34</Ref>` would
   verify as "1234" and read as "12".
4. Shape: `Signature` holds SignedInfo, SignatureValue and optionally KeyInfo, nothing
   else (an `Object` would be unsigned content); SignedInfo holds exclusive c14n, a
   known SignatureMethod and one `Reference URI=""` whose transforms are exactly
   enveloped-signature then exclusive c14n, with a SHA-256 digest.
5. Policy: the SignatureMethod's partner name passes `policy.check_algorithm`;
   `KeyInfo/KeyName` names a key `policy.key_for` returns (missing: UNKNOWN_KEY), of the
   kind that method needs.
6. Cryptography: the reference digest and the canonical SignedInfo are computed here
   (`reference_digest`, `canonical_signed_info`: libxml2's exclusive c14n through lxml,
   the same c14n libxmlsec runs), so diagnostics show the very bytes verification
   used. The DigestValue must equal the digest; libxmlsec then checks the
   SignatureValue over the canonical SignedInfo with the registered key only
   (`verify_binary`: no KeyInfo is ever read, so X509Data, KeyValue or
   RetrievalMethod in the message are inert).

Because the single reference is the whole document and the signature is the root's last
child, what was signed is the document minus the signature: the result carries the exact
request bytes and the very tree that was verified (signature still in place as the last
child), never a re-parse.

Signing appends the same template to the caller's document, signs with an already-loaded
key and serialises once; the bytes returned are the bytes to send.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING

import xmlsec
from lxml import etree

from bank_adapter.core.keys import PublicKey, SigningKey, private_pem, public_pem
from bank_adapter.core.limits import REQUEST_XML
from bank_adapter.core.messages import XML_NAMESPACE
from bank_adapter.core.signing import Signed, Verified, VerifyPolicy
from bank_adapter.core.wire import Headers, WireRequest
from bank_adapter.core.xmlparse import parse_xml
from bank_adapter.errors import AdapterError, Code

if TYPE_CHECKING:
    # python-xmlsec's stubs name the transform type only privately (its own template.pyi
    # imports it this way); at run time the constants are plain `xmlsec.Transform`s.
    from xmlsec.constants import __Transform as Transform

DS_NS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"

_XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_C = xmlsec.constants
_XML_WHITESPACE = re.compile(r"[ \t\r\n]+")


def _ds(local: str) -> str:
    return f"{{{DS_NS}}}{local}"


@dataclass(frozen=True, slots=True)
class Method:
    """A SignatureMethod the contract allows: its URI, partner name, engine and key kind."""

    uri: str
    name: str
    transform: Transform
    key_kind: str


_METHODS = (
    Method(
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "RSA-SHA256",
        _C.TransformRsaSha256,
        "RSA",
    ),
    Method(
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
        "ECDSA-SHA256",
        _C.TransformEcdsaSha256,
        "EC-P256",
    ),
)
_BY_URI = {method.uri: method for method in _METHODS}
_BY_NAME = {method.name: method for method in _METHODS}
_BY_KEY_KIND = {method.key_kind: method for method in _METHODS}


def adapter_algorithm(key: SigningKey) -> str:
    """The xmldsig algorithm name the adapter signs with when holding `key`."""
    return _method_for_key(key).name


def _method_for_key(key: SigningKey) -> Method:
    method = _BY_KEY_KIND.get(key.kind)
    if method is None:
        raise ValueError(f"a {key.kind} key cannot sign xmldsig (RSA or EC P-256 only)")
    return method


def _invalid(detail: str) -> AdapterError:
    return AdapterError(Code.SIGNATURE_INVALID, detail)


class XmlDsigProfile:
    """The contract's `xmldsig` profile, with libxmlsec (python-xmlsec) as the engine.

    Loading a PEM into libxmlsec costs more than an ECDSA verification, so each key is
    loaded once and kept. Public keys are cached by their PEM: it identifies the key
    material itself, so a kid re-registered with a new key never meets a stale entry
    (and cryptography's public key objects are not hashable). Signing keys are cached by
    the `SigningKey` object, whose private key hashes by identity. Contexts are never
    shared: one per call, given its own copy of the cached key.
    """

    name = "xmldsig"
    formats = frozenset({"xml"})
    key_kinds: Mapping[str, str] = MappingProxyType(
        {method.name: method.key_kind for method in _METHODS}
    )

    def __init__(self) -> None:
        self._public_keys: dict[bytes, xmlsec.Key] = {}
        self._signing_keys: dict[SigningKey, xmlsec.Key] = {}

    def verify_request(self, request: WireRequest, policy: VerifyPolicy) -> Verified:
        return self._verify(parse_xml(request.body, REQUEST_XML), request.body, policy)

    def verify_response(
        self, status: int, headers: Mapping[str, str], body: bytes, policy: VerifyPolicy
    ) -> Verified:
        return self._verify(parse_xml(body), body, policy)

    def sign_response(
        self, status: int, content_type: str, body: bytes, key: SigningKey, now: datetime
    ) -> Signed:
        return self._sign(body, key, _method_for_key(key))

    def sign_request(
        self,
        method: str,
        path: str,
        content_type: str,
        body: bytes,
        extra_headers: Headers,
        key: SigningKey,
        alg: str,
        now: datetime,
    ) -> Signed:
        signature_method = _BY_NAME.get(alg)
        if signature_method is None:
            raise ValueError(f"{alg!r} is not an xmldsig algorithm (RSA-SHA256, ECDSA-SHA256)")
        if signature_method.key_kind != key.kind:
            raise ValueError(f"{alg} needs a {signature_method.key_kind} key, not {key.kind}")
        return self._sign(body, key, signature_method)

    def _verify(self, root: etree._Element, body: bytes, policy: VerifyPolicy) -> Verified:
        signature = find_signature(root)
        refuse_unsigned_nodes(root)
        method = signature_method(checked_shape(signature))
        policy.check_algorithm(method.name)
        key = policy.key_for(key_name(signature))
        check_key_fits(method, key)
        check_digest(signature)
        self.check_signature_value(signature, method, key)
        return Verified(body=body, kid=key.kid, xml_root=root)

    def check_signature_value(
        self, signature: etree._Element, method: Method, key: PublicKey
    ) -> None:
        """The SignatureValue verifies over the canonical SignedInfo with `key`."""
        ctx = xmlsec.SignatureContext()
        ctx.key = self._public_key(key)
        try:
            ctx.verify_binary(
                canonical_signed_info(signature), method.transform, signature_value(signature)
            )
        except xmlsec.Error:
            raise _invalid(f"the signature does not verify with key {key.kid!r}") from None

    def _public_key(self, key: PublicKey) -> xmlsec.Key:
        pem = public_pem(key.key)
        cached = self._public_keys.get(pem)
        if cached is None:
            cached = self._public_keys[pem] = _load_pem(pem)
        return cached

    def _signing_key(self, key: SigningKey) -> xmlsec.Key:
        cached = self._signing_keys.get(key)
        if cached is None:
            cached = self._signing_keys[key] = _load_pem(private_pem(key.private_key))
        return cached

    def _sign(self, body: bytes, key: SigningKey, method: Method) -> Signed:
        root = parse_xml(body)
        signature = _append_template(root, method, key.kid)
        ctx = xmlsec.SignatureContext()
        ctx.key = self._signing_key(key)
        ctx.sign(signature)
        serialized = etree.tostring(root.getroottree(), encoding="UTF-8", xml_declaration=False)
        return Signed(body=_XML_DECLARATION + serialized, headers=())


def _load_pem(pem: bytes) -> xmlsec.Key:
    return xmlsec.Key.from_memory(pem, _C.KeyDataFormatPem)


def _append_template(root: etree._Element, method: Method, kid: str) -> etree._Element:
    signature = xmlsec.template.create(root, _C.TransformExclC14N, method.transform, ns="ds")
    root.append(signature)
    reference = xmlsec.template.add_reference(signature, _C.TransformSha256, uri="")
    xmlsec.template.add_transform(reference, _C.TransformEnveloped)
    xmlsec.template.add_transform(reference, _C.TransformExclC14N)
    xmlsec.template.add_key_name(xmlsec.template.ensure_key_info(signature), kid)
    return signature


def find_signature(root: etree._Element) -> etree._Element:
    """The document's one ds:Signature, the root's last child."""
    signatures = list(root.iter(_ds("Signature")))
    if not signatures:
        raise AdapterError(Code.SIGNATURE_MISSING, "the document carries no ds:Signature")
    if len(signatures) > 1:
        raise _invalid("exactly one ds:Signature is allowed")
    signature = signatures[0]
    if signature.getparent() is not root or signature.getnext() is not None:
        raise _invalid("ds:Signature must be the last child of the root element")
    return signature


def refuse_unsigned_nodes(root: etree._Element) -> None:
    node = next(root.iter(etree.Comment, etree.ProcessingInstruction), None)
    if node is not None:
        kind = "comments" if isinstance(node, etree._Comment) else "processing instructions"
        raise _invalid(f"{kind} are not accepted inside a signed document")


def checked_shape(signature: etree._Element) -> etree._Element:
    """The SignatureMethod element, once the signature has the contract's one shape."""
    signed_info = _children(signature, "SignedInfo", "SignatureValue", "KeyInfo?")[0]
    c14n, signature_method_element, reference = _children(
        signed_info, "CanonicalizationMethod", "SignatureMethod", "Reference"
    )
    _expect_algorithm(c14n, EXC_C14N)
    if reference.get("URI") != "":
        raise _invalid('the Reference must have URI="" (the whole document)')
    transforms, digest, _ = _children(reference, "Transforms", "DigestMethod", "DigestValue")
    first, second = _children(transforms, "Transform", "Transform")
    _expect_algorithm(first, ENVELOPED)
    _expect_algorithm(second, EXC_C14N)
    _expect_algorithm(digest, SHA256)
    return signature_method_element


def signature_method(element: etree._Element) -> Method:
    """The contract's method the SignatureMethod element names, or ALGORITHM_NOT_ALLOWED."""
    uri = element.get("Algorithm") or ""
    method = _BY_URI.get(uri)
    if method is None:
        raise AdapterError(Code.ALGORITHM_NOT_ALLOWED, f"signature method {uri!r} is not allowed")
    if len(element):
        raise _invalid("ds:SignatureMethod takes no parameters")
    return method


def key_name(signature: etree._Element) -> str | None:
    names = signature.findall(f"{_ds('KeyInfo')}/{_ds('KeyName')}")
    if len(names) > 1:
        raise _invalid("KeyInfo must name one key")
    return (names[0].text or "").strip() if names else None


def check_operation(root: etree._Element, root_name: str, path: str) -> None:
    """The root element names the operation of `path`: with XML-DSig it is what binds a
    signature to one operation, as htm/htu do for JWS and @path for HTTP signatures."""
    if root.tag != f"{{{XML_NAMESPACE}}}{root_name}":
        raise _invalid(f"the message was signed for another operation than {path}")


def check_key_fits(method: Method, key: PublicKey) -> None:
    if key.kind != method.key_kind:
        raise _invalid(f"key {key.kid!r} is not a {method.key_kind} key for {method.name}")


def reference_digest(signature: etree._Element) -> bytes:
    """SHA-256 of the referenced content: what DigestValue must hold."""
    return hashlib.sha256(referenced_content(signature)).digest()


def referenced_content(signature: etree._Element) -> bytes:
    """The document after the Reference's transforms: enveloped-signature, then
    exclusive c14n without comments."""
    return _exclusive_c14n(enveloped(signature))


def enveloped(signature: etree._Element) -> etree._ElementTree:
    """A copy of the document without `signature` (the enveloped-signature transform).

    The caller's tree keeps its signature. Text after the signature stays, as the
    transform removes the element only.
    """
    original = signature.getroottree()
    document = copy.deepcopy(original)
    twin = next(
        mirror
        for node, mirror in zip(original.getroot().iter(), document.getroot().iter(), strict=True)
        if node is signature
    )
    _remove_keeping_tail(twin)
    return document


def canonical_signed_info(signature: etree._Element) -> bytes:
    """The exclusive c14n of SignedInfo: the bytes the SignatureValue covers."""
    signed_info = signature.find(_ds("SignedInfo"))
    if signed_info is None:
        raise _invalid("ds:Signature has no ds:SignedInfo")
    return _exclusive_c14n(signed_info)


def check_digest(signature: etree._Element) -> None:
    """The DigestValue sent is the reference digest of the document received."""
    sent = _base64_text(signature, f"{_ds('SignedInfo')}/{_ds('Reference')}/{_ds('DigestValue')}")
    if not hmac.compare_digest(sent, reference_digest(signature)):
        raise _invalid("the DigestValue does not match the document")


def signature_value(signature: etree._Element) -> bytes:
    return _base64_text(signature, _ds("SignatureValue"))


def _base64_text(signature: etree._Element, path: str) -> bytes:
    element = signature.find(path)
    text = _XML_WHITESPACE.sub("", element.text or "") if element is not None else ""
    local = path.rsplit("}", 1)[-1]
    try:
        value = base64.b64decode(text, validate=True)
    except ValueError:
        raise _invalid(f"ds:{local} is not base64") from None
    if not value:
        raise _invalid(f"ds:{local} is empty")
    return value


def _exclusive_c14n(node: etree._Element | etree._ElementTree) -> bytes:
    try:
        return etree.tostring(node, method="c14n", exclusive=True, with_comments=False)
    except etree.C14NError:
        # libxml2 refuses to canonicalise some well-formed documents, a relative namespace
        # URI (xmlns:a="b") above all: no signature over them can be checked.
        raise AdapterError(
            Code.MALFORMED_MESSAGE,
            "the XML cannot be canonicalised (exclusive C14N); is a namespace URI relative?",
        ) from None


def _remove_keeping_tail(element: etree._Element) -> None:
    parent = element.getparent()
    if parent is None:
        raise _invalid("ds:Signature is the root element: it signs nothing")
    tail = element.tail or ""
    previous = element.getprevious()
    if previous is not None:
        previous.tail = (previous.tail or "") + tail
    else:
        parent.text = (parent.text or "") + tail
    parent.remove(element)


def _children(parent: etree._Element, *names: str) -> list[etree._Element]:
    """`parent`'s child elements, which must be exactly `names` (`?`: the last may be absent)."""
    children = list(parent)
    expected = [_ds(name.rstrip("?")) for name in names]
    optional_last = names[-1].endswith("?")
    tags = [child.tag for child in children]
    if tags != expected and not (optional_last and tags == expected[:-1]):
        wanted = ", ".join(names).replace("?", " (optional)")
        raise _invalid(f"ds:{etree.QName(parent).localname} must hold exactly {wanted}")
    return children


def _expect_algorithm(element: etree._Element, uri: str) -> None:
    # Parameters (e.g. InclusiveNamespaces) would change what is digested: none allowed.
    if element.get("Algorithm") != uri or len(element):
        local = etree.QName(element).localname
        raise _invalid(f"ds:{local} must be {uri} without parameters")
