"""The generic connector: a channel with no platform adapter sends its orders to our API in one documented JSON
shape (docs/guides/channels-connectors.md) with its channel-bound key. Inbound only: it takes no pushes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from ordersmith.channels import rules
from ordersmith.channels.connectors import fields
from ordersmith.channels.connectors.base import (
    Access,
    CallFailed,
    CallReport,
    PollPage,
    ShipmentNotice,
    SignatureInvalid,
    StockUpdate,
)
from ordersmith.kernel.errors import ValidationFailed


def address(payload: Mapping[str, Any], path: str) -> rules.ChannelAddress:
    return rules.ChannelAddress(
        name=fields.text(payload, "name", f"{path}.name", required=True),
        line1=fields.text(payload, "line1", f"{path}.line1", required=True),
        line2=fields.text(payload, "line2", f"{path}.line2"),
        city=fields.text(payload, "city", f"{path}.city", required=True),
        region=fields.text(payload, "region", f"{path}.region"),
        postal_code=fields.text(payload, "postal_code", f"{path}.postal_code", max_length=20),
        country=fields.text(payload, "country", f"{path}.country", required=True, max_length=2).upper(),
        phone=fields.text(payload, "phone", f"{path}.phone", max_length=40),
        company=fields.text(payload, "company", f"{path}.company"),
    )


class GenericConnector:
    kind = "generic"
    pushes_stock = False
    pushes_shipments = False
    polls_orders = False
    signed_webhooks = False
    edits_address = True  # a later version with another ship-to is an address change (ADR 0050)
    edits_lines = True  # a later version with fewer units of a SKU cancels them (ADR 0050)
    stock_batch_size = 1

    def parse_order(self, payload: Mapping[str, Any]) -> rules.ChannelOrder:
        lines = []
        for n, raw in enumerate(fields.items(payload, "lines", "lines")):
            if not isinstance(raw, Mapping):
                raise ValidationFailed.on(f"lines.{n}", "must be an object")
            lines.append(
                rules.ChannelLine(
                    channel_sku=fields.text(raw, "sku", f"lines.{n}.sku", required=True, max_length=100),
                    quantity=fields.integer(raw, "quantity", f"lines.{n}.quantity"),
                    title=fields.text(raw, "title", f"lines.{n}.title"),
                    unit_price=fields.decimal(raw, "unit_price", f"lines.{n}.unit_price"),
                    tax=fields.decimal(raw, "tax", f"lines.{n}.tax") or Decimal(0),
                )
            )
        billing = fields.section(payload, "billing", "billing", required=False)
        totals = fields.section(payload, "totals", "totals", required=False)
        updated_at = fields.timestamp(payload, "updated_at", "updated_at")
        assert updated_at is not None
        return rules.ChannelOrder(
            external_id=fields.text(payload, "id", "id", required=True, max_length=100),
            updated_at=updated_at,
            placed_at=fields.timestamp(payload, "placed_at", "placed_at", required=False),
            lines=lines,
            ship_to=address(fields.section(payload, "ship_to", "ship_to"), "ship_to"),
            billing=address(billing, "billing") if billing else None,
            currency=fields.text(payload, "currency", "currency", required=True, max_length=3).upper(),
            email=fields.text(payload, "email", "email", max_length=320),
            shipping_code=fields.text(payload, "shipping_code", "shipping_code", max_length=40),
            number=fields.text(payload, "number", "number", max_length=40),
            subtotal=fields.decimal(totals, "subtotal", "totals.subtotal"),
            shipping=fields.decimal(totals, "shipping", "totals.shipping"),
            total_tax=fields.decimal(totals, "tax", "totals.tax"),
            total=fields.decimal(totals, "total", "totals.total"),
            attributes=fields.object_attributes(payload, "attributes"),
        )

    def wanted(self, payload: Mapping[str, Any]) -> bool:
        return True

    def poll_orders(self, access: Access, cursor: Mapping[str, Any], now: datetime) -> PollPage:
        # Never called (`polls_orders` is False): a permanent refusal were it called.
        raise CallFailed("this connector is not polled", permanent=True)

    def takes_topic(self, headers: Mapping[str, str]) -> bool:
        return False

    def verify_webhook(self, access: Access, headers: Mapping[str, str], body: bytes) -> None:
        raise SignatureInvalid("a generic channel sends its orders with its API key, not by webhook")

    def push_stock(self, access: Access, updates: Sequence[StockUpdate]) -> CallReport:
        # Never called (`pushes_stock` is False); were it called, the call is a permanent refusal (dead-lettered).
        raise CallFailed("a generic channel takes no stock updates from us", permanent=True)

    def push_shipment(self, access: Access, notice: ShipmentNotice) -> CallReport:
        # Never called (`pushes_shipments` is False); were it called, a permanent refusal (dead-lettered).
        raise CallFailed("a generic channel takes no shipment notices from us", permanent=True)
