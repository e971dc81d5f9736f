"""Two adapter processes on one PostgreSQL database, as behind a load balancer.

Both are `bank-adapter serve` started at the same moment on an empty database (so their
start-up migrations race), with the shipped sandbox partners and their test keys, and
the same OTP key and signing key, so either may answer any request. Then:
- the same payment, sent many times at once to both: one posting, one PaymentId;
- replay and MessageId rules hold across the two, and so does an idempotency key;
- a consumer following the events cursor while both write misses nothing;
- `bank-adapter db upgrade` run several times at once on a fresh database succeeds.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import aiohttp
import pytest
from sqlalchemy import text

from bank_adapter.client import PartnerClient, Reply, fetch_adapter_keys
from bank_adapter.core.keys import generate, private_pem
from bank_adapter.core.messages import PaymentNotification, PaymentStatusQuery
from bank_adapter.core.money import parse_amount
from bank_adapter.domain.ids import luhn_complete
from bank_adapter.sandbox import partner_config
from bank_adapter.store import migrate
from bank_adapter.store.repository import Store
from tests.pg import PgCluster
from tests.serving import PARTNERS, ServeProcess, bank_adapter_command, clean_environ

READY_WITHIN_S = 30.0
ROUNDS, REQUESTS_PER_ROUND = 30, 10
# One JSON/JWS, one XML/XML-DSig and one HTTP-signature sandbox bank, taking turns.
BANKS = ("RJHI", "NCBK", "RIBL")
PAYMENTS, STATUS = "/v1/payments", "/v1/payments/status"
JSON_TYPE = {"Content-Type": "application/json"}


@dataclass
class Pair:
    """Two adapters on one database, and what a test needs to talk to them."""

    adapters: tuple[ServeProcess, ServeProcess]
    database_url: str
    token: str

    @property
    def urls(self) -> tuple[str, str]:
        return self.adapters[0].url, self.adapters[1].url


def shared_environ(workdir: Path, database_url: str, token: str) -> dict[str, str]:
    """What makes two processes one service: database, keys, secrets."""
    signing_key = workdir / "adapter-signing.key.pem"
    signing_key.write_bytes(private_pem(generate("EC-P256")))
    return {
        "BANK_ADAPTER_DATABASE_URL": database_url,
        "BANK_ADAPTER_ADMIN_TOKEN": token,
        "BANK_ADAPTER_OTP_KEY": secrets.token_hex(32),
        "BANK_ADAPTER_SIGNING_KEY": str(signing_key),
        "BANK_ADAPTER_SIGNING_KID": "adapter-pair-1",
    }


@pytest.fixture(scope="module")
def pair(pg_cluster: PgCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    workdir = tmp_path_factory.mktemp("pair")
    database = pg_cluster.new_database()  # empty: both instances migrate it at start-up
    token = secrets.token_urlsafe(24)
    environ = shared_environ(workdir, pg_cluster.url(database), token)
    adapters = (
        ServeProcess(workdir / "one", environ, "one"),
        ServeProcess(workdir / "two", environ, "two"),
    )
    try:
        for adapter in adapters:
            adapter.start(wait=False)  # both at once: they race to migrate
        for adapter in adapters:
            adapter.wait_until_healthy()
        yield Pair(adapters, pg_cluster.url(database), token)
    finally:
        for adapter in adapters:
            adapter.stop()
        pg_cluster.drop_database(database)


@dataclass
class Banks:
    """Sandbox bank SDK clients, one per adapter instance, and the platform's side."""

    pair: Pair
    http: aiohttp.ClientSession
    clients: dict[str, tuple[PartnerClient, PartnerClient]]

    def both(self, bank: str) -> tuple[PartnerClient, PartnerClient]:
        return self.clients[bank]

    async def admin(self, method: str, url: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.pair.token}"}
        async with self.http.request(method, url, json=body, headers=headers) as response:
            return response.status, await response.json(content_type=None)

    async def bill(self, instance: int, amount: str = "120.00") -> str:
        id_number = luhn_complete("1" + "".join(secrets.choice("0123456789") for _ in range(8)))
        body = {"idNumber": id_number, "serviceCode": "TRAFFIC_VIOLATION", "amount": amount}
        body["dueDate"] = "2031-01-01"
        url = self.pair.urls[instance] + "/internal/v1/bills"
        status, data = await self.admin("POST", url, body)
        assert status == 201, data
        return str(data["billNumber"])

    async def events(self, instance: int, after: int, limit: int = 500) -> dict[str, Any]:
        url = f"{self.pair.urls[instance]}/internal/v1/events?after={after}&limit={limit}"
        status, data = await self.admin("GET", url)
        assert status == 200, data
        return dict(data)

    async def all_events(self, after: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Every event after `after`, and the cursor past the last."""
        found: list[dict[str, Any]] = []
        while page := (await self.events(0, after))["events"]:
            found += page
            after = page[-1]["seq"]
        return found, after


@pytest.fixture
async def banks(pair: Pair) -> Any:
    async with aiohttp.ClientSession() as http:
        keys = [await fetch_adapter_keys(url, http) for url in pair.urls]
        assert keys[0].keys() == keys[1].keys()  # one signing key: either answer verifies
        clients = {
            bank: (
                client(pair.urls[0], bank, keys[0], http),
                client(pair.urls[1], bank, keys[0], http),
            )
            for bank in BANKS
        }
        yield Banks(pair, http, clients)


def client(url: str, bank: str, keys: Any, http: aiohttp.ClientSession) -> PartnerClient:
    return PartnerClient(url, partner_config(PARTNERS, bank), adapter_keys=keys, session=http)


@pytest.fixture
async def db(pair: Pair) -> Any:
    store = Store.open(pair.database_url)
    yield store
    await store.close()


async def scalar(store: Store, sql: str, **params: Any) -> Any:
    async with store.engine.connect() as tx:
        return (await tx.execute(text(sql), params)).scalar_one()


PAYMENTS_OF_REF = "SELECT count(*) FROM payments WHERE bank_payment_ref = :ref"
BILL_STATUS = "SELECT status FROM bills WHERE bill_number = :bill"


def ref() -> str:
    return f"PAIR-{uuid4().hex[:20]}"


async def timed_payment(
    client: PartnerClient, reference: str, bill_number: str
) -> tuple[Reply, float, float]:
    """The verified answer, and when the request left and the answer came."""
    started = time.monotonic()
    reply = await client.replies.pay(
        bank_payment_ref=reference, bill_number=bill_number, amount="120.00", channel="APP"
    )
    return reply, started, time.monotonic()


# --- both started at once on an empty database -----------------------------------------


async def test_both_instances_started_at_once_migrated_the_empty_database(
    pair: Pair, banks: Banks, db: Store
) -> None:
    assert await migrate.current_revision(db.engine) == migrate.head_revision()
    for url in pair.urls:
        async with banks.http.get(url + "/readyz") as response:
            assert response.status == 200, await response.text()


# --- exactly one posting, whichever instance answers -----------------------------------


async def test_the_same_payment_on_both_instances_at_once_posts_once(
    pair: Pair, banks: Banks, db: Store, record_property: Any
) -> None:
    decided_again_before = [adapter.log_events("decided_again") for adapter in pair.adapters]
    answered_by = Counter[str]()
    refs: list[str] = []
    overlapping_rounds = 0
    for round_no in range(ROUNDS):
        bank = BANKS[round_no % len(BANKS)]
        bill_number = await banks.bill(round_no % 2)
        reference = ref()
        refs.append(reference)
        timed = await asyncio.gather(
            *(
                timed_payment(banks.both(bank)[i % 2], reference, bill_number)
                for i in range(REQUESTS_PER_ROUND)
            )
        )
        replies = [reply for reply, _, _ in timed]
        answered_by.update(pair.adapters[i % 2].name for i in range(len(replies)))
        # Requests to instance one and to instance two were in flight at the same time.
        one, two = timed[0::2], timed[1::2]
        if max(s for _, s, _ in one + two) < min(e for _, _, e in one + two):
            overlapping_rounds += 1

        assert [reply.status for reply in replies] == [200] * REQUESTS_PER_ROUND, [
            (reply.status, reply.code) for reply in replies
        ]
        acks = [reply.message for reply in replies]
        assert {ack.status for ack in acks} == {"POSTED"}  # type: ignore[union-attr]
        assert len({ack.payment_id for ack in acks}) == 1  # type: ignore[union-attr]
        assert await scalar(db, PAYMENTS_OF_REF, ref=reference) == 1
        assert await scalar(db, BILL_STATUS, bill=bill_number) == "PAID"

    postings = await scalar(
        db, "SELECT count(*) FROM payments WHERE bank_payment_ref LIKE 'PAIR-%'"
    )
    posted_events = [
        event["data"]["bankPaymentRef"]
        for event in (await banks.all_events())[0]
        if event["type"] == "PAYMENT_POSTED"
    ]
    assert Counter(ref for ref in posted_events if ref in refs) == Counter(refs)
    requests = ROUNDS * REQUESTS_PER_ROUND
    races = [
        adapter.log_events("decided_again") - before
        for adapter, before in zip(pair.adapters, decided_again_before, strict=True)
    ]
    numbers = {
        "rounds": ROUNDS,
        "rounds_with_all_requests_in_flight_at_once": overlapping_rounds,
        "requests": requests,
        "requests_per_instance": dict(answered_by),
        "answers_200": requests,
        "postings": postings,
        "payment_posted_events": len(refs),
        "duplicates_answered_with_the_original_payment_id": requests - postings,
        "unique_constraint_races_lost_and_decided_again": dict(
            zip((a.name for a in pair.adapters), races, strict=True)
        ),
    }
    record_property("two_instance_numbers", json.dumps(numbers))
    print("two-instance payment test:", json.dumps(numbers))
    assert postings == ROUNDS
    assert overlapping_rounds > ROUNDS // 2, "the requests hardly overlapped: no race tested"


# --- replay and MessageId rules across instances ----------------------------------------


def stored_headers_match(first: Reply, second: Reply, names: list[str]) -> bool:
    return all(first.headers[name] == second.headers[name] for name in names)


async def stored_answer_headers(db: Store, partner: str, message_id: str) -> list[str]:
    async with db.read() as tx:
        answer = await tx.answer(partner, message_id)
    assert answer is not None
    return [name.lower() for name, _ in answer.headers]


@pytest.mark.parametrize("bank", BANKS)
async def test_the_same_signed_bytes_get_the_same_answer_from_the_other_instance(
    banks: Banks, db: Store, bank: str
) -> None:
    one, two = banks.both(bank)
    bill_number = await banks.bill(0)
    message = one.common("APP")
    body, headers = one.sign(PAYMENTS, one.encode(PAYMENTS, _payment(message, ref(), bill_number)))

    first = await one.post(PAYMENTS, body, headers)
    again = await two.post(PAYMENTS, body, headers)

    assert first.status == 200
    assert again.body == first.body
    # The signature travels in headers (JWS, HTTP signatures) or in the body (XML-DSig).
    names = await stored_answer_headers(db, bank, str(message["message_id"]))
    assert bool(names) == (bank != "NCBK")
    assert stored_headers_match(first, again, names)


async def test_the_same_signed_bytes_to_both_at_once_get_one_answer(banks: Banks) -> None:
    one, two = banks.both("RJHI")
    bill_number = await banks.bill(1)
    body, headers = one.sign(
        PAYMENTS, one.encode(PAYMENTS, _payment(one.common("APP"), ref(), bill_number))
    )

    replies = await asyncio.gather(
        *(client.post(PAYMENTS, body, headers) for client in (one, two, one, two))
    )

    assert {reply.status for reply in replies} == {200}
    assert len({reply.body for reply in replies}) == 1


@pytest.mark.parametrize("bank", BANKS)
async def test_a_message_id_reused_on_the_other_instance_is_409(banks: Banks, bank: str) -> None:
    one, two = banks.both(bank)
    bill_number = await banks.bill(0)
    common = one.common("APP")
    paid = await one.send(PAYMENTS, _payment(common, ref(), bill_number))
    other_body = PaymentStatusQuery(**common, bank_payment_ref=ref())

    reused = await two.send(STATUS, other_body)

    assert paid.status == 200
    assert (reused.status, reused.code) == (409, "MESSAGE_ID_REUSED")


def _payment(common: dict[str, Any], reference: str, bill_number: str) -> PaymentNotification:
    return PaymentNotification(
        **common,
        bank_payment_ref=reference,
        bill_number=bill_number,
        amount=parse_amount("120.00"),
        currency="SAR",
        paid_at=common["timestamp"],
    )


# --- an idempotency key across instances ------------------------------------------------


async def test_a_keyed_bill_list_sent_to_both_at_once_is_issued_once(
    banks: Banks, db: Store
) -> None:
    person = luhn_complete("2" + "".join(secrets.choice("0123456789") for _ in range(8)))
    items = [
        {"idNumber": person, "serviceCode": "TRAFFIC_VIOLATION", "amount": f"{n}0.00",
         "dueDate": "2031-01-01"}
        for n in range(1, 6)
    ]  # fmt: skip
    body = json.dumps(items).encode()
    key = f"pair-{uuid4().hex}"
    headers = {"Authorization": f"Bearer {banks.pair.token}", "Idempotency-Key": key}

    async def post(url: str) -> tuple[int, bytes]:
        async with banks.http.post(
            url + "/internal/v1/bills", data=body, headers=headers | JSON_TYPE
        ) as response:
            return response.status, await response.read()

    answers = await asyncio.gather(*(post(url) for url in banks.pair.urls * 4))

    assert set(answers) == {answers[0]}
    assert answers[0][0] == 201, answers[0][1]
    issued = {bill["billNumber"] for bill in json.loads(answers[0][1])}
    assert len(issued) == len(items)
    bills_of_person = "SELECT count(*) FROM bills WHERE id_number = :person"
    assert await scalar(db, bills_of_person, person=person) == len(items)
    keys = "SELECT count(*) FROM idempotency_keys WHERE idempotency_key = :key"
    assert await scalar(db, keys, key=key) == 1


# --- the events cursor while both instances write ---------------------------------------


async def test_a_consumer_following_the_cursor_misses_nothing_while_both_write(
    banks: Banks, record_property: Any
) -> None:
    _, start = await banks.all_events()
    payments = 80
    bills = [await banks.bill(i % 2) for i in range(payments)]
    refs = [ref() for _ in range(payments)]
    done = asyncio.Event()
    seen: list[dict[str, Any]] = []
    polls_with_events = 0

    async def consume() -> None:
        nonlocal polls_with_events
        cursor, instance = start, 0
        while True:
            finished = done.is_set()
            page = await banks.events(instance, cursor, limit=7)
            if page["events"]:
                polls_with_events += 1
                seen.extend(page["events"])
                cursor = page["nextCursor"]
            elif finished:
                return
            instance = 1 - instance  # the cursor is the database's, not an instance's

    async def pay(i: int) -> Reply:
        client = banks.both(BANKS[i % len(BANKS)])[i % 2]
        return await client.replies.pay(
            bank_payment_ref=refs[i], bill_number=bills[i], amount="120.00", channel="APP"
        )

    consumer = asyncio.create_task(consume())
    semaphore = asyncio.Semaphore(12)

    async def limited(i: int) -> Reply:
        async with semaphore:
            return await pay(i)

    replies = await asyncio.gather(*(limited(i) for i in range(payments)))
    done.set()
    await consumer

    assert {reply.status for reply in replies} == {200}
    seqs = [event["seq"] for event in seen]
    assert seqs == list(range(start + 1, start + 1 + len(seqs))), "a gap or a repeat"
    ours = [event["data"]["bankPaymentRef"] for event in seen if event["type"] == "PAYMENT_POSTED"]
    assert sorted(ref for ref in ours if ref in refs) == sorted(refs)
    consumed = {"events": len(seen), "polls_with_events": polls_with_events}
    record_property("events_consumer", json.dumps(consumed))
    assert polls_with_events > 1, "the consumer only read after the writers finished"


# --- migrations started at once -------------------------------------------------------


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_db_upgrade_run_three_times_at_once_on_a_fresh_database(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if engine == "sqlite":
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        url = request.getfixturevalue("pg_empty_database")
    env = clean_environ() | {"BANK_ADAPTER_DATABASE_URL": url, "BANK_ADAPTER_LOG_LEVEL": "WARNING"}
    processes = [
        subprocess.Popen(
            bank_adapter_command("db", "upgrade"),
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    outcomes = [(p.wait(timeout=60), *p.communicate()) for p in processes]

    head = migrate.head_revision()
    for code, out, err in outcomes:
        assert code == 0, err.decode()
        assert out.decode().strip() == f"database at revision {head}"
