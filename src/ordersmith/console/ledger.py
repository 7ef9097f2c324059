"""Console screens for the journal: entries newest first, filtered by account, period, posting rule or the event
that caused them (paged); one entry with its lines (and their division and channel), the business event behind it
(its type, when, the order it names), what reversed it or what it reverses; and the reversal of a manual entry
(`finance:write`) — the one correction the journal allows. Entries posted by a posting rule are corrected by the
business (a refund, a return), a year's closing entry by reopening the year.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.console._books import NO_REFUSAL, Refusal, day, not_found, page, record_id, refusal
from ordersmith.console._pages import check_form_csrf, principal_for
from ordersmith.finance import closing
from ordersmith.finance import rules as finance_rules
from ordersmith.finance import service as finance
from ordersmith.kernel.errors import NotFound, OrdersmithError, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.platform.access import Principal
from ordersmith.platform.http import unit_of_work

router = APIRouter(include_in_schema=False)
PAGE = 50
# The payload fields of an event shown beside an entry, in this order (ids are shown as the numbers people read).
EVENT_FACTS = (
    "number",
    "invoice",
    "method",
    "amount",
    "currency",
    "fee",
    "kind",
    "reason",
    "customer_number",
    "vendor",
    "purchase_order",
    "sku",
    "cause",
    "on_hand_delta",
    "location",
    "processor",
)


def _filters(account: str, period: str, rule: str, source_event_id: str) -> dict[str, Any]:
    """The journal's filters as the service takes them; ValidationFailed names a malformed one."""
    found: dict[str, Any] = {}
    if account.strip():
        found["account"] = account.strip()[:20]
    if period.strip():
        found["period"] = period.strip()[:7]
    if rule.strip():
        found["rule"] = rule.strip()[:40]
    if source_event_id.strip():
        try:
            found["source_event_id"] = uuid.UUID(source_event_id.strip())
        except ValueError:
            raise ValidationFailed.on("source_event_id", "an event id (a UUID)") from None
    return found


@router.get("/finance/journal")
def journal(
    request: Request,
    account: str = "",
    period: str = "",
    rule: str = "",
    source_event_id: str = "",
    cursor: str = "",
) -> Response:
    principal = principal_for(request, "finance:read")
    uow = unit_of_work(request)
    typed = {
        "account": account[:20],
        "period": period[:7],
        "rule": rule[:40],
        "source_event_id": source_event_id[:36],
    }
    refused, next_cursor = NO_REFUSAL, None
    entries: Sequence[finance.JournalEntry] = ()
    try:
        found = finance.list_journal(
            uow, **_filters(account, period, rule, source_event_id), cursor=cursor or None, limit=PAGE
        )
        entries, next_cursor = found.items, found.next_cursor
    except OrdersmithError as exc:
        refused = refusal(exc)
    return page(
        request,
        "books/journal.html",
        principal,
        refused=refused,
        entries=entries,
        amounts={e.id: sum((x.debit for x in e.lines), Money.zero(e.currency)) for e in entries},
        next_cursor=next_cursor,
        typed=typed,
        accounts=finance.list_accounts(uow),
        rules=sorted({*finance_rules.RULES, "manual", "reversal", closing.CLOSING_RULE}),
        may_post=principal.can("finance:write"),
    )


def _entry_page(
    request: Request,
    principal: Principal,
    ref: str,
    *,
    refused: Refusal = NO_REFUSAL,
    typed: dict[str, str] | None = None,
) -> Response:
    uow = unit_of_work(request)
    try:
        entry = finance.get_entry(uow, entry_id=record_id(ref, "journal entry"))
    except NotFound as exc:
        return not_found(request, principal, exc)
    event = finance.find_source_event(uow, event_id=entry.source_event_id) if entry.source_event_id else None
    order_number = ""
    if event is not None and event.payload.get("order_id"):
        try:
            order_id = uuid.UUID(str(event.payload["order_id"]))
        except ValueError:
            order_id = None
        if order_id is not None:
            order_number = orders.order_numbers(uow, ids=[order_id]).get(order_id, "")
    reversal = finance.find_reversal(uow, entry_id=entry.id)
    accounts = {a.code: a.name for a in finance.list_accounts(uow)}
    return page(
        request,
        "books/entry.html",
        principal,
        refused=refused,
        entry=entry,
        accounts=accounts,
        event=event,
        facts=[(k, event.payload[k]) for k in EVENT_FACTS if event is not None and k in event.payload],
        order_number=order_number,
        reversal=reversal,
        may_reverse=(principal.can("finance:write") and entry.rule == "manual" and reversal is None),
        typed=typed or {"posted_on": uow.now().date().isoformat()},
        totals=(
            sum((x.debit for x in entry.lines), Money.zero(entry.currency)),
            sum((x.credit for x in entry.lines), Money.zero(entry.currency)),
        ),
        done=request.query_params.get("done", ""),
        posted=request.query_params.get("posted") == "1" and entry.rule == "manual",
    )


@router.get("/finance/journal/{ref}")
def entry(request: Request, ref: str) -> Response:
    return _entry_page(request, principal_for(request, "finance:read"), ref)


@router.post("/finance/journal/{ref}/reverse")
def reverse(
    request: Request,
    ref: str,
    posted_on: Annotated[str, Form()] = "",
    memo: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Reverse a manual entry (every debit and credit swapped, dated `posted_on`, with a memo)."""
    principal = principal_for(request, "finance:write")
    check_form_csrf(principal, csrf_token)
    uow = unit_of_work(request)
    typed = {"posted_on": posted_on[:10], "memo": memo[:500]}
    try:
        original = finance.get_entry(uow, entry_id=record_id(ref, "journal entry"))
        if original.rule != "manual":
            raise ValidationFailed.on(
                "entry", "only a manual entry is reversed here: the business corrects its own"
            )
        when = day(posted_on, "posted_on")
        if when is None:
            raise ValidationFailed.on("posted_on", "the day the reversal is posted")
        if len(memo) > 500:
            raise ValidationFailed.on("memo", "at most 500 characters")
        reversal = finance.reverse_entry(uow, entry_id=original.id, posted_on=when, memo=memo.strip())
    except NotFound as exc:
        return not_found(request, principal, exc)
    except OrdersmithError as exc:
        return _entry_page(request, principal, ref, refused=refusal(exc), typed=typed)
    return RedirectResponse(f"/finance/journal/{reversal.id}?done=reversal", status_code=303)
