"""A JSON bank's process never loads the XML stack or anything of the server's."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module", ["lxml", "xmlsec", "sqlalchemy", "alembic", "structlog", "prometheus_client"]
)
def test_importing_the_client_loads_no_server_or_xml_stack(module):
    code = f"import bank_adapter.client, sys; assert {module!r} not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_an_xml_partner_without_the_xml_extra_gets_one_clear_message():
    code = """
import sys
sys.modules["xmlsec"] = None  # as in an install without the xml extra
from bank_adapter.client import profile_for
try:
    profile_for("xmldsig")
except ImportError as exc:
    print(exc)
"""
    result = subprocess.run(
        [sys.executable, "-c", code], check=True, timeout=60, capture_output=True, text=True
    )
    assert "pip install 'bank-adapter-client[xml]'" in result.stdout
