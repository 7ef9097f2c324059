"""Documents: a shipment's packing slip, invoices and labels, and a wave's printable pick lists (PDF, or ZPL
for a label on a thermal printer)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from ordersmith.fulfillment import service
from ordersmith.fulfillment.routes._common import PDF, Auth, channel_of, inline, visible
from ordersmith.kernel.errors import NotFound
from ordersmith.platform.http import requires, unit_of_work

router = APIRouter()
_KINDS = ("packing-slip", "invoice", "commercial-invoice", "label")


@router.get(
    "/shipments/{ref}/documents/{kind}",
    response_class=Response,
    responses=PDF,
    openapi_extra=requires("fulfillment:read"),
)
def shipment_document(
    ref: str, kind: str, principal: Auth, request: Request, package: Annotated[int, Query(ge=1, le=50)] = 1
) -> Response:
    """A shipment's document: `packing-slip`, `invoice` (the customer's), `commercial-invoice` (customs, for a
    parcel leaving the country) or a package's `label` (PDF, or ZPL for a thermal printer)."""
    uow = unit_of_work(request)
    own = channel_of(uow, principal)
    ref = visible(uow, principal, ref)  # another channel's shipment: 404 before anything else is said
    if kind not in _KINDS:
        raise NotFound(f"no document {kind[:40]!r}: {', '.join(_KINDS)}")
    if kind == "label":
        label_format, content = service.label_of(uow, ref=ref, seq=package, channel=own)
        media = "application/pdf" if label_format == "pdf" else "application/zpl"
        return Response(content, media_type=media, headers=inline(f"{ref}-{package}.{label_format}"))
    render = {
        "packing-slip": service.packing_slip_pdf,
        "invoice": service.customer_invoice_pdf,
        "commercial-invoice": service.commercial_invoice_pdf,
    }[kind]
    return Response(
        render(uow, ref=ref, channel=own), media_type="application/pdf", headers=inline(f"{ref}-{kind}.pdf")
    )


@router.get(
    "/waves/{ref}/pick-lists.pdf",
    response_class=Response,
    responses=PDF,
    openapi_extra=requires("warehouse:read"),
)
def pick_list_pdf(
    ref: str,
    principal: Auth,
    request: Request,
    pickers: Annotated[int, Query(ge=1, le=50)] = 1,
    picker: Annotated[int, Query(ge=1, le=50)] = 1,
) -> Response:
    """One picker's printable pick list (stops in walk order, each order's tote, barcodes)."""
    content = service.pick_list_pdf(unit_of_work(request), ref=ref, pickers=pickers, picker=picker)
    return Response(content, media_type="application/pdf", headers=inline(f"{ref}-picker-{picker}.pdf"))
