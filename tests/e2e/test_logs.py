"""Logs never carry an OTP, a full ID number or the admin token (contract sections 8, 9).

End to end: `bank-adapter serve` in its own process writes JSON lines to stderr (not a
terminal); the test drives activations and errors through it, stops it, and reads every
line it wrote. In process: the `redact` processor and `configure()` on their own.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
import structlog
from structlog.testing import capture_logs

from bank_adapter import logging as adapter_logging
from bank_adapter.client import PartnerClient, Reply, fetch_adapter_keys
from bank_adapter.domain.ids import luhn_complete
from bank_adapter.logging import REDACTED, redact
from bank_adapter.sandbox import partner_config
from tests.serving import PARTNERS, ServeProcess

PARTNER_PATHS = {"/v1/activations", "/v1/activations/confirm"}
ISO_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
# A UUID; its last group may be masked when ten of its digits look like an ID number.
UUID_AS_LOGGED = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f*]{12}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    running = ServeProcess(tmp_path_factory.mktemp("logs"))
    try:
        running.start()
        yield running
    finally:
        running.stop()


# --- end to end: everything the service wrote ------------------------------------------------


@dataclass
class Secrets:
    """What must never reach a log line, collected while driving the service."""

    id_numbers: set[str] = field(default_factory=set)
    otps: list[str] = field(default_factory=list)
    partner_replies: list[Reply] = field(default_factory=list)
    account_urls: list[str] = field(default_factory=list)
    # Sent in request and header lines that do not parse (aiohttp refuses them itself).
    in_malformed_lines: list[str] = field(default_factory=list)


def new_id() -> str:
    return luhn_complete("1" + "".join(secrets.choice("0123456789") for _ in range(8)))


def new_mobile() -> str:
    return "+9665" + "".join(secrets.choice("0123456789") for _ in range(8))


class Driver:
    def __init__(self, server: ServeProcess, http: aiohttp.ClientSession, keys: Any) -> None:
        self.server = server
        self.http = http
        self.keys = keys
        self.seen = Secrets()

    def client(self, partner_id: str) -> PartnerClient:
        config = partner_config(PARTNERS, partner_id)
        return PartnerClient(self.server.url, config, adapter_keys=self.keys, session=self.http)

    async def admin(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.server.token}"}
        async with self.http.request(
            method, self.server.url + path, json=body, headers=headers
        ) as response:
            return response.status, await response.json(content_type=None)

    async def register(self) -> tuple[str, str]:
        id_number, mobile = new_id(), new_mobile()
        self.seen.id_numbers.add(id_number)
        status, _ = await self.admin("POST", "/internal/v1/accounts", {
            "idNumber": id_number, "mobile": mobile, "biometricEnrolled": True,
            "idExpiry": "2031-12-31",
        })  # fmt: skip
        assert status == 201
        return id_number, mobile

    def keep(self, reply: Reply) -> Reply:
        self.seen.partner_replies.append(reply)
        return reply

    async def otp_flow(self, partner_id: str) -> None:
        id_number, mobile = await self.register()
        client = self.client(partner_id)
        started = self.keep(
            await client.replies.activate(
                id_number=id_number, mobile=mobile, channel="APP", bank_customer_ref="logs"
            )
        )
        assert started.status == 200, started.body
        activation_id = getattr(started.message, "activation_id", None)
        status, sms = await self.admin("GET", f"/internal/v1/sms?mobile={quote(mobile)}")
        assert status == 200
        match = re.search(r"\b(\d{6})\b", sms["messages"][-1]["text"])
        assert match is not None
        otp = match.group(1)
        wrong = f"{(int(otp) + 1) % 1_000_000:06d}"
        self.seen.otps += [otp, wrong]
        refused = self.keep(
            await client.replies.confirm(activation_id=activation_id, otp=wrong, channel="APP")
        )
        assert refused.code == "OTP_INVALID"
        done = self.keep(
            await client.replies.confirm(activation_id=activation_id, otp=otp, channel="APP")
        )
        assert getattr(done.message, "status", None) == "ACTIVATED"
        await self.get_account(id_number, expect=200)

    async def atm_activation(self) -> None:
        id_number, mobile = await self.register()
        reply = self.keep(
            await self.client("NCBK").replies.activate(
                id_number=id_number, mobile=mobile, channel="ATM", bank_customer_ref="logs"
            )
        )
        assert getattr(reply.message, "status", None) == "ACTIVATED"

    async def errors(self) -> None:
        client = self.client("RJHI")
        valid = new_id()
        bad_check_digit = valid[:-1] + str((int(valid[-1]) + 1) % 10)
        not_registered = new_id()
        self.seen.id_numbers |= {bad_check_digit, not_registered}
        invalid = self.keep(
            await client.replies.activate(
                id_number=bad_check_digit, mobile=new_mobile(), channel="APP", bank_customer_ref="x"
            )
        )
        assert invalid.code == "INVALID_ID_NUMBER"
        unknown = self.keep(
            await client.replies.activate(
                id_number=not_registered, mobile=new_mobile(), channel="APP", bank_customer_ref="x"
            )
        )
        assert unknown.code == "ACCOUNT_NOT_FOUND"
        await self.get_account(not_registered, expect=404)
        suspended = self.keep(
            await self.client("BSFR").replies.activate(
                id_number=not_registered, mobile=new_mobile(), channel="APP", bank_customer_ref="x"
            )
        )
        assert suspended.code == "PARTNER_SUSPENDED"

    async def get_account(self, id_number: str, expect: int) -> None:
        path = f"/internal/v1/accounts/{id_number}"
        status, _ = await self.admin("GET", path)
        assert status == expect
        self.seen.account_urls.append(path)

    async def ids_elsewhere(self) -> None:
        """An ID number in an unrouted path, in X-Request-Id, and in a raw request line
        that aiohttp itself refuses (and reports through the standard logging module)."""
        stray, in_request_id, in_bad_request_line = new_id(), new_id(), new_id()
        self.seen.id_numbers |= {stray, in_request_id, in_bad_request_line}
        async with self.http.get(
            f"{self.server.url}/v1/customers/{stray}", headers={"X-Request-Id": in_request_id}
        ) as response:
            assert response.status == 404
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as sock:
            sock.sendall(
                f"GET /internal/v1/accounts/{in_bad_request_line}\0 HTTP/1.1\r\n"
                "Host: x\r\nConnection: close\r\n\r\n".encode()
            )
            assert sock.recv(64).startswith(b"HTTP/1.")

    def malformed_lines(self) -> None:
        """Header and request lines aiohttp refuses, each carrying the admin token or an
        OTP-like code: its error log would quote them."""
        token, code = self.server.token, f"{secrets.randbelow(1_000_000):06d}"
        self.seen.in_malformed_lines += [token, code]
        heads = [
            f"GET /healthz HTTP/1.1\r\nAuthorization: Bearer {token}\x00\r\n",
            f"GET /healthz HTTP/1.1\r\nAuthorization Bearer {token}\r\n",
            f"GET /healthz HTTP/1.1\r\n Bearer {token}\r\n",
            f"GET /healthz HTTP/1.1\r\nX-Otp: {code}\x01\r\n",
            f"GET /healthz HTTP/1.1\r\nContent-Length: {code}x\r\n",
            f"POST /v1/activations/confirm?code={code} HTTP/1.1 {token}\r\n",
            f"GET /internal/v1/events\x00{token} HTTP/1.1\r\n",
        ]
        for head in heads:
            with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as sock:
                sock.sendall(f"{head}Host: x\r\nConnection: close\r\n\r\n".encode("latin-1"))
                assert sock.recv(64).startswith(b"HTTP/1.0 400"), head


async def drive(server: ServeProcess) -> Secrets:
    async with aiohttp.ClientSession() as http:
        driver = Driver(server, http, await fetch_adapter_keys(server.url, http))
        await driver.otp_flow("RJHI")
        await driver.otp_flow("SABB")
        await driver.atm_activation()
        await driver.errors()
        await driver.ids_elsewhere()
        driver.malformed_lines()
    return driver.seen


@pytest.fixture(scope="module")
def drove(server: ServeProcess) -> Secrets:
    return asyncio.run(drive(server))


@pytest.fixture(scope="module")
def log_text(server: ServeProcess, drove: Secrets) -> str:
    assert server.stop() == 0
    return server.log.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def log_lines(log_text: str) -> list[dict[str, Any]]:
    """The lines that are JSON objects (that all are is a test of its own)."""
    parsed = []
    for line in log_text.splitlines():
        try:
            parsed.append(json.loads(line))
        except ValueError:
            continue
    return [line for line in parsed if isinstance(line, dict)]


def test_every_line_is_one_json_object(log_text: str) -> None:
    lines = [line for line in log_text.splitlines() if line.strip()]
    assert len(lines) > 20
    for line in lines:
        assert isinstance(json.loads(line), dict), line


def test_no_full_id_number_anywhere(log_text: str, drove: Secrets) -> None:
    assert len(drove.id_numbers) >= 8
    leaked = sorted(id_number for id_number in drove.id_numbers if id_number in log_text)
    assert leaked == []


def test_no_admin_token(log_text: str, server: ServeProcess) -> None:
    assert server.token not in log_text


def test_lines_that_do_not_parse_are_logged_without_their_bytes(
    log_lines: list[dict[str, Any]], log_text: str, drove: Secrets
) -> None:
    refused = [line for line in log_lines if line.get("logger") == "aiohttp.server"]
    assert len(refused) >= 7  # aiohttp's own error line for each, summarised
    for line in refused:
        assert line["exception"].split(" ")[0] in {
            "BadHttpMessage",
            "BadStatusLine",
            "InvalidURLError",
            "InvalidHeader",
        }, line
    assert [value for value in drove.in_malformed_lines if value in log_text] == []


def test_no_otp(log_lines: list[dict[str, Any]], drove: Secrets) -> None:
    assert len(drove.otps) == 4
    for line in log_lines:
        # Timestamps and UUIDs hold six-digit runs by chance: check their shape, then
        # look for OTPs in everything else.
        rest = dict(line)
        assert ISO_TIMESTAMP.fullmatch(rest.pop("timestamp")), line
        if "message_id" in rest:
            assert UUID_AS_LOGGED.fullmatch(rest.pop("message_id")), line
        text = json.dumps(rest)
        assert [otp for otp in drove.otps if otp in text] == [], line


def about_a_partner_request(line: dict[str, Any]) -> bool:
    return (
        is_partner_request_line(line) or line.get("path") in PARTNER_PATHS or "message_id" in line
    )


def is_partner_request_line(line: dict[str, Any]) -> bool:
    """The one line per partner request: the access line, with its operation and code."""
    return line.get("event") == "request" and "operation" in line


def test_lines_about_partner_requests_name_the_partner_and_the_request(
    log_lines: list[dict[str, Any]], drove: Secrets
) -> None:
    about = [line for line in log_lines if about_a_partner_request(line)]
    partner_request_lines = [line for line in about if is_partner_request_line(line)]
    # One line per request: the access line is the only line about it.
    assert len(partner_request_lines) == len(drove.partner_replies) == len(about)
    for line in about:
        assert line.get("partner") in {"RJHI", "SABB", "NCBK", "BSFR"}, line
        assert line.get("request_id"), line
    assert {line["partner"] for line in partner_request_lines} == {"RJHI", "SABB", "NCBK", "BSFR"}


def test_logged_request_ids_are_the_ones_answered(
    log_lines: list[dict[str, Any]], drove: Secrets
) -> None:
    logged = {line.get("request_id") for line in log_lines if is_partner_request_line(line)}
    answered = {reply.headers.get("x-request-id") for reply in drove.partner_replies}
    assert answered == logged


def test_id_numbers_in_logged_paths_are_masked(
    log_lines: list[dict[str, Any]], drove: Secrets
) -> None:
    paths = [line["path"] for line in log_lines if line.get("event") == "request"]
    assert drove.account_urls
    for url in drove.account_urls:
        id_number = url.rsplit("/", 1)[1]
        masked = f"/internal/v1/accounts/{id_number[0]}*******{id_number[-2:]}"
        assert masked in paths


# --- in process: the redaction processor and the configured pipeline -------------------------


def test_redact_masks_ids_at_any_depth_and_drops_secret_fields() -> None:
    event = {
        "event": "call 1234567897 from +966512345678",
        "request": {
            "headers": {"Authorization": "Bearer abc", "X-Api-Key": "k-1", "Accept": "*/*"},
            "items": [{"otp": "123456", "id": "2234567896"}, ("1234567897", 5, None)],
        },
        "mobile": "0512345678",
    }

    assert redact(None, "info", event) == {
        "event": "call 1*******97 from +966512345678",
        "request": {
            "headers": {"Authorization": REDACTED, "X-Api-Key": REDACTED, "Accept": "*/*"},
            "items": [{"otp": REDACTED, "id": "2*******96"}, ["1*******97", 5, None]],
        },
        "mobile": "0512345678",
    }


@pytest.mark.parametrize(
    "name",
    [
        "otp", "OTP", "otp_code", "otpCode", "token", "admin_token", "adminToken",
        "authorization", "password", "client_secret", "key", "private_key", "otp_key",
        "X-Api-Key", "pin",
    ],
)  # fmt: skip
def test_secret_named_fields_are_redacted(name: str) -> None:
    assert redact(None, "info", {name: "s3cr3t", "nested": {name: "s3cr3t"}}) == {
        name: REDACTED,
        "nested": {name: REDACTED},
    }


@pytest.mark.parametrize(
    "name", ["kid", "keys", "message_id", "masked_mobile", "partner", "status", "monkey"]
)
def test_other_fields_are_kept(name: str) -> None:
    assert redact(None, "info", {name: "visible"}) == {name: "visible"}


@dataclass
class _Account:
    id_number: str


def test_values_rendered_by_repr_are_masked_too() -> None:
    event = redact(
        None,
        "info",
        {
            "account": _Account("1234567897"),
            "raw": b"IdNumber=1234567897",
            "as_int": 1234567897,
            "by_id": {1234567897: "x", 200: "ok"},
            "count": 3,
            "ratio": 0.5,
            "flag": True,
        },
    )

    rendered = structlog.processors.JSONRenderer()(None, "info", event)
    assert "1234567897" not in rendered
    assert event["as_int"] == "1*******97"
    assert event["by_id"] == {"1*******97": "x", "200": "ok"}
    assert (event["count"], event["ratio"], event["flag"]) == (3, 0.5, True)


def test_capture_through_redact_masks_bound_context() -> None:
    log = structlog.get_logger("test")
    with capture_logs(processors=[structlog.contextvars.merge_contextvars, redact]) as logs:
        structlog.contextvars.bind_contextvars(request_id="r-1", partner="RJHI")
        try:
            log.info("lookup", path="/internal/v1/accounts/1234567897", otp="654321")
        finally:
            structlog.contextvars.clear_contextvars()

    assert logs == [
        {
            "event": "lookup",
            "path": "/internal/v1/accounts/1*******97",
            "otp": REDACTED,
            "request_id": "r-1",
            "partner": "RJHI",
            "log_level": "info",
        }
    ]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure() changes process-wide state; put it back."""
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers = list(root.handlers)
    yield
    structlog.configure(**saved)
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)


@pytest.mark.usefixtures("restore_logging")
def test_configured_pipeline_writes_redacted_json_lines_for_structlog_and_stdlib() -> None:
    out = io.StringIO()
    adapter_logging.configure(level="INFO", stream=out, json=True)

    adapter_logging.get_logger("bank_adapter.test").info(
        "lookup", path="/internal/v1/accounts/1234567897", admin_token="tok-secret"
    )
    try:
        raise ValueError("bad request line: GET /internal/v1/accounts/1234567897")
    except ValueError:
        logging.getLogger("aiohttp.server").exception("Error handling request")
    logging.getLogger("aiohttp.server").warning("no account %s", "1234567897")

    text = out.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["event"] for line in lines] == [
        "lookup",
        "Error handling request",
        "no account 1*******97",
    ]
    assert "1234567897" not in text
    assert "tok-secret" not in text
    assert lines[0]["admin_token"] == REDACTED
    assert lines[1]["logger"] == "aiohttp.server"
    assert lines[1]["level"] == "error"
    # Another library's exception: its class and where, never its message.
    assert lines[1]["exception"].startswith("ValueError at test_logs.py:")
    assert "bad request line" not in text


@pytest.mark.usefixtures("restore_logging")
def test_aiohttp_messages_keep_numbers_and_addresses_only() -> None:
    out = io.StringIO()
    adapter_logging.configure(level="INFO", stream=out, json=True)

    server = logging.getLogger("aiohttp.server")
    server.error("Error handling request from %s", "127.0.0.1")
    server.error("Error handling request from %s", "::1")
    server.warning("peer %s sent %s", "10.0.0.5", "Bearer s3cr3t-token")
    server.warning("Start lingering close timer for %s sec.", 10.0)
    logging.getLogger("sqlalchemy.pool").warning("kept as written: %s", "text")

    events = [json.loads(line)["event"] for line in out.getvalue().splitlines()]
    assert events == [
        "Error handling request from 127.0.0.1",
        "Error handling request from ::1",
        f"peer 10.0.0.5 sent {REDACTED}",
        "Start lingering close timer for 10.0 sec.",
        "kept as written: text",
    ]


def test_an_aiohttp_template_its_arguments_do_not_fit_is_kept_bare() -> None:
    record = logging.LogRecord("aiohttp.web", logging.WARNING, "x.py", 1, "%s and %s", None, None)
    event = {"event": "?", "_record": record, "positional_args": ("only one",)}
    assert adapter_logging.summarize_foreign(None, "warning", event)["event"] == "%s and %s"


@pytest.mark.usefixtures("restore_logging")
def test_a_foreign_exception_keeps_its_status_but_not_its_message() -> None:
    from aiohttp.http_exceptions import BadHttpMessage

    out = io.StringIO()
    adapter_logging.configure(level="INFO", stream=out, json=True)
    try:
        raise BadHttpMessage("Invalid header value char: b'Authorization: Bearer tok-123'")
    except BadHttpMessage:
        logging.getLogger("asyncio").exception("Exception in callback")

    (line,) = [json.loads(line) for line in out.getvalue().splitlines()]
    assert line["exception"].startswith("BadHttpMessage (status 400) at test_logs.py:")
    assert "tok-123" not in out.getvalue()
