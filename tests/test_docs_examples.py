"""docs/examples/ is what `scripts/make-examples` writes, and every file is valid against the
published schemas: the XSD (lxml, libxml2) and the generated JSON Schemas (jsonschema)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from lxml import etree

from bank_adapter import examples
from bank_adapter.core.messages import OPERATIONS
from bank_adapter.errors import Code

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"
SCHEMAS = ROOT / "schemas"
HAND_WRITTEN = {"shell", "java"}  # examples that are programs, not generated bodies
GENERATED = examples.example_files()
XSD = etree.XMLSchema(etree.parse(str(SCHEMAS / "bank-adapter-v1.xsd")))


def _schema(name: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads((SCHEMAS / "json" / f"{name}.schema.json").read_text()))


def _checked_in() -> set[str]:
    return {
        path.relative_to(EXAMPLES).as_posix()
        for path in EXAMPLES.rglob("*")
        if path.is_file() and path.relative_to(EXAMPLES).parts[0] not in HAND_WRITTEN
    }


def test_the_checked_in_examples_are_what_the_script_writes() -> None:
    assert _checked_in() == set(GENERATED), "run scripts/make-examples"
    for name, content in GENERATED.items():
        assert (EXAMPLES / name).read_bytes() == content, f"{name}: run scripts/make-examples"


def test_the_script_writes_into_the_directory_given(tmp_path: Path) -> None:
    assert examples.main([str(tmp_path)]) == 0
    assert (tmp_path / "payment" / "request.xml").read_bytes() == GENERATED["payment/request.xml"]


def test_every_operation_has_an_example() -> None:
    assert {example.path for example in examples.EXAMPLES} == set(OPERATIONS)


def test_every_contract_code_has_an_error_answer() -> None:
    internal = {Code.UNAUTHORIZED, Code.NOT_FOUND, Code.METHOD_NOT_ALLOWED, Code.INTERNAL_ERROR}
    assert set(examples.CONTRACT_CODES) == set(Code) - internal
    for code in examples.CONTRACT_CODES:
        assert f"errors/{code.value}.json" in GENERATED


@pytest.mark.parametrize("example", examples.EXAMPLES, ids=lambda example: example.name)
def test_json_examples_are_valid_against_the_json_schemas(example: examples.Example) -> None:
    operation = OPERATIONS[example.path]
    for part, model in (
        ("request", operation.request_model),
        ("response", operation.response_model),
    ):
        document = json.loads((EXAMPLES / example.name / f"{part}.json").read_bytes())
        errors = list(_schema(model.__name__).iter_errors(document))
        assert errors == [], f"{example.name}/{part}.json: {errors[0].message if errors else ''}"


@pytest.mark.parametrize("example", examples.EXAMPLES, ids=lambda example: example.name)
def test_xml_examples_are_valid_against_the_xsd(example: examples.Example) -> None:
    operation = OPERATIONS[example.path]
    for part, root in (("request", operation.request_root), ("response", operation.response_root)):
        document = etree.parse(str(EXAMPLES / example.name / f"{part}.xml"))
        assert XSD.validate(document), f"{example.name}/{part}.xml: {XSD.error_log}"
        assert document.getroot().tag == f"{{urn:bank-adapter:v1}}{root}"


def test_error_answers_are_valid_against_their_schemas() -> None:
    problem = _schema("Problem")
    for code in examples.CONTRACT_CODES:
        document = json.loads((EXAMPLES / "errors" / f"{code.value}.json").read_bytes())
        assert list(problem.iter_errors(document)) == [], code
        assert document["code"] == code.value
        xml = EXAMPLES / "errors" / f"{code.value}.xml"
        if code is Code.UNKNOWN_PARTNER:
            assert not xml.exists()  # always answered in JSON
            continue
        assert XSD.validate(etree.parse(str(xml))), f"{xml.name}: {XSD.error_log}"


def test_json_and_xml_say_the_same() -> None:
    """Each pair of files decodes to the same message through the adapter's own codecs."""
    from bank_adapter.core import codec_json, codec_xml
    from bank_adapter.core.xmlparse import parse_xml

    for example in examples.EXAMPLES:
        operation = OPERATIONS[example.path]
        for part, model, root in (
            ("request", operation.request_model, operation.request_root),
            ("response", operation.response_model, operation.response_root),
        ):
            from_json = codec_json.validate(
                model,
                codec_json.decode_json((EXAMPLES / example.name / f"{part}.json").read_bytes()),
            )
            xml = parse_xml((EXAMPLES / example.name / f"{part}.xml").read_bytes())
            assert codec_xml.decode_xml(xml, model, root) == from_json, f"{example.name}/{part}"


def test_the_statement_examples_checksum_is_the_contracts() -> None:
    """The XOR of SHA-256("BankPaymentRef|BillNumber|Amount|Status") over the day's entries."""
    import hashlib

    pages = [
        json.loads((EXAMPLES / name / "response.json").read_bytes())
        for name in ("statement", "statement-last-page")
    ]
    entries = [entry for page in pages for entry in page["entries"]]
    acc = 0
    for e in entries:
        text = f"{e['bankPaymentRef']}|{e['billNumber']}|{e['amount']}|{e['status']}"
        acc ^= int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")
    assert pages[0]["checksum"] == pages[1]["checksum"] == f"{acc:064x}"
    assert pages[0]["count"] == len(entries)
    assert "nextPageToken" in pages[0]
    assert "nextPageToken" not in pages[1]
