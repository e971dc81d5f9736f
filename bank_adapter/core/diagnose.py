"""Signature diagnostics (contract section 10): which check a request fails, and what
the adapter computed from the bytes it received.

Theory of operation. The checks run in the contract's order, `CHECKS`, up to the first
that fails. Each check calls the signature profile's own functions (`core.jws`,
`core.httpsig`, `core.xmldsig`), the very ones verification calls, so a request that
passes here passes the profile, and a failure here is the failure verification meets
(verification groups the same checks in its own order, which decides the contract
code). `computed` is worked out from the bytes alone, whatever the checks found: the
JWS signing input, the RFC 9421 signature base and Content-Digest, the canonical
SignedInfo and reference digest, each with the profile's own function, so a bank can
diff them against its own values. When the failure looks like a usual mistake,
`core.mistakes` names it (`hint`).

Pure: no I/O, the clock passed in, nothing recorded.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, TypeVar

from lxml import etree

from bank_adapter.core import httpsig, jws, mistakes, xmldsig
from bank_adapter.core.algorithms import Algorithm
from bank_adapter.core.keys import PublicKey
from bank_adapter.core.messages import OPERATIONS
from bank_adapter.core.signing import VerifyPolicy
from bank_adapter.core.wire import WireRequest
from bank_adapter.core.xmlparse import parse_xml
from bank_adapter.errors import AdapterError, Code
from bank_adapter.partners import Partner

CHECKS: Final = (
    "partner",
    "format",
    "signature_header",
    "key",
    "algorithm",
    "digest",
    "binding",
    "signature",
)
# Headers a request may carry once only: the pipeline refuses a repeat rather than
# pick one, so no two readers can disagree on which value counts.
SINGLE_HEADERS: Final = frozenset(
    {
        "x-partner-id", "content-type", "content-digest", "x-jws-signature",
        "signature", "signature-input",
    }
)  # fmt: skip
OPERATION_METHOD: Final = "POST"

T = TypeVar("T")
Hint = Callable[[], str | None]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str | None  # why it failed; None when it passed


@dataclass(frozen=True, slots=True)
class Diagnosis:
    partner: str | None
    profile: str | None
    checks: tuple[Check, ...]
    computed: Mapping[str, Any]
    hint: str | None = None  # the usual mistake the failure points to, if one does

    @property
    def ok(self) -> bool:
        return len(self.checks) == len(CHECKS) and all(check.ok for check in self.checks)

    @property
    def failed_check(self) -> str | None:
        return next((check.name for check in self.checks if not check.ok), None)

    @property
    def detail(self) -> str | None:
        """The failure and, when it points to a usual mistake, that mistake."""
        failed = next((check for check in self.checks if not check.ok), None)
        if failed is None:
            return None
        return f"{failed.detail}. Likely cause: {self.hint}" if self.hint else failed.detail

    def as_json(self) -> dict[str, Any]:
        """The answer of `POST /sandbox/v1/diagnose`, members as section 10 names them."""
        return {
            "ok": self.ok,
            "partner": self.partner,
            "profile": self.profile,
            "failedCheck": self.failed_check,
            "detail": self.detail,
            "checks": [
                {"name": check.name, "ok": check.ok, "detail": check.detail}
                for check in self.checks
            ],
            "computed": dict(self.computed),
        }


class _Stop(Exception):
    """A check failed: the run ends there."""


@dataclass
class _Run:
    checks: list[Check] = field(default_factory=list)
    hint: str | None = None

    def check(self, name: str, step: Callable[..., T], *args: Any, hint: Hint | None = None) -> T:
        """`step(*args)`, recorded under `name`; a contract error ends the run."""
        try:
            result = step(*args)
        except AdapterError as err:
            self.checks.append(Check(name, False, err.detail))
            self.hint = hint() if hint is not None else None
            raise _Stop from None
        self.checks.append(Check(name, True, None))
        return result

    def passes(self, name: str) -> None:
        """A check the profile satisfies by construction (see section 10)."""
        self.checks.append(Check(name, True, None))


def diagnose(
    request: WireRequest,
    partners: Mapping[str, Partner],
    now: datetime,
    *,
    repeated_headers: frozenset[str] = frozenset(),
    target: str | None = None,
) -> Diagnosis:
    """Diagnose `request`, whose `path` is the operation it is meant for.

    `repeated_headers` names (lower case) the headers that appeared more than once;
    `target` is the request-target it was actually sent to, for hints only.
    """
    partner_id = request.header("x-partner-id")
    known = partners.get(partner_id) if partner_id else None
    run = _Run()
    try:
        partner = run.check(
            "partner",
            _partner,
            partner_id,
            known,
            repeated_headers,
            hint=lambda: mistakes.partner(partner_id, partners),
        )
        root = run.check("format", _format, request, partner)
        policy = VerifyPolicy(partner.keys, partner.algorithms, now)
        _run_profile(run, partner, _Request(request, repeated_headers, target, root), policy)
    except _Stop:
        pass
    if known is None:
        return Diagnosis(partner_id, None, tuple(run.checks), {}, run.hint)
    computed = _computed(known.signature, request)
    return Diagnosis(partner_id, known.signature, tuple(run.checks), computed, run.hint)


def lower_headers(items: Iterable[tuple[str, str]]) -> tuple[dict[str, str], frozenset[str]]:
    """Header names in lower case (the first value of each), and the names sent twice."""
    headers: dict[str, str] = {}
    repeated: set[str] = set()
    for name, value in items:
        key = name.lower()
        if key in headers:
            repeated.add(key)
        else:
            headers[key] = value
    return headers, frozenset(repeated)


@dataclass(frozen=True, slots=True)
class _Request:
    wire: WireRequest
    repeated: frozenset[str]
    target: str | None
    root: etree._Element | None  # the parsed document, for XML partners


def _partner(partner_id: str | None, partner: Partner | None, repeated: frozenset[str]) -> Partner:
    if "x-partner-id" in repeated:
        raise AdapterError(Code.UNKNOWN_PARTNER, "X-Partner-Id appears more than once")
    if not partner_id:
        raise AdapterError(Code.UNKNOWN_PARTNER, "X-Partner-Id header is missing")
    if partner is None:
        raise AdapterError(Code.UNKNOWN_PARTNER, "X-Partner-Id names no registered partner")
    if partner.suspended:
        raise AdapterError(Code.PARTNER_SUSPENDED, "this partner is suspended")
    return partner


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type value, without parameters, in lower case."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def _format(request: WireRequest, partner: Partner) -> etree._Element | None:
    sent = media_type(request.header("content-type"))
    if sent != partner.content_type:
        raise AdapterError(
            Code.FORMAT_NOT_ALLOWED,
            f"this partner sends {partner.content_type} only, the request is {sent or 'untyped'}",
        )
    return parse_xml(request.body) if partner.format == "xml" else None


def _run_profile(run: _Run, partner: Partner, request: _Request, policy: VerifyPolicy) -> None:
    repeated = sorted(request.repeated & SINGLE_HEADERS)
    if repeated:
        detail = f"header {repeated[0]} appears more than once"
        run.check("signature_header", _fail, AdapterError(Code.SIGNATURE_INVALID, detail))
    if partner.signature == "jws":
        _jws(run, request, policy)
    elif partner.signature == "http-sig":
        _httpsig(run, request, policy)
    else:
        _xmldsig(run, request, policy)


def _fail(err: AdapterError) -> None:
    raise err


# --- jws -------------------------------------------------------------------------------


def _jws(run: _Run, request: _Request, policy: VerifyPolicy) -> None:
    wire = request.wire
    value = wire.header(jws.SIGNATURE_HEADER)
    signed = run.check(
        "signature_header",
        _jws_header,
        value,
        hint=lambda: mistakes.jws_header(value, wire),
    )
    header = signed.header
    key = run.check(
        "key",
        jws.registered_key,
        header,
        policy,
        hint=lambda: mistakes.kid(header.get("kid"), policy),
    )
    algorithm = run.check(
        "algorithm",
        _jws_algorithm,
        header,
        policy,
        key,
        hint=lambda: mistakes.algorithm(header.get("alg"), key, policy),
    )
    run.passes("digest")
    run.check(
        "binding",
        jws.check_binding,
        header,
        OPERATION_METHOD,
        wire.path,
        hint=lambda: mistakes.jws_binding(header, wire.path),
    )
    run.check(
        "signature",
        jws.check_signature,
        signed,
        algorithm,
        key,
        wire.body,
        hint=lambda: mistakes.jws_signature(signed, algorithm, key, wire.body),
    )


def _jws_header(value: str | None) -> jws.DetachedJws:
    signed = jws.parse_detached(value)
    missing = [name for name in ("alg", "kid", "htm", "htu") if name not in signed.header]
    if missing:
        raise AdapterError(
            Code.SIGNATURE_INVALID, f"the protected header lacks {', '.join(missing)}"
        )
    return signed


def _jws_algorithm(header: Mapping[str, Any], policy: VerifyPolicy, key: PublicKey) -> Algorithm:
    algorithm = jws.allowed_algorithm(header, policy)
    jws.check_key_fits(header, algorithm, key)
    return algorithm


# --- http-sig --------------------------------------------------------------------------


def _httpsig(run: _Run, request: _Request, policy: VerifyPolicy) -> None:
    wire = request.wire
    signed = run.check(
        "signature_header",
        _httpsig_header,
        wire.headers,
        policy.now,
        hint=lambda: mistakes.httpsig_header(wire, policy.now),
    )
    parameters = signed.parameters
    key = run.check(
        "key",
        httpsig.registered_key,
        parameters,
        policy,
        hint=lambda: mistakes.kid(parameters.get("keyid"), policy),
    )
    algorithm = run.check(
        "algorithm",
        _httpsig_algorithm,
        parameters,
        policy,
        key,
        hint=lambda: mistakes.algorithm(parameters.get("alg"), key, policy),
    )
    digest = wire.header("content-digest")
    run.check(
        "digest",
        httpsig.check_digest,
        digest,
        wire.body,
        hint=lambda: mistakes.content_digest(digest, wire.body),
    )
    run.passes("binding")
    derived = httpsig.request_components(wire)
    run.check(
        "signature",
        _httpsig_signature,
        signed,
        algorithm,
        key,
        derived,
        wire.headers,
        hint=lambda: mistakes.httpsig_signature(signed, algorithm, key, wire, request.target),
    )


def _httpsig_header(headers: Mapping[str, str], now: datetime) -> httpsig.SignatureInput:
    signed = httpsig.read_signature(headers)
    httpsig.check_coverage(signed.declaration, httpsig.REQUEST_COMPONENTS)
    httpsig.check_times(signed.parameters, now)
    return signed


def _httpsig_algorithm(
    parameters: Mapping[str, Any], policy: VerifyPolicy, key: PublicKey
) -> Algorithm:
    algorithm = httpsig.allowed_algorithm(parameters, policy)
    httpsig.check_key_fits(parameters, algorithm, key)
    return algorithm


def _httpsig_signature(
    signed: httpsig.SignatureInput,
    algorithm: Algorithm,
    key: PublicKey,
    derived: Mapping[str, str],
    headers: Mapping[str, str],
) -> None:
    base = httpsig.covered_base(signed.declaration, derived, headers)
    httpsig.check_signature(signed, algorithm, key, base)


# --- xmldsig ---------------------------------------------------------------------------


def _xmldsig(run: _Run, request: _Request, policy: VerifyPolicy) -> None:
    root = request.root
    if root is None:  # the format check parsed it
        raise _Stop
    signature = run.check(
        "signature_header",
        _xmldsig_shape,
        root,
        hint=lambda: mistakes.xmldsig_shape(root, request.wire),
    )
    key = run.check(
        "key",
        _xmldsig_key,
        signature,
        policy,
        hint=lambda: mistakes.xmldsig_key(signature, policy),
    )
    method = run.check(
        "algorithm",
        _xmldsig_algorithm,
        signature,
        policy,
        key,
        hint=lambda: mistakes.algorithm(_method_name(signature), key, policy),
    )
    run.check(
        "digest",
        xmldsig.check_digest,
        signature,
        hint=lambda: mistakes.xmldsig_digest(signature),
    )
    run.check(
        "binding",
        _xmldsig_binding,
        root,
        request.wire.path,
        hint=lambda: mistakes.xmldsig_binding(root, request.wire.path),
    )
    run.check(
        "signature",
        xmldsig.XmlDsigProfile().check_signature_value,
        signature,
        method,
        key,
        hint=lambda: mistakes.xmldsig_signature(signature, method, key),
    )


def _xmldsig_shape(root: etree._Element) -> etree._Element:
    signature = xmldsig.find_signature(root)
    xmldsig.refuse_unsigned_nodes(root)
    xmldsig.checked_shape(signature)
    return signature


def _xmldsig_key(signature: etree._Element, policy: VerifyPolicy) -> PublicKey:
    return policy.key_for(xmldsig.key_name(signature))


def _xmldsig_algorithm(
    signature: etree._Element, policy: VerifyPolicy, key: PublicKey
) -> xmldsig.Method:
    method = xmldsig.signature_method(xmldsig.checked_shape(signature))
    policy.check_algorithm(method.name)
    xmldsig.check_key_fits(method, key)
    return method


def _method_name(signature: etree._Element) -> str | None:
    try:
        return xmldsig.signature_method(xmldsig.checked_shape(signature)).name
    except AdapterError:
        return None


def _xmldsig_binding(root: etree._Element, path: str) -> None:
    xmldsig.check_operation(root, OPERATIONS[path].request_root, path)


# --- computed ----------------------------------------------------------------------------


def _computed(profile: str, request: WireRequest) -> dict[str, Any]:
    if profile == "jws":
        return _jws_computed(request)
    if profile == "http-sig":
        return _httpsig_computed(request)
    return _xmldsig_computed(request.body)


def _jws_computed(request: WireRequest) -> dict[str, Any]:
    segments = (request.header(jws.SIGNATURE_HEADER) or "").split(".")
    if len(segments) != 3 or not segments[0].isascii():
        return {}
    computed: dict[str, Any] = {}
    with contextlib.suppress(AdapterError):
        computed["protectedHeader"] = jws.decode_protected(segments[0])
    signing_input = jws.signing_input(segments[0].encode("ascii"), request.body)
    computed["signingInput"] = signing_input.decode("ascii")
    return computed


def _httpsig_computed(request: WireRequest) -> dict[str, Any]:
    computed: dict[str, Any] = {}
    inputs = request.header("signature-input")
    try:
        declared = httpsig.read_declaration(inputs or "")
        base = httpsig.covered_base(declared, httpsig.request_components(request), request.headers)
        computed["signatureBase"] = base.decode("ascii")
    except AdapterError:
        pass
    computed["contentDigest"] = httpsig.content_digest(request.body)
    return computed


def _xmldsig_computed(body: bytes) -> dict[str, Any]:
    try:
        root = parse_xml(body)
    except AdapterError:
        return {}
    signatures = list(root.iter(f"{{{xmldsig.DS_NS}}}Signature"))
    if len(signatures) != 1:
        return {}
    computed: dict[str, Any] = {}
    with contextlib.suppress(AdapterError):
        computed["canonicalSignedInfo"] = xmldsig.canonical_signed_info(signatures[0]).decode()
    with contextlib.suppress(AdapterError):
        digest = xmldsig.reference_digest(signatures[0])
        computed["referenceDigest"] = base64.b64encode(digest).decode("ascii")
    return computed
