"""Tools of the hostile corpus: build, sign and send messages as an attacker (or a careless
bank) would, read the contract code of the answer, and count what the database holds.

Signing goes through the core profiles directly (`service.runtime.profiles`), not the SDK,
so an attack can sign exactly the bytes it wants; every answer's signature is checked
with the adapter's published keys, as a bank would.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from lxml import etree
from multidict import CIMultiDict

from bank_adapter.core import codec_xml
from bank_adapter.core.jws import JwsProfile
from bank_adapter.core.keys import SigningKey
from bank_adapter.core.messages import OPERATIONS, format_timestamp
from bank_adapter.core.signing import VerifyPolicy
from bank_adapter.store import tables

CONTENT_TYPES = {"json": "application/json", "xml": "application/xml"}
NS = codec_xml.NAMESPACE
# Generous: a hang is what this catches, not slowness on a busy machine.
HANG = aiohttp.ClientTimeout(total=120)
ADAPTER_ALGORITHMS = frozenset({"ES256", "ECDSA-SHA256", "ecdsa-p256-sha256"})


@dataclass(frozen=True)
class Answer:
    status: int
    code: str | None  # the contract code of an error answer
    headers: Mapping[str, str]
    body: bytes


async def counts(service: Any) -> dict[str, int]:
    """Rows in every table of the store."""
    async with service.runtime.store.read() as tx:
        return {name: await tx.count(name) for name in tables.metadata.tables}


def fields(path: str, now: Any, **values: Any) -> dict[str, Any]:
    """A request's fields in JSON form (camelCase names, wire strings), fresh ids."""
    common = {"messageId": str(uuid.uuid4()), "timestamp": format_timestamp(now), "channel": "APP"}
    return common | values


def encode(fmt: str, path: str, data: Mapping[str, Any]) -> bytes:
    """`data` (JSON names and values, in contract order) as the body of `fmt`, unvalidated:
    an attacker writes whatever it likes."""
    if fmt == "json":
        return json.dumps(data).encode("ascii")  # \u escapes: any string, lone surrogates too
    root = etree.Element(f"{{{NS}}}{OPERATIONS[path].request_root}", nsmap={None: NS})  # type: ignore[dict-item]
    for name, value in data.items():
        etree.SubElement(root, f"{{{NS}}}{name[:1].upper()}{name[1:]}").text = str(value)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def sign(
    service: Any,
    partner_id: str,
    path: str,
    body: bytes,
    *,
    key: SigningKey | None = None,
    signed_path: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """`body` signed as `partner_id` would (or with `key`, or for `signed_path`)."""
    partner = service.partners[partner_id]
    content_type = CONTENT_TYPES[partner.format]
    signed = service.runtime.profiles[partner.signature].sign_request(
        "POST", signed_path or path, content_type, body, (("X-Partner-Id", partner_id),),
        key or partner.key, partner.algorithm, service.runtime.clock(),
    )  # fmt: skip
    headers = {"Content-Type": content_type, "X-Partner-Id": partner_id}
    return signed.body, headers | dict(signed.headers)


async def post(
    service: Any, path: str, body: bytes, headers: Mapping[str, str] | CIMultiDict[str]
) -> Answer:
    """POST exactly these bytes; the answer, its signature checked, its code read."""
    async with service.http.post(
        service.url + path, data=body, headers=headers, timeout=HANG
    ) as response:
        raw = await response.read()
        answer_headers = {name.lower(): value for name, value in response.headers.items()}
        status = response.status
    code = _code(answer_headers.get("content-type", ""), raw) if status >= 300 else None
    _verify(service, headers, status, answer_headers, raw)
    return Answer(status, code, answer_headers, raw)


async def send(service: Any, partner_id: str, path: str, data: Mapping[str, Any]) -> Answer:
    """`data` encoded in the partner's format, signed by the partner, sent."""
    fmt = service.partners[partner_id].format
    return await post(service, path, *sign(service, partner_id, path, encode(fmt, path, data)))


def _code(content_type: str, body: bytes) -> str | None:
    if content_type.startswith("application/xml"):
        found = etree.fromstring(body).find(f"{{{NS}}}Code")
        return None if found is None else found.text
    return str(json.loads(body)["code"])


def _verify(
    service: Any,
    sent: Mapping[str, str] | CIMultiDict[str],
    status: int,
    headers: Mapping[str, str],
    body: bytes,
) -> None:
    """Every answer is signed: in the partner's profile, or JWS for no known partner."""
    partner = service.partners.get(sent.get("X-Partner-Id", ""))
    unknown = partner is None or ("x-jws-signature" in headers and "signature" not in headers)
    profile = JwsProfile() if unknown else service.runtime.profiles[partner.signature]
    policy = VerifyPolicy(service.adapter_keys, ADAPTER_ALGORITHMS, service.runtime.clock())
    profile.verify_response(status, headers, body, policy)
