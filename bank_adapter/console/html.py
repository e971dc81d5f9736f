"""A tiny HTML builder: text is escaped unless it is already `Html`.

The console renders every page on the server. Building pages from elements instead of
pasting strings means there is one place where text becomes markup (`el`), so a bank's
reference or an operator's reason can never inject a tag or an attribute.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Final, TypeAlias


class Html(str):
    """Markup that is safe to send as is."""

    __slots__ = ()


Node: TypeAlias = "Html | str | int | Iterable[Node] | None"
Attr: TypeAlias = str | int | bool | None

VOID: Final = frozenset({"br", "input", "link", "meta", "img", "hr"})


def text(value: object) -> Html:
    """`value` as escaped text (quotes too, so it is safe inside attributes)."""
    return Html(html.escape(str(value), quote=True))


def render(node: Node) -> Html:
    """Escape text, keep `Html`, flatten iterables, drop None."""
    if node is None:
        return Html("")
    if isinstance(node, Html):
        return node
    if isinstance(node, str | int):
        return text(node)
    return Html("".join(render(child) for child in node))


def el(tag: str, *children: Node, **attrs: Attr) -> Html:
    """`<tag attrs>children</tag>`. Attribute names: a trailing `_` is dropped (`class_`)
    and other `_` become `-` (`aria_label`); True is a bare attribute, None/False none."""
    opening = tag + "".join(_attribute(name, value) for name, value in attrs.items())
    if tag in VOID:
        return Html(f"<{opening}>")
    return Html(f"<{opening}>{render(children)}</{tag}>")


def _attribute(name: str, value: Attr) -> str:
    if value is None or value is False:
        return ""
    name = name.rstrip("_").replace("_", "-")
    if value is True:
        return f" {name}"
    return f' {name}="{text(value)}"'
