"""Partner keys accepted with care (defect 9): a certificate's validity bounds its key like
`not_after`, and weak RSA keys are refused, at start-up and by `partners check` alike,
with a message naming the partner file, the field and the key file."""

from __future__ import annotations

import base64
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from bank_adapter.core.jws import JwsProfile
from bank_adapter.core.keys import (
    KeyFormatError,
    SigningKey,
    load_private_pem,
    private_pem,
    public_pem,
    read_public_pem,
)
from bank_adapter.core.signing import VerifyPolicy
from bank_adapter.core.wire import WireRequest
from bank_adapter.errors import AdapterError, Code
from bank_adapter.partners import PartnerConfigError, load_partner
from tests.certs import certificate_pem, self_signed
from tests.serving import bank_adapter_command, clean_environ

NOW = datetime.now(UTC)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
RSA_KEY = rsa.generate_private_key(65537, 2048)


def partner_file(directory: Path, key_pem: bytes, *, not_after: str | None = None) -> Path:
    (directory / "keys").mkdir(parents=True, exist_ok=True)
    (directory / "keys" / "bank.pem").write_bytes(key_pem)
    bound = f'not_after = "{not_after}"\n' if not_after else ""
    path = directory / "TEST.toml"
    path.write_text(
        'id = "TEST"\nname = "Test"\nformat = "json"\nsignature = "jws"\n'
        'channels = ["APP"]\nalgorithms = ["ES256", "RS256"]\n\n'
        f'[[keys]]\nkid = "bank-1"\npublic_key = "keys/bank.pem"\n{bound}'
    )
    return path


def weak_rsa_pem(exponent: int = 65537, *, even_modulus: bool = False) -> bytes:
    numbers = RSA_KEY.public_key().public_numbers()
    modulus = numbers.n + 1 if even_modulus else numbers.n
    return public_pem(rsa.RSAPublicNumbers(exponent, modulus).public_key())


def even_exponent_pem() -> bytes:
    """PKCS #1 DER written by hand: cryptography will not build a key with e = 65538."""
    der = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.PKCS1
    )
    assert der.endswith(b"\x02\x03\x01\x00\x01")  # INTEGER 65537, last in the SEQUENCE
    body = base64.encodebytes(der[:-1] + b"\x02")
    return b"-----BEGIN RSA PUBLIC KEY-----\n" + body + b"-----END RSA PUBLIC KEY-----\n"


# --- a certificate's validity bounds its key -------------------------------------------------


def test_an_expired_certificate_is_an_expired_key(tmp_path):
    ended = NOW - timedelta(days=400)
    certificate = self_signed(EC_KEY, not_before=ended - timedelta(days=365), not_after=ended)
    partner = load_partner(partner_file(tmp_path, certificate_pem(certificate)), sandbox=False)

    key = partner.keys["bank-1"]
    assert key.not_after == ended.replace(microsecond=0)
    assert not key.usable_at(NOW)


def test_a_request_signed_with_an_expired_certificates_key_is_unknown_key(tmp_path):
    ended = NOW - timedelta(days=1)
    certificate = self_signed(EC_KEY, not_before=ended - timedelta(days=30), not_after=ended)
    partner = load_partner(partner_file(tmp_path, certificate_pem(certificate)), sandbox=False)
    profile = JwsProfile()
    signed = profile.sign_request(
        "POST", "/v1/payments", "application/json", b"{}", (),
        SigningKey("bank-1", EC_KEY), "ES256", NOW,
    )  # fmt: skip
    request = WireRequest("POST", "/v1/payments", {"x-jws-signature": signed.headers[0][1]}, b"{}")

    with pytest.raises(AdapterError) as refused:
        profile.verify_request(request, VerifyPolicy(partner.keys, partner.algorithms, NOW))
    assert refused.value.code is Code.UNKNOWN_KEY
    # The same key is good while the certificate was valid.
    earlier = ended - timedelta(days=2)
    profile.verify_request(request, VerifyPolicy(partner.keys, partner.algorithms, earlier))


def test_a_certificate_not_yet_valid_bounds_its_key_from_below(tmp_path):
    starts = NOW + timedelta(days=10)
    certificate = self_signed(EC_KEY, not_before=starts, not_after=starts + timedelta(days=365))
    key = load_partner(partner_file(tmp_path, certificate_pem(certificate)), sandbox=False).keys[
        "bank-1"
    ]
    assert key.not_before == starts.replace(microsecond=0)
    assert not key.usable_at(NOW)
    assert key.usable_at(starts + timedelta(seconds=1))


@pytest.mark.parametrize(("configured_days", "certificate_days"), [(30, 90), (90, 30)])
def test_the_earlier_of_not_after_and_the_certificates_end_wins(
    tmp_path, configured_days, certificate_days
):
    certificate_end = (NOW + timedelta(days=certificate_days)).replace(microsecond=0)
    configured = (NOW + timedelta(days=configured_days)).replace(microsecond=0)
    certificate = self_signed(EC_KEY, not_after=certificate_end)
    path = partner_file(
        tmp_path,
        certificate_pem(certificate),
        not_after=configured.isoformat().replace("+00:00", "Z"),
    )
    key = load_partner(path, sandbox=False).keys["bank-1"]
    assert key.not_after == min(configured, certificate_end)


def test_a_bare_public_key_has_no_validity_of_its_own():
    material = read_public_pem(public_pem(EC_KEY.public_key()))
    assert (material.not_before, material.not_after) == (None, None)


# --- weak keys ---------------------------------------------------------------------------------

WEAK = {
    "exponent 3": (lambda: weak_rsa_pem(3), "public exponent 3"),
    "exponent 17": (lambda: weak_rsa_pem(17), "public exponent 17"),
    "even exponent": (lambda: even_exponent_pem(), "e must be odd"),
    "even modulus": (lambda: weak_rsa_pem(even_modulus=True), "modulus is even"),
    "1024 bits": (
        lambda: public_pem(rsa.generate_private_key(65537, 1024).public_key()),  # noqa: S505
        "1024 bits",
    ),
    "certificate with exponent 3": (
        lambda: certificate_pem(self_signed(rsa.generate_private_key(3, 2048))),
        "public exponent 3",
    ),
}


@pytest.mark.parametrize("case", WEAK)
def test_a_weak_rsa_key_is_refused_naming_the_files(tmp_path, case):
    make, reason = WEAK[case]
    path = partner_file(tmp_path, make())
    with pytest.raises(PartnerConfigError) as refused:
        load_partner(path, sandbox=False)
    message = str(refused.value)
    assert message.startswith(f"{path}: field `keys[0].public_key`: keys/bank.pem: ")
    assert reason in message


def test_a_strong_rsa_key_with_a_larger_odd_exponent_is_accepted(tmp_path):
    load_partner(partner_file(tmp_path, weak_rsa_pem(65539)), sandbox=False)


def test_a_weak_adapter_signing_key_is_refused_too():
    with pytest.raises(KeyFormatError, match="public exponent 3"):
        load_private_pem(private_pem(rsa.generate_private_key(3, 2048)))


# --- `partners check` --------------------------------------------------------------------------


def partners_check(directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        bank_adapter_command("partners", "check", str(directory)),
        env=clean_environ(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_partners_check_refuses_a_weak_key_in_one_line(tmp_path):
    path = partner_file(tmp_path, weak_rsa_pem(3))
    done = partners_check(tmp_path)
    assert done.returncode == 2, done.stdout
    (line,) = done.stderr.splitlines()
    assert str(path) in line
    assert "keys/bank.pem" in line
    assert "public exponent 3" in line


def test_partners_check_shows_the_certificates_end_as_the_keys_end(tmp_path):
    ended = (NOW - timedelta(days=400)).replace(microsecond=0)
    certificate = self_signed(EC_KEY, not_before=ended - timedelta(days=30), not_after=ended)
    partner_file(tmp_path, certificate_pem(certificate))
    done = partners_check(tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"bank-1 until {ended.isoformat()}" in done.stdout


# --- interop: keys and certificates made by the openssl command --------------------------------

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=120)


@pytest.mark.interop
@needs_openssl
def test_an_openssl_certificate_bounds_its_key_by_its_validity(tmp_path):
    made = datetime.now(UTC).replace(microsecond=0)
    openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "bank.key", "-out", "bank.crt", "-days", "30", "-subj", "/CN=bank",
        cwd=tmp_path,
    )  # fmt: skip
    key = load_partner(partner_file(tmp_path, (tmp_path / "bank.crt").read_bytes()), sandbox=False)
    bound = key.keys["bank-1"]
    assert bound.not_after is not None
    assert timedelta(days=30) <= bound.not_after - made <= timedelta(days=30, minutes=10)
    assert bound.usable_at(made + timedelta(days=29))
    assert not bound.usable_at(made + timedelta(days=31))


@pytest.mark.interop
@needs_openssl
def test_an_openssl_rsa_key_with_exponent_3_is_refused(tmp_path):
    openssl(
        "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
        "-pkeyopt", "rsa_keygen_pubexp:3", "-out", "weak.key", cwd=tmp_path,
    )  # fmt: skip
    openssl("pkey", "-in", "weak.key", "-pubout", "-out", "weak.pem", cwd=tmp_path)
    with pytest.raises(PartnerConfigError, match="public exponent 3"):
        load_partner(partner_file(tmp_path, (tmp_path / "weak.pem").read_bytes()), sandbox=False)
