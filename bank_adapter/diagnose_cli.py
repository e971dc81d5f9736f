"""`bank-adapter diagnose`: contract section 10's signature diagnostics, offline.

A bank's engineer (or the platform's support) saves the request a bank sent, as a raw
HTTP request or a `curl --trace` dump, and gets the same answer `POST
/sandbox/v1/diagnose` gives, against the partner files on disk. Nothing is sent
anywhere; the partners directory may hold sandbox partners.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from bank_adapter.clock import system_clock
from bank_adapter.core.diagnose import diagnose, lower_headers
from bank_adapter.core.messages import OPERATIONS
from bank_adapter.core.rawhttp import RawRequestError, parse_request
from bank_adapter.core.wire import WireRequest
from bank_adapter.partners import load_partners
from bank_adapter.reconcile.cli import Subcommands
from bank_adapter.settings import Settings

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def add_commands(commands: Subcommands[argparse.ArgumentParser]) -> None:
    """Add `diagnose` to the `bank-adapter` command."""
    parser = commands.add_parser(
        "diagnose",
        help="find out why a captured request's signature fails",
        description="Run the signature checks of POST /sandbox/v1/diagnose (partner, format, "
        "signature_header, key, algorithm, digest, binding, signature) on a captured "
        "request, against the partner files, and print the same JSON answer: which check "
        "failed, why, and what the adapter computed (signing input, signature base, "
        "Content-Digest, canonical SignedInfo, reference digest) to compare with your own. "
        "Exit 0 when every check passes, 1 when one fails, 2 on unusable input.",
    )
    parser.add_argument("--partner", required=True, help="the bank's partner id, e.g. RJHI")
    parser.add_argument(
        "--path",
        required=True,
        help=f"the operation the request is for: {', '.join(OPERATIONS)}",
    )
    parser.add_argument(
        "--partners-dir",
        type=Path,
        default=None,
        help="partner files (default: BANK_ADAPTER_PARTNERS_DIR or ./partners)",
    )
    parser.add_argument(
        "request_file",
        type=Path,
        metavar="REQUEST_FILE",
        help="the request: request line, headers, empty line, body (CRLF or LF line ends), "
        "or a `curl --trace FILE` dump",
    )
    parser.set_defaults(run=_diagnose)


def _diagnose(args: argparse.Namespace) -> int:
    if args.path not in OPERATIONS:
        return _usage(f"--path {args.path!r} is not an operation path: {', '.join(OPERATIONS)}")
    directory = args.partners_dir or Settings.from_env(os.environ).partners_dir
    partner = load_partners(directory, sandbox=True).get(args.partner)
    if partner is None:
        return _usage(f"no partner {args.partner} in {directory}")
    try:
        raw = parse_request(args.request_file.read_bytes())
    except OSError as exc:
        return _usage(f"cannot read {args.request_file}: {exc.strerror}")
    except RawRequestError as exc:
        return _usage(f"{args.request_file}: {exc}")
    sent_for = raw.header("X-Partner-Id")
    if sent_for is not None and sent_for != partner.id:
        print(f"note: the request says X-Partner-Id {sent_for}, not {partner.id}", file=sys.stderr)
    headers, repeated = lower_headers(raw.headers)
    wire = WireRequest(raw.method, args.path, headers, raw.body)
    diagnosis = diagnose(
        wire, {partner.id: partner}, system_clock(), repeated_headers=repeated, target=raw.target
    )
    print(json.dumps(diagnosis.as_json(), indent=2, ensure_ascii=False))
    return EXIT_OK if diagnosis.ok else EXIT_FAIL


def _usage(message: str) -> int:
    print(f"bank-adapter diagnose: {message}", file=sys.stderr)
    return EXIT_USAGE
