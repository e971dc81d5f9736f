"""Reading the console's pages the way a person does: tables as rows of cell texts."""

from __future__ import annotations

from html.parser import HTMLParser


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self.tables:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables(html: str) -> list[list[list[str]]]:
    """Every table of the page: rows (header row first) of cell texts."""
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def row_of(html: str, first_cell: str, table: int | None = None) -> list[str]:
    """The first row, in `table` (or any), whose first cell is `first_cell`."""
    chosen = tables(html) if table is None else [tables(html)[table]]
    for rows in chosen:
        for row in rows:
            if row and row[0] == first_cell:
                return row
    raise AssertionError(f"no row starting {first_cell!r}")


def text_of(html: str) -> str:
    """The page's text, each element's apart, white space collapsed."""
    parser = _Text()
    parser.feed(html)
    return " ".join("".join(parser.parts).split())


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parts.append(" ")  # a boundary between elements reads as a space

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
