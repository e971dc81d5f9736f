"""The signed daily statement (`/v1/reconciliation/statement`), one page at a time.

Figures come from the running day row, entries from one index range scan per page
(see `bank_adapter.domain.statement` for the paging design): no page reads the day.
The entries stay in the wire form the ledger reads them in (`StatementPage`): a page of
5,000 is answered in tens of milliseconds, not hundreds.
"""

from __future__ import annotations

from bank_adapter.core import messages as wire
from bank_adapter.core.money import from_halalas
from bank_adapter.domain.payments import day_is_final, payment_seq
from bank_adapter.domain.statement import DEFAULT_PAGE_SIZE, decode_page_token, encode_page_token
from bank_adapter.services.context import CallContext
from bank_adapter.services.storage import Tx


async def statement(ctx: CallContext, tx: Tx, msg: wire.StatementRequest) -> wire.StatementPage:
    day = msg.business_date
    page_size = msg.page_size or DEFAULT_PAGE_SIZE
    if msg.page_token is None:
        after, snapshot = 0, await tx.last_payment_seq()
    else:
        cursor = decode_page_token(
            ctx.page_token_key, msg.page_token, partner_id=ctx.partner.id, business_date=day
        )
        after, snapshot = payment_seq(cursor.after_payment_id), int(cursor.snapshot)
    rows = await tx.day_page(ctx.partner.id, day, after, snapshot, page_size + 1)
    page, more = rows[:page_size], len(rows) > page_size
    # Units of work run one at a time (see `bank_adapter.store.batch`): a payment or
    # reversal decided before the cut-off is in these figures when they say Final.
    final = day_is_final(day, ctx.partner.cutoff, ctx.now)
    figures = await tx.day_figures(ctx.partner.id, day)
    next_token = (
        encode_page_token(
            ctx.page_token_key,
            partner_id=ctx.partner.id,
            business_date=day,
            after_payment_id=page[-1].payment_id,
            snapshot=snapshot,
        )
        if more
        else None
    )
    head = wire.Statement(
        business_date=day,
        final=final,
        count=figures.count,
        total=from_halalas(figures.total_halalas),
        entries=[],
        checksum=figures.checksum_hex,
        next_page_token=next_token,
        **ctx.reply_fields(),
    )
    return wire.StatementPage(head, page)
