"""Console screens for stores: the till (`/pos`, touch first, a barcode scanner is a keyboard typing the code and
Enter), its service worker (`/pos/service-worker.js`, served from our static files with the scope `/pos`, so the
till opens and keeps selling without the network), a sale's printable receipt with an e-mail option when a mail
server is configured, the store manager's flagged sales, and a register's shifts (float, count, difference).

The till itself talks to the POS API (`/api/v1/pos/…`) with the session and its CSRF token, and keeps its catalog
slice and its queue of sales in IndexedDB (static/pos.js). Handlers here only read, call one use case and render.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from ordersmith.channels.pos import service as pos
from ordersmith.console._pages import HERE, check_form_csrf, principal_for, render
from ordersmith.kernel.errors import OrdersmithError
from ordersmith.orders import service as orders
from ordersmith.orders.rules import RETURN_REASONS
from ordersmith.platform import mail, sales_channels
from ordersmith.platform.http import get_settings, parse_uuid, unit_of_work

router = APIRouter(include_in_schema=False)


@router.get("/pos")
def till(request: Request) -> Response:
    """The till: register and shift, scan, cart, customer, coupon, tenders (cash with change due, card through
    the vault, gift card, split), the queue of sales waiting for the network, and the catalog slice's state."""
    principal = principal_for(request, "pos:sell")
    registers = pos.list_registers(unit_of_work(request), principal=principal)
    return render(
        request, "pos/till.html", principal, registers=registers, may_manage=principal.can("pos:manage")
    )


@router.get("/pos/service-worker.js")
def service_worker() -> Response:
    """The till's service worker, from our static files; `Service-Worker-Allowed` lets it control `/pos`."""
    return FileResponse(
        HERE / "static" / "pos_sw.js",
        media_type="text/javascript",
        headers={"Service-Worker-Allowed": "/pos", "Cache-Control": "no-cache"},
    )


def _sale_id(value: str) -> uuid.UUID:
    return parse_uuid(value, "sale_id")


@router.get("/pos/receipts/{sale_id}")
def receipt(request: Request, sale_id: str, sent: str = "") -> Response:
    principal = principal_for(request, "pos:sell")
    found = pos.receipt(unit_of_work(request), sale_id=_sale_id(sale_id), principal=principal)
    mailer = mail.smtp_mailer(get_settings(request))
    return render(
        request, "pos/receipt.html", principal, receipt=found, may_email=mailer is not None, sent=sent
    )


@router.post("/pos/receipts/{sale_id}/email")
async def email_receipt(
    request: Request, sale_id: str, email: Annotated[str, Form()], csrf_token: Annotated[str, Form()] = ""
) -> Response:
    principal = principal_for(request, "pos:sell")
    check_form_csrf(principal, csrf_token)
    mailer = mail.smtp_mailer(get_settings(request))
    uow = unit_of_work(request)
    the_id = _sale_id(sale_id)
    try:
        if mailer is None:
            raise mail.MailFailed("no mail server is configured")
        await anyio.to_thread.run_sync(
            lambda: pos.email_receipt(uow, sale_id=the_id, to=email, principal=principal, mailer=mailer)
        )
    except (OrdersmithError, mail.MailFailed) as exc:
        found = pos.receipt(uow, sale_id=the_id, principal=principal)
        problem = exc.detail if isinstance(exc, OrdersmithError) else str(exc)
        status = exc.status if isinstance(exc, OrdersmithError) else 502
        return render(
            request,
            "pos/receipt.html",
            principal,
            status=status,
            receipt=found,
            may_email=mailer is not None,
            error=problem,
            email=email,
        )
    return RedirectResponse(f"/pos/receipts/{the_id}?sent={email.strip()}", status_code=303)


# --- the store manager's flagged sales ------------------------------------------------------------------------------


@router.get("/pos/flagged")
def flagged(request: Request, store: str = "", done: str = "") -> Response:
    return _flagged(request, store=store, done=done)


def _flagged(
    request: Request, *, store: str = "", done: str = "", error: str = "", status: int = 200
) -> Response:
    principal = principal_for(request, "pos:manage")
    uow = unit_of_work(request)
    page = pos.list_flagged(uow, principal=principal, store=store.strip()[:40] or None, limit=100)
    stores = pos.list_stores(uow, principal=principal)
    return render(
        request,
        "pos/flagged.html",
        principal,
        status=status,
        sales=page.items,
        more=page.next_cursor is not None,
        stores=stores,
        store=store,
        error=error,
        done=done,
        now=uow.now(),
    )


@router.post("/pos/flagged/{sale_id}/place")
async def place_flagged(request: Request, sale_id: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    principal = principal_for(request, "pos:manage")
    check_form_csrf(principal, csrf_token)
    uow = unit_of_work(request)
    the_id = _sale_id(sale_id)
    try:
        rung = await anyio.to_thread.run_sync(
            lambda: pos.place_flagged(uow, principal=principal, sale_id=the_id)
        )
    except OrdersmithError as exc:
        return _flagged_again(request, f"Sale {the_id} was not placed: {exc.detail}", exc.status)
    return RedirectResponse(f"/pos/flagged?done=Placed+as+order+{rung.order.number}", status_code=303)


@router.post("/pos/flagged/{sale_id}/resolve")
def resolve_flagged(
    request: Request, sale_id: str, note: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = ""
) -> Response:
    principal = principal_for(request, "pos:manage")
    check_form_csrf(principal, csrf_token)
    the_id = _sale_id(sale_id)
    if not note.strip():
        return _flagged_again(request, "Say what was done with the sale (a note) to resolve it", 422)
    try:
        pos.resolve_flagged(
            unit_of_work(request), principal=principal, sale_id=the_id, note=note.strip()[:1000]
        )
    except OrdersmithError as exc:
        return _flagged_again(request, f"Sale {the_id} was not resolved: {exc.detail}", exc.status)
    return RedirectResponse(f"/pos/flagged?done=Resolved+sale+{the_id}", status_code=303)


def _flagged_again(request: Request, error: str, status: int) -> Response:
    return _flagged(request, error=error, status=status)


# --- shifts -----------------------------------------------------------------------------------------------------


@router.get("/pos/shifts")
def shifts(request: Request, register: str = "") -> Response:
    """A register's shift: open it with a float, see its drawer as it stands, close it with the count; its history."""
    return _shifts(request, register)


def _shifts(request: Request, register: str, *, error: str = "", status: int = 200) -> Response:
    principal = principal_for(request, "pos:shifts")
    uow = unit_of_work(request)
    registers = pos.list_registers(uow, principal=principal)
    chosen = next((r for r in registers if r.code == register), registers[0] if registers else None)
    history = (
        pos.list_shifts(uow, principal=principal, register=chosen.code, limit=20).items if chosen else []
    )
    current = next((s for s in history if s.status == "open"), None)
    return render(
        request,
        "pos/shifts.html",
        principal,
        status=status,
        registers=registers,
        chosen=chosen,
        current=current,
        history=history,
        error=error,
    )


@router.post("/pos/shifts/open")
def open_shift(
    request: Request,
    register_code: Annotated[str, Form()],
    opening_float: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    principal = principal_for(request, "pos:shifts")
    check_form_csrf(principal, csrf_token)
    try:
        pos.open_shift(
            unit_of_work(request),
            principal=principal,
            register=register_code,
            opening_float=opening_float.strip(),
        )
    except OrdersmithError as exc:
        return _shifts(request, register_code, error=exc.detail, status=exc.status)
    return RedirectResponse(f"/pos/shifts?register={register_code}", status_code=303)


@router.post("/pos/shifts/{shift_id}/close")
def close_shift(
    request: Request,
    shift_id: str,
    register_code: Annotated[str, Form()],
    counted: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
    version: Annotated[int | None, Form()] = None,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    principal = principal_for(request, "pos:shifts")
    check_form_csrf(principal, csrf_token)
    try:
        pos.close_shift(
            unit_of_work(request),
            principal=principal,
            shift_id=parse_uuid(shift_id, "shift_id"),
            counted=counted.strip(),
            note=note.strip()[:1000],
            expected_version=version,
        )
    except OrdersmithError as exc:
        return _shifts(request, register_code, error=exc.detail, status=exc.status)
    return RedirectResponse(f"/pos/shifts?register={register_code}", status_code=303)


# --- returns at the till ----------------------------------------------------------------------------------------


def _return_page(
    request: Request,
    *,
    order_ref: str = "",
    register: str = "",
    status: int = 200,
    error: str = "",
    done: pos.StoreReturn | None = None,
) -> Response:
    principal = principal_for(request, "pos:returns")
    uow = unit_of_work(request)
    registers = pos.list_registers(uow, principal=principal)
    register = register or (registers[0].code if registers else "")
    order = None
    if order_ref and done is None:
        try:
            order = orders.get_order(uow, ref=order_ref, channel=sales_channels.bound_channel(uow, principal))
        except OrdersmithError:
            error = error or f"No order {order_ref}"
    lines = [(line, line.shipped - line.returned) for line in order.lines] if order else []
    return render(
        request,
        "pos/returns.html",
        principal,
        status=status,
        registers=registers,
        register=register,
        order=order,
        lines=lines,
        order_ref=order_ref,
        error=error,
        done=done,
        reasons=RETURN_REASONS,
    )


@router.get("/pos/returns")
def returns(request: Request, order: str = "", register: str = "") -> Response:
    """A return at the till, for an order from any channel: find it, say what comes back and why, refund it."""
    return _return_page(request, order_ref=order.strip()[:40], register=register.strip()[:40])


@router.post("/pos/returns")
async def take_return(request: Request) -> Response:
    principal = principal_for(request, "pos:returns")
    form = await request.form()
    check_form_csrf(principal, str(form.get("csrf_token", "")))
    order_ref, register = (
        str(form.get("order", "")).strip()[:40],
        str(form.get("register_code", "")).strip()[:40],
    )
    lines = []
    for key, value in form.multi_items():
        if key.startswith("quantity-") and str(value).strip() not in ("", "0"):
            line_no = key.removeprefix("quantity-")
            if not (line_no.isdigit() and str(value).strip().isdigit()):
                return _return_page(
                    request,
                    order_ref=order_ref,
                    register=register,
                    status=422,
                    error=f"line {line_no}: a whole number of units",
                )
            lines.append(
                pos.ReturnLineRequest(
                    line_no=int(line_no),
                    quantity=int(str(value).strip()),
                    reason=str(form.get(f"reason-{line_no}", "other")),
                )
            )
    if not lines:
        return _return_page(
            request,
            order_ref=order_ref,
            register=register,
            status=422,
            error="Say how many units of which line come back",
        )
    uow = unit_of_work(request)
    shift_text = str(form.get("shift", "")).strip()
    try:
        done = await anyio.to_thread.run_sync(
            lambda: pos.return_in_store(
                uow,
                principal=principal,
                register=register,
                order_ref=order_ref,
                lines=lines,
                to_store_credit=form.get("refund_to") == "store_credit",
                shift=parse_uuid(shift_text, "shift") if shift_text else None,
            )
        )
    except OrdersmithError as exc:
        problems = "; ".join(f"{e.field}: {e.message}" for e in exc.errors) or exc.detail
        return _return_page(
            request, order_ref=order_ref, register=register, status=exc.status, error=problems
        )
    return _return_page(request, register=register, status=201, done=done)
