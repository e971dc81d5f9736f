"""The partner file loader (contract section 8): one frozen policy per `<ID>.toml`, and an
error naming the file and the field for every way a file can be unusable."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from bank_adapter.core.keys import public_pem
from bank_adapter.partners import (
    Partner,
    PartnerConfigError,
    RateLimit,
    load_partner,
    load_partners,
)

REPO = Path(__file__).resolve().parents[1]

BASE: dict[str, object] = {
    "id": "TEST",
    "name": "Test Bank",
    "format": "json",
    "signature": "jws",
    "channels": ["APP", "ATM"],
    "algorithms": ["ES256"],
}
BASE_KEY: dict[str, object] = {"kid": "test-1", "public_key": "keys/ec.pem"}


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, Raw):
        return value.text
    return json.dumps(value)


class Raw:
    """A TOML value written as is (dates, inline tables)."""

    def __init__(self, text: str) -> None:
        self.text = text


def partner_toml(
    fields: Mapping[str, object],
    keys: Sequence[Mapping[str, object]],
    tables: Mapping[str, Mapping[str, object]] | None = None,
) -> str:
    lines = [f"{name} = {toml_value(value)}" for name, value in fields.items()]
    for name, table in (tables or {}).items():
        lines += ["", f"[{name}]", *(f"{k} = {toml_value(v)}" for k, v in table.items())]
    for key in keys:
        lines += ["", "[[keys]]", *(f"{k} = {toml_value(v)}" for k, v in key.items())]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Public keys of every kind the cases need, in one directory."""
    directory = tmp_path_factory.mktemp("keys")
    ec_key = ec.generate_private_key(ec.SECP256R1())
    short_rsa = rsa.generate_private_key(65537, 1024)  # noqa: S505 - the loader must refuse it
    keys = {
        "ec.pem": public_pem(ec_key.public_key()),
        "ec2.pem": public_pem(ec.generate_private_key(ec.SECP256R1()).public_key()),
        "rsa.pem": public_pem(rsa.generate_private_key(65537, 2048).public_key()),
        "rsa1024.pem": public_pem(short_rsa.public_key()),
        "p384.pem": ec.generate_private_key(ec.SECP384R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        "ed25519.pem": public_pem(ed25519.Ed25519PrivateKey.generate().public_key()),
        "garbage.pem": b"-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n",
        "cert.pem": self_signed_certificate(ec_key),
    }
    for name, data in keys.items():
        (directory / name).write_bytes(data)
    return directory


def self_signed_certificate(
    key: ec.EllipticCurvePrivateKey, valid_until: datetime | None = None
) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test bank signing")])
    now = datetime.now(UTC)
    until = valid_until or now + timedelta(days=365)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(min(now, until) - timedelta(days=1))
        .not_valid_after(until)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def write(
    directory: Path,
    key_dir: Path,
    *,
    file_id: str = "TEST",
    keys: Sequence[Mapping[str, object]] = (BASE_KEY,),
    tables: Mapping[str, Mapping[str, object]] | None = None,
    drop: Sequence[str] = (),
    **changes: object,
) -> Path:
    (directory / "keys").mkdir(parents=True, exist_ok=True)
    for pem in key_dir.iterdir():
        (directory / "keys" / pem.name).write_bytes(pem.read_bytes())
    fields = {k: v for k, v in {**BASE, **changes}.items() if k not in drop}
    path = directory / f"{file_id}.toml"
    path.write_text(partner_toml(fields, keys, tables))
    return path


def load(tmp_path: Path, key_dir: Path, *, sandbox: bool = False, **kwargs: object) -> Partner:
    return load_partner(write(tmp_path, key_dir, **kwargs), sandbox=sandbox)  # type: ignore[arg-type]


# --- what a good file gives ----------------------------------------------------------


def test_a_minimal_file_and_its_defaults(tmp_path, key_dir):
    partner = load(tmp_path, key_dir)

    assert partner.id == "TEST"
    assert partner.name == "Test Bank"
    assert (partner.format, partner.signature) == ("json", "jws")
    assert partner.content_type == "application/json"
    assert partner.channels == frozenset({"APP", "ATM"})
    assert partner.algorithms == frozenset({"ES256"})
    assert partner.strong_auth_channels == frozenset({"ATM"})
    assert partner.cutoff == time(23, 59)
    assert partner.suspended is False
    assert partner.rate_limit is None
    assert list(partner.keys) == ["test-1"]
    assert partner.keys["test-1"].not_after is None
    assert partner.keys["test-1"].kind == "EC-P256"


def test_every_optional_field(tmp_path, key_dir):
    partner = load(
        tmp_path,
        key_dir,
        format="xml",
        signature="http-sig",
        channels=["APP", "WEB", "IVR", "ATM", "KIOSK"],
        algorithms=["ecdsa-p256-sha256", "rsa-pss-sha512"],
        strong_auth_channels=["ATM", "KIOSK"],
        cutoff="22:30",
        suspended=True,
        keys=[BASE_KEY, {"kid": "test-rsa", "public_key": "keys/rsa.pem"}],
    )
    assert partner.content_type == "application/xml"
    assert partner.strong_auth_channels == frozenset({"ATM", "KIOSK"})
    assert partner.cutoff == time(22, 30)
    assert partner.suspended is True
    assert {kid: key.kind for kid, key in partner.keys.items()} == {
        "test-1": "EC-P256",
        "test-rsa": "RSA",
    }


def test_strong_auth_channels_can_be_empty(tmp_path, key_dir):
    assert load(tmp_path, key_dir, strong_auth_channels=[]).strong_auth_channels == frozenset()


def test_several_keys_with_not_after(tmp_path, key_dir):
    partner = load(
        tmp_path,
        key_dir,
        keys=[
            {"kid": "new", "public_key": "keys/ec.pem"},
            {"kid": "old", "public_key": "keys/ec2.pem", "not_after": "2027-01-31T00:00:00Z"},
            {
                "kid": "native",
                "public_key": "keys/ec2.pem",
                "not_after": Raw("2026-06-01T12:00:00+03:00"),
            },
        ],
    )

    assert partner.keys["new"].not_after is None
    assert partner.keys["old"].not_after == datetime(2027, 1, 31, tzinfo=UTC)
    assert partner.keys["native"].not_after == datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    before = datetime(2026, 1, 1, tzinfo=UTC)
    assert [key.kid for key in partner.usable_keys(before)] == ["new", "old", "native"]
    between = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # not_after itself is past the end
    assert [key.kid for key in partner.usable_keys(between)] == ["new", "old"]
    after = datetime(2027, 1, 31, tzinfo=UTC)
    assert [key.kid for key in partner.usable_keys(after)] == ["new"]


def test_an_x509_certificate_is_accepted_as_public_key(tmp_path, key_dir):
    partner = load(tmp_path, key_dir, keys=[{"kid": "cert", "public_key": "keys/cert.pem"}])
    from_cert = partner.keys["cert"].key
    bare = load_partner(write(tmp_path / "bare", key_dir), sandbox=False).keys["test-1"].key
    assert public_pem(from_cert) == public_pem(bare)


def test_key_paths_are_relative_to_the_file_not_the_working_directory(
    tmp_path, key_dir, monkeypatch
):
    path = write(tmp_path / "deep" / "dir", key_dir)
    monkeypatch.chdir(tmp_path)
    assert "test-1" in load_partner(path, sandbox=False).keys


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ({"requests_per_second": 10, "burst": 20}, RateLimit(10.0, 20)),
        ({"requests_per_second": 0.5, "burst": 1}, RateLimit(0.5, 1)),
        ({"requests_per_second": 5}, RateLimit(5.0, 5)),  # burst defaults to the rate
    ],
)
def test_rate_limit(tmp_path, key_dir, table, expected):
    assert load(tmp_path, key_dir, tables={"rate_limit": table}).rate_limit == expected


@pytest.mark.parametrize(
    "table",
    [
        {},
        {"burst": 5},
        {"requests_per_second": 0},
        {"requests_per_second": -1, "burst": 5},
        {"requests_per_second": "10"},
        {"requests_per_second": 10, "burst": 0},
        {"requests_per_second": 10, "burst": "5"},
        {"requests_per_second": True},
        {"requests_per_second": 10, "burst": True},
        {"requests_per_second": math.nan},
        {"requests_per_second": math.inf},
        {"requests_per_second": 10, "burst": math.inf},
        {"requests_per_second": 10, "brust": 50},  # a typo must not go unnoticed
    ],
)
def test_bad_rate_limit(tmp_path, key_dir, table):
    with pytest.raises(PartnerConfigError, match=r"field `rate_limit"):
        load(tmp_path, key_dir, tables={"rate_limit": table})


def test_rate_limit_must_be_a_table(tmp_path, key_dir):
    with pytest.raises(PartnerConfigError, match=r"field `rate_limit"):
        load(tmp_path, key_dir, rate_limit=10)


# --- sandbox partners ----------------------------------------------------------------


def test_a_sandbox_partner_is_refused_outside_sandbox_mode(tmp_path, key_dir):
    path = write(tmp_path, key_dir, sandbox=True)
    with pytest.raises(PartnerConfigError, match=r"field `sandbox`") as refused:
        load_partner(path, sandbox=False)
    assert str(path) in str(refused.value)
    assert load_partner(path, sandbox=True).id == "TEST"


def test_sandbox_false_is_an_ordinary_partner(tmp_path, key_dir):
    path = write(tmp_path, key_dir, sandbox=False)
    assert load_partner(path, sandbox=False).id == "TEST"


def test_the_repository_partners_load_in_sandbox_mode_only():
    partners = load_partners(REPO / "partners", sandbox=True)
    assert sorted(partners) == ["BSFR", "NCBK", "RIBL", "RJHI", "SABB"]
    assert partners["BSFR"].suspended is True
    assert partners["NCBK"].strong_auth_channels == frozenset({"ATM", "KIOSK"})
    assert partners["NCBK"].keys["ncbk-test-2025-07"].not_after == datetime(2027, 1, 31, tzinfo=UTC)
    assert partners["RJHI"].cutoff == time(23, 0)
    with pytest.raises(PartnerConfigError, match=r"field `sandbox`"):
        load_partners(REPO / "partners", sandbox=False)


def test_load_partners_reads_every_toml_file_by_id(tmp_path, key_dir):
    write(tmp_path, key_dir, file_id="AAAA", id="AAAA")
    write(tmp_path, key_dir, file_id="BBBB", id="BBBB", format="xml", signature="xmldsig",
          algorithms=["ECDSA-SHA256"])  # fmt: skip
    (tmp_path / "README.md").write_text("not a partner")
    (tmp_path / "CCCC.toml.bak").write_text("id = 'broken")

    partners = load_partners(tmp_path, sandbox=False)

    assert sorted(partners) == ["AAAA", "BBBB"]
    assert partners["BBBB"].signature == "xmldsig"


def test_load_partners_stops_at_the_first_unusable_file(tmp_path, key_dir):
    write(tmp_path, key_dir, file_id="AAAA", id="AAAA")
    write(tmp_path, key_dir, file_id="BBBB", id="BBBB", cutoff="25:00")
    with pytest.raises(PartnerConfigError, match=r"BBBB\.toml: field `cutoff`"):
        load_partners(tmp_path, sandbox=False)


def test_load_partners_needs_an_existing_directory(tmp_path):
    with pytest.raises(PartnerConfigError, match="does not exist"):
        load_partners(tmp_path / "missing", sandbox=False)


def test_the_policy_is_frozen(tmp_path, key_dir):
    partner = load(tmp_path, key_dir)
    with pytest.raises(AttributeError):
        partner.suspended = True  # type: ignore[misc]
    with pytest.raises(TypeError):
        partner.keys["other"] = partner.keys["test-1"]  # type: ignore[index]


# --- unusable files: every one names the file and the field --------------------------


def one_key(**changes: object) -> dict[str, object]:
    return {"keys": [{**BASE_KEY, **changes}]}


ERRORS: list[tuple[str, str, dict[str, object]]] = [
    # (case, field named, how the file differs from the base)
    ("bad id", "id", {"file_id": "tst1", "id": "tst1"}),
    ("id of 5 letters", "id", {"file_id": "TESTS", "id": "TESTS"}),
    ("id not a string", "id", {"id": 1234}),
    ("id not the file name", "id", {"file_id": "OTHR"}),
    ("unknown field", "colour", {"colour": "blue"}),
    ("misspelt optional field", "cuttoff", {"cuttoff": "22:00"}),
    ("name missing", "name", {"drop": ["name"]}),
    ("name empty", "name", {"name": ""}),
    ("wrong format", "format", {"format": "yaml"}),
    ("format missing", "format", {"drop": ["format"]}),
    ("unknown profile", "signature", {"signature": "pgp"}),
    ("jws cannot carry xml", "signature", {"format": "xml", "signature": "jws"}),
    ("xmldsig cannot carry json", "signature", {"signature": "xmldsig"}),
    ("algorithm of another profile", "algorithms", {"algorithms": ["RSA-SHA256"]}),
    ("http-sig name in jws", "algorithms", {"algorithms": ["ecdsa-p256-sha256"]}),
    ("alg none", "algorithms", {"algorithms": ["none"]}),
    ("HMAC", "algorithms", {"algorithms": ["HS256"]}),
    ("no algorithm", "algorithms", {"algorithms": []}),
    ("algorithms not a list", "algorithms", {"algorithms": "ES256"}),
    ("unknown channel", "channels", {"channels": ["APP", "FAX"]}),
    ("channels missing", "channels", {"drop": ["channels"]}),
    ("unknown strong auth channel", "strong_auth_channels", {"strong_auth_channels": ["PIN"]}),
    ("bad cutoff hour", "cutoff", {"cutoff": "24:00"}),
    ("bad cutoff minute", "cutoff", {"cutoff": "23:60"}),
    ("cutoff without leading zero", "cutoff", {"cutoff": "7:30"}),
    ("cutoff with seconds", "cutoff", {"cutoff": "22:00:00"}),
    ("cutoff as a number", "cutoff", {"cutoff": 2200}),
    ("suspended as a string", "suspended", {"suspended": "no"}),
    ("sandbox as a string", "sandbox", {"sandbox": "yes"}),
    ("no keys", "keys", {"keys": []}),
    ("key without kid", "keys[0].kid", {"keys": [{"public_key": "keys/ec.pem"}]}),
    ("key without file", "keys[0].public_key", {"keys": [{"kid": "k"}]}),
    ("key file missing", "keys[0].public_key", one_key(public_key="keys/missing.pem")),
    ("key file not a key", "keys[0].public_key", one_key(public_key="keys/garbage.pem")),
    ("RSA key, ES256 only", "keys[0].public_key", one_key(public_key="keys/rsa.pem")),
    ("Ed25519 key, ES256 only", "keys[0].public_key", one_key(public_key="keys/ed25519.pem")),
    ("EC key, RS256 only", "keys[0].public_key", {"keys": [BASE_KEY], "algorithms": ["RS256"]}),
    ("P-384 key", "keys[0].public_key", one_key(public_key="keys/p384.pem")),
    (
        "RSA 1024",
        "keys[0].public_key",
        {**one_key(public_key="keys/rsa1024.pem"), "algorithms": ["RS256"]},
    ),
    (
        "second key bad",
        "keys[1].public_key",
        {"keys": [BASE_KEY, {"kid": "b", "public_key": "keys/rsa.pem"}]},
    ),
    ("kid twice", "keys[1].kid", {"keys": [BASE_KEY, BASE_KEY]}),
    ("bad not_after", "keys[0].not_after", one_key(not_after="next year")),
    ("not_after without offset", "keys[0].not_after", one_key(not_after="2027-01-31T00:00:00")),
    ("not_after a date", "keys[0].not_after", one_key(not_after="2027-01-31")),
    (
        "not_after a TOML local time",
        "keys[0].not_after",
        one_key(not_after=Raw("2027-01-31T00:00:00")),
    ),
    ("not_after a TOML date", "keys[0].not_after", one_key(not_after=Raw("2027-01-31"))),
    ("not_after a number", "keys[0].not_after", one_key(not_after=2027)),
    ("misspelt not_after", "keys[0].not_afer", one_key(not_afer="2020-01-01T00:00:00Z")),
    ("unknown key field", "keys[0].certificate", one_key(certificate="keys/cert.pem")),
]


@pytest.mark.parametrize(("case", "field", "changes"), ERRORS, ids=[e[0] for e in ERRORS])
def test_an_unusable_file_names_itself_and_the_field(tmp_path, key_dir, case, field, changes):
    path = write(tmp_path, key_dir, **changes)  # type: ignore[arg-type]

    with pytest.raises(PartnerConfigError) as refused:
        load_partner(path, sandbox=True)

    message = str(refused.value)
    assert message.startswith(f"{path}: field `{field}`: "), message


def test_a_file_that_is_not_toml(tmp_path):
    path = tmp_path / "TEST.toml"
    path.write_text('id = "TEST\n')
    with pytest.raises(PartnerConfigError, match=r"TEST\.toml: cannot read"):
        load_partner(path, sandbox=False)


def test_keys_must_be_an_array_of_tables(tmp_path, key_dir):
    path = write(tmp_path, key_dir, keys=[])
    path.write_text(path.read_text() + 'keys = ["keys/ec.pem"]\n')
    with pytest.raises(PartnerConfigError, match=r"field `keys\[0\]`"):
        load_partner(path, sandbox=False)
