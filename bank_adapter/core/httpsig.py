"""The `http-sig` profile: RFC 9421 HTTP Message Signatures over an RFC 9530 Content-Digest.

A request is signed under the label `sig1` covering exactly
`("@method" "@path" "content-type" "content-digest" "x-partner-id")`, a response covering
`("@status" "content-type" "content-digest")`, each with `created`, `keyid` and `alg`.
The body is bound through `Content-Digest: sha-256=:<base64>:`.

Verification, in order; the first failing step decides the code:
1. `Signature-Input` and `Signature` are present, else SIGNATURE_MISSING.
2. Each field (and `Content-Digest`) is at most `limits.MAX_SIGNATURE_FIELD` characters
   before it is parsed and at most `limits.MAX_SIGNATURE_MEMBERS` members after. Both
   parse as Structured Field dictionaries, a repeated label or parameter being refused
   rather than last-wins (a signer and a verifier must not read different inputs), and
   both have a `sig1` member: an inner list of strings in `Signature-Input`, a byte
   sequence in `Signature`. Other labels are ignored: intermediaries may add their own.
3. The covered components are exactly the contract's set, in any order, with no repeats
   and no component parameters (`;sf`, `;key`, `;bs`, `;req` would change what is
   covered); the parameters are `created`, `keyid`, `alg` and at most the standard
   `expires`, `nonce`, `tag`. A signature covering less is no signature of ours.
4. `alg` is implemented here and allowed for the partner, else ALGORITHM_NOT_ALLOWED;
   `keyid` names a registered, unexpired key, else UNKNOWN_KEY; that key is of the type
   `alg` needs.
5. `created` is an integer at most `CREATED_TOLERANCE` ahead of `now`, and `expires`, if
   given, is still ahead. How old `created` is does not matter: freshness is judged on the
   message's `Timestamp`, after the `MessageId` lookup, so that a bank retrying a message
   still gets the stored answer; refusing it here would break that rule.
6. `Content-Digest` is present, parses, and its `sha-256` member is the body's SHA-256
   (other members are ignored). A missing or wrong digest is a bad signature.
7. The signature base (RFC 9421 section 2.5) is built from the received field values,
   trimmed of surrounding spaces as section 2.1 says, and the `sig1` parameters
   re-serialised (section 2.3); the signature verifies with the registered key.
Every other failure is SIGNATURE_INVALID.

Written over `http_sf` rather than with `http-message-signatures`: that library reads the
wall clock itself (the core takes `now`), needs an absolute URL, and binds one algorithm
to a verifier, so `alg` would be parsed twice to pick one. It was also slower
(verifications per second, one core, best of 7: ecdsa-p256-sha256 3,800 here against
2,000; rsa-v1_5-sha256 with a 3072-bit key 5,200 against 2,100). With the component set
fixed by the contract, the base is a few lines.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

import http_sf
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from http_sf.innerlist import ser_innerlist
from http_sf.types import ItemType, ParamsType

from bank_adapter.core.algorithms import Algorithm, EcdsaP256, Ed25519, Rsa, allowed, check_fits
from bank_adapter.core.keys import PublicKey, SigningKey
from bank_adapter.core.limits import ShapeError, check_field, check_members
from bank_adapter.core.signing import Signed, Verified, VerifyPolicy
from bank_adapter.core.wire import Headers, WireRequest
from bank_adapter.errors import AdapterError, Code

LABEL = "sig1"
REQUEST_COMPONENTS = ("@method", "@path", "content-type", "content-digest", "x-partner-id")
RESPONSE_COMPONENTS = ("@status", "content-type", "content-digest")
# A clock a little ahead is tolerated; a signature dated further ahead is refused.
CREATED_TOLERANCE = timedelta(seconds=300)

_REQUIRED_PARAMETERS = frozenset({"created", "keyid", "alg"})
_ALLOWED_PARAMETERS = _REQUIRED_PARAMETERS | {"expires", "nonce", "tag"}


# RFC 9421 section 3.3.1: PSS with SHA-512, MGF1 SHA-512 and a 64-byte salt.
_PSS_SHA512 = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)
_ALGORITHMS: Mapping[str, Algorithm] = {
    "rsa-pss-sha512": Rsa(_PSS_SHA512, hashes.SHA512()),
    "rsa-v1_5-sha256": Rsa(padding.PKCS1v15(), hashes.SHA256()),
    "ecdsa-p256-sha256": EcdsaP256(),
    "ed25519": Ed25519(),
}
_ADAPTER_ALGORITHMS = {
    "RSA": "rsa-pss-sha512",
    "EC-P256": "ecdsa-p256-sha256",
    "Ed25519": "ed25519",
}


def adapter_algorithm(key: SigningKey) -> str:
    """The `alg` the adapter signs with, decided by its key's kind."""
    return _ADAPTER_ALGORITHMS[key.kind]


def signature_base(components: Sequence[tuple[str, str]], signature_params: str) -> bytes:
    """RFC 9421 section 2.5: one `"name": value` line per component, then the parameters.

    Component names here are plain lowercase names, so quoting them is their SF
    serialisation. Raises ValueError for a value that is not ASCII.
    """
    lines = [f'"{name}": {value}' for name, value in components]
    lines.append(f'"@signature-params": {signature_params}')
    return "\n".join(lines).encode("ascii")


@dataclass(frozen=True, slots=True)
class Declaration:
    """The `sig1` member of `Signature-Input`: what the signature says it covers."""

    components: tuple[str, ...]
    parameters: Mapping[str, Any]
    serialized: str  # the `@signature-params` value


@dataclass(frozen=True, slots=True)
class SignatureInput:
    """A `sig1` declaration with its signature bytes from `Signature`."""

    declaration: Declaration
    signature: bytes

    @property
    def components(self) -> tuple[str, ...]:
        return self.declaration.components

    @property
    def parameters(self) -> Mapping[str, Any]:
        return self.declaration.parameters


class HttpSigProfile:
    name = "http-sig"
    formats = frozenset({"json", "xml"})
    key_kinds: Mapping[str, str] = MappingProxyType(
        {alg: algorithm.key_kind for alg, algorithm in _ALGORITHMS.items()}
    )

    def verify_request(self, request: WireRequest, policy: VerifyPolicy) -> Verified:
        return _verify(
            REQUEST_COMPONENTS, request_components(request), request.headers, request.body, policy
        )

    def verify_response(
        self, status: int, headers: Mapping[str, str], body: bytes, policy: VerifyPolicy
    ) -> Verified:
        fields = {name.lower(): value for name, value in headers.items()}
        return _verify(RESPONSE_COMPONENTS, {"@status": str(status)}, fields, body, policy)

    def sign_response(
        self, status: int, content_type: str, body: bytes, key: SigningKey, now: datetime
    ) -> Signed:
        values = {"@status": str(status), "content-type": content_type}
        return _sign(RESPONSE_COMPONENTS, values, body, key, adapter_algorithm(key), now)

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
        values = {name.lower(): value for name, value in extra_headers}
        values.update({"@method": method, "@path": path, "content-type": content_type})
        return _sign(REQUEST_COMPONENTS, values, body, key, alg, now)


def request_components(request: WireRequest) -> dict[str, str]:
    """The derived components a request signature may cover."""
    return {"@method": request.method, "@path": request.path}


def _verify(
    covered: Sequence[str],
    derived: Mapping[str, str],
    headers: Mapping[str, str],
    body: bytes,
    policy: VerifyPolicy,
) -> Verified:
    signed = read_signature(headers)
    check_coverage(signed.declaration, covered)
    algorithm = allowed_algorithm(signed.parameters, policy)
    key = registered_key(signed.parameters, policy)
    check_key_fits(signed.parameters, algorithm, key)
    check_times(signed.parameters, policy.now)
    check_digest(headers.get("content-digest"), body)
    check_signature(signed, algorithm, key, covered_base(signed.declaration, derived, headers))
    return Verified(body=body, kid=key.kid)


def read_signature(headers: Mapping[str, str]) -> SignatureInput:
    """The `sig1` signature, or SIGNATURE_MISSING / SIGNATURE_INVALID."""
    inputs, signatures = headers.get("signature-input"), headers.get("signature")
    if not inputs or not signatures:
        raise AdapterError(Code.SIGNATURE_MISSING, "Signature-Input and Signature are required")
    return SignatureInput(read_declaration(inputs), _signature_bytes(signatures))


def read_declaration(inputs: str) -> Declaration:
    """The `sig1` member of a `Signature-Input` value."""
    member = _dictionary("Signature-Input", inputs).get(LABEL)
    if member is None:
        raise _invalid(f"no signature labelled {LABEL} in Signature-Input")
    items, parameters = member
    if not isinstance(items, list):
        raise _invalid(f"{LABEL} is not an inner list of covered components")
    if any(not isinstance(name, str) or item_parameters for name, item_parameters in items):
        raise _invalid("covered components must be plain strings without parameters")
    return Declaration(
        components=tuple(name for name, _ in items),
        parameters=parameters,
        serialized=ser_innerlist(member),
    )


def _signature_bytes(signatures: str) -> bytes:
    signature = _dictionary("Signature", signatures).get(LABEL)
    if signature is None:
        raise _invalid(f"no signature labelled {LABEL} in Signature")
    if not isinstance(signature[0], bytes):
        raise _invalid(f"the {LABEL} signature is not a byte sequence (:base64:)")
    return signature[0]


def _dictionary(field: str, value: str) -> dict[str, Any]:
    try:
        check_field(field, value)
        parsed = http_sf.parse(
            value.encode("ascii"), tltype="dictionary", on_duplicate_key=_refuse_repeat
        )
        if isinstance(parsed, dict):
            check_members(field, len(parsed))
    except ShapeError as exc:
        raise _invalid(str(exc)) from None
    except ValueError:
        raise _invalid(f"{field} is not a structured field dictionary without repeats") from None
    if not isinstance(parsed, dict):  # narrows http_sf's union for the type checker
        raise _invalid(f"{field} is not a structured field dictionary")
    return parsed


def _refuse_repeat(key: str, context: str) -> None:
    raise ValueError(f"repeated {context} key {key}")


def check_coverage(declared: Declaration, covered: Sequence[str]) -> None:
    if sorted(declared.components) != sorted(covered):
        raise _invalid(f"the signature must cover exactly ({' '.join(covered)})")
    names = set(declared.parameters)
    if not _REQUIRED_PARAMETERS <= names <= _ALLOWED_PARAMETERS:
        raise _invalid("signature parameters must be created, keyid, alg (expires, nonce, tag)")


def allowed_algorithm(parameters: Mapping[str, Any], policy: VerifyPolicy) -> Algorithm:
    """The implementation of `alg`, if the partner may use it."""
    return allowed(parameters.get("alg"), _ALGORITHMS, policy)


def registered_key(parameters: Mapping[str, Any], policy: VerifyPolicy) -> PublicKey:
    """The partner's key `keyid` names, or UNKNOWN_KEY."""
    keyid = parameters.get("keyid")
    return policy.key_for(keyid if isinstance(keyid, str) else None)


def check_key_fits(parameters: Mapping[str, Any], algorithm: Algorithm, key: PublicKey) -> None:
    check_fits(parameters.get("alg"), algorithm, key)


def check_times(parameters: Mapping[str, Any], now: datetime) -> None:
    created, expires = parameters.get("created"), parameters.get("expires")
    # `type() is int`: a Structured Field boolean parses to a Python bool, an int subclass.
    if type(created) is not int or created > (now + CREATED_TOLERANCE).timestamp():
        raise _invalid("created must be an integer time, not in the future")
    if expires is not None and (type(expires) is not int or expires <= now.timestamp()):
        raise _invalid("expires must be an integer time, not in the past")


def check_digest(value: str | None, body: bytes) -> None:
    """`Content-Digest`'s `sha-256` member is the body's SHA-256 (RFC 9530)."""
    if value is None:
        raise _invalid("Content-Digest is missing")
    member = _dictionary("Content-Digest", value).get("sha-256")
    if member is None or not isinstance(member[0], bytes):
        raise _invalid("Content-Digest has no sha-256 member")
    if not hmac.compare_digest(member[0], hashlib.sha256(body).digest()):
        raise _invalid("Content-Digest does not match the body")


def covered_base(
    declared: Declaration, derived: Mapping[str, str], headers: Mapping[str, str]
) -> bytes:
    """The signature base of the components `declared`, from the received values."""
    values = [(name, _value(name, derived, headers)) for name in declared.components]
    try:
        return signature_base(values, declared.serialized)
    except ValueError:
        raise _invalid("a covered field is not ASCII") from None


def check_signature(
    signed: SignatureInput, algorithm: Algorithm, key: PublicKey, base: bytes
) -> None:
    if not algorithm.verify(key.key, signed.signature, base):
        raise _invalid("the signature does not verify")


def _value(name: str, derived: Mapping[str, str], headers: Mapping[str, str]) -> str:
    value = derived.get(name) if name.startswith("@") else headers.get(name)
    if value is None:
        raise _invalid(f"covered field {name} is missing")
    return value.strip(" \t")


def _sign(
    covered: Sequence[str],
    values: Mapping[str, str],
    body: bytes,
    key: SigningKey,
    alg: str,
    now: datetime,
) -> Signed:
    if alg not in _ALGORITHMS:
        raise ValueError(f"cannot sign with {alg!r}: one of {', '.join(_ALGORITHMS)}")
    digest = content_digest(body)
    values = {**values, "content-digest": digest}
    missing = [name for name in covered if name not in values]
    if missing:
        raise ValueError(f"cannot sign without {', '.join(missing)}")
    items: list[ItemType] = [(name, {}) for name in covered]
    parameters: ParamsType = {"created": int(now.timestamp()), "keyid": key.kid, "alg": alg}
    serialized = ser_innerlist((items, parameters))
    base = signature_base([(name, values[name]) for name in covered], serialized)
    signature = base64.b64encode(_ALGORITHMS[alg].sign(key.private_key, base)).decode("ascii")
    return Signed(
        body=body,
        headers=(
            ("Content-Digest", digest),
            ("Signature-Input", f"{LABEL}={serialized}"),
            ("Signature", f"{LABEL}=:{signature}:"),
        ),
    )


def content_digest(body: bytes) -> str:
    """RFC 9530 `Content-Digest` of `body`: `sha-256=:<base64>:`."""
    return f"sha-256=:{base64.b64encode(hashlib.sha256(body).digest()).decode('ascii')}:"


def _invalid(detail: str) -> AdapterError:
    return AdapterError(Code.SIGNATURE_INVALID, detail)
