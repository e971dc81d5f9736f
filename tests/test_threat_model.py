"""`docs/threat-model.md` names tests that exist: every `file::test` it cites is a test
function of that file, so the page cannot quietly point at a renamed or deleted proof."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGE = (REPO / "docs" / "threat-model.md").read_text(encoding="utf-8")
CITED = sorted(set(re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", PAGE)))


def test_the_page_cites_tests() -> None:
    assert len(CITED) > 40


@pytest.mark.parametrize(("path", "name"), CITED)
def test_each_cited_test_exists(path: str, name: str) -> None:
    tree = ast.parse((REPO / path).read_text(encoding="utf-8"))
    functions = {
        node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    assert name in functions
