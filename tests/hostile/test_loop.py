"""No message holds the event loop (contract 5, rev 1.1): ten of the costliest messages
the shape limits still let through to signature verification are in flight while
`/healthz` keeps answering. The bound is the issue's own (0.5 s) and about fifty times
what a probe takes here even on a busy machine: it catches a loop held for hundreds of
milliseconds per message (as before the shape limits), not scheduling noise."""

from __future__ import annotations

import asyncio
import time

from tests.hostile.attack import encode, post, sign
from tests.hostile.test_corpus import ACTIVATE, activation

IN_FLIGHT = 10


def heaviest_signed_xml(service) -> tuple[bytes, dict[str, str]]:
    """A signed XML-DSig activation padded to just under the size limit with the largest
    text and the most elements the request shape limits allow: the signature check must
    parse, canonicalise and digest all of it before refusing it."""
    signed, headers = sign(service, "XMLR", ACTIVATE, encode("xml", ACTIVATE, activation(service)))
    padding = b"<Pad>" + b"x" * 40_000 + b"</Pad>" + b"<P/>" * 400
    body = signed.replace(b"</ActivationRequest>", padding + b"</ActivationRequest>", 1)
    assert len(body) <= service.runtime.settings.max_body_bytes
    return body, headers


async def test_healthz_answers_while_the_costliest_messages_are_verified(service):
    body, headers = heaviest_signed_xml(service)
    probes: list[float] = []
    attacks = [
        asyncio.create_task(post(service, ACTIVATE, body, headers)) for _ in range(IN_FLIGHT)
    ]
    while not all(attack.done() for attack in attacks):
        started = time.perf_counter()
        async with service.http.get(service.url + "/healthz") as response:
            assert response.status == 200
        probes.append(time.perf_counter() - started)

    answers = [attack.result() for attack in attacks]
    assert {(answer.status, answer.code) for answer in answers} == {(401, "SIGNATURE_INVALID")}
    assert probes
    assert max(probes) < 0.5, f"slowest /healthz: {max(probes):.3f} s"
