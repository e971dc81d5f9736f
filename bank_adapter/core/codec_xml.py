"""XML documents <-> message models, through `schemas/bank-adapter-v1.xsd`.

Decoding takes a root already parsed by `core.xmlparse` (the signature profile parsed
and verified it: what is decoded is what was signed). It checks the root names the
expected operation, validates against the XSD with lxml (libxml2: 60 to 90 times faster
than `xmlschema` here, which the tests use to read the XSD instead), then reads the
elements into the same models the JSON codec produces, so both formats meet the same
checks.

Error details name elements by path, never echo values: libxml2 messages quote the
offending value, so each is rebuilt from the schema facts it reports (pattern, allowed
set, bound, type).
"""

from __future__ import annotations

import functools
import importlib.resources
import re
import threading
import types
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Final, Literal, TypeVar, Union, cast, get_args, get_origin
from uuid import UUID

from lxml import etree
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from bank_adapter.core.codec_json import describe_error, schema_invalid
from bank_adapter.core.messages import (
    ERROR_ROOT,
    XML_NAMESPACE,
    Answer,
    ErrorResponse,
    StatementPage,
    XmlList,
    uuid_or_none,
    xml_name,
)
from bank_adapter.core.money import WIRE_CONTEXT
from bank_adapter.core.xmlparse import parse_xml

M = TypeVar("M", bound=BaseModel)

NAMESPACE: Final = XML_NAMESPACE
XSD_RESOURCE: Final = ("schemas", "bank-adapter-v1.xsd")
XMLDSIG_NAMESPACE: Final = "http://www.w3.org/2000/09/xmldsig#"

_NAMESPACE_PREFIX: Final = re.compile(r"\{[^}]*\}")
_LAST_QUOTED: Final = re.compile(r"'([^']*)'\)?\.$")
_QUOTED: Final = re.compile(r"'[^']*'")
_EMPTY_ENTRIES: Final = b"<Entries/>"
_ESCAPES: Final = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;"))
_ENTRY: Final = (
    "<Entry><BankPaymentRef>%s</BankPaymentRef><PaymentId>%s</PaymentId>"
    "<BillNumber>%s</BillNumber><Amount>%s</Amount><PaidAt>%s</PaidAt><Status>%s</Status></Entry>"
)
_ESCAPED: Final = re.compile("[&<>\r]")


def decode_xml(root: etree._Element, model_cls: type[M], root_name: str) -> M:
    """The document `root` as a `model_cls`, or SCHEMA_INVALID listing every problem."""
    expected = etree.QName(XML_NAMESPACE, root_name).text
    if root.tag != expected:
        raise schema_invalid([f"root element {root.tag} is not the expected {expected}"])
    schema = _validator()
    if not schema.validate(root):
        raise schema_invalid(_xsd_problems(root, schema.error_log))
    data = _read_fields(root, model_cls)
    try:
        return model_cls.model_validate(data, context=WIRE_CONTEXT, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise schema_invalid(
            _model_problem(model_cls, root_name, error) for error in exc.errors(include_input=False)
        ) from None


def encode_xml(model: Answer, root_name: str) -> bytes:
    """UTF-8 with an XML declaration, elements in XSD order; signing appends ds:Signature."""
    if isinstance(model, StatementPage):
        return _encode_page(model, root_name)
    # lxml-stubs do not know None, the key lxml takes for the default namespace.
    root = etree.Element(_qname(root_name), nsmap={None: XML_NAMESPACE})  # type: ignore[dict-item]
    _write_fields(
        root, type(model), model.model_dump(mode="json", by_alias=True, exclude_none=True)
    )
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _encode_page(page: StatementPage, root_name: str) -> bytes:
    # The head is written by lxml with `<Entries/>`, the one such text in it (text is
    # escaped: no other `<` can start it); the entries go there as lxml writes elements
    # in the default namespace and their text (`&`, `<`, `>` and CR escaped).
    head = encode_xml(page.head, root_name)
    if not page.entries:
        return head
    before, found, after = head.partition(_EMPTY_ENTRIES)
    if not found:
        raise ValueError("the statement head has no empty Entries")
    entries = "".join([
        _ENTRY % (_xml_text(ref), payment_id, _xml_text(bill), amount, paid_at, status)
        for ref, payment_id, bill, amount, paid_at, status in page.entries
    ])  # fmt: skip
    return b"".join((before, b"<Entries>", entries.encode(), b"</Entries>", after))


def _xml_text(text: str) -> str:
    if _ESCAPED.search(text) is None:
        return text
    for char, escaped in _ESCAPES:
        text = text.replace(char, escaped)
    return text


def error_fields(root: etree._Element) -> dict[str, object]:
    """An XML `Error` as JSON-named fields (`code`, `description`, ...), like a problem's."""
    error = decode_xml(root, ErrorResponse, ERROR_ROOT)
    return error.model_dump(mode="json", by_alias=True, exclude_none=True)


def peek_message_id(root: etree._Element) -> UUID | None:
    """The message's MessageId when it is a well-formed UUID, before validation."""
    element = root.find(_qname("MessageId"))
    return None if element is None else uuid_or_none(_text(element))


# --- the schema ----------------------------------------------------------------------------


@functools.cache
def xsd_bytes() -> bytes:
    """The XSD as installed with the package (`bank_adapter/schemas` is `schemas/`)."""
    return importlib.resources.files("bank_adapter").joinpath(*XSD_RESOURCE).read_bytes()


_local = threading.local()


def _validator() -> etree.XMLSchema:
    # An XMLSchema object keeps the last validation's error log on itself, so threads
    # (handlers moved to an executor) each get their own; compiling costs about a millisecond.
    schema: etree.XMLSchema | None = getattr(_local, "schema", None)
    if schema is None:
        schema = _local.schema = etree.XMLSchema(parse_xml(xsd_bytes()))
    return schema


# --- element tree -> plain data ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Field:
    alias: str
    tag: str  # {urn:bank-adapter:v1}Name
    kind: Literal["text", "int", "bool", "list"]
    item: str = ""
    item_model: type[BaseModel] = BaseModel


@functools.cache
def _fields(model_cls: type[BaseModel]) -> tuple[_Field, ...]:
    """The model's fields as elements, in order."""
    return tuple(_field(info) for info in model_cls.model_fields.values())


@functools.cache
def _fields_by_tag(model_cls: type[BaseModel]) -> dict[str, _Field]:
    return {field.tag: field for field in _fields(model_cls)}


@functools.cache
def _fields_by_alias(model_cls: type[BaseModel]) -> dict[str, _Field]:
    return {field.alias: field for field in _fields(model_cls)}


def _field(info: FieldInfo) -> _Field:
    if info.alias is None:
        raise TypeError("message models name every field by alias")
    alias, tag = info.alias, _qname(xml_name(info.alias))
    marker = next((meta for meta in info.metadata if isinstance(meta, XmlList)), None)
    if marker is not None:
        return _Field(alias, tag, "list", marker.item, get_args(info.annotation)[0])
    base = _scalar_type(info.annotation)
    return _Field(alias, tag, "bool" if base is bool else "int" if base is int else "text")


def _scalar_type(annotation: object) -> object:
    """`int` for `int`, `Annotated[int, ...] | None` and the like."""
    if get_origin(annotation) in (Union, types.UnionType):
        annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _read_fields(element: etree._Element, model_cls: type[BaseModel]) -> dict[str, object]:
    fields = _fields_by_tag(model_cls)
    data: dict[str, object] = {}
    for child in element.iterchildren(tag=etree.Element):
        field = fields.get(str(child.tag))
        if field is None:
            _read_unknown(child, data)
        elif field.kind == "list":
            items = child.iterchildren(tag=etree.Element)
            data[field.alias] = [_read_fields(item, field.item_model) for item in items]
        else:
            data[field.alias] = _scalar(_text(child), field.kind)
    return data


def _read_unknown(child: etree._Element, data: dict[str, object]) -> None:
    """Skip the ds:Signature; anything else the XSD let through, the model refuses by name."""
    name = etree.QName(child)
    if name.namespace != XMLDSIG_NAMESPACE:
        data[name.localname[:1].lower() + name.localname[1:]] = _text(child)


def _text(element: etree._Element) -> str:
    # All the text, as the XSD and the signature saw it: `.text` alone would stop at a
    # comment, so <Amount>1<!---->50.00</Amount> would be validated as 150.00 and read as 1.
    if len(element) == 0:  # no comment or processing instruction inside: the common case
        return element.text or ""
    return "".join(cast(Iterator[str], element.itertext()))  # str for parsed documents


def _scalar(text: str, kind: str) -> object:
    """Integers and booleans in their XSD lexical forms; the XSD has vouched for them."""
    if kind == "int":
        return int(text)
    if kind == "bool":
        return text.strip() in ("true", "1")
    return text


# --- plain data -> element tree ------------------------------------------------------------


def _write_fields(
    element: etree._Element, model_cls: type[BaseModel], data: dict[str, object]
) -> None:
    for field in _fields(model_cls):
        value = data.get(field.alias)
        if value is None:
            continue
        child = etree.SubElement(element, field.tag)
        if isinstance(value, list):
            for item in value:
                _write_fields(etree.SubElement(child, _qname(field.item)), field.item_model, item)
        else:
            child.text = _lexical(value)


def _lexical(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _qname(local_name: str) -> str:
    return etree.QName(XML_NAMESPACE, local_name).text


# --- error details -------------------------------------------------------------------------

# libxml2 reports, after the quoted value, the schema's bound or type as the last quoted
# word of the message: that much can be repeated safely.
_BOUND_REASONS: Final = {
    "SCHEMAV_CVC_MAXLENGTH_VALID": "must be at most {} characters",
    "SCHEMAV_CVC_MINLENGTH_VALID": "must be at least {} characters",
    "SCHEMAV_CVC_LENGTH_VALID": "must be {} characters",
    "SCHEMAV_CVC_MAXINCLUSIVE_VALID": "must be at most {}",
    "SCHEMAV_CVC_MININCLUSIVE_VALID": "must be at least {}",
    "SCHEMAV_CVC_DATATYPE_VALID_1_2_1": "is not a valid {}",
}


def _xsd_problems(root: etree._Element, log: etree._ListErrorLog) -> Iterator[str]:
    prefixes = {
        prefix: uri
        for element in root.iter(tag=etree.Element)
        for prefix, uri in element.nsmap.items()
        if prefix
    }
    for entry in log:
        yield f"{_element_path(root, entry.path, prefixes)}: {_xsd_reason(entry)}"


def _xsd_reason(entry: etree._LogEntry) -> str:
    message: str = entry.message
    if entry.type_name == "SCHEMAV_CVC_PATTERN_VALID":
        return "does not match the pattern " + message.rpartition("by the pattern '")[2][:-2]
    if entry.type_name == "SCHEMAV_CVC_ENUMERATION_VALID":
        return "must be one of " + message.rpartition("of the set {")[2][:-2].replace("'", "")
    template = _BOUND_REASONS.get(entry.type_name)
    bound = _LAST_QUOTED.search(message)
    if template and bound:
        return template.format(_NAMESPACE_PREFIX.sub("", bound.group(1)))
    # Structural problems name elements and attributes only; quotes are blanked in case.
    return _QUOTED.sub("'…'", _NAMESPACE_PREFIX.sub("", message.partition("': ")[2]))


def _element_path(root: etree._Element, path: str | None, prefixes: dict[str, str]) -> str:
    """`/Statement/Entries/Entry[2]/Amount` for libxml2's `/*/*[8]/*[2]/*[4]`."""
    try:
        found = root.getroottree().xpath(path or "/*", namespaces=prefixes)
    except etree.XPathError:
        found = None
    if isinstance(found, list) and found and isinstance(found[0], etree._Element):
        return _readable_path(found[0])
    return path or "/"


def _readable_path(element: etree._Element) -> str:
    steps: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        parent = node.getparent()
        step = etree.QName(node).localname
        namesakes = [] if parent is None else parent.findall(node.tag)
        if len(namesakes) > 1:
            step += f"[{namesakes.index(node) + 1}]"
        steps.append(step)
        node = parent
    return "/" + "/".join(reversed(steps))


def _model_problem(model_cls: type[BaseModel], root_name: str, error: ErrorDetails) -> str:
    return f"{_model_path(model_cls, root_name, error['loc'])}: {describe_error(error)}"


def _model_path(model_cls: type[BaseModel], root_name: str, loc: tuple[int | str, ...]) -> str:
    """The XML path of a model error's location, e.g. ('entries', 1, 'amount')."""
    steps = [root_name]
    fields = _fields_by_alias(model_cls)
    in_list: _Field | None = None
    for part in loc:
        if isinstance(part, int) and in_list is not None:
            steps.append(f"{in_list.item}[{part + 1}]")
            fields = _fields_by_alias(in_list.item_model)
            in_list = None
        else:
            field = fields.get(str(part))
            steps.append(xml_name(str(part)))
            in_list = field if field is not None and field.kind == "list" else None
    return "/" + "/".join(steps)
