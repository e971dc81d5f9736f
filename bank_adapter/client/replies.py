"""Verified answers: `Reply` (status, headers, bytes, and the decoded message or error).

Decoding starts from what the signature profile returned (`Verified`): the verified
bytes, or for XML-DSig the very tree it checked, never a second read of the raw body.
XML is decoded through the XML codec, imported only when an XML answer arrives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from bank_adapter.client.errors import error_for
from bank_adapter.core import codec_json
from bank_adapter.core.messages import Operation, PartnerRequest
from bank_adapter.core.signing import Verified

R = TypeVar("R", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Reply:
    """A verified answer: `message` for 2xx, `error` (problem members) otherwise."""

    status: int
    headers: Mapping[str, str]  # names in lower case
    body: bytes
    message: BaseModel | None = None
    error: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def in_reply_to(self) -> str | None:
        """The MessageId the answer says it answers (absent on some errors)."""
        if self.message is not None:
            value = getattr(self.message, "in_reply_to", None)
        else:
            value = self.error.get("inReplyTo")
        return str(value) if value is not None else None

    @property
    def code(self) -> str | None:
        value = self.error.get("code") if self.error else None
        return str(value) if value is not None else None

    @property
    def retry_after(self) -> int | None:
        value = self.headers.get("retry-after", "")
        return int(value) if value.isdigit() else None

    def result(self, kind: type[R]) -> R:
        """The answer's message as `kind`, or the exception of its error family."""
        if not self.ok or not isinstance(self.message, kind):
            raise error_for(self)
        return self.message


def encode(op: Operation[Any], message: PartnerRequest, format: str) -> bytes:
    if format == "xml":
        from bank_adapter.core import codec_xml

        return codec_xml.encode_xml(message, op.request_root)
    return codec_json.encode_json(message)


def decode(
    op: Operation[Any] | None, status: int, headers: Mapping[str, str], verified: Verified
) -> Reply:
    content_type = headers.get("content-type", "").split(";")[0].strip()
    if content_type == "application/xml":
        return _decode_xml(op, status, headers, verified)
    data = codec_json.decode_json(verified.body)
    if status >= 300 or content_type == "application/problem+json" or op is None:
        return Reply(status, headers, verified.body, error=data)
    message = codec_json.validate(op.response_model, data)
    return Reply(status, headers, verified.body, message=message)


def _decode_xml(
    op: Operation[Any] | None, status: int, headers: Mapping[str, str], verified: Verified
) -> Reply:
    from bank_adapter.core import codec_xml
    from bank_adapter.core.xmlparse import parse_xml

    # XML-DSig hands back the tree it verified; http-sig verified the bytes, parsed here.
    root = verified.xml_root if verified.xml_root is not None else parse_xml(verified.body)
    if root.tag == f"{{{codec_xml.NAMESPACE}}}Error" or op is None:
        return Reply(status, headers, verified.body, error=codec_xml.error_fields(root))
    message = codec_xml.decode_xml(root, op.response_model, op.response_root)
    return Reply(status, headers, verified.body, message=message)
