"""The machine-readable contract, generated from the message models.

`schemas/json/<Root>.schema.json` holds the JSON Schema of every JSON message and
`schemas/openapi.json` the OpenAPI 3.1 document of the partner API (also served at
GET /v1/openapi.json). The XSD, `schemas/bank-adapter-v1.xsd`, is written by hand and
kept in agreement with the models by a test; another test keeps these files current:

    python -m bank_adapter.contract [DIR]      # DIR defaults to ./schemas
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue, models_json_schema

from bank_adapter.core.messages import OPERATIONS, XML_NAMESPACE, Operation, Problem, WireModel
from bank_adapter.errors import Code, http_status

JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
XSD_FILE: Final = "bank-adapter-v1.xsd"
JSON_DIRECTORY: Final = "json"
OPENAPI_FILE: Final = "openapi.json"

# Codes of the admin token and the router, which no partner operation answers with.
_NOT_PARTNER_CODES: Final = frozenset({Code.UNAUTHORIZED, Code.NOT_FOUND, Code.METHOD_NOT_ALLOWED})
_SCHEMAS: Final = "#/components/schemas/"


def json_messages() -> tuple[type[WireModel], ...]:
    """Every message a JSON partner sends or receives, requests first."""
    requests = [operation.request_model for operation in OPERATIONS.values()]
    responses = [operation.response_model for operation in OPERATIONS.values()]
    return tuple(dict.fromkeys([*requests, *responses, Problem]))


def json_schema(model_cls: type[WireModel]) -> JsonSchemaValue:
    """The stand-alone JSON Schema (2020-12) of one message, by alias."""
    schema = model_cls.model_json_schema(by_alias=True)
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"{XML_NAMESPACE}:json:{model_cls.__name__}",
        **schema,
    }


def openapi_document() -> dict[str, object]:
    """The OpenAPI 3.1 document of the partner API: section 4's paths and GET /v1/keys."""
    _, definitions = models_json_schema(
        [(model, "validation") for model in json_messages()],
        by_alias=True,
        ref_template=_SCHEMAS + "{model}",
    )
    paths: dict[str, object] = {
        operation.path: {"post": _operation(operation)} for operation in OPERATIONS.values()
    }
    paths["/v1/keys"] = {"get": _keys_operation()}
    return copy.deepcopy(  # the parts below are module constants; callers get their own
        {
            "openapi": "3.1.0",
            "info": _INFO,
            "paths": paths,
            "components": {
                "schemas": {**definitions["$defs"], "Jwks": _JWKS},
                "parameters": _REQUEST_HEADERS,
                "headers": _RESPONSE_HEADERS,
                "responses": {
                    f"Error{status}": _error_response(status) for status in _error_statuses()
                },
            },
        }
    )


def write_contract(directory: Path) -> list[Path]:
    """Write the JSON Schemas and the OpenAPI document under `directory`; the paths written."""
    (directory / JSON_DIRECTORY).mkdir(parents=True, exist_ok=True)
    documents: dict[Path, object] = {
        directory / JSON_DIRECTORY / f"{model.__name__}.schema.json": json_schema(model)
        for model in json_messages()
    }
    documents[directory / OPENAPI_FILE] = openapi_document()
    for path, document in documents.items():
        path.write_text(render(document), encoding="utf-8")
    return list(documents)


def render(document: object) -> str:
    """The committed form: two-space indent, UTF-8 as is, newline at the end."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    for path in write_contract(Path(args[0] if args else "schemas")):
        print(path)
    return 0


# --- the document's parts ------------------------------------------------------------------

_INFO: Final = {
    "title": "bank-adapter partner API",
    "version": "1",
    "description": (
        "The signed API between banks and the e-government platform. Every request and "
        "response is signed in the partner's profile: http-sig (RFC 9421 with an RFC 9530 "
        "Content-Digest), jws (detached compact JWS in X-JWS-Signature) or xmldsig "
        "(enveloped ds:Signature, last child of the XML root). A partner uses one format, "
        "application/json or application/xml; XML bodies are the elements of "
        f"{XSD_FILE} (namespace {XML_NAMESPACE}). The adapter's public keys are at GET /v1/keys."
    ),
}

_REQUEST_HEADERS: Final = {
    "X-Partner-Id": {
        "name": "X-Partner-Id",
        "in": "header",
        "required": True,
        "description": "The bank's 4-letter code; only keys registered for it verify.",
        "schema": {"type": "string", "pattern": "^[A-Z]{4}$"},
    },
    "Content-Digest": {
        "name": "Content-Digest",
        "in": "header",
        "description": "http-sig: `sha-256=:<base64>:` of the body (RFC 9530).",
        "schema": {"type": "string"},
    },
    "Signature-Input": {
        "name": "Signature-Input",
        "in": "header",
        "description": (
            'http-sig: label sig1 covering ("@method" "@path" "content-type" '
            '"content-digest" "x-partner-id") with created, keyid and alg (RFC 9421).'
        ),
        "schema": {"type": "string"},
    },
    "Signature": {
        "name": "Signature",
        "in": "header",
        "description": "http-sig: the signature labelled sig1 (RFC 9421).",
        "schema": {"type": "string"},
    },
    "X-JWS-Signature": {
        "name": "X-JWS-Signature",
        "in": "header",
        "description": (
            "jws: detached compact JWS over the exact body bytes (RFC 7515 appendix F); "
            "protected header alg, kid, htm (method) and htu (path)."
        ),
        "schema": {"type": "string", "pattern": r"^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+$"},
    },
}

_RESPONSE_HEADERS: Final = {
    "Content-Digest": {
        "description": "http-sig: `sha-256=:<base64>:` of the body.",
        "schema": {"type": "string"},
    },
    "Signature-Input": {
        "description": 'http-sig: covers ("@status" "content-type" "content-digest").',
        "schema": {"type": "string"},
    },
    "Signature": {
        "description": "http-sig: the adapter's signature.",
        "schema": {"type": "string"},
    },
    "X-JWS-Signature": {
        "description": "jws: detached compact JWS over the body, by the adapter's key.",
        "schema": {"type": "string"},
    },
}

_JWKS: Final = {
    "type": "object",
    "description": "RFC 7517 key set; every key also carries its SubjectPublicKeyInfo PEM.",
    "required": ["keys"],
    "properties": {
        "keys": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["kty", "kid", "pem"],
                "properties": {
                    "kty": {"enum": ["RSA", "EC", "OKP"]},
                    "kid": {"type": "string"},
                    "pem": {"type": "string", "description": "SubjectPublicKeyInfo PEM."},
                },
            },
        }
    },
}


def _operation(operation: Operation[Any]) -> dict[str, object]:
    return {
        "operationId": to_camel(operation.name),
        "summary": _first_line(operation.request_model.__doc__),
        "parameters": [_ref("parameters", name) for name in _REQUEST_HEADERS],
        "requestBody": {
            "required": True,
            "content": _bodies(operation.request_model.__name__, operation.request_root),
        },
        "responses": {
            "200": {
                "description": f"{operation.response_root}, signed.",
                "headers": _signature_headers(),
                "content": _bodies(operation.response_model.__name__, operation.response_root),
            },
            **{str(status): _ref("responses", f"Error{status}") for status in _error_statuses()},
        },
    }


def _bodies(schema_name: str, xml_root: str) -> dict[str, object]:
    return {
        "application/json": {"schema": {"$ref": _SCHEMAS + schema_name}},
        "application/xml": {"schema": _xml_schema(xml_root)},
    }


_XML_MESSAGE: Final = (
    "the JSON fields as elements named with the first letter upper-cased, in the XSD's "
    "order; lists as wrapper elements (Bills/Bill, Entries/Entry)"
)
_XML_ERROR: Final = (
    "MessageId, InReplyTo (absent when the request's MessageId could not be read), "
    "Timestamp, Code, Description"
)


def _xml_schema(root: str, content: str = _XML_MESSAGE) -> dict[str, object]:
    return {
        "type": "object",
        "xml": {"name": root, "namespace": XML_NAMESPACE},
        "description": (
            f"The element {root} of {XSD_FILE}: {content}; under the xmldsig profile the "
            "enveloped ds:Signature is the last child."
        ),
    }


_STATUS_NOTES: Final = {
    400: "SCHEMA_INVALID's detail names every field at fault, never its value.",
    401: (
        "Without X-Partner-Id, or for an unknown partner, the answer is problem+json "
        "signed with a detached JWS (X-JWS-Signature) whatever the format."
    ),
    413: "Checked before the body is parsed.",
    415: "The partner's other format; checked before the signature.",
    500: "Nothing was recorded; safe to retry.",
    503: "Storage unavailable: nothing was recorded; safe to retry.",
}


def _error_statuses() -> list[int]:
    return sorted({http_status(code) for code in Code if code not in _NOT_PARTNER_CODES})


def _error_response(status: int) -> dict[str, object]:
    codes = [
        code.value
        for code in Code
        if code not in _NOT_PARTNER_CODES and http_status(code) == status
    ]
    headers = _signature_headers()
    if status == 429:
        headers["Retry-After"] = {"description": "Seconds to wait.", "schema": {"type": "integer"}}
    problem = {
        "allOf": [{"$ref": _SCHEMAS + "Problem"}],
        "properties": {"status": {"const": status}, "code": {"enum": codes}},
    }
    return {
        "description": " ".join([", ".join(codes), _STATUS_NOTES.get(status, "")]).strip(),
        "headers": headers,
        "content": {
            "application/problem+json": {"schema": problem},
            "application/xml": {"schema": _xml_schema("Error", _XML_ERROR)},
        },
    }


def _keys_operation() -> dict[str, object]:
    return {
        "operationId": "keys",
        "summary": "The adapter's public keys (unsigned), to verify its responses.",
        "responses": {
            "200": {
                "description": "JWKS",
                "content": {"application/json": {"schema": {"$ref": _SCHEMAS + "Jwks"}}},
            }
        },
    }


def _signature_headers() -> dict[str, object]:
    return {name: _ref("headers", name) for name in _RESPONSE_HEADERS}


def _ref(section: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{section}/{name}"}


def _first_line(text: str | None) -> str:
    return (text or "").strip().partition("\n")[0]


if __name__ == "__main__":
    raise SystemExit(main())
