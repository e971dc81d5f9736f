"""The integration guide stays true: its error catalogue names every contract code with its
status, its sequence diagrams are there and well-formed, its retry rule is the
contract's, its signature base is the vectors' and its links lead somewhere."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bank_adapter.errors import Code, http_status

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
GUIDE = (DOCS / "integration-guide.md").read_text(encoding="utf-8")
# The internal API's and the router's codes: no bank ever gets them.
NOT_CONTRACT = {Code.UNAUTHORIZED, Code.NOT_FOUND, Code.METHOD_NOT_ALLOWED, Code.INTERNAL_ERROR}
CONTRACT_CODES = [code for code in Code if code not in NOT_CONTRACT]
ARABIC = re.compile(r"[\u0600-\u06ff]")
DIAGRAMS = [
    "OTP activation",
    "ATM activation",
    "Payment, a lost answer, and its retry",
    "Reversal",
    "Statement walk and checksum",
    "Key rotation",
]
# The sequence-diagram statements the guide uses; anything else may not render.
MERMAID_LINE = re.compile(
    r"(autonumber"
    r"|(participant|actor) \w+ as .+"
    r"|\w+ ?(->>|-->>|--x|-x) ?\w+: .+"
    r"|Note over \w+(,\w+)?: .+"
    r"|(alt|else|loop) .+|end)"
)


def section(number: int) -> str:
    return GUIDE.split(f"\n## {number}. ", 1)[1].split("\n## ", 1)[0]


def catalogue() -> dict[str, list[str]]:
    rows = re.findall(r"^\| `([A-Z_]+)` \|(.*)\|$", section(12), flags=re.MULTILINE)
    return {code: [cell.strip() for cell in cells.split("|")] for code, cells in rows}


def test_the_error_catalogue_has_every_contract_code_once_with_its_status() -> None:
    rows = re.findall(r"^\| `([A-Z_]+)` \|", section(12), flags=re.MULTILINE)
    assert sorted(rows) == sorted(code.value for code in CONTRACT_CODES)
    assert len(rows) == len(set(rows))
    for code in CONTRACT_CODES:
        assert catalogue()[code.value][0] == str(http_status(code)), code


@pytest.mark.parametrize("code", CONTRACT_CODES, ids=str)
def test_each_code_has_a_meaning_a_retry_rule_and_wording_in_both_languages(code: Code) -> None:
    _, meaning, retry, english, arabic = catalogue()[code.value]
    assert len(meaning) > 15
    assert re.match(r"(Yes|No|Not|If)\b", retry), retry
    assert english
    assert not ARABIC.search(english)
    assert ARABIC.search(arabic), arabic


def test_retryable_codes_say_so() -> None:
    retry = {code: cells[2] for code, cells in catalogue().items()}
    for code in ("RATE_LIMITED", "SERVICE_UNAVAILABLE", "OTP_INVALID"):
        assert retry[code].startswith("Yes"), code
    for code in ("DUPLICATE_CONFLICT", "MESSAGE_ID_REUSED", "BILL_ALREADY_PAID"):
        assert retry[code].startswith("No"), code


@pytest.mark.parametrize("name", DIAGRAMS)
def test_each_flow_has_a_sequence_diagram(name: str) -> None:
    match = re.search(
        rf"\*Sequence: {re.escape(name)}[^*]*\*\n\n```mermaid\n(.*?)```", GUIDE, flags=re.S
    )
    assert match is not None, name
    lines = match.group(1).splitlines()
    assert lines[0] == "sequenceDiagram"
    for line in lines[1:]:
        assert MERMAID_LINE.fullmatch(line.strip()), line
        assert ";" not in line
        assert "#" not in line
    opened = sum(1 for line in lines if re.match(r"\s*(alt|loop) ", line))
    assert opened == sum(1 for line in lines if line.strip() == "end")


def test_the_retry_rule_is_the_contracts_everywhere() -> None:
    rule = section(10)
    assert "new `MessageId` and a new `Timestamp`" in rule
    assert "same `BankPaymentRef`" in rule
    assert "however old" not in GUIDE
    payment_retry = GUIDE.split("*Sequence: Payment, a lost answer", 1)[1].split("\n```\n", 1)[0]
    assert "new MessageId M2, new Timestamp T2, same BankPaymentRef" in payment_retry


def test_the_signature_base_shown_is_the_vectors() -> None:
    vectors = json.loads((DOCS / "vectors" / "http-sig.json").read_text(encoding="utf-8"))
    base = vectors["vectors"][0]["intermediate"]["signatureBase"]
    assert f"```\n{base}\n```" in GUIDE
    assert (
        f"Signature-Input: sig1={vectors['vectors'][0]['intermediate']['signatureParams']}" in GUIDE
    )


def test_relative_links_lead_to_files_and_anchors_to_sections() -> None:
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", GUIDE, flags=re.MULTILINE)
    }
    for target in re.findall(r"\]\(([^)]+)\)", GUIDE):
        if target.startswith("http"):
            continue
        path, _, anchor = target.partition("#")
        if path:
            assert (DOCS / path).exists(), target
        elif anchor:
            assert anchor in anchors, target
