"""docs/vectors/ cannot drift: the files are what `scripts/make-vectors` writes; every
intermediate value is recomputed from the published bytes with the adapter's code and,
separately, with the standard library; every signature is checked by openssl and every
XML-DSig one by xmlsec1 as well; the README's own commands run."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from bank_adapter import vectors
from bank_adapter.partners import load_partners

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "docs" / "vectors"
PUBLISHED = {
    vector["name"]: vector
    for profile in vectors.PROFILES
    for vector in json.loads((VECTORS / f"{profile}.json").read_text(encoding="utf-8"))["vectors"]
}
NAMES = [spec.name for spec in vectors.SPECS]
OPENSSL = shutil.which("openssl")
XMLSEC1 = shutil.which("xmlsec1")


def _spec(name: str) -> vectors.Spec:
    return next(spec for spec in vectors.SPECS if spec.name == name)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_the_checked_in_vectors_are_what_the_script_writes() -> None:
    files = vectors.vector_files(VECTORS)
    on_disk = {p.name for p in VECTORS.iterdir() if p.is_file()}
    assert on_disk == set(files), "run scripts/make-vectors"
    for name, content in files.items():
        assert (VECTORS / name).read_bytes() == content, f"{name}: run scripts/make-vectors"


def test_deterministic_signatures_are_made_again_and_the_others_differ_only_in_signature() -> None:
    fresh = {
        vector["name"]: vector
        for profile in vectors.PROFILES
        for vector in json.loads(vectors.vector_files(None)[f"{profile}.json"])["vectors"]
    }
    for name, published in PUBLISHED.items():
        if published["deterministicSignature"]:
            assert fresh[name] == published, name
        else:
            assert vectors.masked(fresh[name]) == vectors.masked(published), name
    assert {v["algorithm"] for v in PUBLISHED.values() if v["deterministicSignature"]} == {
        "ed25519",
        "RSA-SHA256",
    }


@pytest.mark.parametrize("name", NAMES)
def test_the_adapters_code_recomputes_every_value_and_verifies(name: str) -> None:
    vector = PUBLISHED[name]
    signed = vectors.Signed(body=vector["body"].encode(), headers=())
    assert vectors.intermediate(_spec(name), signed, vector["headers"]) == vector["intermediate"]
    assert vectors.verifies(vector, load_partners(ROOT / "partners", sandbox=True))


def test_a_changed_byte_does_not_verify() -> None:
    partners = load_partners(ROOT / "partners", sandbox=True)
    for vector in PUBLISHED.values():
        assert "RJHI-2026-000042" in vector["body"]
        tampered = vector | {"body": vector["body"].replace("000042", "000043")}
        assert not vectors.verifies(tampered, partners), vector["name"]


@pytest.mark.parametrize("name", ["jws-request", "jws-response"])
def test_jws_values_by_the_standard_library(name: str) -> None:
    vector = PUBLISHED[name]
    values = vector["intermediate"]
    assert json.loads(values["protectedHeaderJson"]) == values["protectedHeader"]
    assert values["protectedSegment"] == _b64url(values["protectedHeaderJson"].encode())
    assert values["payloadSegment"] == _b64url(vector["body"].encode())
    assert values["signingInput"] == f"{values['protectedSegment']}.{values['payloadSegment']}"
    header = f"{values['protectedSegment']}..{values['signature']}"
    assert vector["headers"]["X-JWS-Signature"] == header


@pytest.mark.parametrize("name", ["http-sig-request", "http-sig-xml-request", "http-sig-response"])
def test_http_sig_values_by_the_standard_library(name: str) -> None:
    vector = PUBLISHED[name]
    values, headers = vector["intermediate"], vector["headers"]
    digest = base64.b64encode(hashlib.sha256(vector["body"].encode()).digest()).decode()
    assert values["contentDigest"] == headers["Content-Digest"] == f"sha-256=:{digest}:"
    assert headers["Signature-Input"] == f"sig1={values['signatureParams']}"
    assert headers["Signature"] == f"sig1=:{values['signature']}:"
    derived = {"@method": "POST", "@path": "/v1/payments", "@status": str(vector.get("status"))}
    fields = {name.lower(): value for name, value in headers.items()} | derived
    lines = [f'"{c}": {fields[c]}' for c in values["coveredComponents"]]
    lines.append(f'"@signature-params": {values["signatureParams"]}')
    assert values["signatureBase"] == "\n".join(lines)
    assert f'created={vector["createdUnix"]};keyid="{vector["kid"]}"' in values["signatureParams"]


# --- independent tools ---------------------------------------------------------------------


def _openssl(*args: str) -> subprocess.CompletedProcess[bytes]:
    assert OPENSSL is not None
    return subprocess.run([OPENSSL, *args], capture_output=True, check=False)


def _signature_file(vector: dict[str, Any], tmp_path: Path) -> Path:
    """The signature as openssl reads it: DER for ECDSA, raw otherwise."""
    encoded = vector["intermediate"]["signature"]
    raw = (
        base64.urlsafe_b64decode(encoded + "==")
        if vector["profile"] == "jws"
        else base64.b64decode(encoded)
    )
    if "ECDSA" in vector["algorithm"].upper() or vector["algorithm"] == "ES256":
        assert len(raw) == 64  # raw r||s on the wire
        raw = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    path = tmp_path / "signature"
    path.write_bytes(raw)
    return path


def _signed_bytes(vector: dict[str, Any]) -> bytes:
    values = vector["intermediate"]
    for member in ("signingInput", "signatureBase", "canonicalSignedInfo"):
        if member in values:
            return str(values[member]).encode()
    raise AssertionError(vector["name"])


@pytest.mark.interop
@pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")
@pytest.mark.parametrize("name", NAMES)
def test_openssl_verifies_every_signature_over_its_published_input(
    name: str, tmp_path: Path
) -> None:
    vector = PUBLISHED[name]
    data = tmp_path / "signed"
    data.write_bytes(_signed_bytes(vector))
    public = str(ROOT / vector["keys"]["public"])
    signature = str(_signature_file(vector, tmp_path))
    algorithm = vector["algorithm"]
    if algorithm == "ed25519":
        args = ["pkeyutl", "-verify", "-pubin", "-inkey", public, "-rawin", "-in", str(data),
                "-sigfile", signature]  # fmt: skip
    elif algorithm == "rsa-pss-sha512":
        pss = ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:64"]
        args = ["dgst", "-sha512", *pss, "-verify", public, "-signature", signature, str(data)]
    else:
        args = ["dgst", "-sha256", "-verify", public, "-signature", signature, str(data)]
    result = _openssl(*args)
    assert result.returncode == 0, result.stderr
    data.write_bytes(_signed_bytes(vector) + b" ")
    assert _openssl(*args).returncode != 0  # and a changed input does not


@pytest.mark.interop
@pytest.mark.skipif(XMLSEC1 is None, reason="xmlsec1 is installed by scripts/setup --dev")
@pytest.mark.parametrize("name", [n for n in NAMES if n.startswith("xmldsig")])
def test_xmlsec1_verifies_and_canonicalises_as_published(name: str) -> None:
    vector = PUBLISHED[name]
    assert (VECTORS / f"{name}.xml").read_text() == vector["body"]
    result = subprocess.run(
        [XMLSEC1, "--verify", "--store-references", "--store-signatures",
         "--enabled-key-data", "key-name",
         f"--pubkey-pem:{vector['kid']}", str(ROOT / vector["keys"]["public"]),
         str(VECTORS / f"{name}.xml")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    buffers = dict(
        re.findall(r"== (\w+) data - start buffer:\n(.*?)\n== \1 data - end buffer", output, re.S)
    )
    values = vector["intermediate"]
    assert buffers["PreDigest"] == values["referencedContent"]
    assert buffers["PreSigned"] == values["canonicalSignedInfo"]
    digest = base64.b64encode(hashlib.sha256(buffers["PreDigest"].encode()).digest()).decode()
    assert digest == values["referenceDigest"]


@pytest.mark.interop
@pytest.mark.skipif(
    None in (OPENSSL, XMLSEC1, shutil.which("jq")), reason="needs openssl, xmlsec1 and jq"
)
def test_the_readmes_commands_run(tmp_path: Path) -> None:
    readme = (VECTORS / "README.md").read_text()
    block = readme.split("```sh\n", 1)[1].split("```", 1)[0]
    for source, target in (
        (VECTORS, "docs/vectors"),
        (ROOT / "docs/examples/shell", "docs/examples/shell"),
        (ROOT / "partners/keys", "partners/keys"),
    ):
        shutil.copytree(source, tmp_path / target)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("Verified OK") == 1
    assert "Signature Verified Successfully" in result.stdout
