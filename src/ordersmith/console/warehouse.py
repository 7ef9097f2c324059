"""Console screens for the warehouse floor: the home screen (what waits at each location), waves (build, list,
one wave, cancel), the pick screen a picker carries (stops in walk order, confirm or short a shipment), count
tasks, the end-of-day manifest and the productivity report. The pack station and shipments are in `packing.py`.

Handlers read the form, call one fulfillment use case and render; a refusal re-renders the page with the reason
and its status, never a 500. Writes need the session's CSRF token in the form.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.console._pages import check_form_csrf, principal_for, render
from ordersmith.fulfillment import service as fulfillment
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import NotFound, OrdersmithError
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.http import unit_of_work
from ordersmith.pricing import service as pricing

router = APIRouter(include_in_schema=False)
OPEN_WAVES = ("released", "picking")


def not_found(request: Request, principal: Principal, exc: NotFound) -> Response:
    return render(request, "error.html", principal, status=404, title="Not found", detail=exc.detail)


def problem(exc: OrdersmithError | ValueError) -> tuple[int, str]:
    """A refusal as the page shows it: its status and the reason (a form's own ValueError is a 422)."""
    if isinstance(exc, OrdersmithError):
        return exc.status, exc.detail
    return 422, str(exc)


def act(
    request: Request,
    scope: str,
    csrf_token: str,
    use_case: Callable[[UnitOfWork], object],
    *,
    then: str,
    otherwise: Callable[[Principal, int, str], Response],
) -> Response:
    """A console form's one write: the signed-in user must hold `scope` and the form carry the session's CSRF
    token; `use_case` runs in the request's unit of work; done, the browser goes to `then` (303); refused, the page
    is rendered again by `otherwise(principal, status, reason)` and nothing changed."""
    principal = principal_for(request, scope)
    check_form_csrf(principal, csrf_token)
    try:
        use_case(unit_of_work(request))
    except OrdersmithError as exc:
        return otherwise(principal, *problem(exc))
    return RedirectResponse(then, status_code=303)


def _whole(value: str, what: str, *, low: int = 0, high: int = 10_000_000) -> int | None:
    """A whole number typed in a form (None when left empty); ValueError names the field."""
    if not value.strip():
        return None
    try:
        number = int(value.strip())
    except ValueError:
        raise ValueError(f"{what}: a whole number") from None
    if not low <= number <= high:
        raise ValueError(f"{what}: between {low} and {high}")
    return number


# --- home ------------------------------------------------------------------------------------------------------


@router.get("/warehouse")
def warehouse_home(request: Request) -> Response:
    principal = principal_for(request, "warehouse:read")
    uow = unit_of_work(request)
    waves = [w for status in OPEN_WAVES for w in fulfillment.list_waves(uow, status=status, limit=50).items]
    return render(
        request,
        "warehouse/home.html",
        principal,
        work=fulfillment.warehouse_work(uow),
        waves=sorted(waves, key=lambda w: w.number),
    )


# --- waves -----------------------------------------------------------------------------------------------------


def _waves_page(
    request: Request,
    principal: Principal,
    *,
    status: int = 200,
    error: str = "",
    form: dict[str, Any] | None = None,
    location: str = "",
    wave_status: str = "",
    cursor: str = "",
) -> Response:
    uow = unit_of_work(request)
    page = fulfillment.list_waves(
        uow, location=location or None, status=wave_status or None, cursor=cursor or None, limit=50
    )
    return render(
        request,
        "warehouse/waves.html",
        principal,
        status=status,
        error=error,
        form=form or {"max_orders": "50"},
        page=page,
        location=location,
        wave_status=wave_status,
        locations=inventory.list_locations(uow),
        methods=pricing.list_shipping_methods(uow),
    )


@router.get("/warehouse/waves")
def waves(request: Request, location: str = "", status: str = "", cursor: str = "") -> Response:
    principal = principal_for(request, "warehouse:read")
    return _waves_page(request, principal, location=location, wave_status=status, cursor=cursor)


@router.post("/warehouse/waves")
async def build_wave(request: Request) -> Response:
    principal = principal_for(request, "fulfillment:write")
    form = await request.form()
    check_form_csrf(principal, str(form.get("csrf_token", "")))
    fields = {k: str(v) for k, v in form.items() if k != "csrf_token"}
    methods = [str(m) for m in form.getlist("methods") if str(m)]
    try:
        ship_by = fields.get("ship_by_on", "").strip()
        filters = fulfillment.WaveFilters(
            methods=frozenset(methods),
            ship_by_on=date.fromisoformat(ship_by) if ship_by else None,
            single_line=True if fields.get("single_line") else None,
            max_orders=_whole(fields.get("max_orders", ""), "max orders", low=1, high=1000) or 100,
            max_units=_whole(fields.get("max_units", ""), "max units", low=1, high=100_000),
        )
        wave = fulfillment.build_wave(
            unit_of_work(request), location=fields.get("location", ""), filters=filters
        )
    except (OrdersmithError, ValueError) as exc:
        status, detail = problem(exc)
        if detail.startswith("Invalid isoformat"):
            detail = "ship by: a day as YYYY-MM-DD"
        return _waves_page(
            request,
            principal,
            status=status,
            error=detail,
            form=fields | {"methods": methods},
        )
    return RedirectResponse(f"/warehouse/waves/{wave.number}", status_code=303)


def _wave_page(
    request: Request, principal: Principal, number: str, *, status: int = 200, error: str = ""
) -> Response:
    uow = unit_of_work(request)
    try:
        wave = fulfillment.get_wave(uow, ref=number)
    except NotFound as exc:
        return not_found(request, principal, exc)
    shipments = fulfillment.list_shipments(uow, wave=wave.number, limit=500).items
    return render(
        request,
        "warehouse/wave.html",
        principal,
        status=status,
        error=error,
        wave=wave,
        shipments=sorted(shipments, key=lambda s: s.tote),
        open=wave.status in OPEN_WAVES,
    )


@router.get("/warehouse/waves/{number}")
def wave(request: Request, number: str) -> Response:
    return _wave_page(request, principal_for(request, "warehouse:read"), number)


@router.post("/warehouse/waves/{number}/cancel")
def cancel_wave(request: Request, number: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    return act(
        request,
        "fulfillment:write",
        csrf_token,
        lambda uow: fulfillment.cancel_wave(uow, ref=number),
        then=f"/warehouse/waves/{number}",
        otherwise=lambda principal, status, error: _wave_page(
            request, principal, number, status=status, error=error
        ),
    )


# --- the pick screen -------------------------------------------------------------------------------------------


def _pick_page(
    request: Request,
    principal: Principal,
    number: str,
    *,
    status: int = 200,
    error: str = "",
    short: str = "",
) -> Response:
    uow = unit_of_work(request)
    try:
        wave = fulfillment.get_wave(uow, ref=number)
        (walk,) = fulfillment.pick_lists(uow, ref=wave.number)
        shorting = fulfillment.get_shipment(uow, ref=short) if short else None
    except NotFound as exc:
        return not_found(request, principal, exc)
    totes: dict[str, tuple[str, str]] = {}
    for stop in walk.stops:
        for drop in stop.drops:
            totes[drop.shipment] = (drop.tote, drop.order)
    return render(
        request,
        "warehouse/pick.html",
        principal,
        status=status,
        error=error,
        wave=wave,
        stops=walk.stops,
        totes=sorted(totes.items(), key=lambda kv: kv[1]),
        shorting=shorting if shorting and shorting.wave_id == wave.id else None,
        done=request.query_params.get("done", ""),
    )


@router.get("/warehouse/waves/{number}/pick")
def pick_screen(request: Request, number: str, short: str = "") -> Response:
    return _pick_page(request, principal_for(request, "warehouse:read"), number, short=short)


@router.post("/warehouse/waves/{number}/pick/{shipment}")
async def pick(request: Request, number: str, shipment: str) -> Response:
    """Confirm a shipment as picked: in full, or with the units found per line (`found-<line>`)."""
    principal = principal_for(request, "fulfillment:write")
    form = await request.form()
    check_form_csrf(principal, str(form.get("csrf_token", "")))
    try:
        found: dict[int, int] = {}
        for key, value in form.multi_items():
            if key.startswith("found-"):
                units = _whole(str(value), f"line {key[6:]} found", high=100_000)
                found[int(key[6:])] = 0 if units is None else units
        fulfillment.pick_shipment(unit_of_work(request), ref=shipment, found=found or None)
    except (OrdersmithError, ValueError) as exc:
        status, detail = problem(exc)
        short = shipment if form.get("short") else ""
        return _pick_page(request, principal, number, status=status, error=detail, short=short)
    return RedirectResponse(f"/warehouse/waves/{number}/pick?done={shipment}", status_code=303)


# --- count tasks -----------------------------------------------------------------------------------------------


def _counts_page(
    request: Request, principal: Principal, location: str, *, status: int = 200, error: str = ""
) -> Response:
    uow = unit_of_work(request)
    return render(
        request,
        "warehouse/counts.html",
        principal,
        status=status,
        error=error,
        location=location,
        locations=inventory.list_locations(uow),
        tasks=fulfillment.list_count_tasks(uow, location=location or None, status="open", limit=200).items,
        done=fulfillment.list_count_tasks(uow, location=location or None, status="done", limit=20).items,
    )


@router.get("/warehouse/counts")
def counts(request: Request, location: str = "") -> Response:
    return _counts_page(request, principal_for(request, "warehouse:read"), location)


@router.post("/warehouse/counts/{task_id}")
def record_count(
    request: Request,
    task_id: str,
    counted: Annotated[str, Form()] = "",
    location: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    principal = principal_for(request, "fulfillment:write")
    check_form_csrf(principal, csrf_token)
    try:
        units = _whole(counted, "counted")
        if units is None:
            raise ValueError("counted: type the units in the bin (0 when it is empty)")
        fulfillment.complete_count_task(unit_of_work(request), task_id=uuid.UUID(task_id), counted=units)
    except (OrdersmithError, ValueError) as exc:
        status, detail = problem(exc)
        if detail.startswith("badly formed"):
            detail = "no such count task"
        return _counts_page(request, principal, location, status=status, error=detail)
    return RedirectResponse(f"/warehouse/counts?location={location}", status_code=303)


# --- manifests -------------------------------------------------------------------------------------------------


def _manifests_page(
    request: Request,
    principal: Principal,
    *,
    status: int = 200,
    error: str = "",
    manifest: Any = None,
    closed: tuple[str, str] | None = None,
) -> Response:
    uow = unit_of_work(request)
    return render(
        request,
        "warehouse/manifests.html",
        principal,
        status=status,
        error=error,
        manifest=manifest,
        closed=closed,
        locations=[loc for loc in inventory.list_locations(uow) if loc.active],
        carriers=fulfillment.carrier_names(uow),
        today=uow.now().date(),
    )


@router.get("/warehouse/manifests")
def manifests(request: Request) -> Response:
    return _manifests_page(request, principal_for(request, "warehouse:read"))


@router.post("/warehouse/manifests")
def close_day(
    request: Request,
    location: Annotated[str, Form()],
    carrier: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Close the day for a location and carrier: the carrier's manifest of today's unmanifested parcels."""
    principal = principal_for(request, "fulfillment:write")
    check_form_csrf(principal, csrf_token)
    try:
        manifest = fulfillment.close_day(unit_of_work(request), location=location, carrier=carrier)
    except OrdersmithError as exc:
        return _manifests_page(request, principal, status=exc.status, error=exc.detail)
    return _manifests_page(request, principal, manifest=manifest, closed=(location, carrier))


# --- productivity ----------------------------------------------------------------------------------------------


@router.get("/warehouse/productivity")
def productivity(request: Request, location: str = "", days: str = "7") -> Response:
    principal = principal_for(request, "warehouse:read")
    uow = unit_of_work(request)
    locations = inventory.list_locations(uow)
    location = location or (locations[0].code if locations else "")
    report, error, status = None, "", 200
    try:
        span = _whole(days, "days", low=1, high=93) or 7
        end = uow.now()
        report = fulfillment.warehouse_productivity(
            uow, location=location, start=end - timedelta(days=span), end=end
        )
    except (OrdersmithError, ValueError) as exc:
        status, error = problem(exc)
    return render(
        request,
        "warehouse/productivity.html",
        principal,
        status=status,
        error=error,
        report=report,
        location=location,
        days=days,
        locations=locations,
    )
