"""`bank-adapter conformance serve` and `bank-adapter conformance report`.

`report` exits 0 when every rule passed, 1 otherwise (a rule failed or was not
exercised), 2 when no report could be read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bank_adapter.clock import system_clock
from bank_adapter.conformance.html import render_html
from bank_adapter.conformance.observe import PREFIX
from bank_adapter.settings import Settings

EXIT_OK, EXIT_NOT_PASSED, EXIT_NO_REPORT = 0, 1, 2
DEFAULT_URL = "http://127.0.0.1:8080"

Subcommands = argparse._SubParsersAction  # argparse's type for add_subparsers()


def add_commands(commands: Subcommands[argparse.ArgumentParser]) -> None:
    """Add `conformance serve|report` to the `bank-adapter` command."""
    kit = commands.add_parser(
        "conformance",
        help="a sandbox for one bank and its per-rule conformance report",
        description="The conformance kit (contract section 10): a bank tests its client "
        "against a sandbox of its own and gets a report per contract rule.",
    )
    actions = kit.add_subparsers(title="conformance commands", required=True, metavar="ACTION")
    serve = actions.add_parser(
        "serve",
        help="serve one bank on a fresh database",
        description="Serve the bank of --partner-file (a partner file with its public keys) "
        "on a fresh SQLite database in a temporary directory, with one account and two bills "
        "as fixtures, printed as one JSON line on stdout once it serves. Other settings as for "
        "`serve` (BANK_ADAPTER_HOST, signing key, TLS); sandbox mode is on.",
    )
    serve.add_argument("--partner-file", type=Path, required=True, help="the bank's <ID>.toml")
    serve.add_argument(
        "--port", type=int, default=None, help="listen port (default: BANK_ADAPTER_PORT or 8080)"
    )
    serve.set_defaults(run=_serve)
    report = actions.add_parser(
        "report",
        help="the per-rule report of a running kit",
        description="Read the report of a running `conformance serve` and print it. Exit 0 "
        "when every rule passed, 1 otherwise, 2 when the report cannot be read.",
    )
    report.add_argument("--url", default=DEFAULT_URL, help=f"the kit's URL (default {DEFAULT_URL})")
    report.add_argument("--json", action="store_true", help="print the report as JSON")
    report.add_argument("--html", type=Path, help="also write the report as an HTML page here")
    report.set_defaults(run=_report)


def _serve(args: argparse.Namespace) -> int:
    from bank_adapter.conformance.serve import serve

    settings = Settings.from_env(os.environ)
    serve(
        settings, args.partner_file, settings.port if args.port is None else args.port, system_clock
    )
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    url = args.url.rstrip("/") + f"{PREFIX}/report"
    try:
        document = _fetch(url)
    except (OSError, ValueError) as exc:
        print(f"bank-adapter: cannot read the report at {url}: {exc}", file=sys.stderr)
        return EXIT_NO_REPORT
    if args.html is not None:
        args.html.write_text(render_html(document, system_clock()), encoding="utf-8")
    print(json.dumps(document, indent=2) if args.json else as_text(document))
    all_passed = document["failed"] == 0 and document["notExercised"] == 0
    return EXIT_OK if all_passed else EXIT_NOT_PASSED


def _fetch(url: str) -> dict[str, Any]:
    if not url.startswith(("http://", "https://")):
        raise ValueError("the URL must be http:// or https://")
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (scheme checked)
        document: dict[str, Any] = json.loads(response.read())
    return document


def as_text(document: dict[str, Any]) -> str:
    lines = [f"conformance report for {document['partner']}"]
    for rule in document["rules"]:
        lines.append(f"  {rule['status'].upper():<14} {rule['id']:<23} {rule['detail']}")
    total = len(document["rules"])
    lines.append(
        f"{document['partner']} conformance: {document['passed']} of {total} rules passed, "
        f"{document['failed']} failed, {document['notExercised']} not exercised"
    )
    return "\n".join(lines)
