"""JSON bodies <-> message models.

`decode_json` turns bytes into a plain object (MALFORMED_MESSAGE when they are not one);
`validate` turns that into a model (SCHEMA_INVALID naming every field at fault). The
split lets the pipeline read the MessageId (`peek_message_id`) of a message that fails
validation, so even that answer carries `inReplyTo`.

Parsed JSON is held to shape limits (`core.limits`: nesting, members, items) before it
goes anywhere; one beyond them is MALFORMED_MESSAGE.

Numbers with a fraction or exponent are parsed as `Decimal`, so no value passes through
binary floating point; no field of the contract takes one anyway, and the models refuse
them with a message naming the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Final, NoReturn, TypeVar, cast
from uuid import UUID

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from bank_adapter.core.limits import ANY_JSON, JsonLimits, ShapeError, check_json
from bank_adapter.core.messages import Answer, Statement, StatementPage, fit_text, uuid_or_none
from bank_adapter.core.money import WIRE_CONTEXT
from bank_adapter.core.statement_entries import validated_entries
from bank_adapter.errors import AdapterError, Code

M = TypeVar("M", bound=BaseModel)

# A SCHEMA_INVALID detail lists every problem, within reason: a 64 KiB body of unknown
# keys must not produce a 64 KiB detail, and a key may be of any length.
MAX_LISTED_PROBLEMS: Final = 20
MAX_PROBLEM_LENGTH: Final = 300

_LONE_SURROGATE: Final = re.compile(r"[\ud800-\udfff]")
_SURROGATE_ESCAPE: Final = re.compile(rb"\\u[dD][89a-fA-F]")
_PHRASES: Final = {"missing": "missing", "extra_forbidden": "unknown field"}
_SHOULD: Final = re.compile(r"^(Input|String|List|Value) should")
_EMPTY_ENTRIES: Final = '"entries":[]'
# PaymentId, Amount, PaidAt and Status are ASCII letters, digits and punctuation that
# JSON never escapes; the reference and the bill number may hold anything.
_ENTRY: Final = (
    '{"bankPaymentRef":%s,"paymentId":"%s","billNumber":%s,"amount":"%s","paidAt":"%s",'
    '"status":"%s"}'
)
_string: Final = json.encoder.encode_basestring


def decode_json(body: bytes, limits: JsonLimits = ANY_JSON) -> dict[str, object]:
    """The JSON object in `body`, as `parse_json` reads it, or MALFORMED_MESSAGE."""
    data = parse_json(body, limits)
    if not isinstance(data, dict):
        raise AdapterError(Code.MALFORMED_MESSAGE, "the body must be a JSON object")
    return data


def parse_json(body: bytes, limits: JsonLimits = ANY_JSON) -> object:
    """The JSON value in `body` (strict UTF-8, unique keys, no NaN, no lone surrogate,
    within `limits`), or MALFORMED_MESSAGE."""
    # A lone surrogate can only be spelled as a \\u escape: without one that could be,
    # strings need no look (a 5,000-entry statement parses four times faster).
    hook = _unique_text_keys if _SURROGATE_ESCAPE.search(body) else _unique_keys
    try:
        data = json.loads(
            body.decode("utf-8"),
            parse_float=Decimal,
            parse_constant=_refuse_constant,
            object_pairs_hook=hook,
        )
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeError included
        raise AdapterError(Code.MALFORMED_MESSAGE, _malformed_reason(exc)) from None
    try:
        check_json(data, limits)
    except ShapeError as exc:
        raise AdapterError(
            Code.MALFORMED_MESSAGE, f"the JSON is beyond the limits: {exc}"
        ) from None
    return data


def validate(model_cls: type[M], data: Mapping[str, object]) -> M:
    """`data` as a `model_cls`, or SCHEMA_INVALID listing every field at fault."""
    if model_cls is Statement:
        page = _statement(data)
        if page is not None:
            return cast(M, page)
    try:
        return model_cls.model_validate(data, context=WIRE_CONTEXT, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise schema_invalid(map(_json_problem, exc.errors(include_input=False))) from None


def _statement(data: Mapping[str, object]) -> Statement | None:
    # A page's entries checked column by column (`statement_entries`), its head by the
    # model; None when either has a fault, which the model's validation then names.
    entries = validated_entries(data.get("entries"))
    if entries is None:
        return None
    try:
        head = Statement.model_validate(
            {**data, "entries": []}, context=WIRE_CONTEXT, by_alias=True, by_name=False
        )
    except ValidationError:
        return None
    return head.model_copy(update={"entries": entries})


def encode_json(model: Answer) -> bytes:
    """Compact UTF-8 JSON by alias; absent optional fields are left out, never null."""
    if isinstance(model, StatementPage):
        return _encode_page(model)
    return model.model_dump_json(by_alias=True, exclude_none=True).encode("utf-8")


def _encode_page(page: StatementPage) -> bytes:
    # The head is written by pydantic with `"entries":[]`, the first such text in it (only
    # UUIDs, a timestamp, a date, a boolean and numbers come before); the entries go
    # there, as pydantic writes strings: quotes and backslashes escaped, the rest as is.
    head = page.head.model_dump_json(by_alias=True, exclude_none=True)
    before, found, after = head.partition(_EMPTY_ENTRIES)
    if not found:
        raise ValueError("the statement head has no empty entries")
    entries = ""
    if page.entries:  # column by column, in C loops
        refs, payment_ids, bills, amounts, paid_at, statuses = zip(*page.entries, strict=True)
        fields = zip(
            map(_string, refs), payment_ids, map(_string, bills), amounts, paid_at, statuses,
            strict=True,
        )  # fmt: skip
        entries = ",".join(map(_ENTRY.__mod__, fields))
    return f'{before}"entries":[{entries}]{after}'.encode()


def peek_message_id(data: Mapping[str, object]) -> UUID | None:
    """The message's `messageId` when it is a well-formed UUID, before validation."""
    return uuid_or_none(data.get("messageId"))


def describe_error(error: ErrorDetails) -> str:
    """What is wrong, never the value: pydantic's messages name constraints, not input."""
    return _PHRASES.get(error["type"]) or _SHOULD.sub("must", error["msg"])


def schema_invalid(problems: Iterable[str]) -> AdapterError:
    """SCHEMA_INVALID whose detail lists `problems` (bounded, printable)."""
    return AdapterError(Code.SCHEMA_INVALID, "; ".join(fit_problems(problems)))


def fit_problems(problems: Iterable[str]) -> list[str]:
    """The first `MAX_LISTED_PROBLEMS` of `problems`, each bounded and printable, and how
    many more there are."""
    listed = [fit_text(problem, MAX_PROBLEM_LENGTH) for problem in problems]
    shown = listed[:MAX_LISTED_PROBLEMS]
    if len(listed) > len(shown):
        shown.append(f"and {len(listed) - len(shown)} more")
    return shown


def _json_problem(error: ErrorDetails) -> str:
    path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"])
    return f"{path.removeprefix('.')}: {describe_error(error)}" if path else describe_error(error)


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    data = dict(pairs)
    if len(data) != len(pairs):
        # Two parsers may keep different copies; what was signed must mean one thing.
        raise ValueError(f"duplicate key {_repeated_key(pairs)!r}")
    return data


def _repeated_key(pairs: list[tuple[str, object]]) -> str:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return key
        seen.add(key)
    raise AssertionError("no key is repeated")


def _unique_text_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    for key, value in pairs:
        _refuse_lone_surrogates(key)
        _refuse_lone_surrogates(value)
    return _unique_keys(pairs)


def _refuse_lone_surrogates(value: object) -> None:
    # JSON escapes can spell half a UTF-16 pair, which no UTF-8 database or response holds.
    # Objects are checked as they are built (this hook), so only strings and arrays remain.
    if isinstance(value, str) and _LONE_SURROGATE.search(value):
        raise ValueError("a string is not valid Unicode (lone surrogate)")
    if isinstance(value, list):
        for item in value:
            _refuse_lone_surrogates(item)


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _malformed_reason(exc: BaseException) -> str:
    if isinstance(exc, UnicodeError):
        return "the body is not UTF-8"
    if isinstance(exc, RecursionError):
        return "the JSON is nested too deeply"
    return fit_text(f"the body is not valid JSON: {exc}", MAX_PROBLEM_LENGTH)
