"""Console screens for packing and shipping: the pack station (scan-to-pack with a USB scanner, weigh, buy the
label, print, ship) and the shipments (a filtered list, one shipment with its lines, packages, timeline and
documents, cancel).

The pack station works without JavaScript: every scan is a form POST. A refused scan (a wrong item, one too many)
answers 409 with the reason in red and a low buzz; a good one redirects back with a green line and a short beep.
The cues are tiny WAV files this module writes itself (no third-party sound). `static/pack.js` only keeps the
scan box focused and sends scans without reloading the page.
"""

from __future__ import annotations

import base64
import functools
import io
import math
import struct
import wave
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.console._pages import check_form_csrf, principal_for, render
from ordersmith.console.warehouse import act, not_found, problem
from ordersmith.fulfillment import service as fulfillment
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import NotFound, OrdersmithError
from ordersmith.platform.access import Principal
from ordersmith.platform.http import unit_of_work

router = APIRouter(include_in_schema=False)
OPEN = ("pending", "picking", "picked", "packed")


@functools.cache
def cue(kind: str) -> str:
    """A data: URI of a short WAV: `good` is one high beep, `bad` two low buzzes (8 kHz, 8-bit mono)."""
    rate = 8000
    tones = [(1760, 0.09)] if kind == "good" else [(220, 0.18), (0, 0.06), (220, 0.18)]
    frames = bytearray()
    for pitch, seconds in tones:
        for n in range(int(rate * seconds)):
            wave_value = math.sin(2 * math.pi * pitch * n / rate) if pitch else 0.0
            if kind != "good" and pitch:  # a square wave: harsh on purpose
                wave_value = 1.0 if wave_value >= 0 else -1.0
            frames += struct.pack("B", int(128 + 90 * wave_value))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(rate)
        out.writeframes(bytes(frames))
    return "data:audio/wav;base64," + base64.b64encode(buffer.getvalue()).decode()


# --- the pack station ------------------------------------------------------------------------------------------


def _station(
    request: Request,
    principal: Principal,
    number: str,
    *,
    status: int = 200,
    error: str = "",
    refused: str = "",
) -> Response:
    uow = unit_of_work(request)
    shipment = None
    if number.strip():
        try:
            shipment = fulfillment.get_shipment(uow, ref=number.strip())
        except NotFound as exc:
            status, error = 404, exc.detail
    query = request.query_params
    scanned = query.get("scanned", "") if not (error or refused) else ""
    return render(
        request,
        "warehouse/pack.html",
        principal,
        status=status,
        error=error,
        refused=refused,
        shipment=shipment,
        number=number.strip(),
        scanned=scanned,
        shipped=query.get("shipped", ""),
        step=query.get("step", ""),
        unpacked=sum(line.picked - line.packed for line in shipment.lines if line.status == "open")
        if shipment
        else 0,
        cue=cue("bad") if refused or error else cue("good") if scanned or query.get("step") else "",
    )


@router.get("/warehouse/pack")
def pack_station(request: Request, shipment: str = "") -> Response:
    return _station(request, principal_for(request, "warehouse:read"), shipment)


def _back(number: str, **query: str) -> RedirectResponse:
    tail = "".join(f"&{k}={quote(v)}" for k, v in query.items())
    return RedirectResponse(f"/warehouse/pack?shipment={quote(number)}{tail}", status_code=303)


@router.post("/warehouse/pack/{number}/scan")
def scan(
    request: Request, number: str, code: Annotated[str, Form()] = "", csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """One scanned unit. A refusal changes nothing and is shown (409) with its reason."""
    principal = principal_for(request, "fulfillment:write")
    check_form_csrf(principal, csrf_token)
    try:
        fulfillment.scan_item(unit_of_work(request), ref=number, code=code[:64])
    except fulfillment.ScanRefused as exc:
        return _station(request, principal, number, status=exc.status, refused=exc.detail)
    except OrdersmithError as exc:
        return _station(request, principal, number, status=exc.status, error=exc.detail)
    return _back(number, scanned=code.strip()[:64])


def _size(form: dict[str, str], name: str, what: str, high: int) -> int:
    text = form.get(name, "").strip()
    if not text:
        return 0
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{what}: a whole number") from None
    if not 0 <= value <= high:
        raise ValueError(f"{what}: between 0 and {high}")
    return value


@router.post("/warehouse/pack/{number}/pack")
async def pack(request: Request, number: str) -> Response:
    """Close packing into one weighed package (no weight typed: cartons from the catalog's sizes)."""
    principal = principal_for(request, "fulfillment:write")
    form = {k: str(v) for k, v in (await request.form()).items()}
    check_form_csrf(principal, form.get("csrf_token", ""))
    try:
        weight = _size(form, "weight_g", "weight (g)", 1_000_000)
        spec = fulfillment.PackageSpec(
            weight,
            _size(form, "length_mm", "length (mm)", 10_000),
            _size(form, "width_mm", "width (mm)", 10_000),
            _size(form, "height_mm", "height (mm)", 10_000),
        )
        fulfillment.pack_shipment(unit_of_work(request), ref=number, packages=[spec] if weight else None)
    except (OrdersmithError, ValueError) as exc:
        status, detail = problem(exc)
        return _station(request, principal, number, status=status, error=detail)
    return _back(number, step="packed")


@router.post("/warehouse/pack/{number}/labels")
def buy_labels(request: Request, number: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    """Buy the labels (rate shopped for the shipping method's promise); a carrier's refusal is shown."""
    return act(
        request,
        "fulfillment:labels",
        csrf_token,
        lambda uow: fulfillment.buy_labels(uow, ref=number),
        then=f"/warehouse/pack?shipment={quote(number)}&step=labelled",
        otherwise=lambda principal, status, error: _station(
            request, principal, number, status=status, error=error
        ),
    )


@router.post("/warehouse/pack/{number}/ship")
def ship(request: Request, number: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    return act(
        request,
        "fulfillment:write",
        csrf_token,
        lambda uow: fulfillment.ship_shipment(uow, ref=number),
        then=f"/warehouse/pack?shipped={quote(number)}",
        otherwise=lambda principal, status, error: _station(
            request, principal, number, status=status, error=error
        ),
    )


# --- shipments -------------------------------------------------------------------------------------------------


@router.get("/warehouse/shipments")
def shipments(
    request: Request, status: str = "", location: str = "", order: str = "", cursor: str = ""
) -> Response:
    principal = principal_for(request, "fulfillment:read")
    uow = unit_of_work(request)
    filters = {"status": status, "location": location, "order": order}
    return render(
        request,
        "warehouse/shipments.html",
        principal,
        filters=filters,
        page=fulfillment.list_shipments(
            uow,
            status=status or None,
            location=location or None,
            order=order or None,
            cursor=cursor or None,
            limit=100,
        ),
        statuses=fulfillment.STATUSES,
        locations=inventory.list_locations(uow),
        query="&".join(f"{k}={quote(v)}" for k, v in filters.items() if v),
    )


def _shipment_page(
    request: Request, principal: Principal, number: str, *, status: int = 200, error: str = ""
) -> Response:
    try:
        shipment = fulfillment.get_shipment(unit_of_work(request), ref=number)
    except NotFound as exc:
        return not_found(request, principal, exc)
    context: dict[str, Any] = {"shipment": shipment, "open": shipment.status in OPEN}
    return render(request, "warehouse/shipment.html", principal, status=status, error=error, **context)


@router.get("/warehouse/shipments/{number}")
def shipment(request: Request, number: str) -> Response:
    return _shipment_page(request, principal_for(request, "fulfillment:read"), number)


@router.post("/warehouse/shipments/{number}/cancel")
def cancel_shipment(
    request: Request,
    number: str,
    reason: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    return act(
        request,
        "fulfillment:write",
        csrf_token,
        lambda uow: fulfillment.cancel_shipment(uow, ref=number, reason=reason[:500]),
        then=f"/warehouse/shipments/{quote(number)}",
        otherwise=lambda principal, status, error: _shipment_page(
            request, principal, number, status=status, error=error
        ),
    )


@router.post("/warehouse/shipments/{number}/void-labels")
def void_labels(request: Request, number: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    return act(
        request,
        "fulfillment:labels",
        csrf_token,
        lambda uow: fulfillment.void_labels(uow, ref=number),
        then=f"/warehouse/shipments/{quote(number)}",
        otherwise=lambda principal, status, error: _shipment_page(
            request, principal, number, status=status, error=error
        ),
    )
