"""Shape limits: refuse absurd messages right after the parse, before any costly step.

A message within the size limit (413) can still be shaped to make later steps slow:
thousands of attributes on one element make exclusive canonicalisation (which sorts
them) quadratic, so a 64 KiB body cost about 200 ms of event loop before its signature
was refused. These checks run in C (XPath counts) or over containers only, in well under
a millisecond, and bound every later step by the size of a legitimate message.

The limits fit every message of the contract with room to spare. Requests are small (the
largest, with an enveloped signature carrying a certificate, has about 40 elements and a
few kilobytes of text), so `REQUEST_XML` is tight; the largest response is a statement
page of 5,000 entries (about 70,000 XML nodes or 40,000 JSON values), which the `ANY_*`
limits, the defaults, admit. A message beyond them is MALFORMED_MESSAGE, like bytes that
do not parse: the check runs before the signature, on what a parser accepts at all, not
on what the schema says (SCHEMA_INVALID is for well-shaped messages the schema refuses).

Signature headers get the same treatment: each field of the http-sig and jws profiles is
at most `MAX_SIGNATURE_FIELD` characters and a structured-field dictionary at most
`MAX_SIGNATURE_MEMBERS` members, before it is parsed.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from itertools import chain, compress
from typing import TYPE_CHECKING, Final, cast

if TYPE_CHECKING:  # a JSON bank's SDK imports this module without the XML stack
    from lxml import etree

MAX_SIGNATURE_FIELD: Final = 4096  # characters; a 4096-bit RSA signature is 684
MAX_SIGNATURE_MEMBERS: Final = 16
_CONTAINERS: Final = frozenset({dict, list})


class ShapeError(ValueError):
    """Beyond a shape limit; the message names the limit (a noun phrase), never content."""


@dataclass(frozen=True, slots=True)
class XmlLimits:
    depth: int  # element nesting, the root being 1
    nodes: int  # elements, text, comments and processing instructions
    attributes: int  # on one element (namespace declarations are not attributes)
    all_attributes: int
    text: int  # characters of text and attribute values, all together


@dataclass(frozen=True, slots=True)
class JsonLimits:
    depth: int  # container nesting, the top-level object being 1
    members: int  # of one object
    items: int  # of one array
    values: int  # every member and item, all together


REQUEST_XML: Final = XmlLimits(depth=16, nodes=512, attributes=16, all_attributes=64, text=65_536)
ANY_XML: Final = XmlLimits(
    depth=16, nodes=262_144, attributes=16, all_attributes=1024, text=8 * 1024 * 1024
)
ANY_JSON: Final = JsonLimits(depth=8, members=64, items=10_000, values=100_000)
JWS_HEADER: Final = JsonLimits(depth=4, members=32, items=16, values=256)


def check_xml(root: etree._Element, limits: XmlLimits) -> None:
    """ShapeError unless the document of `root` is within `limits`."""
    _at_most(_count(root, "count(//node())"), limits.nodes, "nodes")
    if _count(root, f"count({'/*' * (limits.depth + 1)})"):
        raise ShapeError(f"elements nested more than {limits.depth} deep")
    attributes = _count(root, "count(//@*)")
    _at_most(attributes, limits.all_attributes, "attributes")
    if attributes > limits.attributes and _count(
        root, f"count(//*[count(@*) > {limits.attributes}])"
    ):
        raise ShapeError(f"an element with more than {limits.attributes} attributes")
    values = cast(list[str], _xpath("//@*")(root))
    text = _count(root, "string-length(string(/))") + sum(len(value) for value in values)
    _at_most(text, limits.text, "characters of text")


def check_json(value: object, limits: JsonLimits) -> None:
    """ShapeError unless the parsed JSON `value` is within `limits`, level by level.

    The values of a level are gathered and sorted into containers by loops that run in C
    (`chain`, `map`, `compress`): a 5,000-entry statement page holds 35,000 of them."""
    level = [value] if type(value) in _CONTAINERS else []
    depth = total = 0
    while level:
        depth += 1
        if depth > limits.depth:
            raise ShapeError(f"containers nested more than {limits.depth} deep")
        objects = [container for container in level if type(container) is dict]
        arrays = [container for container in level if type(container) is list]
        _at_most(max(map(len, objects), default=0), limits.members, "members in an object")
        _at_most(max(map(len, arrays), default=0), limits.items, "items in an array")
        values = list(
            chain(chain.from_iterable(map(dict.values, objects)), chain.from_iterable(arrays))
        )
        total += len(values)
        _at_most(total, limits.values, "values")
        level = list(compress(values, map(_CONTAINERS.__contains__, map(type, values))))


def check_field(name: str, value: str) -> None:
    """ShapeError when a signature header field is too long to be one."""
    if len(value) > MAX_SIGNATURE_FIELD:
        raise ShapeError(f"{name} is longer than {MAX_SIGNATURE_FIELD} characters")


def check_members(name: str, members: int) -> None:
    if members > MAX_SIGNATURE_MEMBERS:
        raise ShapeError(f"{name} has more than {MAX_SIGNATURE_MEMBERS} members")


def _at_most(count: float, limit: int, what: str) -> None:
    if count > limit:
        raise ShapeError(f"more than {limit} {what}")


def _count(root: etree._Element, expression: str) -> float:
    """An XPath number (count(), string-length()), computed in C."""
    return cast(float, _xpath(expression)(root))


@functools.cache
def _xpath(expression: str) -> etree.XPath:
    from lxml import etree

    return etree.XPath(expression)
