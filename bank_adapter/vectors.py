"""Test vectors for the three signature profiles, made with the profiles' own code.

Each vector is one signed message (a request from a sandbox bank, or an answer from the
adapter) at a fixed time, with its key and every intermediate value a bank's signer
computes: the JWS protected header and signing input; the RFC 9421 Content-Digest,
signature parameters and signature base; the XML-DSig referenced content (after
enveloped-signature and exclusive c14n), its digest and the canonical SignedInfo.

Ed25519, RSA PKCS#1 v1.5 and so RSA-SHA256 signatures are deterministic: the vector's
signature is *the* signature, and regenerating makes it again. ECDSA and RSA-PSS are
randomised: the vector's signature is *one* valid signature. Regenerating keeps the
published one as long as everything else is unchanged and it still verifies, so the
files only change when the messages or the code do.

    python -m bank_adapter.vectors [DIR]       # DIR defaults to docs/vectors
"""

from __future__ import annotations

import base64
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel

from bank_adapter.core import codec_json, codec_xml, httpsig, jws, xmldsig
from bank_adapter.core.httpsig import HttpSigProfile
from bank_adapter.core.jws import JwsProfile
from bank_adapter.core.keys import PublicKey, SigningKey, load_private_pem, load_public_pem
from bank_adapter.core.messages import OPERATIONS
from bank_adapter.core.signing import SignatureProfile, Signed, VerifyPolicy
from bank_adapter.core.wire import WireRequest
from bank_adapter.core.xmldsig import XmlDsigProfile
from bank_adapter.core.xmlparse import parse_xml
from bank_adapter.errors import AdapterError
from bank_adapter.examples import EXAMPLES
from bank_adapter.partners import Partner, load_partners

REPO: Final = Path(__file__).resolve().parents[1]
ADAPTER_KID: Final = "adapter-test-2026-01"
ADAPTER_KEY_FILE: Final = f"docs/vectors/keys/{ADAPTER_KID}.key.pem"
ADAPTER_PUBLIC_FILE: Final = f"docs/vectors/keys/{ADAPTER_KID}.pem"
TIME: Final = datetime.fromisoformat("2026-03-01T09:40:05+03:00")
PATH: Final = "/v1/payments"
DETERMINISTIC: Final = frozenset({"EdDSA", "ed25519", "RS256", "rsa-v1_5-sha256", "RSA-SHA256"})
_SIGNATURE_VALUE: Final = re.compile(r"(<ds:SignatureValue>).*?(</ds:SignatureValue>)", re.S)


@dataclass(frozen=True, slots=True)
class Spec:
    """One vector to make: who signs, with what, in which format."""

    name: str
    profile: str
    direction: str  # "request" or "response"
    partner: str
    kid: str
    algorithm: str
    format: str  # "json" or "xml"


SPECS: Final = (
    Spec("jws-request", "jws", "request", "RJHI", "rjhi-test-2026-01", "ES256", "json"),
    Spec("jws-response", "jws", "response", "RJHI", ADAPTER_KID, "ES256", "json"),
    Spec("http-sig-request", "http-sig", "request", "RIBL", "ribl-test-2026-01", "ed25519", "json"),
    Spec(
        "http-sig-xml-request", "http-sig", "request", "SABB", "sabb-test-2026-01",
        "rsa-pss-sha512", "xml",
    ),
    Spec(
        "http-sig-response", "http-sig", "response", "RIBL", ADAPTER_KID,
        "ecdsa-p256-sha256", "json",
    ),
    Spec("xmldsig-request", "xmldsig", "request", "NCBK", "ncbk-test-2025-07", "RSA-SHA256", "xml"),
    Spec(
        "xmldsig-ecdsa-request", "xmldsig", "request", "NCBK", "ncbk-test-2026-01",
        "ECDSA-SHA256", "xml",
    ),
    Spec("xmldsig-response", "xmldsig", "response", "NCBK", ADAPTER_KID, "ECDSA-SHA256", "xml"),
)  # fmt: skip
PROFILES: Final = ("jws", "http-sig", "xmldsig")


def _profile(name: str) -> SignatureProfile:
    profiles: dict[str, SignatureProfile] = {
        "jws": JwsProfile(),
        "http-sig": HttpSigProfile(),
        "xmldsig": XmlDsigProfile(),
    }
    return profiles[name]


def key_files(spec: Spec) -> dict[str, str]:
    if spec.kid == ADAPTER_KID:
        return {"private": ADAPTER_KEY_FILE, "public": ADAPTER_PUBLIC_FILE}
    return {
        "private": f"partners/sandbox-keys/{spec.kid}.key.pem",
        "public": f"partners/keys/{spec.kid}.pem",
    }


def _key(spec: Spec) -> SigningKey:
    pem = (REPO / key_files(spec)["private"]).read_bytes()
    return SigningKey(spec.kid, load_private_pem(pem))


def _body(spec: Spec) -> bytes:
    """The payment example's request or answer, as the codecs put it on the wire."""
    example = next(example for example in EXAMPLES if example.name == "payment")
    operation = OPERATIONS[PATH]
    model: BaseModel
    if spec.direction == "request":
        model = codec_json.validate(operation.request_model, example.request)
        root = operation.request_root
    else:
        model = codec_json.validate(operation.response_model, example.response)
        root = operation.response_root
    return (
        codec_xml.encode_xml(model, root) if spec.format == "xml" else codec_json.encode_json(model)
    )


def _content_type(spec: Spec) -> str:
    return "application/xml" if spec.format == "xml" else "application/json"


def make_vector(spec: Spec) -> dict[str, Any]:
    """The vector of `spec`, freshly signed."""
    profile = _profile(spec.profile)
    key, body, content_type = _key(spec), _body(spec), _content_type(spec)
    if spec.direction == "request":
        partner_header = (("X-Partner-Id", spec.partner),)
        signed = profile.sign_request(
            "POST", PATH, content_type, body, partner_header, key, spec.algorithm, TIME
        )
        headers = {
            "Content-Type": content_type,
            "X-Partner-Id": spec.partner,
            **dict(signed.headers),
        }
        message: dict[str, Any] = {"method": "POST", "path": PATH}
    else:
        signed = profile.sign_response(200, content_type, body, key, TIME)
        headers = {"Content-Type": content_type, **dict(signed.headers)}
        message = {"status": 200}
    return {
        "name": spec.name,
        "profile": spec.profile,
        "direction": spec.direction,
        "partner": spec.partner,
        "kid": spec.kid,
        "algorithm": spec.algorithm,
        "keys": key_files(spec),
        "time": TIME.isoformat(),
        "createdUnix": int(TIME.timestamp()),
        **message,
        "headers": headers,
        "body": signed.body.decode("utf-8"),
        "intermediate": intermediate(spec, signed, headers),
        "deterministicSignature": spec.algorithm in DETERMINISTIC,
    }


def intermediate(spec: Spec, signed: Signed, headers: Mapping[str, str]) -> dict[str, Any]:
    """Every value between the message and its signature, by the profile's functions."""
    lowered = {name.lower(): value for name, value in headers.items()}
    if spec.profile == "jws":
        return _jws_values(lowered[jws.SIGNATURE_HEADER.lower()], signed.body)
    if spec.profile == "http-sig":
        return _httpsig_values(spec, lowered, signed.body)
    return _xmldsig_values(signed.body)


def _jws_values(value: str, body: bytes) -> dict[str, Any]:
    detached = jws.parse_detached(value)
    protected = detached.protected.decode("ascii")
    return {
        "protectedHeader": detached.header,
        "protectedHeaderJson": base64.urlsafe_b64decode(protected + "==").decode("utf-8"),
        "protectedSegment": protected,
        "payloadSegment": jws.signing_input(b"", body).decode("ascii").removeprefix("."),
        "signingInput": jws.signing_input(detached.protected, body).decode("ascii"),
        "signature": value.rsplit(".", 1)[1],
    }


def _httpsig_values(spec: Spec, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    signed = httpsig.read_signature(headers)
    if spec.direction == "request":
        derived = {"@method": "POST", "@path": PATH}
    else:
        derived = {"@status": "200"}
    return {
        "contentDigest": httpsig.content_digest(body),
        "coveredComponents": list(signed.components),
        "signatureParams": signed.declaration.serialized,
        "signatureBase": httpsig.covered_base(signed.declaration, derived, headers).decode(),
        "signature": base64.b64encode(signed.signature).decode("ascii"),
    }


def _xmldsig_values(body: bytes) -> dict[str, Any]:
    root = parse_xml(body)
    signature = xmldsig.find_signature(root)
    return {
        "referencedContent": xmldsig.referenced_content(signature).decode("utf-8"),
        "referenceDigest": base64.b64encode(xmldsig.reference_digest(signature)).decode(),
        "canonicalSignedInfo": xmldsig.canonical_signed_info(signature).decode("utf-8"),
        "signature": base64.b64encode(xmldsig.signature_value(signature)).decode("ascii"),
    }


def masked(vector: Mapping[str, Any]) -> Any:
    """The vector with its signature blanked: what must not change for it to be kept."""
    signature = vector["intermediate"]["signature"]
    text = json.dumps(vector, ensure_ascii=False)
    text = text.replace(signature, "<signature>")
    text = _SIGNATURE_VALUE.sub(r"\1<signature>\2", text)
    return json.loads(text)


def verifies(vector: Mapping[str, Any], partners: Mapping[str, Partner]) -> bool:
    """Whether the adapter's own verification accepts the vector's message at its time."""
    profile = _profile(vector["profile"])
    time = datetime.fromisoformat(vector["time"])
    body = vector["body"].encode("utf-8")
    headers = {name.lower(): value for name, value in vector["headers"].items()}
    try:
        if vector["direction"] == "request":
            partner = partners[vector["partner"]]
            policy = VerifyPolicy(partner.keys, partner.algorithms, time)
            profile.verify_request(WireRequest("POST", vector["path"], headers, body), policy)
        else:
            public = PublicKey(
                ADAPTER_KID, load_public_pem((REPO / ADAPTER_PUBLIC_FILE).read_bytes())
            )
            policy = VerifyPolicy({ADAPTER_KID: public}, frozenset({vector["algorithm"]}), time)
            profile.verify_response(vector["status"], headers, body, policy)
    except AdapterError:
        return False
    return True


def vector_files(previous: Path | None) -> dict[str, bytes]:
    """Every file of the vectors directory; published randomised signatures under
    `previous` are kept while they fit."""
    partners = load_partners(REPO / "partners", sandbox=True)
    kept = _published(previous)
    files: dict[str, bytes] = {}
    for profile in PROFILES:
        vectors = []
        for spec in (spec for spec in SPECS if spec.profile == profile):
            fresh = make_vector(spec)
            old = kept.get(spec.name)
            if old is not None and masked(old) == masked(fresh) and verifies(old, partners):
                fresh = old
            vectors.append(fresh)
        files[f"{profile}.json"] = _render({"profile": profile, "vectors": vectors})
        for vector in vectors:
            if vector["body"].startswith("<"):
                files[f"{vector['name']}.xml"] = vector["body"].encode("utf-8")
    files["README.md"] = readme().encode("utf-8")
    return files


def _published(directory: Path | None) -> dict[str, dict[str, Any]]:
    vectors: dict[str, dict[str, Any]] = {}
    for profile in PROFILES:
        path = directory / f"{profile}.json" if directory is not None else None
        if path is not None and path.exists():
            for vector in json.loads(path.read_text(encoding="utf-8"))["vectors"]:
                vectors[vector["name"]] = vector
    return vectors


def _render(document: object) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def readme() -> str:
    rows = "\n".join(
        f"| `{spec.name}` | {spec.partner if spec.direction == 'request' else 'adapter'} "
        f"| `{spec.kid}` | {spec.algorithm} | {spec.format.upper()} "
        f"| {'the' if spec.algorithm in DETERMINISTIC else 'one valid'} signature |"
        for spec in SPECS
    )
    return _README.format(rows=rows, time=TIME.isoformat(), unix=int(TIME.timestamp()))


_README: Final = """# Signature test vectors

Generated by `scripts/make-vectors` with the adapter's own signing code; a test makes them
again and checks every value with `openssl` and `xmlsec1` as well, so this page cannot
drift from what the adapter does. Every vector is the payment of
[`../examples/payment/`](../examples/payment/) at `{time}` (`created={unix}`).

| vector | signer | key id | algorithm | body | signature |
|---|---|---|---|---|---|
{rows}

The keys are **public test keys**: the sandbox banks' keys in `partners/sandbox-keys/`
(public halves in `partners/keys/`) and the adapter's vector key in `keys/`. Never use
them outside the sandbox.

ECDSA and RSA-PSS signatures are randomised: such a vector holds *one* valid signature
(verify it; your own signature over the same input will differ). Ed25519, RSA PKCS#1 v1.5
and RSA-SHA256 are deterministic: with the same key and input you must get exactly the
published bytes.

## What each file holds

`jws.json`, `http-sig.json`, `xmldsig.json`: per vector the message as sent (`headers`,
exact `body`), the key files, and `intermediate`:

- `jws`: `protectedHeaderJson` (the exact JSON that was base64url-encoded),
  `protectedSegment`, `payloadSegment` (BASE64URL of the body), `signingInput`
  (`protectedSegment "." payloadSegment`, the ASCII bytes signed) and `signature`
  (base64url; ES256 is raw `r||s`, 64 bytes).
- `http-sig`: `contentDigest` (the `Content-Digest` value), `signatureParams` (the
  `sig1` member of `Signature-Input`), `signatureBase` (the exact bytes signed, lines
  joined by `\\n`, no final newline) and `signature` (base64; ECDSA raw `r||s`).
- `xmldsig`: `referencedContent` (the document without `ds:Signature`, exclusive c14n:
  what `DigestValue` digests), `referenceDigest`, `canonicalSignedInfo` (the bytes
  `SignatureValue` signs) and `signature` (base64). The signed documents are also
  `*.xml` files here, for `xmlsec1`.

## Checking them yourself

From the repository root, with `openssl`, `xmlsec1` and `jq`:

```sh
cd docs/vectors
source ../examples/shell/lib.sh   # base64url and raw<->DER helpers

# jws-request: ES256 over the signing input (openssl takes DER, JWS carries raw r||s)
jq -j '.vectors[0].intermediate.signingInput' jws.json > input.txt
jq -j '.vectors[0].intermediate.signature' jws.json | b64url_decode | raw_to_der > sig.der
openssl dgst -sha256 -verify ../../partners/keys/rjhi-test-2026-01.pem -signature sig.der input.txt

# http-sig-request: Ed25519 over the signature base (no final newline)
jq -j '.vectors[0].intermediate.signatureBase' http-sig.json > base.txt
jq -j '.vectors[0].intermediate.signature' http-sig.json | b64_decode > sig.bin
openssl pkeyutl -verify -pubin -inkey ../../partners/keys/ribl-test-2026-01.pem -rawin \\
    -in base.txt -sigfile sig.bin

# the Content-Digest of its body
jq -j '.vectors[0].body' http-sig.json > body.json
test "$(content_digest body.json)" = \\
    "$(jq -r '.vectors[0].intermediate.contentDigest' http-sig.json)"

# xmldsig-request: the whole signature, with the registered key named by KeyName only
xmlsec1 --verify --enabled-key-data key-name \\
    --pubkey-pem:ncbk-test-2025-07 ../../partners/keys/ncbk-test-2025-07.pem xmldsig-request.xml
# its reference digest, from the referenced content
jq -j '.vectors[0].intermediate.referencedContent' xmldsig.json > content.xml
test "$(openssl dgst -sha256 -binary content.xml | b64)" = \\
    "$(jq -r '.vectors[0].intermediate.referenceDigest' xmldsig.json)"
```

`xmlsec1 --verify --store-references --store-signatures ...` prints what it canonicalised:
compare with `referencedContent` and `canonicalSignedInfo`.
"""


def write_vectors(directory: Path) -> list[Path]:
    files = vector_files(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (directory / name).write_bytes(content)
    return [directory / name for name in files]


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    for path in write_vectors(Path(args[0] if args else "docs/vectors")):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
