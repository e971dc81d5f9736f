"""Captured requests read back into their exact bytes: raw files and curl --trace dumps."""

from __future__ import annotations

from pathlib import Path

import pytest

from bank_adapter.core.rawhttp import RawRequestError, parse_request

DATA = Path(__file__).resolve().parents[1] / "data" / "diagnose"
BODY = b'{"messageId":"5b0c3f5e-2f4e-4d7b-9d61-0c5a3e2b1a10","amount":"650.00"}'
HEAD = [
    b"POST /v1/payments HTTP/1.1",
    b"Host: 127.0.0.1:8080",
    b"Content-Type: application/json",
    b"X-Partner-Id:  RJHI ",
]


@pytest.mark.parametrize("eol", [b"\r\n", b"\n"], ids=["crlf", "lf"])
def test_raw_request_with_either_line_end(eol: bytes) -> None:
    request = parse_request(eol.join(HEAD) + eol + eol + BODY)
    assert (request.method, request.target, request.body) == ("POST", "/v1/payments", BODY)
    assert request.headers == (
        ("Host", "127.0.0.1:8080"),
        ("Content-Type", "application/json"),
        ("X-Partner-Id", "RJHI"),
    )
    assert request.header("x-partner-id") == "RJHI"


def test_the_body_is_kept_byte_for_byte_without_content_length() -> None:
    body = b'{"a":"line\r\n\r\nstill the body"}\n'
    assert parse_request(b"\r\n".join(HEAD) + b"\r\n\r\n" + body).body == body


def test_content_length_bounds_the_body_and_an_editors_newline_is_tolerated() -> None:
    head = [*HEAD, f"Content-Length: {len(BODY)}".encode()]
    assert parse_request(b"\n".join(head) + b"\n\n" + BODY + b"\n").body == BODY


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GET\n\n", "line 1: not a request line"),
        (b"POST /v1/payments HTTP/1.1\nHost 127.0.0.1\n\n", "line 2: not a header line"),
        (b"POST /v1/payments HTTP/1.1\nContent-Length: 10\n\nabc", "the body has 3 bytes"),
        (b"POST /v1/payments HTTP/1.1\nContent-Length: 1\n\nabc", "more bytes follow"),
        (b"POST /v1/payments HTTP/1.1\nContent-Length: x\n\nabc", "is not a number"),
        (b"POST /v1/payments HTTP/1.1\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n", "chunked"),
    ],
    ids=["request-line", "header-line", "short-body", "trailing-bytes", "length", "chunked"],
)
def test_unusable_files_say_what_is_wrong(data: bytes, message: str) -> None:
    with pytest.raises(RawRequestError, match=message):
        parse_request(data)


def test_a_curl_trace_dump_gives_the_bytes_sent() -> None:
    request = parse_request((DATA / "curl-trace.txt").read_bytes())
    assert request.target == "/v1/payments"
    assert request.header("X-Partner-Id") == "RJHI"
    assert request.header("Content-Length") == str(len(request.body)) == "93"
    # Bytes --trace-ascii would have printed as '.': an escaped newline and UTF-8 é.
    assert request.body.endswith(b'"note":"line\\nnext \xc3\xa9"}')


def test_a_curl_trace_ascii_dump_is_refused_with_the_reason() -> None:
    with pytest.raises(RawRequestError, match="--trace-ascii loses bytes: use --trace"):
        parse_request((DATA / "curl-trace-ascii.txt").read_bytes())
