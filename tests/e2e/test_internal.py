"""The platform side (contract section 6) against the real server and a real SQLite file:
the bearer token, accounts, the events outbox and the sandbox SMS outbox."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bank_adapter.core.keys import generate, private_pem
from bank_adapter.domain.ids import luhn_complete
from bank_adapter.settings import Settings
from bank_adapter.store import migrate
from bank_adapter.web.app import build_app
from bank_adapter.web.runtime import build_runtime

TOKEN = "test-admin-token-0123456789"  # the `service` fixture's token (tests/conftest.py)
ACCOUNTS = "/internal/v1/accounts"
EVENTS = "/internal/v1/events"
PROBLEM = "application/problem+json"


def new_id(first_digit: str = "1") -> str:
    return luhn_complete(first_digit + "".join(secrets.choice("0123456789") for _ in range(8)))


def new_mobile() -> str:
    return "+9665" + "".join(secrets.choice("0123456789") for _ in range(8))


def account_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "idNumber": new_id(),
        "mobile": new_mobile(),
        "biometricEnrolled": True,
        "idExpiry": "2031-01-01",
    }
    body.update(changes)
    return body


async def raw(
    service: Any,
    method: str,
    path: str,
    data: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, str, Any]:
    """(status, content type, decoded JSON body) of a request sent exactly as given."""
    async with service.http.request(
        method, service.url + path, data=data, headers=headers or {}
    ) as response:
        body = await response.read()
        return response.status, response.content_type, json.loads(body)


def authorized(content_type: str = "application/json") -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}", "Content-Type": content_type}


def assert_problem(status: int, body: Any, expected_status: int, code: str) -> None:
    assert (status, body["code"]) == (expected_status, code), body
    assert body["status"] == expected_status
    assert body["type"].endswith(code)


async def activate_at_atm(service: Any, partner_id: str, id_number: str, mobile: str) -> None:
    """ATM is a strongly authenticated channel by default: activation without OTP."""
    reply = await service.client(partner_id).replies.activate(
        id_number=id_number, mobile=mobile, channel="ATM", bank_customer_ref="c-1"
    )
    assert reply.status == 200, reply.error
    assert reply.message.status == "ACTIVATED"


async def all_events(service: Any) -> list[dict[str, Any]]:
    status, data = await service.admin("GET", f"{EVENTS}?limit=500")
    assert status == 200, data
    return list(data["events"])


# --- the bearer token ----------------------------------------------------------------


BAD_AUTHORIZATIONS = [
    None,
    "",
    "Bearer",
    "Bearer ",
    f"Basic {TOKEN}",
    f"Token {TOKEN}",
    f"Bearer{TOKEN}",
    f"Bearer  {TOKEN}",
    f"Bearer {TOKEN}x",
    f"Bearer {TOKEN[:-1]}",
    "Bearer wrong-token",
    TOKEN,
]


@pytest.mark.parametrize(
    ("method", "path", "with_token"),
    [
        ("POST", ACCOUNTS, 201),
        ("GET", f"{ACCOUNTS}/1000000001", 404),
        ("GET", EVENTS, 200),
        ("GET", "/internal/v1/sms?mobile=%2B966500000001", 200),
    ],
)
async def test_internal_api_needs_the_bearer_token(service, method, path, with_token):
    body = json.dumps(account_body()).encode() if method == "POST" else None
    for authorization in BAD_AUTHORIZATIONS:
        headers = {"Content-Type": "application/json"}
        if authorization is not None:
            headers["Authorization"] = authorization

        status, content_type, problem = await raw(service, method, path, body, headers)

        assert_problem(status, problem, 401, "UNAUTHORIZED")
        assert content_type == PROBLEM
        assert TOKEN not in json.dumps(problem)
    # The same request with the token gets through.
    status, _, _ = await raw(service, method, path, body, authorized())
    assert status == with_token


async def test_the_auth_scheme_is_case_insensitive(service):
    headers = {"Authorization": f"bearer {TOKEN}"}
    status, _, data = await raw(service, "GET", EVENTS, None, headers)
    assert status == 200, data


async def test_the_token_is_checked_before_the_body_is_read(service):
    headers = {"Authorization": "Bearer nope", "Content-Type": "text/plain"}
    status, _, problem = await raw(service, "POST", ACCOUNTS, b"not json", headers)
    assert_problem(status, problem, 401, "UNAUTHORIZED")


async def raw_request(service, head: bytes) -> tuple[int, dict[str, Any]]:
    """Send `head` (request line and headers, any bytes) over a socket; status and body."""
    host, port = service.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head + b"Host: x\r\nConnection: close\r\n\r\n")
        await writer.drain()
        response = await reader.read()
    finally:
        writer.close()
    status_line, _, rest = response.partition(b"\r\n")
    body = rest.partition(b"\r\n\r\n")[2]
    return int(status_line.split()[1]), json.loads(body)


@pytest.mark.parametrize(
    "authorization",
    [b"Bearer \xff\xfe", b"Bearer " + TOKEN.encode() + b"\xc3", b"\xff " + TOKEN.encode()],
)
async def test_an_authorization_header_that_is_not_utf8_is_401_not_500(service, authorization):
    head = b"GET " + EVENTS.encode() + b" HTTP/1.1\r\nAuthorization: " + authorization + b"\r\n"
    status, problem = await raw_request(service, head)
    assert_problem(status, problem, 401, "UNAUTHORIZED")


async def test_an_empty_token_in_the_settings_never_matches_an_empty_bearer(service):
    """Settings refuse an empty token at start-up; the check holds on its own as well."""
    service.runtime.settings = dataclasses.replace(service.runtime.settings, admin_token="")
    for authorization in ["Bearer ", "Bearer", "bearer  "]:
        status, _, problem = await raw(
            service, "GET", EVENTS, None, {"Authorization": authorization}
        )
        assert_problem(status, problem, 401, "UNAUTHORIZED")


@pytest.mark.parametrize("partner_id", ["JWSA", "HSJA"])
async def test_a_partner_signature_alone_never_reaches_the_internal_api(service, partner_id):
    body = account_body()
    signed_body, headers = service.client(partner_id).sign(ACCOUNTS, json.dumps(body).encode())
    assert "Authorization" not in headers

    status, _, problem = await raw(service, "POST", ACCOUNTS, signed_body, headers)

    assert_problem(status, problem, 401, "UNAUTHORIZED")
    status, data = await service.admin("GET", f"{ACCOUNTS}/{body['idNumber']}")
    assert_problem(status, data, 404, "ACCOUNT_NOT_FOUND")


# --- accounts ------------------------------------------------------------------------


async def test_create_then_get_an_account(service):
    body = account_body(fullNameAr="مستخدم", fullNameEn="A User", blocked=False)

    status, created = await service.admin("POST", ACCOUNTS, body)

    assert status == 201, created
    assert created == {
        "idNumber": body["idNumber"],
        "idType": "NATIONAL_ID",
        "mobile": body["mobile"],
        "biometricEnrolled": True,
        "idExpiry": "2031-01-01",
        "blocked": False,
        "fullNameAr": "مستخدم",
        "fullNameEn": "A User",
        "status": "PENDING",
    }
    status, fetched = await service.admin("GET", f"{ACCOUNTS}/{body['idNumber']}")
    assert (status, fetched) == (200, created)


async def test_optional_fields_default(service):
    body = {"idNumber": new_id(), "mobile": new_mobile(), "biometricEnrolled": False}
    status, created = await service.admin("POST", ACCOUNTS, body)
    assert status == 201, created
    assert created["idExpiry"] is None
    assert created["blocked"] is False
    assert created["fullNameAr"] is None
    assert created["fullNameEn"] is None
    assert created["biometricEnrolled"] is False


@pytest.mark.parametrize(
    ("first_digit", "id_type"),
    [("1", "NATIONAL_ID"), ("2", "IQAMA"), ("3", "BORDER_NUMBER"), ("4", "BORDER_NUMBER")],
)
async def test_id_type_defaults_from_the_first_digit(service, first_digit, id_type):
    status, created = await service.admin(
        "POST", ACCOUNTS, account_body(idNumber=new_id(first_digit))
    )
    assert status == 201, created
    assert created["idType"] == id_type


@pytest.mark.parametrize("first_digit", ["1", "2"])
async def test_explicit_gcc_id_is_kept(service, first_digit):
    body = account_body(idNumber=new_id(first_digit), idType="GCC_ID")
    status, created = await service.admin("POST", ACCOUNTS, body)
    assert (status, created["idType"]) == (201, "GCC_ID")
    _, fetched = await service.admin("GET", f"{ACCOUNTS}/{body['idNumber']}")
    assert fetched["idType"] == "GCC_ID"


async def test_update_changes_the_data_and_keeps_the_status(service):
    body = account_body(fullNameEn="Before")
    status, _ = await service.admin("POST", ACCOUNTS, body)
    assert status == 201
    changed = {
        **body,
        "mobile": new_mobile(),
        "biometricEnrolled": False,
        "idExpiry": "2035-06-30",
        "blocked": True,
        "fullNameEn": "After",
    }

    status, updated = await service.admin("POST", ACCOUNTS, changed)

    assert status == 200, updated
    assert updated["status"] == "PENDING"
    assert updated["mobile"] == changed["mobile"]
    assert updated["biometricEnrolled"] is False
    assert updated["idExpiry"] == "2035-06-30"
    assert updated["blocked"] is True
    assert updated["fullNameEn"] == "After"
    _, fetched = await service.admin("GET", f"{ACCOUNTS}/{body['idNumber']}")
    assert fetched == updated


async def test_update_keeps_an_account_active_after_activation(service):
    id_number, mobile = await service.register()
    await activate_at_atm(service, "JWSA", id_number, mobile)
    new = new_mobile()

    status, updated = await service.admin(
        "POST", ACCOUNTS, account_body(idNumber=id_number, mobile=new, fullNameEn="Renamed")
    )

    assert status == 200, updated
    assert updated["status"] == "ACTIVE"
    assert (updated["mobile"], updated["fullNameEn"]) == (new, "Renamed")
    _, fetched = await service.admin("GET", f"{ACCOUNTS}/{id_number}")
    assert fetched["status"] == "ACTIVE"
    # And it cannot be activated a second time through a partner.
    again = await service.client("JWSA").replies.activate(
        id_number=id_number, mobile=new, channel="ATM", bank_customer_ref="c-2"
    )
    assert again.code == "ACCOUNT_ALREADY_ACTIVE"


@pytest.mark.parametrize("path_id", ["1000000001", "abc", "1" * 30])
async def test_get_unknown_account(service, path_id):
    status, problem = await service.admin("GET", f"{ACCOUNTS}/{path_id}")
    assert_problem(status, problem, 404, "ACCOUNT_NOT_FOUND")


def _bad_check_digit(id_number: str) -> str:
    return id_number[:-1] + str((int(id_number[-1]) + 1) % 10)


@pytest.mark.parametrize(
    "id_number",
    [
        _bad_check_digit(luhn_complete("123456789")),
        luhn_complete("512345678"),
        luhn_complete("012345678"),
        "123456789",
        luhn_complete("123456789") + "0",
        "abcdefghij",
        "١٢٣٤٥٦٧٨٩٧",  # Arabic-Indic digits
        "1234 56789",
        "",
    ],
)
async def test_invalid_id_number(service, id_number):
    status, problem = await service.admin("POST", ACCOUNTS, account_body(idNumber=id_number))
    assert_problem(status, problem, 400, "INVALID_ID_NUMBER")
    if id_number:
        assert id_number not in problem["detail"]


@pytest.mark.parametrize(
    "mobile",
    [
        "0612345678",
        "+96650000000",
        "+9665000000000",
        "+971501234567",
        "05-0000-0000",
        "٠٥٠٠٠٠٠٠٠٠",
        "",
        "mobile",
    ],
)
async def test_invalid_mobile(service, mobile):
    status, problem = await service.admin("POST", ACCOUNTS, account_body(mobile=mobile))
    assert_problem(status, problem, 400, "INVALID_MOBILE")


@pytest.mark.parametrize("form", ["05{}", "5{}", "9665{}", "+9665{}", " 05{} "])
async def test_mobiles_in_every_input_form_are_stored_as_e164(service, form):
    digits = new_mobile()[5:]
    body = account_body(mobile=form.format(digits))

    status, created = await service.admin("POST", ACCOUNTS, body)

    assert status == 201, created
    assert created["mobile"] == "+9665" + digits
    _, fetched = await service.admin("GET", f"{ACCOUNTS}/{body['idNumber']}")
    assert fetched["mobile"] == "+9665" + digits


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"nickname": "x"}, "nickname"),
        ({"id_number_extra": "x"}, "id_number_extra"),
        ({"idNumber": 1234567897}, "idNumber"),
        ({"mobile": 501234567}, "mobile"),
        ({"biometricEnrolled": "maybe"}, "biometricEnrolled"),
        ({"biometricEnrolled": None}, "biometricEnrolled"),
        ({"blocked": [True]}, "blocked"),
        ({"idExpiry": "31/01/2031"}, "idExpiry"),
        ({"idType": "PASSPORT"}, "idType"),
        ({"fullNameEn": "x" * 201}, "fullNameEn"),
        ({"fullNameAr": {"text": "x"}}, "fullNameAr"),
    ],
)
async def test_schema_errors_name_the_field(service, changes, field):
    status, problem = await service.admin("POST", ACCOUNTS, account_body(**changes))
    assert_problem(status, problem, 400, "SCHEMA_INVALID")
    assert field in problem["detail"]


@pytest.mark.parametrize("missing", ["idNumber", "mobile", "biometricEnrolled"])
async def test_missing_required_field_is_named(service, missing):
    body = account_body()
    del body[missing]
    status, problem = await service.admin("POST", ACCOUNTS, body)
    assert_problem(status, problem, 400, "SCHEMA_INVALID")
    assert missing in problem["detail"]


@pytest.mark.parametrize("body", [[], "text", 42, None])
async def test_a_body_that_is_not_an_object(service, body):
    data = json.dumps(body).encode()
    status, _, problem = await raw(service, "POST", ACCOUNTS, data, authorized())
    assert_problem(status, problem, 400, "SCHEMA_INVALID")


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe\x00", b'{"idNumber": '])
async def test_non_json_body(service, body):
    status, content_type, problem = await raw(service, "POST", ACCOUNTS, body, authorized())
    assert_problem(status, problem, 400, "MALFORMED_MESSAGE")
    assert content_type == PROBLEM


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/x-json"])
async def test_wrong_content_type(service, content_type):
    body = json.dumps(account_body()).encode()
    status, _, problem = await raw(service, "POST", ACCOUNTS, body, authorized(content_type))
    assert_problem(status, problem, 415, "FORMAT_NOT_ALLOWED")


async def test_content_type_parameters_are_accepted(service):
    body = json.dumps(account_body()).encode()
    headers = authorized("application/json; charset=utf-8")
    status, _, created = await raw(service, "POST", ACCOUNTS, body, headers)
    assert status == 201, created


async def test_body_over_the_limit(service):
    limit = service.runtime.settings.max_body_bytes
    body = json.dumps(account_body(fullNameEn="x" * limit)).encode()
    status, _, problem = await raw(service, "POST", ACCOUNTS, body, authorized())
    assert_problem(status, problem, 413, "PAYLOAD_TOO_LARGE")


async def test_chunked_body_over_the_limit(service):
    """Without Content-Length the limit must still hold."""
    limit = service.runtime.settings.max_body_bytes
    body = json.dumps(account_body(fullNameEn="x" * (limit + 10))).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    status, _, problem = await raw(service, "POST", ACCOUNTS, chunks(), authorized())
    assert_problem(status, problem, 413, "PAYLOAD_TOO_LARGE")


# --- events --------------------------------------------------------------------------


async def test_no_events_at_start(service):
    status, data = await service.admin("GET", EVENTS)
    assert (status, data) == (200, {"events": [], "nextCursor": 0})


async def test_activation_events_in_order_with_the_contract_fields(service, clock):
    activated: list[tuple[str, str, str]] = []
    for partner_id in ["JWSA", "XMLA", "HSJA"]:
        id_number, mobile = await service.register()
        await activate_at_atm(service, partner_id, id_number, mobile)
        activated.append((id_number, partner_id, "ATM"))
    id_number, mobile = await service.register()
    client = service.client("JWSR")
    before = clock()
    started = await client.replies.activate(
        id_number=id_number, mobile=mobile, channel="APP", bank_customer_ref="c-1"
    )
    done = await client.replies.confirm(
        activation_id=started.message.activation_id, otp=await service.otp(mobile), channel="APP"
    )
    after = clock()
    assert done.message.status == "ACTIVATED"
    activated.append((id_number, "JWSR", "APP"))

    events = await all_events(service)

    assert [event["type"] for event in events] == ["ACCOUNT_ACTIVATED"] * 4
    assert [
        (e["data"]["idNumber"], e["data"]["partnerId"], e["data"]["channel"]) for e in events
    ] == activated
    assert all(set(e["data"]) == {"idNumber", "partnerId", "channel"} for e in events)
    seqs = [event["seq"] for event in events]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)
    assert all(isinstance(seq, int) for seq in seqs)
    assert events[-1]["occurredAt"].endswith("Z")
    occurred = datetime.fromisoformat(events[-1]["occurredAt"])
    assert before <= occurred <= after


async def test_failed_activations_write_no_event(service):
    id_number, mobile = await service.register(biometricEnrolled=False)
    reply = await service.client("JWSA").replies.activate(
        id_number=id_number, mobile=mobile, channel="ATM", bank_customer_ref="c-1"
    )
    assert reply.code == "BIOMETRIC_NOT_ENROLLED"
    assert await all_events(service) == []


async def test_after_and_limit_page_through_the_events(service):
    for _ in range(5):
        id_number, mobile = await service.register()
        await activate_at_atm(service, "JWSA", id_number, mobile)
    everything = await all_events(service)
    seqs = [event["seq"] for event in everything]

    status, first = await service.admin("GET", f"{EVENTS}?limit=2")
    assert status == 200
    assert [e["seq"] for e in first["events"]] == seqs[:2]
    assert first["nextCursor"] == seqs[1]

    status, second = await service.admin("GET", f"{EVENTS}?after={first['nextCursor']}&limit=2")
    assert [e["seq"] for e in second["events"]] == seqs[2:4]

    status, rest = await service.admin("GET", f"{EVENTS}?after={seqs[3]}")
    assert [e["seq"] for e in rest["events"]] == seqs[4:]

    status, end = await service.admin("GET", f"{EVENTS}?after={seqs[-1]}&limit=500")
    assert (status, end) == (200, {"events": [], "nextCursor": seqs[-1]})

    status, beyond = await service.admin("GET", f"{EVENTS}?after={seqs[-1] + 100}")
    assert (status, beyond) == (200, {"events": [], "nextCursor": seqs[-1] + 100})

    status, one = await service.admin("GET", f"{EVENTS}?after=0&limit=1")
    assert [e["seq"] for e in one["events"]] == seqs[:1]


async def test_following_the_cursor_never_misses_or_repeats_an_event(service):
    """A consumer reading pages of 2 while activations keep arriving sees each once."""
    expected: list[str] = []
    seen: list[dict[str, Any]] = []
    cursor = 0
    for round_ in range(8):
        for _ in range(round_ % 3):
            id_number, mobile = await service.register()
            await activate_at_atm(service, "JWSA", id_number, mobile)
            expected.append(id_number)
        status, page = await service.admin("GET", f"{EVENTS}?after={cursor}&limit=2")
        assert status == 200
        seen.extend(page["events"])
        cursor = page["nextCursor"]
    while True:
        status, page = await service.admin("GET", f"{EVENTS}?after={cursor}&limit=2")
        if not page["events"]:
            break
        seen.extend(page["events"])
        cursor = page["nextCursor"]

    assert [event["data"]["idNumber"] for event in seen] == expected
    assert len({event["seq"] for event in seen}) == len(seen)


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=501",
        "limit=-1",
        "limit=abc",
        "limit=1.5",
        "limit=%C2%B2",  # a superscript two: str.isdigit() says yes, int() says no
        "limit=%D9%A3",  # an Arabic-Indic three
        "after=-1",
        "after=x",
        "after=1e3",
        "after=" + "9" * 5000,
    ],
)
async def test_bad_paging_parameters(service, query):
    status, problem = await service.admin("GET", f"{EVENTS}?{query}")
    assert_problem(status, problem, 400, "SCHEMA_INVALID")
    assert query.split("=")[0] in problem["detail"]


@pytest.mark.parametrize("query", ["limit=1", "limit=500", "limit=", "after=", "after=0"])
async def test_paging_parameter_bounds(service, query):
    status, data = await service.admin("GET", f"{EVENTS}?{query}")
    assert (status, data) == (200, {"events": [], "nextCursor": 0})


# --- sandbox SMS outbox --------------------------------------------------------------


async def test_sms_messages_oldest_first(service, clock):
    id_number, mobile = await service.register()
    client = service.client("JWSA")
    first = await client.replies.activate(
        id_number=id_number, mobile=mobile, channel="APP", bank_customer_ref="c-1"
    )
    assert first.message.status == "OTP_SENT"
    status, one = await service.admin("GET", f"/internal/v1/sms?mobile=%2B{mobile[1:]}")
    assert status == 200
    [only] = one["messages"]
    clock.advance(seconds=90)
    second = await client.replies.activate(
        id_number=id_number, mobile=mobile, channel="APP", bank_customer_ref="c-1"
    )
    assert second.message.status == "OTP_SENT"

    status, two = await service.admin("GET", f"/internal/v1/sms?mobile=0{mobile[4:]}")

    assert status == 200
    assert len(two["messages"]) == 2
    assert two["messages"][0] == only
    assert all(set(m) == {"mobile", "text", "sentAt"} for m in two["messages"])
    assert all(m["mobile"] == mobile for m in two["messages"])
    sent = [datetime.fromisoformat(m["sentAt"]) for m in two["messages"]]
    assert sent[0] < sent[1]
    # The newest message holds the code that activates; the older one is dead.
    confirm = await client.replies.confirm(
        activation_id=second.message.activation_id, otp=await service.otp(mobile), channel="APP"
    )
    assert confirm.message.status == "ACTIVATED"


async def test_sms_for_a_mobile_without_messages(service):
    status, data = await service.admin("GET", "/internal/v1/sms?mobile=%2B966500000099")
    assert (status, data) == (200, {"messages": []})


@pytest.mark.parametrize("query", ["", "?mobile=", "?mobile=12345", "?mobile=%2B971501234567"])
async def test_sms_needs_a_saudi_mobile(service, query):
    status, problem = await service.admin("GET", f"/internal/v1/sms{query}")
    assert_problem(status, problem, 400, "INVALID_MOBILE")


@asynccontextmanager
async def running(settings: Settings, clock: Any) -> AsyncIterator[str]:
    """The service on a loopback port, built the way tests/conftest.py builds `service`."""
    runtime = build_runtime(settings, clock)
    await migrate.upgrade(runtime.store.engine)
    runner = web.AppRunner(build_app(runtime), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def production_settings(tmp_path: Path, partners_dir: Path, **extra: str) -> Settings:
    key_file = tmp_path / "prod" / "adapter.key.pem"
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_bytes(private_pem(generate("EC-P256")))
    env = {
        "BANK_ADAPTER_DATABASE_URL": f"sqlite:///{tmp_path / 'prod' / 'adapter.db'}",
        "BANK_ADAPTER_PARTNERS_DIR": str(partners_dir),
        "BANK_ADAPTER_SANDBOX": "0",
        "BANK_ADAPTER_SIGNING_KEY": str(key_file),
        "BANK_ADAPTER_VAR_DIR": str(tmp_path / "prod" / "var"),
        **extra,
    }
    return Settings.from_env(env)


async def test_sms_endpoint_does_not_exist_outside_sandbox(tmp_path, partners_dir, clock):
    settings = production_settings(tmp_path, partners_dir, BANK_ADAPTER_ADMIN_TOKEN=TOKEN)
    assert settings.sandbox is False
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with running(settings, clock) as url, aiohttp.ClientSession(headers=headers) as http:
        async with http.get(f"{url}/internal/v1/sms?mobile=%2B966500000001") as response:
            assert response.status == 404
            assert response.content_type == PROBLEM
            assert (await response.json(content_type=None))["code"] == "NOT_FOUND"
        # The rest of the internal API is there, with the same token.
        async with http.get(f"{url}{EVENTS}") as response:
            assert response.status == 200


async def test_without_a_configured_token_the_internal_api_refuses_everyone(
    tmp_path, partners_dir, clock
):
    settings = production_settings(tmp_path, partners_dir)
    assert settings.admin_token is None
    async with running(settings, clock) as url, aiohttp.ClientSession() as http:
        for authorization in ["Bearer ", "Bearer None", "Bearer null", f"Bearer {TOKEN}"]:
            headers = {"Authorization": authorization}
            async with http.get(f"{url}{EVENTS}", headers=headers) as response:
                problem = await response.json(content_type=None)
                assert_problem(response.status, problem, 401, "UNAUTHORIZED")


async def test_internal_json_is_strict_about_types_and_names(service):
    id_number = luhn_complete("187654321")
    base = {"idNumber": id_number, "mobile": "0551234567", "biometricEnrolled": True}
    for body, field in (
        (base | {"biometricEnrolled": "yes"}, "biometricEnrolled"),
        (base | {"biometricEnrolled": 1}, "biometricEnrolled"),
        ({"id_number": id_number, "mobile": "0551234567", "biometricEnrolled": True}, "id_number"),
    ):
        status, data = await service.admin("POST", "/internal/v1/accounts", body)
        assert (status, data["code"]) == (400, "SCHEMA_INVALID"), body
        assert field in data["detail"]


async def test_an_omitted_id_type_keeps_the_registered_one(service):
    id_number = luhn_complete("176543210")
    body = {"idNumber": id_number, "mobile": "0551234567", "biometricEnrolled": True}
    status, _ = await service.admin("POST", "/internal/v1/accounts", body | {"idType": "GCC_ID"})
    assert status == 201

    status, data = await service.admin("POST", "/internal/v1/accounts", body | {"blocked": True})

    assert status == 200
    assert (data["idType"], data["blocked"]) == ("GCC_ID", True)
