"""Orders in from a channel, exactly once: a delivery (webhook or API call) is recorded in the channel's inbox
under its own order id in one short transaction and a job imports it through checkout — the one way an order is
placed — with no transaction open while it prices and takes payment.

Invariants: one channel order is one order, however many times and in whatever order it is delivered (the inbox is
unique on connector and channel order id, an older version never replaces a newer one, and checkout is unique on
channel and `external_id`); an order naming a channel SKU with no item mapped is held (`unmapped_sku`), never
lost, and mapping the SKU releases it.
"""

from __future__ import annotations

import json
import traceback
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ordersmith.channels import connectors, rules
from ordersmith.channels.service import custom_values
from ordersmith.channels.service._common import Loaded, access_for, dead_letter, load
from ordersmith.channels.tables import ChannelOrderRow, SkuMapRow, UnmappedLineRow
from ordersmith.checkout import rules as checkout_rules
from ordersmith.checkout import service as checkout
from ordersmith.kernel.errors import NotFound, OrdersmithError, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.orders import service as orders
from ordersmith.platform import jobs, sales_channels
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork, use_case

IMPORT_JOB = "channels.import_order"
MAX_PAYLOAD_CHARS = 1_000_000


@dataclass(frozen=True)
class Received:
    channel_order_id: uuid.UUID
    external_id: str
    status: str  # received | held | imported | dead | cancelled (by the channel before it was imported)
    duplicate: bool  # the channel had sent this order before


def _insert(uow: UnitOfWork) -> Any:
    return (
        postgresql_insert(ChannelOrderRow) if uow.dialect == "postgresql" else sqlite_insert(ChannelOrderRow)
    )


@use_case
def receive_order(
    uow: UnitOfWork, *, connector: str, payload: Mapping[str, Any], principal: Principal | None = None
) -> Received:
    """Record a channel's order (as the channel's own JSON) for import. A delivery seen before answers with the
    first's record and changes nothing — unless it is a newer version of an order not yet imported, which then
    replaces the stored one.

    Raises:
        ValidationFailed: the payload is not a readable order of this connector's kind (naming the field);
            nothing is recorded.
        NotFound: no such connector (or not the caller's).
    """
    loaded = load(uow, code=connector, principal=principal)
    if not loaded.row.active:
        raise ValidationFailed.on("connector", f"connector {connector} is inactive")
    parsed = connectors.for_kind(loaded.row.kind).parse_order(payload)
    return _record(uow, loaded, parsed, dict(payload))


def _record(uow: UnitOfWork, loaded: Loaded, parsed: rules.ChannelOrder, payload: dict[str, Any]) -> Received:
    row_id = new_id()
    now = uow.now()
    values = {
        "id": row_id,
        "connector_id": loaded.row.id,
        "external_id": parsed.external_id,
        "status": "received",
        "hold_reason": None,
        "unmapped_skus": [],
        "payload": payload,
        "channel_updated_at": parsed.updated_at,
        "order_id": None,
        "order_number": None,
        "attempts": 0,
        "last_error": None,
        "deliveries": 1,
        "received_at": now,
        "imported_at": None,
    }
    inserted = uow.session.execute(
        _insert(uow)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["connector_id", "external_id"])
        .returning(ChannelOrderRow.id)
    ).scalar()
    if inserted is not None:
        from ordersmith.channels.service import changes

        if changes.cancelled_before_import(uow, loaded.row.id, parsed.external_id):
            uow.session.execute(
                sa.update(ChannelOrderRow).where(ChannelOrderRow.id == row_id).values(status="cancelled")
            )
            return Received(row_id, parsed.external_id, "cancelled", duplicate=False)
        jobs.enqueue(uow, IMPORT_JOB, {"channel_order_id": str(row_id)})
        return Received(row_id, parsed.external_id, "received", duplicate=False)
    row = uow.session.scalars(
        sa.select(ChannelOrderRow)
        .where(
            ChannelOrderRow.connector_id == loaded.row.id, ChannelOrderRow.external_id == parsed.external_id
        )
        .with_for_update()
    ).one()
    row.deliveries += 1
    if row.status in ("received", "held", "imported") and rules.newer(
        parsed.updated_at, row.channel_updated_at
    ):
        _note_edits(uow, loaded, row, parsed)
        # The latest version is kept after the import too: an address change applies the latest ship-to.
        row.payload = payload
        row.channel_updated_at = parsed.updated_at
        if row.status == "held":  # the newer version may name other SKUs: look again
            _requeue(uow, row)
    return Received(row.id, row.external_id, row.status, duplicate=True)


def _note_edits(uow: UnitOfWork, loaded: Loaded, row: ChannelOrderRow, parsed: rules.ChannelOrder) -> None:
    """A newer version of a known order that ships elsewhere than the kept one is an address change; one with
    fewer units of a SKU is a quantity reduction (each for connectors whose channel edits orders after they were
    placed: `edits_address`, `edits_lines`)."""
    adapter = connectors.for_kind(loaded.row.kind)
    addresses, lines = getattr(adapter, "edits_address", False), getattr(adapter, "edits_lines", False)
    if not addresses and not lines:
        return
    try:
        stored: rules.ChannelOrder | None = adapter.parse_order(row.payload)
    except ValidationFailed:
        stored = None
    found: list[rules.ChannelChange] = []
    new = rules.ship_to_fields(parsed.ship_to)
    if addresses and (
        stored is None
        or rules.address_fingerprint(rules.ship_to_fields(stored.ship_to)) != rules.address_fingerprint(new)
    ):
        found.append(
            rules.ChannelChange(
                external_id=parsed.external_id,
                kind=rules.ADDRESS_CHANGED,
                key=rules.address_change_key(parsed.ship_to, parsed.updated_at),
                at=parsed.updated_at,
                reason="ship-to changed on the channel",
            )
        )
    if lines and stored is not None:
        for channel_sku, units in rules.reductions(stored.lines, parsed.lines).items():
            found.append(
                rules.ChannelChange(
                    external_id=parsed.external_id,
                    kind=rules.QUANTITY_REDUCED,
                    key=rules.quantity_change_key(channel_sku, units, parsed.updated_at),
                    at=parsed.updated_at,
                    reason=f"{channel_sku} reduced to {units} on the channel"[:200],
                )
            )
    if found:
        from ordersmith.channels.service import changes

        changes.record_changes(uow, loaded, found)


def _requeue(uow: UnitOfWork, row: ChannelOrderRow) -> None:
    uow.session.execute(sa.delete(UnmappedLineRow).where(UnmappedLineRow.channel_order_id == row.id))
    row.status = "received"
    row.hold_reason = None
    row.unmapped_skus = []
    row.attempts = 0
    jobs.enqueue(uow, IMPORT_JOB, {"channel_order_id": str(row.id)})


@dataclass(frozen=True)
class WebhookOutcome:
    received: (
        Received | None
    )  # None: not an order topic, or unreadable (then dead-lettered: `dead_letter_id`)
    dead_letter_id: uuid.UUID | None = None
    changes: int = 0  # cancellations and refunds new to us


@use_case
def receive_webhook(
    uow: UnitOfWork, *, connector: str, headers: Mapping[str, str], body: bytes
) -> WebhookOutcome:
    """A channel's pushed order, its signature checked before anything is read: a forged one changes nothing. A
    signed payload that is not a readable order goes to the dead-letter list (the channel is answered 200, so it
    does not send it again and again), to be replayed once the cause is fixed.

    Raises:
        SignatureInvalid: a missing or wrong signature, or a connector that takes no webhooks (401).
    """
    try:
        loaded = load(uow, code=connector)
    except NotFound:
        raise connectors.SignatureInvalid("no such connector takes webhooks") from None
    adapter = connectors.for_kind(loaded.row.kind)
    if not adapter.signed_webhooks or not loaded.row.active:
        raise connectors.SignatureInvalid("this connector takes no webhooks")
    adapter.verify_webhook(access_for(uow, loaded.row), headers, body)
    reports = isinstance(adapter, connectors.ReportsChanges) and adapter.change_topic(headers)
    takes = adapter.takes_topic(headers)
    if not takes and not reports:
        return WebhookOutcome(received=None)  # a topic this connector does not import: acknowledged, ignored
    try:
        if len(body) > MAX_PAYLOAD_CHARS:
            raise ValidationFailed.on("body", f"at most {MAX_PAYLOAD_CHARS} bytes")
        payload = json.loads(body)
        if not isinstance(payload, dict):
            raise ValidationFailed.on("body", "must be a JSON object")
        reported = adapter.changes(headers, payload) if reports else []  # type: ignore[attr-defined]
        if takes and adapter.wanted(payload):
            parsed: rules.ChannelOrder | None = adapter.parse_order(payload)
        else:  # not an order topic, or e.g. an unpaid WooCommerce order: sent again once it is paid
            parsed = None
    except (ValueError, ValidationFailed) as exc:
        raw: dict[str, Any] = {"body": body.decode("utf-8", "replace")[:MAX_PAYLOAD_CHARS]}
        dead = dead_letter(
            uow,
            loaded,
            operation="import_order",
            reference=_reference(body),
            payload=raw,
            error=_describe(exc),
            attempts=1,
        )
        return WebhookOutcome(received=None, dead_letter_id=dead)
    changed = 0
    if reported:  # before the order itself: an order first seen cancelled is kept and never imported
        from ordersmith.channels.service import changes

        changed = changes.record_changes(uow, loaded, reported)
    if parsed is None:
        return WebhookOutcome(received=None, changes=changed)
    return WebhookOutcome(received=_record(uow, loaded, parsed, payload), changes=changed)


def _reference(body: bytes) -> str:
    try:
        found = json.loads(body).get("id")
    except (ValueError, AttributeError):
        return "unreadable"
    return str(found)[:200] if found is not None else "unreadable"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OrdersmithError):
        details = "; ".join(f"{e.field}: {e.message}" for e in getattr(exc, "errors", []) or [])
        return f"{exc.code}: {details or exc}"
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()[:2000]


# --- the import job -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    loaded: Loaded
    row_id: uuid.UUID
    external_id: str
    parsed: rules.ChannelOrder | None
    unmapped: list[str]
    request: orders.OrderRequest | None
    error: BaseException | None = None
    custom: dict[str, str] = field(default_factory=dict)  # order custom fields from the channel's attributes
    not_kept: list[str] = field(default_factory=list)  # why a mapped attribute was not kept


def import_channel_order(uow: UnitOfWork, *, channel_order_id: uuid.UUID) -> str:
    """Import one received channel order: held when a SKU is unmapped, else placed through checkout and marked
    imported (`channel.order_imported`). A failure is tried again with back-off, then dead-lettered
    (`channel.sync_failed`). Returns the channel order's status afterwards. Never called inside a transaction."""
    assert not uow.active, "the import calls checkout, which opens its own transactions"
    plan = _plan(uow, channel_order_id=channel_order_id)
    if plan is None:
        return "skipped"
    if plan.error is not None:
        return _failed(uow, channel_order_id=channel_order_id, error=_describe(plan.error), permanent=True)
    if plan.unmapped:
        return _hold(uow, channel_order_id=channel_order_id, skus=plan.unmapped)
    assert plan.request is not None
    try:
        # An inactive sales channel is refused here like any other reason the order cannot be placed.
        channel = sales_channels.ordering_channel(uow, _connector_principal(plan.loaded), None)
        caller = checkout_rules.Caller(
            channel_kind=channel.kind,
            scopes=frozenset({checkout_rules.IMPORT_SCOPE}),
            bills_later=channel.bills_later,
            channel_bound=True,
        )
        marked: list[str] = []

        def mark(joined: UnitOfWork, order: orders.Order) -> None:
            # In the order's own write transaction: the order, its custom fields from the channel's attributes
            # and its inbox row's `imported` commit together.
            custom_values.write_values(joined, order_id=order.id, values=plan.custom)
            marked.append(
                _mark_imported(joined, channel_order_id=channel_order_id, order=order, not_kept=plan.not_kept,
                               line_ids=[line.line_id for line in plan.parsed.lines] if plan.parsed else None)
            )  # fmt: skip

        placed = checkout.place_order(
            uow, channel=channel, caller=caller, request=plan.request, on_placed=mark
        )
    except Exception as exc:  # recorded, retried, dead-lettered: a channel order is never dropped
        permanent = isinstance(exc, ValidationFailed)
        return _failed(uow, channel_order_id=channel_order_id, error=_describe(exc), permanent=permanent)
    if marked:
        return marked[0]
    return _imported(
        uow, channel_order_id=channel_order_id, order=placed.order
    )  # placed before (a crash, a race)


def _connector_principal(loaded: Loaded) -> Principal:
    return Principal(
        kind="api_key", id=None, label=f"connector:{loaded.row.code}", channel_id=loaded.row.sales_channel_id
    )


@use_case(readonly=True)
def _plan(uow: UnitOfWork, *, channel_order_id: uuid.UUID) -> _Plan | None:
    row = uow.session.get(ChannelOrderRow, channel_order_id)
    if row is None or row.status != "received":
        return None  # imported, held or dead meanwhile: this job has nothing to do
    loaded = load(uow, connector_id=row.connector_id)
    try:
        parsed = connectors.for_kind(loaded.row.kind).parse_order(row.payload)
    except ValidationFailed as exc:
        return _Plan(loaded, row.id, row.external_id, None, [], None, error=exc)
    skus = sorted({line.channel_sku for line in parsed.lines})
    mapping = {
        m.channel_sku: m.item_sku
        for m in uow.session.scalars(
            sa.select(SkuMapRow).where(
                SkuMapRow.connector_id == loaded.row.id, SkuMapRow.channel_sku.in_(skus)
            )
        )
    }
    missing = rules.unmapped(parsed.lines, mapping)
    if missing:
        return _Plan(loaded, row.id, row.external_id, parsed, missing, None)
    kept, not_kept = custom_values.plan_values(uow, loaded.row.config, parsed)
    return _Plan(loaded, row.id, row.external_id, parsed, [], _order_request(loaded, parsed, mapping),
                 custom=kept, not_kept=not_kept)  # fmt: skip


def _order_request(
    loaded: Loaded, parsed: rules.ChannelOrder, mapping: Mapping[str, str]
) -> orders.OrderRequest:
    config = loaded.row.config
    method = dict(config.get("shipping_methods") or {}).get(parsed.shipping_code) or str(
        config["shipping_method"]
    )
    ship = parsed.ship_to
    ship_to = orders.ShipToRequest(
        ref="main",
        name=ship.name,
        line1=ship.line1,
        line2=ship.line2,
        city=ship.city,
        region=ship.region,
        postal_code=ship.postal_code,
        country=ship.country,
        phone=ship.phone,
        method=method,
    )
    billing = None
    if parsed.billing is not None:
        b = parsed.billing
        billing = {
            "name": b.name,
            "line1": b.line1,
            "line2": b.line2,
            "city": b.city,
            "region": b.region,
            "postal_code": b.postal_code,
            "country": b.country,
        }
    payments = []
    if loaded.channel_kind == "marketplace":  # the marketplace collected the money: recorded as such
        payments.append(
            orders.PaymentRequest(
                method="marketplace", reference=rules.payment_reference(loaded.row.code, parsed.external_id)
            )
        )
    return orders.OrderRequest(
        lines=[
            orders.LineRequest(sku=mapping[line.channel_sku], quantity=line.quantity) for line in parsed.lines
        ],
        ship_tos=[ship_to],
        email=parsed.email,
        billing=billing,
        external_id=parsed.external_id,
        placed_at=parsed.placed_at,
        payments=payments,
    )


@use_case
def _hold(uow: UnitOfWork, *, channel_order_id: uuid.UUID, skus: list[str]) -> str:
    row = uow.session.get(ChannelOrderRow, channel_order_id, with_for_update=True)
    if row is None or row.status != "received":
        return row.status if row is not None else "skipped"
    row.status = "held"
    row.hold_reason = rules.HOLD_UNMAPPED
    row.unmapped_skus = list(skus)
    for sku in skus:
        uow.session.merge(
            UnmappedLineRow(connector_id=row.connector_id, channel_sku=sku, channel_order_id=row.id)
        )
    loaded = load(uow, connector_id=row.connector_id)
    uow.audit(
        "channel_order.held",
        object_type="channel_order",
        object_id=str(row.id),
        after={"reason": rules.HOLD_UNMAPPED, "skus": skus, "external_id": row.external_id},
    )
    uow.emit(
        "channel.order_held",
        {
            "connector": loaded.row.code,
            "channel": loaded.channel_code,
            "external_id": row.external_id,
            "reason": rules.HOLD_UNMAPPED,
            "skus": skus,
        },
    )
    return "held"


@use_case
def _imported(uow: UnitOfWork, *, channel_order_id: uuid.UUID, order: orders.Order) -> str:
    return _mark_imported(uow, channel_order_id=channel_order_id, order=order)


def _mark_imported(
    uow: UnitOfWork,
    *,
    channel_order_id: uuid.UUID,
    order: orders.Order,
    not_kept: list[str] | None = None,
    line_ids: list[str] | None = None,
) -> str:
    row = uow.session.get(ChannelOrderRow, channel_order_id, with_for_update=True)
    if row is None:
        return "skipped"
    if row.status == "imported":
        return "imported"
    loaded = load(uow, connector_id=row.connector_id)
    now = uow.now()
    from ordersmith.channels.service import changes

    changes.wake(uow, row.connector_id, row.external_id, was_dropped=row.status == "cancelled")
    row.status = "imported"
    row.order_id = order.id
    row.order_number = order.number
    # our line n was the channel's line n - 1 (one order line per channel line, in the channel's order)
    row.line_ids = line_ids if line_ids and any(line_ids) and len(line_ids) == len(order.lines) else None
    row.imported_at = now
    row.last_error = "; ".join(not_kept)[:2000] if not_kept else None  # imported, but these were not kept
    loaded.row.last_success_at = now
    uow.emit(
        "channel.order_imported",
        {
            "connector": loaded.row.code,
            "channel": loaded.channel_code,
            "external_id": row.external_id,
            "order_id": str(order.id),
            "number": order.number,
            **({"not_kept": not_kept} if not_kept else {}),
        },
    )
    return "imported"


@use_case
def _failed(uow: UnitOfWork, *, channel_order_id: uuid.UUID, error: str, permanent: bool) -> str:
    row = uow.session.get(ChannelOrderRow, channel_order_id, with_for_update=True)
    if row is None or row.status != "received":
        return row.status if row is not None else "skipped"
    loaded = load(uow, connector_id=row.connector_id)
    row.attempts += 1
    row.last_error = error[:8000]
    delay = rules.retry_delay_s(row.attempts, permanent=permanent)
    if delay is not None:
        loaded.row.last_failure_at = uow.now()
        loaded.row.last_error = error[:2000]
        jobs.enqueue(
            uow, IMPORT_JOB, {"channel_order_id": str(row.id)}, run_at=uow.now() + timedelta(seconds=delay)
        )
        return "received"
    row.status = "dead"
    dead_letter(
        uow,
        loaded,
        operation="import_order",
        reference=row.external_id,
        payload=dict(row.payload),
        error=error,
        attempts=row.attempts,
    )
    return "dead"


def _import_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    import_channel_order(uow, channel_order_id=uuid.UUID(str(payload["channel_order_id"])))
