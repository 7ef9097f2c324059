"""Carriers from fulfillment's side: which carriers are wired, where each location ships from (its dock), rate
shopping for a packed shipment, labels bought without a transaction open, and voids (tracking, manifests and
address checks: `tracking.py`).

A label purchase claims its packages first (open → labelling, in one short transaction), calls the carrier with
no transaction open, then stores the labels; a second purchase of the same packages finds them claimed (409) and
buys nothing. A claim left by a process that died is taken over after `STALE_CLAIM`.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from ordersmith.fulfillment import carriers as port
from ordersmith.fulfillment.rules import rates as rate_rules
from ordersmith.fulfillment.service._common import (
    Shipment,
    packages_of,
    record,
    shipment_row,
    to_shipment,
)
from ordersmith.fulfillment.tables import (
    LocationDockRow,
    PackageRow,
    ShipmentRow,
)
from ordersmith.inventory import service as inventory
from ordersmith.kernel.clock import Clock, system_clock
from ordersmith.kernel.errors import Conflict, NotFound, ValidationFailed
from ordersmith.platform.db import Database, UnitOfWork, use_case
from ordersmith.platform.settings import Settings

log = logging.getLogger(__name__)
STALE_CLAIM = timedelta(minutes=10)
_KEY = "fulfillment.carriers"
_PROMISED_DAYS = (("overnight", 1), ("next", 1), ("two_day", 2), ("2day", 2), ("express", 2))


def setup_carriers(
    db: Database,
    settings: Settings,
    *,
    carriers: dict[str, port.Carrier] | None = None,
    clock: Clock = system_clock,
) -> None:
    """Wire the configured carriers for `db` (or `carriers`, in tests); the sandbox carrier keeps `clock` (the
    demo's history buys its labels on the day they shipped)."""
    config = port.CarrierConfig(
        sandbox_path=settings.sandbox_carrier_path if settings.sandbox_carrier else "",
        sandbox_webhook_secret=settings.sandbox_carrier_webhook_secret.get_secret_value(),
        easypost_api_key=settings.easypost_api_key.get_secret_value(),
        easypost_webhook_secret=settings.easypost_webhook_secret.get_secret_value(),
        easypost_base_url=settings.easypost_base_url,
        shippo_api_key=settings.shippo_api_key.get_secret_value(),
        shippo_webhook_token=settings.shippo_webhook_token.get_secret_value(),
        shippo_webhook_hmac_secret=settings.shippo_webhook_hmac_secret.get_secret_value(),
        shippo_base_url=settings.shippo_base_url,
        timeout_s=settings.carrier_timeout_s,
    )
    db.caches[_KEY] = carriers if carriers is not None else port.carriers_from(config, clock=clock)


def carrier_named(uow: UnitOfWork, name: str) -> port.Carrier:
    wired: dict[str, port.Carrier] | None = uow.db.caches.get(_KEY)
    if wired is None:
        raise RuntimeError("fulfillment is not set up for this database: call setup_fulfillment at start")
    carrier = wired.get(name)
    if carrier is None:
        raise NotFound(f"no carrier {name[:40]!r} is configured")
    return carrier


def carrier_names(uow: UnitOfWork) -> list[str]:
    """The carriers wired for this database, by name (for a choice of carrier)."""
    return sorted(uow.db.caches.get(_KEY) or {})


def promised_days(method: str) -> int:
    """Business days the customer's shipping method promises (5 for ground and anything unnamed)."""
    method = method.lower()
    return next((days for word, days in _PROMISED_DAYS if word in method), 5)


# --- docks -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dock:
    location: str
    address: dict[str, str]
    label_format: str
    carrier: str


@use_case
def set_dock(
    uow: UnitOfWork,
    *,
    location: str,
    address: dict[str, str],
    label_format: str = "pdf",
    carrier: str = "sandbox",
) -> Dock:
    """Where `location` ships from (the address printed on labels), its label format and its carrier.

    Raises:
        NotFound: no such location, or the carrier is not configured.
        ValidationFailed: a missing address field or an unknown label format.
    """
    inventory.get_location(uow, code=location)
    carrier_named(uow, carrier)
    if label_format not in ("pdf", "zpl"):
        raise ValidationFailed.on("label_format", "pdf or zpl")
    for field in ("name", "line1", "city", "postal_code", "country"):
        if not str(address.get(field, "")).strip():
            raise ValidationFailed.on(f"address.{field}", "required")
    clean = {k: str(v).strip()[:200] for k, v in address.items() if k in _ADDRESS_FIELDS}
    row = uow.session.get(LocationDockRow, location)
    if row is None:
        row = LocationDockRow(location=location, address=clean, updated_at=uow.now())
        uow.session.add(row)
    row.address, row.label_format, row.carrier, row.updated_at = clean, label_format, carrier, uow.now()
    uow.audit("dock.saved", object_type="location", object_id=location, after={"carrier": carrier})
    uow.session.flush()
    return Dock(location, clean, label_format, carrier)


_ADDRESS_FIELDS = ("name", "company", "line1", "line2", "city", "region", "postal_code", "country", "phone")


def as_address(data: dict[str, Any]) -> port.Address:
    return port.Address(
        name=str(data.get("name", "")),
        line1=str(data.get("line1", "")),
        city=str(data.get("city", "")),
        region=str(data.get("region", "")),
        postal_code=str(data.get("postal_code", "")),
        country=str(data.get("country", "")),
        company=str(data.get("company", "")),
        line2=str(data.get("line2", "")),
        phone=str(data.get("phone", "")),
    )


@dataclass(frozen=True)
class _Plan:
    shipment_id: uuid.UUID
    order_id: uuid.UUID
    number: str
    method: str
    ship_by_on: date | None
    dock: Dock
    ship_to: port.Address
    packages: list[tuple[uuid.UUID, int, port.Parcel]]  # id, seq, parcel


def _plan(uow: UnitOfWork, row: ShipmentRow, packages: list[PackageRow]) -> _Plan:
    dock = uow.session.get(LocationDockRow, row.location)
    if dock is None:
        raise Conflict(f"{row.location} has no ship-from address yet: set its dock first")
    return _Plan(
        row.id,
        row.order_id,
        row.number,
        row.method,
        row.ship_by_on,
        Dock(dock.location, dict(dock.address), dock.label_format, dock.carrier),
        as_address(row.address),
        [(p.id, p.seq, port.Parcel(p.weight_g, p.length_mm, p.width_mm, p.height_mm)) for p in packages],
    )


@use_case(readonly=True)
def _rate_plan(uow: UnitOfWork, *, ref: str, channel: str | None) -> _Plan:
    row = shipment_row(uow, ref, channel=channel)
    if row.status not in ("packed", "picked"):
        raise Conflict(f"a {row.status} shipment is not rated: pack it first")
    packages = [p for p in packages_of(uow, row) if p.status != "voided"]
    if not packages:
        raise Conflict(f"shipment {row.number} has no packages yet")
    return _plan(uow, row, packages)


@dataclass(frozen=True)
class RateQuote:
    rates: list[port.Rate]
    chosen: port.Rate | None
    why: str


def rate_shipment(
    uow: UnitOfWork, *, ref: str, carrier: str | None = None, channel: str | None = None
) -> RateQuote:
    """The carrier's rates for the shipment's packages, and the cheapest that keeps the delivery its shipping
    method promised (rate shopping). Calls the carrier with no transaction open."""
    plan = _rate_plan(uow, ref=ref, channel=channel)
    found = carrier_named(uow, carrier or plan.dock.carrier).rates(
        port.RateRequest(
            ship_from=as_address(plan.dock.address),
            ship_to=plan.ship_to,
            parcels=[parcel for _, _, parcel in plan.packages],
            ship_on=uow.now().date(),
        )
    )
    return _choose(uow, plan, found)


def _choose(uow: UnitOfWork, plan: _Plan, found: list[port.Rate]) -> RateQuote:
    today = uow.now().date()
    deliver_by = rate_rules.add_business_days(today, promised_days(plan.method))
    chosen = rate_rules.choose_rate(found, ship_by=plan.ship_by_on, deliver_by=deliver_by, ship_on=today)
    why = rate_rules.explain_rate_choice(found, ship_by=plan.ship_by_on, deliver_by=deliver_by, ship_on=today)
    return RateQuote(found, chosen, why)


# --- labels ----------------------------------------------------------------------------------------------------


@use_case
def _claim_packages(uow: UnitOfWork, *, ref: str, channel: str | None) -> _Plan:
    row = shipment_row(uow, ref, lock=True, channel=channel)
    if row.kind != "ship":
        raise Conflict(f"shipment {row.number} is handed over at the store ({row.kind}): it needs no label")
    if row.status != "packed":
        raise Conflict(f"a {row.status} shipment gets no label: pack it first")
    now = uow.now()
    mine = [
        p
        for p in packages_of(uow, row)
        if p.status == "open"
        or (p.status == "labelling" and p.claimed_at and p.claimed_at < now - STALE_CLAIM)
    ]
    if not mine:
        raise Conflict(f"every package of shipment {row.number} has its label, or one is being bought now")
    for package in mine:
        if package.weight_g <= 0:
            raise ValidationFailed.on(f"packages.{package.seq}.weight_g", "weigh the package first")
        package.status, package.claimed_at = "labelling", now
    uow.session.flush()
    return _plan(uow, row, mine)


@use_case
def _release_claim(uow: UnitOfWork, *, order_id: uuid.UUID, ids: list[uuid.UUID]) -> None:
    uow.session.execute(
        sa.update(PackageRow)
        .where(PackageRow.order_id == order_id, PackageRow.id.in_(ids), PackageRow.status == "labelling")
        .values(status="open", claimed_at=None)
        .execution_options(synchronize_session=False)
    )


@use_case
def _store_labels(uow: UnitOfWork, *, plan: _Plan, labels: list[tuple[uuid.UUID, port.Label]]) -> Shipment:
    row = shipment_row(uow, str(plan.shipment_id), lock=True)
    by_id = {p.id: p for p in packages_of(uow, row)}
    for package_id, label in labels:
        package = by_id[package_id]
        package.status, package.claimed_at, package.labelled_at = "labelled", None, uow.now()
        package.carrier, package.service = label.carrier[:40], label.service[:40]
        package.tracking_number, package.label_id = label.tracking_number[:60], label.label_id[:100]
        package.label_format, package.label = label.label_format, label.content
        package.cost_minor, package.currency = label.amount.minor, label.amount.currency
    first = labels[0][1]
    row.carrier, row.service = first.carrier[:40], first.service[:40]
    row.tracking_number = row.tracking_number or first.tracking_number[:60]
    row.version += 1
    row.updated_at = uow.now()
    record(
        uow,
        row,
        "shipment.labelled",
        {
            "carrier": first.carrier,
            "service": first.service,
            "tracking_numbers": [label.tracking_number for _, label in labels],
            "cost": str(sum((label.amount for _, label in labels[1:]), first.amount)),
        },
        emit=False,
    )
    uow.session.flush()
    return to_shipment(uow, row)


def buy_labels(
    uow: UnitOfWork,
    *,
    ref: str,
    carrier: str | None = None,
    service: str | None = None,
    label_format: str | None = None,
    channel: str | None = None,
) -> Shipment:
    """Buy a label for each unlabelled package of the packed shipment: the named service, else the rate shopped
    for its promise. The carrier is called with no transaction open; a failure buys nothing (labels already bought
    in this call are voided) and the packages can be labelled again.

    Raises:
        Conflict: not packed, no dock, every package labelled or claimed, or no rate keeps the promise.
        ValidationFailed: a package without weight, an unknown label format.
        CarrierRejected / CarrierUnavailable: the carrier's refusal or silence (422 / 503).
    """
    if label_format not in (None, "pdf", "zpl"):
        raise ValidationFailed.on("label_format", "pdf or zpl")
    plan = _claim_packages(uow, ref=ref, channel=channel)
    ids = [package_id for package_id, _, _ in plan.packages]
    bought: list[tuple[uuid.UUID, port.Label]] = []
    name = carrier or plan.dock.carrier
    try:
        courier = carrier_named(uow, name)
        rate = None
        if not service:
            quote = _choose(
                uow,
                plan,
                courier.rates(
                    port.RateRequest(
                        ship_from=as_address(plan.dock.address),
                        ship_to=plan.ship_to,
                        parcels=[parcel for _, _, parcel in plan.packages],
                        ship_on=uow.now().date(),
                    )
                ),
            )
            if quote.chosen is None:
                raise Conflict(f"no rate keeps this shipment's promise: {quote.why}")
            rate = quote.chosen
        fmt = label_format or plan.dock.label_format
        for package_id, seq, parcel in plan.packages:
            label = courier.buy_label(
                port.LabelRequest(
                    ship_from=as_address(plan.dock.address),
                    ship_to=plan.ship_to,
                    parcel=parcel,
                    reference=f"{plan.number}-{seq}",
                    rate=rate,
                    carrier=name,
                    service=service or "",
                    label_format="zpl" if fmt == "zpl" else "pdf",
                )
            )
            bought.append((package_id, label))
    except BaseException:
        _void_quietly(uow, name, [label for _, label in bought])
        _release_claim(uow, order_id=plan.order_id, ids=ids)
        raise
    return _store_labels(uow, plan=plan, labels=bought)


def _void_quietly(uow: UnitOfWork, name: str, labels: list[port.Label]) -> None:
    for label in labels:
        try:
            carrier_named(uow, name).void_label(
                tracking_number=label.tracking_number, label_id=label.label_id
            )
        except Exception as exc:  # a label not voided now is on the carrier's invoice: someone must claim it
            log.warning("label %s (%s) bought and not voided: %s", label.tracking_number, name, exc)


@use_case(readonly=True)
def _labelled(
    uow: UnitOfWork, *, ref: str, channel: str | None
) -> tuple[str, list[tuple[uuid.UUID, str, str]]]:
    row = shipment_row(uow, ref, channel=channel)
    if row.status not in ("packed", "picked"):
        raise Conflict(f"a {row.status} shipment's labels cannot be voided")
    return str(row.id), [
        (p.id, p.tracking_number, p.label_id) for p in packages_of(uow, row) if p.status == "labelled"
    ]


@use_case
def _mark_voided(uow: UnitOfWork, *, shipment_id: str, ids: list[uuid.UUID]) -> Shipment:
    row = shipment_row(uow, shipment_id, lock=True)
    for package in packages_of(uow, row):
        if package.id in ids and package.status == "labelled":
            package.status = "open"
            package.tracking_number, package.label_id, package.label, package.label_format = "", "", None, ""
    row.tracking_number, row.version, row.updated_at = "", row.version + 1, uow.now()
    record(uow, row, "shipment.labels_voided", {"packages": len(ids)}, emit=False)
    uow.session.flush()
    return to_shipment(uow, row)


def void_labels(uow: UnitOfWork, *, ref: str, channel: str | None = None) -> Shipment:
    """Void the shipment's labels before it ships (the carrier refunds them); its packages can be labelled again.

    Raises:
        Conflict: shipped already, or no label to void.
        CarrierRejected: the carrier refuses (a parcel already scanned in transit).
    """
    shipment_id, labelled = _labelled(uow, ref=ref, channel=channel)
    if not labelled:
        raise Conflict("no label to void on this shipment")
    courier = carrier_named(uow, _carrier_of(uow, shipment_id=shipment_id))
    for _, tracking, label_id in labelled:
        courier.void_label(tracking_number=tracking, label_id=label_id)
    return _mark_voided(uow, shipment_id=shipment_id, ids=[package_id for package_id, _, _ in labelled])


@use_case(readonly=True)
def _carrier_of(uow: UnitOfWork, *, shipment_id: str) -> str:
    return shipment_row(uow, shipment_id).carrier or "sandbox"


@use_case(readonly=True)
def label_of(uow: UnitOfWork, *, ref: str, seq: int = 1, channel: str | None = None) -> tuple[str, bytes]:
    """A package's label as bought: (format, content) — a PDF, or ZPL for a thermal printer.

    Raises:
        NotFound: no such shipment, package or label.
    """
    row = shipment_row(uow, ref, channel=channel)
    package = next((p for p in packages_of(uow, row) if p.seq == seq), None)
    if package is None or package.status != "labelled" or package.label is None:
        raise NotFound(f"package {seq} of shipment {row.number} has no label")
    return package.label_format, package.label
