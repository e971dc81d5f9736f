"""When partner keys stop being usable: the file's not_after, a certificate's own end of
validity, whichever is first; warned about 30 days ahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from bank_adapter.console.keyinfo import key_expiries
from bank_adapter.core.keys import public_pem
from bank_adapter.partners import load_partners
from tests.certs import certificate_pem, self_signed

NOW = datetime(2027, 1, 1, tzinfo=UTC)


def partner_file(directory: Path, partner_id: str, keys: list[tuple[str, str | None]]) -> None:
    text = (
        f'id = "{partner_id}"\nname = "n"\nformat = "json"\nsignature = "jws"\n'
        'channels = ["APP"]\nalgorithms = ["ES256"]\n'
    )
    for kid, not_after in keys:
        text += f'\n[[keys]]\nkid = "{kid}"\npublic_key = "keys/{kid}.pem"\n'
        if not_after:
            text += f'not_after = "{not_after}"\n'
    (directory / f"{partner_id}.toml").write_text(text)


def test_a_certificate_that_ends_first_is_the_keys_end_and_warned_about(tmp_path):
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "cert-1.pem").write_bytes(
        certificate_pem(
            self_signed(
                ec.generate_private_key(ec.SECP256R1()), not_after=NOW + timedelta(days=10, hours=1)
            )
        )
    )
    (keys / "spki-1.pem").write_bytes(
        public_pem(ec.generate_private_key(ec.SECP256R1()).public_key())
    )
    (keys / "spki-2.pem").write_bytes(
        public_pem(ec.generate_private_key(ec.SECP256R1()).public_key())
    )
    partner_file(tmp_path, "AAAA", [("cert-1", "2027-06-01T00:00:00Z"), ("spki-1", None)])
    partner_file(tmp_path, "BBBB", [("spki-2", "2026-12-31T00:00:00Z")])

    found = key_expiries(tmp_path, load_partners(tmp_path, sandbox=False))

    cert, plain = found["AAAA"]
    assert cert.certificate_not_after == NOW + timedelta(days=10, hours=1)
    assert cert.expires == cert.certificate_not_after  # before the file's not_after
    assert (cert.days_left(NOW), cert.warning(NOW)) == (10, "expiring")
    assert (plain.expires, plain.warning(NOW)) == (None, None)
    [expired] = found["BBBB"]
    assert expired.warning(NOW) == "expired"
    assert expired.warning(NOW - timedelta(days=32)) is None  # 31 days ahead: no warning yet
    assert expired.warning(NOW - timedelta(days=31)) == "expiring"  # 30 days ahead
