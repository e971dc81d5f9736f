"""Hardened XML parsing: the only way bytes become an XML tree in this code base.

No DTDs (internal or external), no entity declarations, no network, no huge trees.
A document carrying a DOCTYPE is refused outright rather than parsed with entities off,
so a partner learns at once that such messages are not accepted. The tree is then held to
shape limits (`core.limits`) before anyone canonicalises, validates or reads it.
"""

from __future__ import annotations

from lxml import etree

from bank_adapter.core.limits import ANY_XML, ShapeError, XmlLimits, check_xml
from bank_adapter.errors import AdapterError, Code

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    dtd_validation=False,
    load_dtd=False,
    huge_tree=False,
    remove_comments=False,
    remove_pis=False,
    collect_ids=False,
)


def parse_xml(body: bytes, limits: XmlLimits = ANY_XML) -> etree._Element:
    """The root element of `body`, or MALFORMED_MESSAGE (also beyond `limits`)."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise AdapterError(Code.MALFORMED_MESSAGE, "DTDs and entity declarations are not accepted")
    try:
        root = etree.fromstring(body, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise AdapterError(Code.MALFORMED_MESSAGE, f"XML does not parse: {exc.msg}") from None
    # The byte check above misses DTDs in other encodings (UTF-16); the parsed tree
    # still records them. (`doctype` is missing from lxml-stubs, hence getattr.)
    docinfo = root.getroottree().docinfo
    if getattr(docinfo, "doctype", "") or docinfo.internalDTD is not None:
        raise AdapterError(Code.MALFORMED_MESSAGE, "DTDs and entity declarations are not accepted")
    try:
        check_xml(root, limits)
    except ShapeError as exc:
        raise AdapterError(Code.MALFORMED_MESSAGE, f"the XML is beyond the limits: {exc}") from None
    return root
