"""Account activation: `/v1/activations` and `/v1/activations/confirm`.

The rules are the domain's (`bank_adapter.domain.activation`); this module reads what
they need, and writes what they decided, in the caller's transaction: the account change
with its ACCOUNT_ACTIVATED event, or the OTP attempt with its SMS in the outbox, so the
SMS is there before the OTP_SENT answer leaves. A start that sends an OTP first checks
the account's cap of OTPs per rolling hour (across banks), then ends the account's
earlier pending attempt: one pending activation per account (contract section 4). The
group commit runs decisions one at a time under the database's writer lock, so two
concurrent starts for one account cannot both count under the cap.
"""

from __future__ import annotations

from uuid import uuid4

from bank_adapter.clock import riyadh_date
from bank_adapter.core.messages import ActivationConfirm, ActivationRequest, ActivationResponse
from bank_adapter.domain.activation import decide_activation, decide_confirmation, start_attempt
from bank_adapter.domain.ids import id_number_or_none
from bank_adapter.domain.mobile import mask_mobile
from bank_adapter.domain.otp import OTP_CAP_WINDOW, new_otp, otp_cap_wait
from bank_adapter.errors import AdapterError, Code
from bank_adapter.services.context import CallContext
from bank_adapter.services.storage import Tx

SMS_TEXT = "Your e-services activation code is {otp}. It expires in 5 minutes. Do not share it."


async def start(ctx: CallContext, tx: Tx, msg: ActivationRequest) -> ActivationResponse:
    id_number = id_number_or_none(msg.id_number)  # INVALID_ID_NUMBER is decided below
    account = await tx.account(id_number) if id_number is not None else None
    decision = decide_activation(
        channel=msg.channel.value,
        allowed_channels=ctx.partner.channels,
        strong_auth_channels=ctx.partner.strong_auth_channels,
        id_number_raw=msg.id_number,
        mobile_raw=msg.mobile,
        account=account,
        today=riyadh_date(ctx.now),
    )
    assert account is not None
    if decision == "ACTIVATE_NOW":
        await _activate(ctx, tx, account.id_number, msg.channel.value)
        return ActivationResponse(status="ACTIVATED", **ctx.reply_fields())
    await _check_otp_cap(ctx, tx, account.id_number)
    await tx.supersede_activations(account.id_number)
    code = new_otp()
    attempt = start_attempt(
        activation_id=str(uuid4()),
        partner_id=ctx.partner.id,
        id_number=account.id_number,
        otp=code,
        otp_key=ctx.otp_key,
        now=ctx.now,
    )
    await tx.add_activation(attempt, msg.channel.value, ctx.now)
    await tx.queue_sms(account.mobile, SMS_TEXT.format(otp=code), ctx.now)
    return ActivationResponse(
        status="OTP_SENT",
        activation_id=attempt.activation_id,
        otp_expires_at=attempt.expires_at,
        masked_mobile=mask_mobile(account.mobile),
        **ctx.reply_fields(),
    )


async def _check_otp_cap(ctx: CallContext, tx: Tx, id_number: str) -> None:
    """OTP_LIMIT_REACHED once the account had its OTPs of the rolling hour, whatever the
    bank. Every started attempt was one OTP sent; refused starts left no attempt."""
    sent = await tx.otp_sends(id_number, ctx.now - OTP_CAP_WINDOW)
    wait = otp_cap_wait(sent, ctx.now, ctx.otp_max_per_hour)
    if wait is not None:
        raise AdapterError(
            Code.OTP_LIMIT_REACHED,
            f"{ctx.otp_max_per_hour} one-time passwords were sent for this account in the"
            " last hour; no SMS was sent",
            retry_after=wait,
        )


async def confirm(ctx: CallContext, tx: Tx, msg: ActivationConfirm) -> ActivationResponse:
    found = await tx.activation(str(msg.activation_id))
    attempt, channel = found if found is not None else (None, "")
    account = await tx.account(attempt.id_number) if attempt is not None else None
    outcome = decide_confirmation(
        attempt=attempt,
        partner_id=ctx.partner.id,
        account=account,
        otp=msg.otp,
        otp_key=ctx.otp_key,
        now=ctx.now,
    )
    if outcome.updated is not None:
        # Kept even when the answer is an error: a wrong OTP uses up a try.
        updated = outcome.updated
        await tx.update_activation(updated.activation_id, updated.tries, updated.state)
    if outcome.error is not None:
        raise AdapterError(outcome.error, outcome.detail)
    assert attempt is not None
    await _activate(ctx, tx, attempt.id_number, channel)
    return ActivationResponse(status="ACTIVATED", **ctx.reply_fields())


async def _activate(ctx: CallContext, tx: Tx, id_number: str, channel: str) -> None:
    if not await tx.activate_account(id_number, ctx.partner.id, ctx.now):
        # Another bank's activation of the same account committed first.
        raise AdapterError(Code.ACCOUNT_ALREADY_ACTIVE)
    tx.add_event(
        "ACCOUNT_ACTIVATED",
        {"idNumber": id_number, "partnerId": ctx.partner.id, "channel": channel},
        ctx.now,
    )
