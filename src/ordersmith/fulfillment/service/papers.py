"""The documents a shipment travels with, filled from the records: packing slip (gift message, personalization,
return instructions with a QR code), the wave's pick lists, the customer's invoice, and a commercial invoice for a
parcel leaving the country. Rendering is `fulfillment.documents` (pure, deterministic PDF)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ordersmith.catalog import service as catalog
from ordersmith.fulfillment import documents as docs
from ordersmith.fulfillment.service._common import shipment_row, to_shipment
from ordersmith.fulfillment.service.waves import pick_lists
from ordersmith.fulfillment.tables import LocationDockRow
from ordersmith.kernel.errors import Conflict, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.platform.db import Database, UnitOfWork, use_case
from ordersmith.platform.settings import Settings

_KEY = "fulfillment.papers"


def setup_papers(db: Database, settings: Settings) -> None:
    """What documents print that is the retailer's own: its name and where customers start a return."""
    db.caches[_KEY] = (settings.retailer_name, settings.returns_url)


def _retailer(uow: UnitOfWork) -> tuple[str, str]:
    found: tuple[str, str] | None = uow.db.caches.get(_KEY)
    return found or ("Ordersmith", "https://example.com/returns")


def _party(data: Mapping[str, Any], *, fallback: str = "") -> docs.Party:
    lines = tuple(str(data[k]) for k in ("line1", "line2") if str(data.get(k, "")).strip())
    return docs.Party(
        name=str(data.get("name") or fallback or "-"),
        lines=lines,
        city=str(data.get("city", "")),
        postal_code=str(data.get("postal_code", "")),
        country=str(data.get("country", "")),
        company=str(data.get("company") or "") or None,
        region=str(data.get("region") or "") or None,
        phone=str(data.get("phone") or "") or None,
        email=str(data.get("email") or "") or None,
    )


def _dock_party(uow: UnitOfWork, location: str) -> docs.Party:
    dock = uow.session.get(LocationDockRow, location)
    name, _ = _retailer(uow)
    if dock is None:
        return docs.Party(name=name, lines=(), city="", postal_code="", country="US")
    return _party({**dock.address, "company": dock.address.get("company") or name}, fallback=name)


@use_case(readonly=True)
def packing_slip_pdf(uow: UnitOfWork, *, ref: str, channel: str | None = None) -> bytes:
    """The packing slip of a shipment: its lines (no prices: it may be a gift), gift message, personalization,
    return instructions and a QR code to start a return."""
    shipment = to_shipment(uow, shipment_row(uow, ref, channel=channel))
    order = orders.get_order(uow, ref=str(shipment.order_id))
    by_no = {line.line_no: line for line in order.lines}
    name, returns_url = _retailer(uow)
    lines = []
    for line in shipment.lines:
        if line.status == "removed":
            continue
        source = by_no[line.line_no]
        lines.append(
            docs.DocumentLine(
                line_no=line.line_no,
                sku=line.sku,
                name=line.name,
                quantity=line.quantity,
                personalization=dict(source.personalization),
                gift_message=source.gift_message or None,
                gtin=line.gtin or None,
            )
        )
    gift = next(
        (by_no[line.line_no].gift_message for line in shipment.lines if by_no[line.line_no].gift_message), ""
    )
    slip = docs.PackingSlip(
        retailer=_dock_party(uow, shipment.location),
        order_number=order.number,
        ordered_on=order.placed_at.date(),
        shipment_number=shipment.number,
        ship_to=_party(shipment.address),
        bill_to=_party(order.billing) if order.billing.get("line1") else None,
        lines=tuple(lines),
        gift_message=gift or None,
        return_instructions=(
            f"Not right? Return unworn items within 30 days. Start at {returns_url} with order {order.number}: "
            "we email a label, and refund to how you paid once the parcel reaches us. Personalized items cannot "
            "be returned."
        ),
        returns_url=f"{returns_url}?order={order.number}",
        returns_code=order.number,
        tracking_number=shipment.tracking_number or None,
        channel=order.channel,
        retailer_logo_text=name,
    )
    return docs.packing_slip_pdf(slip)


@use_case(readonly=True)
def pick_list_pdf(uow: UnitOfWork, *, ref: str, pickers: int = 1, picker: int = 1) -> bytes:
    """One picker's stretch of the wave's walk as a printable list (stops in walk order, each order's tote)."""
    lists = pick_lists(uow, ref=ref, pickers=pickers)
    chosen = lists[min(max(picker, 1), len(lists)) - 1]
    stops = tuple(
        docs.PickStop(
            sequence=s.sequence,
            bin=s.bin or "(no bin)",
            sku=s.sku,
            name=s.name,
            quantity=s.quantity,
            allocations=tuple(docs.ToteAllocation(d.tote, d.order, d.shipment, d.quantity) for d in s.drops),
            zone=s.zone or None,
        )
        for s in chosen.stops
    )
    return docs.pick_list_pdf(
        docs.PickList(
            wave_number=chosen.wave,
            location=chosen.location,
            created_at=uow.now(),
            stops=stops,
            picker=f"{chosen.picker} of {chosen.pickers}",
        )
    )


@use_case(readonly=True)
def customer_invoice_pdf(uow: UnitOfWork, *, ref: str, channel: str | None = None) -> bytes:
    """The order's invoice for the customer (every line, discounts, shipping, tax, what was paid), printed with
    its shipment: the invoice number is the order's."""
    shipment = to_shipment(uow, shipment_row(uow, ref, channel=channel))
    order = orders.get_order(uow, ref=str(shipment.order_id))
    zero = Money(Decimal(0), order.currency)
    lines = tuple(
        docs.DocumentLine(
            line_no=line.line_no,
            sku=line.sku,
            name=line.name,
            quantity=line.quantity,
            unit_price=line.unit_price,
            total=line.unit_price * line.quantity,
            personalization=dict(line.personalization),
        )
        for line in order.lines
    )
    surcharges = order.surcharges
    invoice = docs.CustomerInvoice(
        invoice_number=f"INV-{order.number}",
        order_number=order.number,
        issued_on=uow.now().date(),
        ordered_on=order.placed_at.date(),
        currency=order.currency,
        bill_to=_party(order.billing) if order.billing.get("line1") else _party(shipment.address),
        ship_to=_party(shipment.address),
        lines=lines,
        discounts=(docs.Charge("Discounts", order.discounts),) if order.discounts != zero else (),
        shipping=tuple(
            c
            for c in (docs.Charge("Shipping", order.shipping), docs.Charge("Personalization", surcharges))
            if c.amount != zero
        ),
        taxes=(docs.Charge("Sales tax", order.tax),) if order.tax != zero else (),
        total=order.total,
        retailer=_dock_party(uow, shipment.location),
        payment_instructions="Paid with your order."
        if order.payment_status in ("captured", "authorized")
        else None,
    )
    return docs.customer_invoice_pdf(invoice)


@use_case(readonly=True)
def commercial_invoice_pdf(uow: UnitOfWork, *, ref: str, channel: str | None = None) -> bytes:
    """Customs' commercial invoice for a parcel leaving the country of its location.

    Raises:
        Conflict: the shipment stays in the country (no customs invoice is needed).
        ValidationFailed: an item without its HS code, country of origin or weight (naming the item).
    """
    shipment = to_shipment(uow, shipment_row(uow, ref, channel=channel))
    shipper = _dock_party(uow, shipment.location)
    if str(shipment.address.get("country", "")).upper() == (shipper.country or "US").upper():
        raise Conflict(
            f"shipment {shipment.number} does not leave {shipper.country or 'US'}: no customs invoice"
        )
    order = orders.get_order(uow, ref=str(shipment.order_id))
    by_no = {line.line_no: line for line in order.lines}
    lines = []
    for line in shipment.lines:
        if line.status == "removed":
            continue
        item = catalog.get_item(uow, sku=line.sku)
        if not (item.hs_code and item.country_of_origin and item.weight_g):
            raise ValidationFailed.on(
                f"items.{item.sku}",
                "set its HS code, country of origin and weight in the catalog: customs need them",
            )
        price = by_no[line.line_no].unit_price
        lines.append(
            docs.DocumentLine(
                line_no=line.line_no,
                sku=line.sku,
                name=line.name,
                quantity=line.quantity,
                unit_price=price,
                total=price * line.quantity,
                hs_code=item.hs_code,
                country_of_origin=item.country_of_origin,
                weight_g=item.weight_g,
            )
        )
    name, _ = _retailer(uow)
    return docs.commercial_invoice_pdf(
        docs.CommercialInvoice(
            invoice_number=f"CI-{shipment.number}",
            issued_on=uow.now().date(),
            shipment_number=shipment.number,
            shipper=shipper,
            consignee=_party(shipment.address),
            export_reason="Sale",
            incoterm="DAP",
            currency=order.currency,
            lines=tuple(lines),
            order_number=order.number,
            tracking_number=shipment.tracking_number or None,
            package_count=max(len(shipment.packages), 1),
            declaration="I declare that the information in this invoice is true and correct.",
            signature_name=name,
        )
    )
