"""The published contract: the hand-written XSD agrees with the models, and the generated
JSON Schemas and OpenAPI document are the committed ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from pydantic import BaseModel
from xmlschema.validators import XsdAnyElement, XsdElement

from bank_adapter import contract
from bank_adapter.core import codec_xml
from bank_adapter.core.messages import (
    ERROR_ROOT,
    OPERATIONS,
    TEXT_PATTERN,
    XML_NAMESPACE,
    ErrorResponse,
    XmlList,
)
from bank_adapter.errors import Code, http_status

REPOSITORY = Path(__file__).resolve().parents[2]
SCHEMAS = REPOSITORY / "schemas"
XSD = xmlschema.XMLSchema(SCHEMAS / "bank-adapter-v1.xsd")
DSIG = "http://www.w3.org/2000/09/xmldsig#"

ROOTS: dict[str, type[BaseModel]] = {ERROR_ROOT: ErrorResponse}
for _op in OPERATIONS.values():
    ROOTS[_op.request_root] = _op.request_model
    ROOTS[_op.response_root] = _op.response_model

# JSON Schema type/format -> the XSD primitive type it must be in XML.
PRIMITIVES = {
    ("string", None): "string",
    ("string", "uuid"): "string",
    ("string", "date-time"): "dateTime",
    ("string", "date"): "date",
    ("integer", None): "decimal",
    ("boolean", None): "boolean",
}


# --- reading the XSD (xmlschema is for introspection; lxml validates) ----------------------


def xsd_particles(complex_type: Any) -> list[Any]:
    return list(complex_type.content.iter_elements())


def xsd_required(element: Any) -> bool:
    # Members of a choice are each optional on their own: the model checks "exactly one".
    return bool(element.min_occurs > 0 and element.parent.model == "sequence")


def facet(simple_type: Any, name: str) -> Any:
    """A facet of the type or the nearest base type that sets it."""
    while simple_type is not None:
        value = getattr(simple_type, name, None)
        if value is not None:
            return value
        simple_type = getattr(simple_type, "base_type", None)
    return None


def xsd_pattern(simple_type: Any) -> str | None:
    patterns = facet(simple_type, "patterns")
    return None if patterns is None else "|".join(patterns.regexps)


# --- reading the models --------------------------------------------------------------------


def model_properties(model_cls: type[BaseModel]) -> tuple[dict[str, Any], dict[str, Any]]:
    schema = model_cls.model_json_schema(by_alias=True)
    return schema["properties"], schema.get("$defs", {})


def resolve(spec: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    variants = [v for v in spec.get("anyOf", [spec]) if v.get("type") != "null"]
    only: dict[str, Any] = variants[0]
    return defs[only["$ref"].rsplit("/", 1)[1]] if "$ref" in only else only


def expected_xml_name(alias: str) -> str:
    return alias[0].upper() + alias[1:]


# --- THE AGREEMENT TEST --------------------------------------------------------------------


def assert_agreement(model_cls: type[BaseModel], complex_type: Any, where: str) -> None:
    particles = [p for p in xsd_particles(complex_type) if isinstance(p, XsdElement)]
    fields = list(model_cls.model_fields.values())
    names = [expected_xml_name(str(field.alias)) for field in fields]
    assert [p.local_name for p in particles] == names, where
    properties, defs = model_properties(model_cls)
    for field, particle in zip(fields, particles, strict=True):
        here = f"{where}/{particle.local_name}"
        assert xsd_required(particle) == field.is_required(), here
        marker = next((m for m in field.metadata if isinstance(m, XmlList)), None)
        if marker is None:
            assert_simple_agreement(
                resolve(properties[str(field.alias)], defs), particle.type, here
            )
        else:
            assert_list_agreement(
                field.annotation, marker, properties[str(field.alias)], particle, here
            )


def assert_simple_agreement(spec: dict[str, Any], simple_type: Any, where: str) -> None:
    assert simple_type.is_simple(), where
    assert facet(simple_type, "enumeration") == spec.get("enum"), where
    primitive = PRIMITIVES[(spec.get("type", "string"), spec.get("format"))]
    assert simple_type.primitive_type.local_name == primitive, where
    assert facet(simple_type, "max_length") == spec.get("maxLength"), where
    assert facet(simple_type, "min_length") == spec.get("minLength"), where
    assert facet(simple_type, "min_value") == spec.get("minimum"), where
    assert facet(simple_type, "max_value") == spec.get("maximum"), where
    pattern = spec.get("pattern")
    if pattern == TEXT_PATTERN:  # the same characters, as far as XML can carry any
        assert xsd_pattern(simple_type) == r"[^\p{Cc}]*", where
    else:
        assert xsd_pattern(simple_type) == (pattern and pattern.removeprefix("^").removesuffix("$"))


def assert_list_agreement(
    annotation: Any, marker: XmlList, spec: dict[str, Any], wrapper: Any, where: str
) -> None:
    assert (wrapper.min_occurs, wrapper.max_occurs) == (1, 1), where
    (item,) = xsd_particles(wrapper.type)
    assert item.local_name == marker.item, where
    assert (item.min_occurs, item.max_occurs) == (0, spec["maxItems"]), where
    assert_agreement(annotation.__args__[0], item.type, f"{where}/{item.local_name}")


@pytest.mark.parametrize("root", ROOTS)
def test_xsd_and_model_agree(root: str) -> None:
    assert_agreement(ROOTS[root], XSD.elements[root].type, root)


def test_every_xsd_root_is_a_message() -> None:
    assert set(XSD.elements) == set(ROOTS)


@pytest.mark.parametrize("root", ROOTS)
def test_every_root_ends_with_the_signature_slot(root: str) -> None:
    last = xsd_particles(XSD.elements[root].type)[-1]
    assert isinstance(last, XsdAnyElement)
    assert list(last.namespace) == [DSIG]
    assert (last.min_occurs, last.max_occurs, last.process_contents) == (0, 1, "skip")


def test_the_xsd_is_qualified_in_the_contract_namespace() -> None:
    assert XSD.target_namespace == XML_NAMESPACE
    assert XSD.element_form_default == "qualified"


def test_the_installed_xsd_is_the_published_one() -> None:
    assert codec_xml.xsd_bytes() == (SCHEMAS / "bank-adapter-v1.xsd").read_bytes()


# --- generated files stay current ----------------------------------------------------------


def test_committed_contract_is_current(tmp_path: Path) -> None:
    written = contract.write_contract(tmp_path)
    committed = [*(SCHEMAS / "json").glob("*.json"), SCHEMAS / "openapi.json"]
    assert [p.relative_to(tmp_path) for p in sorted(written)] == sorted(
        p.relative_to(SCHEMAS) for p in committed
    ), "run: python -m bank_adapter.contract"
    for path in written:
        expected = (SCHEMAS / path.relative_to(tmp_path)).read_text(encoding="utf-8")
        assert path.read_text(encoding="utf-8") == expected, f"{path.name} is stale"


def test_main_writes_into_the_directory_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert contract.main([str(tmp_path)]) == 0
    assert (tmp_path / "openapi.json").is_file()
    assert str(tmp_path / "json" / "Statement.schema.json") in capsys.readouterr().out


def test_json_schemas_are_by_alias_and_closed() -> None:
    schema = contract.json_schema(OPERATIONS["/v1/payments"].request_model)
    assert schema["$schema"] == contract.JSON_SCHEMA_DIALECT
    assert schema["additionalProperties"] is False
    assert list(schema["properties"])[:4] == ["messageId", "timestamp", "channel", "terminalId"]
    assert schema["properties"]["amount"]["type"] == "string"


# --- the OpenAPI document ------------------------------------------------------------------

DOCUMENT: dict[str, Any] = contract.openapi_document()


def test_openapi_has_every_operation_and_the_keys() -> None:
    assert DOCUMENT["openapi"].startswith("3.1")
    assert set(DOCUMENT["paths"]) == set(OPERATIONS) | {"/v1/keys"}
    for path in OPERATIONS:
        assert list(DOCUMENT["paths"][path]) == ["post"]
    jwk = DOCUMENT["components"]["schemas"]["Jwks"]["properties"]["keys"]["items"]
    assert "pem" in jwk["required"]


@pytest.mark.parametrize("path", OPERATIONS)
def test_openapi_bodies_in_both_formats(path: str) -> None:
    operation = DOCUMENT["paths"][path]["post"]
    op = OPERATIONS[path]
    request = operation["requestBody"]["content"]
    assert request["application/json"]["schema"]["$ref"].endswith("/" + op.request_root)
    assert request["application/xml"]["schema"]["xml"] == {
        "name": op.request_root,
        "namespace": XML_NAMESPACE,
    }
    response = operation["responses"]["200"]["content"]
    assert response["application/json"]["schema"]["$ref"].endswith("/" + op.response_root)
    assert response["application/xml"]["schema"]["xml"]["name"] == op.response_root


def test_openapi_signature_headers() -> None:
    headers = {"X-Partner-Id", "X-JWS-Signature", "Signature", "Signature-Input", "Content-Digest"}
    assert set(DOCUMENT["components"]["parameters"]) == headers
    operation = DOCUMENT["paths"]["/v1/payments"]["post"]
    refs = {p["$ref"].rsplit("/", 1)[1] for p in operation["parameters"]}
    assert refs == headers
    assert set(operation["responses"]["200"]["headers"]) == headers - {"X-Partner-Id"}


def test_openapi_errors_carry_the_contract_codes_per_status() -> None:
    responses = DOCUMENT["components"]["responses"]
    statuses = {400, 401, 403, 404, 409, 413, 415, 422, 429, 500, 503}
    assert set(responses) == {f"Error{status}" for status in statuses}
    for status in statuses:
        schema = responses[f"Error{status}"]["content"]["application/problem+json"]["schema"]
        for code in schema["properties"]["code"]["enum"]:
            assert http_status(Code(code)) == status
        xml = responses[f"Error{status}"]["content"]["application/xml"]["schema"]["xml"]
        assert xml["name"] == ERROR_ROOT
    codes_409 = responses["Error409"]["content"]["application/problem+json"]["schema"]
    assert "DUPLICATE_CONFLICT" in codes_409["properties"]["code"]["enum"]
    assert "Retry-After" in responses["Error429"]["headers"]


def test_openapi_is_json() -> None:
    assert json.loads(contract.render(DOCUMENT)) == DOCUMENT
