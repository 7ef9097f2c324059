"""Console screens for orders: the filtered list, an order's detail (lines, ship-tos, holds, payments, timeline)
with the actions the role allows, and the hold queue. Handlers only read the form, call one service function
and render; the rules (who may release a held order) stay in the services."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from ordersmith.console import custom_fields, timeline
from ordersmith.console._pages import check_form_csrf, principal_for, render
from ordersmith.customers import service as customers
from ordersmith.fulfillment import service as fulfillment
from ordersmith.kernel.errors import OrdersmithError
from ordersmith.kernel.money import exact_money
from ordersmith.orders import rules as order_rules
from ordersmith.orders import service as orders
from ordersmith.payments import service as payments
from ordersmith.platform import sales_channels
from ordersmith.platform.access import Principal
from ordersmith.platform.http import unit_of_work
from ordersmith.platform.sales_channels import list_sales_channels

router = APIRouter(include_in_schema=False)

HOLD_REASONS = [
    "manual",
    "fraud_country_mismatch",
    "fraud_velocity",
    "fraud_first_order",
    "credit_limit",
    "undeliverable",
    "personalization_review",
    "payment_review",
    "payment_declined",
    "check_bounced",
]


def _day(value: str, end: bool = False) -> datetime | None:
    """A date typed in a filter as the start (or the end) of that day in UTC."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return datetime.combine(day, time.max if end else time.min, tzinfo=UTC)


@router.get("/orders")
def order_list(
    request: Request,
    channel: str = "",
    status: str = "",
    placed_from: str = "",
    placed_to: str = "",
    hold_reason: str = "",
    source_code: str = "",
    customer: str = "",
    cursor: str = "",
) -> Response:
    principal = principal_for(request, "orders:read")
    uow = unit_of_work(request)
    filters = {
        "channel": channel,
        "status": status,
        "placed_from": placed_from,
        "placed_to": placed_to,
        "hold_reason": hold_reason,
        "source_code": source_code,
        "customer": customer,
    }
    error = ""
    page: Any = None
    try:
        page = orders.list_orders(
            uow,
            channel=channel or None,
            status=status or None,
            customer=customer or None,
            placed_from=_day(placed_from),
            placed_to=_day(placed_to, end=True),
            source_code=source_code or None,
            hold_reason=hold_reason or None,
            cursor=cursor or None,
            limit=50,
        )
    except OrdersmithError as exc:
        error = exc.detail
    channels = list_sales_channels(uow, principal=principal, limit=100).items
    numbers = [o.customer_number for o in page.items if o.customer_number] if page else []
    return render(
        request,
        "orders.html",
        principal,
        page=page,
        names=customers.display_names(uow, numbers=numbers) if principal.can("customers:read") else {},
        export_query=urlencode({k: v for k, v in filters.items() if v}),
        filters=filters,
        error=error,
        channels=channels,
        statuses=order_rules.ORDER_STATUSES,
        reasons=HOLD_REASONS,
    )


_EXPORT_PAGE = 500
_EXPORT_MAX = 100_000  # a bigger list is a report or a data export (`/exports`), not a download from a screen
_CSV_COLUMNS = ["number", "placed_at", "channel", "external_id", "customer_number", "status", "payment_status",
                "fulfillment_status", "total", "currency", "source_code"]  # fmt: skip


@router.get("/orders/export.csv")
def export_orders(
    request: Request,
    channel: str = "",
    status: str = "",
    placed_from: str = "",
    placed_to: str = "",
    hold_reason: str = "",
    source_code: str = "",
    customer: str = "",
) -> Response:
    """The filtered list as CSV, every matching order (up to 100,000), newest first, written page by page as it is
    read (never the whole list in memory)."""
    principal = principal_for(request, "orders:read")
    uow = unit_of_work(request)

    def page_of(cursor: str | None) -> Any:
        return orders.list_orders(
            uow, channel=channel or None, status=status or None, customer=customer or None,
            placed_from=_day(placed_from), placed_to=_day(placed_to, end=True), source_code=source_code or None,
            hold_reason=hold_reason or None, cursor=cursor, limit=_EXPORT_PAGE,
        )  # fmt: skip

    try:
        first = page_of(None)  # a bad filter is refused before anything streams
    except OrdersmithError as exc:
        return render(
            request, "error.html", principal, status=exc.status, title="Cannot export", detail=exc.detail
        )

    def rows() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(_CSV_COLUMNS)
        page, sent = first, 0
        while True:
            for o in page.items:
                writer.writerow([o.number, o.placed_at.isoformat(), o.channel, o.external_id or "",
                                 o.customer_number or "", o.status, o.payment_status, o.fulfillment_status,
                                 str(o.total.amount), o.total.currency, o.source_code or ""])  # fmt: skip
            sent += len(page.items)
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            if page.next_cursor is None or sent >= _EXPORT_MAX:
                return
            page = page_of(page.next_cursor)

    stamp = unit_of_work(request).now().strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="orders-{stamp}.csv"'},
    )


@router.post("/orders/bulk")
async def bulk(request: Request) -> Response:
    """A manager's one action on the ticked orders (release, hold or cancel) with one note: each order through its
    own use case, so each is decided, audited and evented on its own; those that cannot (changed meanwhile, or not
    in a state that allows it) are named and left as they are."""
    principal = principal_for(request, "orders:release")
    form = await request.form()
    check_form_csrf(principal, str(form.get("csrf_token", "")))
    action, note = str(form.get("action", "")), str(form.get("note", "")).strip()
    picked = [str(n) for n in form.getlist("pick")][:200]
    if action not in ("release", "hold", "cancel") or not picked:
        return RedirectResponse(
            "/orders?bulk=" + quote("Tick at least one order and choose what to do."), 303
        )
    uow = unit_of_work(request)
    done, refused = [], []
    for number in picked:
        try:
            if action == "release":
                orders.release_order(uow, ref=number, note=note, may_release_held=True)
            elif action == "hold":
                orders.hold_order(uow, ref=number, reason="manual", note=note)
            else:
                orders.cancel_order(uow, ref=number, reason=note, may_cancel_held=True)
            done.append(number)
        except OrdersmithError as exc:
            refused.append(f"{number} ({exc.detail})")
    verb = {"release": "released", "hold": "held", "cancel": "cancelled"}[action]
    said = f"{len(done)} order(s) {verb}" + (f"; not {verb}: " + "; ".join(refused) if refused else "") + "."
    return RedirectResponse("/orders?bulk=" + quote(said[:1500]), status_code=303)


def _detail(
    request: Request,
    principal: Principal,
    ref: str,
    status: int = 200,
    error: str = "",
    refunded: str = "",
    credit: str = "",
) -> Response:
    uow = unit_of_work(request)
    order = orders.get_order(uow, ref=ref)
    returns = orders.order_returns(uow, order_id=order.id)
    related = {r.exchange_order_id for r in returns if r.exchange_order_id} | (
        {order.exchange_for} if order.exchange_for else set()
    )
    return render(
        request,
        "order.html",
        principal,
        status=status,
        error=error,
        order=order,
        placed=request.query_params.get("placed") == "1",
        rma=request.query_params.get("rma", ""),
        refunded=refunded or request.query_params.get("refunded", ""),
        credit=credit,
        return_reasons=order_rules.RETURN_REASONS,
        returns=returns,
        returnable=orders.returnable_units(uow, order_id=order.id) if principal.can("returns:write") else {},
        numbers={str(i): orders.get_order(uow, ref=str(i)).number for i in related},
        paid=payments.order_payments(uow, order_id=order.id) if principal.can("payments:read") else None,
        custom=custom_fields.panel(uow, kind="order", record_id=order.id),
        can_edit=principal.can("orders:write"),
        action=f"/custom-values/order/{order.number}",
        timeline=timeline.in_words(
            orders.order_timeline(uow, ref=str(order.id)),
            channel_name=_channel_name(request, principal, order.channel),
            ordered_units=sum(line.quantity for line in order.lines),
        ),
        shipments=fulfillment.order_shipments(uow, order_id=str(order.id))
        if principal.can("fulfillment:read")
        else None,
    )


def _channel_name(request: Request, principal: Principal, code: str) -> str:
    """The channel as people name it ("the Web shop"), else its code."""
    found = sales_channels.find_channel(unit_of_work(request), code=code)
    return f"the {found.name}" if found is not None else code


@router.get("/orders/{ref}")
def order_detail(request: Request, ref: str) -> Response:
    return _detail(request, principal_for(request, "orders:read"), ref)


def _act(request: Request, ref: str, scope: str, csrf_token: str, action: Any, back: str = "") -> Response:
    principal = principal_for(request, scope)
    check_form_csrf(principal, csrf_token)
    try:
        action(unit_of_work(request), principal)
    except OrdersmithError as exc:
        return _detail(request, principal, ref, status=exc.status, error=exc.detail)
    return RedirectResponse(back or f"/orders/{ref}", status_code=303)


@router.post("/orders/{ref}/hold")
def hold(
    request: Request, ref: str, note: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = ""
) -> Response:
    return _act(
        request,
        ref,
        "orders:hold",
        csrf_token,
        lambda uow, _: orders.hold_order(uow, ref=ref, reason="manual", note=note),
    )


@router.post("/orders/{ref}/release")
def release(
    request: Request,
    ref: str,
    note: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    return _act(
        request,
        ref,
        "orders:write",
        csrf_token,
        lambda uow, who: orders.release_order(
            uow, ref=ref, note=note, may_release_held=who.can("orders:release")
        ),
        back="/holds" if back == "holds" else "",
    )


@router.post("/orders/{ref}/cancel")
def cancel(
    request: Request,
    ref: str,
    reason: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Cancel the order; the reason comes as `reason`, or as the hold queue's one `note` per row."""
    return _act(
        request,
        ref,
        "orders:write",
        csrf_token,
        lambda uow, who: orders.cancel_order(
            uow, ref=ref, reason=reason or note, may_cancel_held=who.can("orders:release")
        ),
        back="/holds" if back == "holds" else "",
    )


_BULK_LIMIT = 200  # orders one bulk release may name (the queue shows at most this many)


def _hold_queue(
    request: Request, principal: Principal, reason: str = "", *, status: int = 200, **shown: Any
) -> Response:
    queue = orders.list_held_orders(unit_of_work(request), reason=reason or None, limit=_BULK_LIMIT)
    return render(
        request,
        "holds.html",
        principal,
        status=status,
        queue=queue,
        now=unit_of_work(request).now(),
        reason=reason,
        reasons=HOLD_REASONS,
        may_release=principal.can("orders:release"),
        **shown,
    )


@router.get("/holds")
def hold_queue(request: Request, reason: str = "") -> Response:
    return _hold_queue(request, principal_for(request, "orders:read"), reason)


@router.post("/holds/release")
async def release_selected(request: Request) -> Response:
    """A manager releases the selected held orders with one note: each order is released by its own use case
    (resolving its holds, audited with the note), at the version the manager saw; an order that changed or left
    the queue meanwhile is named and left as it is. No note, or nothing selected: nothing changes."""
    principal = principal_for(request, "orders:release")
    form = await request.form()
    check_form_csrf(principal, str(form.get("csrf_token", "")))
    note = str(form.get("note", "")).strip()
    selected = list(dict.fromkeys(str(n) for n in form.getlist("order")))[: _BULK_LIMIT + 1]
    if not selected or len(selected) > _BULK_LIMIT or not note:
        error = ("note: a held order is released with a note" if selected and not note else
                 f"order: select between 1 and {_BULK_LIMIT} held orders to release")  # fmt: skip
        return _hold_queue(request, principal, status=422, error=error)
    released: list[str] = []
    refused: list[str] = []
    for number in selected:
        version = str(form.get(f"version-{number}", ""))
        try:
            orders.release_order(unit_of_work(request), ref=number, note=note,
                                 expected_version=int(version) if version.isdigit() else None)  # fmt: skip
            released.append(number)
        except OrdersmithError as exc:
            refused.append(f"{number}: {exc.detail}")
    return _hold_queue(
        request, principal, status=200 if released else 409, released=released, refused=refused
    )


@router.post("/orders/{ref}/returns")
async def authorize_return(request: Request, ref: str) -> Response:
    """An RMA for the units the agent entered per line (a quantity and a reason each, and for an exchange the SKU
    to send instead: the exchange order is placed when the return is received)."""
    principal = principal_for(request, "returns:write")
    form = await request.form()
    check_form_csrf(principal, str(form.get("csrf_token", "")))
    wanted = []
    for key, value in form.multi_items():
        if key.startswith("return-") and key.endswith("-quantity") and str(value).strip() not in ("", "0"):
            line_no = int(key.split("-")[1])
            exchange = str(form.get(f"return-{line_no}-exchange_sku") or "").strip()
            wanted.append(
                orders.ReturnLineRequest(
                    line_no,
                    int(str(value)),
                    str(form.get(f"return-{line_no}-reason") or "other"),
                    exchange_sku=exchange or None,
                )
            )
    try:
        rma = orders.authorize_return(
            unit_of_work(request), order_ref=ref, lines=wanted, note=str(form.get("note", ""))
        )
    except (OrdersmithError, ValueError) as exc:
        detail = exc.detail if isinstance(exc, OrdersmithError) else "a quantity is not a number"
        return _detail(request, principal, ref, status=getattr(exc, "status", 422), error=detail)
    return RedirectResponse(f"/orders/{ref}?rma={rma.number}", status_code=303)


@router.post("/orders/{ref}/refunds")
def refund(
    request: Request,
    ref: str,
    amount: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    to_store_credit: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Give back an amount: to the tenders, the last captured first, or as a new store-credit card."""
    principal = principal_for(request, "payments:refund")
    check_form_csrf(principal, csrf_token)
    uow = unit_of_work(request)
    order = orders.get_order(uow, ref=ref)
    try:
        done = payments.refund_order(
            uow,
            order_id=order.id,
            amount=exact_money((amount or "0").strip(), order.currency),
            reason=reason,
            to_store_credit=bool(to_store_credit),
        )
    except ValueError as exc:
        return _detail(request, principal, ref, status=422, error=f"amount: {exc}")
    except OrdersmithError as exc:
        return _detail(request, principal, ref, status=exc.status, error=exc.detail)
    if (
        done.store_credit is not None
    ):  # its code is a bearer secret: shown in this answer only, never in a URL
        return _detail(request, principal, ref, refunded=amount, credit=done.store_credit.code)
    return RedirectResponse(f"/orders/{ref}?refunded={amount}", status_code=303)


@router.post("/orders/{ref}/edit")
async def edit(request: Request, ref: str) -> Response:
    """Change quantities (0 removes a line) and add a line, at the version the agent read; re-priced and
    re-reserved at once. Only before release (after it, only a manager's address correction through the API)."""
    principal = principal_for(request, "orders:write")
    form = await request.form()
    check_form_csrf(principal, str(form.get("csrf_token", "")))
    try:
        changes = [
            orders.LineChange(line_no=int(key.split("-")[1]), quantity=int(str(value)))
            for key, value in form.multi_items()
            if key.startswith("qty-") and str(value).strip() != str(form.get(f"was-{key.split('-')[1]}"))
        ]
        if str(form.get("new_sku", "")).strip():
            changes.append(
                orders.LineChange(
                    line_no=None,
                    sku=str(form["new_sku"]).strip(),
                    quantity=int(str(form.get("new_quantity") or 1)),
                    ship_to=str(form.get("new_ship_to") or "") or None,
                )
            )
        orders.edit_order(
            unit_of_work(request),
            ref=ref,
            changes=orders.OrderChanges(lines=changes),
            expected_version=int(str(form.get("version") or 0)),
            may_correct_released=principal.can("orders:release"),
        )
    except ValueError:
        return _detail(request, principal, ref, status=422, error="quantities are whole numbers")
    except OrdersmithError as exc:
        return _detail(request, principal, ref, status=exc.status, error=exc.detail)
    return RedirectResponse(f"/orders/{ref}", status_code=303)
