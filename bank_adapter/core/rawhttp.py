"""A captured HTTP request, read back into its exact bytes, for offline diagnostics.

Two forms are read:
- raw: the request line, header lines, an empty line, the body, as a proxy dump or
  `nc -l` writes it. Lines may end in CRLF or LF. With a `Content-Length`, the body is
  that many bytes (an editor's final newline after it is tolerated); without one, the
  rest of the file.
- `curl --trace FILE`: the hex dump of what curl sent ("=> Send header", "=> Send
  data"), which keeps every byte. `curl --trace-ascii` does not (it prints
  non-printable bytes as '.'), so it is refused with a sentence saying so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

_REQUEST_LINE: Final = re.compile(rb"([A-Z]+) (\S+) HTTP/\d\.\d")
_HEADER: Final = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*")
_TRACE_SECTION: Final = re.compile(rb"(?:=>|<=|==) .*")
_TRACE_SENT: Final = re.compile(rb"=> Send (?:header|data), (\d+) bytes.*")
_TRACE_ROW: Final = 16  # bytes per hex dump line


class RawRequestError(ValueError):
    """A file that is not a captured request; the message says what is wrong, and where."""


@dataclass(frozen=True, slots=True)
class RawRequest:
    method: str
    target: str
    headers: tuple[tuple[str, str], ...]  # as sent, in order, repeats kept
    body: bytes

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)


def parse_request(data: bytes) -> RawRequest:
    """`data` as a raw request or a `curl --trace` dump."""
    if data.startswith(b"== Info:") or data.startswith(b"=> Send"):
        data = _from_trace(data)
    head, body = _split(data)
    lines = re.split(rb"\r?\n", head)
    match = _REQUEST_LINE.fullmatch(lines[0])
    if match is None:
        raise RawRequestError("line 1: not a request line (METHOD /path HTTP/1.1)")
    headers = tuple(_header(number, line) for number, line in enumerate(lines[1:], start=2))
    request = RawRequest(match[1].decode("ascii"), match[2].decode("ascii"), headers, body)
    return _bounded(request)


def _split(data: bytes) -> tuple[bytes, bytes]:
    ends = [(data.find(sep), sep) for sep in (b"\r\n\r\n", b"\n\n") if sep in data]
    if not ends:
        return data.rstrip(b"\r\n"), b""
    index, sep = min(ends)
    return data[:index], data[index + len(sep) :]


def _header(number: int, line: bytes) -> tuple[str, str]:
    match = _HEADER.fullmatch(line)
    if match is None:
        raise RawRequestError(f"line {number}: not a header line (Name: value)")
    # Header values are bytes on the wire; latin-1 keeps each byte as one character,
    # which is how the service reads them too.
    return match[1].decode("ascii"), match[2].decode("latin-1")


def _bounded(request: RawRequest) -> RawRequest:
    if (request.header("transfer-encoding") or "").lower() == "chunked":
        raise RawRequestError("a chunked body: capture the request with a Content-Length")
    length = request.header("content-length")
    if length is None:
        return request
    if not length.isdigit():
        raise RawRequestError(f"Content-Length {length!r} is not a number")
    size = int(length)
    if len(request.body) < size:
        raise RawRequestError(f"the body has {len(request.body)} bytes, Content-Length says {size}")
    if request.body[size:].strip(b"\r\n"):
        raise RawRequestError(f"more bytes follow the {size} of Content-Length")
    return RawRequest(request.method, request.target, request.headers, request.body[:size])


def _from_trace(data: bytes) -> bytes:
    """The bytes curl sent (headers and body, not TLS records), from its `--trace` dump."""
    sent = bytearray()
    remaining = 0
    for line in data.splitlines():
        if _TRACE_SECTION.fullmatch(line):
            section = _TRACE_SENT.fullmatch(line)
            remaining = int(section[1]) if section is not None else 0
            continue
        if remaining == 0:
            continue
        count = min(_TRACE_ROW, remaining)
        row = re.match(rb"[0-9a-f]{4}: ((?:[0-9a-f]{2} ){%d})" % count, line + b" ")
        if row is None:
            raise RawRequestError(
                "not a curl --trace hex dump (curl --trace-ascii loses bytes: use --trace)"
            )
        sent += bytes.fromhex(row[1].decode("ascii"))
        remaining -= count
    if not sent:
        raise RawRequestError("the curl trace holds no request")
    return bytes(sent)
