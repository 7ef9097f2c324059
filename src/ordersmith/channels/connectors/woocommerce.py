"""WooCommerce: orders arrive by webhook (topics `order.created` and `order.updated`, signed with the webhook's
secret: `X-WC-Webhook-Signature` is base64 of HMAC-SHA256 over the raw body) and are caught up by polling the REST
API v3 (`GET /wp-json/wc/v3/orders`, a fixed `modified_after`/`modified_before` window read page by page until
`X-WP-TotalPages`); quantities go out as `POST products/batch` (and `products/{id}/variations/batch`) setting
`stock_quantity`; a shipment marks the order `completed` with a customer note naming the tracking number. Every
call authenticates with the REST API key (HTTP Basic: consumer key and secret, over HTTPS).

Only paid orders (`processing`) are imported: WooCommerce sends `order.created` when checkout starts, before
payment, and `order.updated` when the payment lands. Invariant: nothing here touches the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from ordersmith.channels import rules
from ordersmith.channels.connectors import fields
from ordersmith.channels.connectors.base import (
    Access,
    CallFailed,
    CallReport,
    CancellationNotice,
    LineCancellationNotice,
    PollPage,
    PriceUpdate,
    RefundNotice,
    ShipmentNotice,
    SignatureInvalid,
    StockUpdate,
)
from ordersmith.channels.connectors.http import json_body, send
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.platform import tls

SIGNATURE_HEADER = "x-wc-webhook-signature"
TOPIC_HEADER = "x-wc-webhook-topic"
ORDER_TOPICS = ("order.created", "order.updated")
IMPORT_STATUSES = ("processing",)
API = "/wp-json/wc/v3"
STOCK_BATCH = 100  # WooCommerce's batch endpoints take at most 100 objects
PAGE_SIZE = 100
FIRST_POLL = timedelta(days=1)
_PING = re.compile(rb"^webhook_id=\d+$")  # WooCommerce's unsigned test delivery when a webhook is saved
_CHANNEL = "WooCommerce"


def webhook_signature(secret: str, body: bytes) -> str:
    """The `X-WC-Webhook-Signature` WooCommerce sends for `body` under the webhook's secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _gmt(payload: Mapping[str, Any], name: str, *, required: bool) -> datetime | None:
    """WooCommerce's `*_gmt` stamps carry no offset: they are UTC."""
    value = payload.get(name)
    if isinstance(value, str) and value and not value.endswith("Z") and "+" not in value[10:]:
        payload = {name: value + "+00:00"}
    return fields.timestamp(payload, name, name, required=required)


def _address(raw: Mapping[str, Any], path: str, *, phone: str = "") -> rules.ChannelAddress:
    name = " ".join(
        part
        for part in (
            fields.text(raw, "first_name", f"{path}.first_name"),
            fields.text(raw, "last_name", f"{path}.last_name"),
        )
        if part
    )
    if not name:
        raise ValidationFailed.on(f"{path}.first_name", "a name is required")
    return rules.ChannelAddress(
        name=name,
        line1=fields.text(raw, "address_1", f"{path}.address_1", required=True),
        line2=fields.text(raw, "address_2", f"{path}.address_2"),
        city=fields.text(raw, "city", f"{path}.city", required=True),
        region=fields.text(raw, "state", f"{path}.state", max_length=10),
        postal_code=fields.text(raw, "postcode", f"{path}.postcode", max_length=20),
        country=fields.text(raw, "country", f"{path}.country", required=True, max_length=2).upper(),
        phone=fields.text(raw, "phone", f"{path}.phone", max_length=40) or phone,
        company=fields.text(raw, "company", f"{path}.company"),
    )


def _channel_sku(raw: Mapping[str, Any], path: str) -> str:
    """The line's SKU; a product without one is known by its id (`variation:<id>` or `product:<id>`)."""
    sku = fields.text(raw, "sku", f"{path}.sku", max_length=100)
    if sku:
        return sku
    variation = raw.get("variation_id")
    if isinstance(variation, int) and not isinstance(variation, bool) and variation > 0:
        return f"variation:{variation}"
    product = fields.text(raw, "product_id", f"{path}.product_id", max_length=40)
    if not product or product == "0":
        raise ValidationFailed.on(f"{path}.sku", "a line needs a SKU or a product_id")
    return f"product:{product}"


def _listing(listing_id: str) -> tuple[str, str | None]:
    """A listing id `123` (a product) or `123/456` (variation 456 of product 123)."""
    product, _, variation = listing_id.partition("/")
    if not product.isdigit() or (variation and not variation.isdigit()):
        raise CallFailed(
            f"listing id {listing_id!r} is not PRODUCT_ID or PRODUCT_ID/VARIATION_ID", permanent=True
        )
    return product, variation or None


class WooCommerceConnector:
    kind = "woocommerce"
    pushes_stock = True
    pushes_shipments = True
    signed_webhooks = True
    edits_address = True  # a later version with another ship-to is an address change (ADR 0050)
    edits_lines = True  # a later version with fewer units of a SKU cancels them (ADR 0050)
    polls_orders = True
    stock_batch_size = STOCK_BATCH
    pushes_prices = True
    price_batch_size = STOCK_BATCH
    pushes_cancellations = True
    pushes_line_cancellations = True
    pushes_refunds = True

    # --- inbound --------------------------------------------------------------------------------------------

    def parse_order(self, payload: Mapping[str, Any]) -> rules.ChannelOrder:
        lines = []
        for n, raw in enumerate(fields.items(payload, "line_items", "line_items")):
            path = f"line_items.{n}"
            if not isinstance(raw, Mapping):
                raise ValidationFailed.on(path, "must be an object")
            lines.append(
                rules.ChannelLine(
                    channel_sku=_channel_sku(raw, path),
                    quantity=fields.integer(raw, "quantity", f"{path}.quantity"),
                    title=fields.text(raw, "name", f"{path}.name"),
                    unit_price=fields.decimal(raw, "price", f"{path}.price", ratio=True),
                    tax=fields.decimal(raw, "total_tax", f"{path}.total_tax") or Decimal(0),
                    line_id=fields.text(raw, "id", f"{path}.id", max_length=100),
                )
            )
        shipping_lines = payload.get("shipping_lines") or []
        if not isinstance(shipping_lines, list):
            raise ValidationFailed.on("shipping_lines", "must be a list")
        shipping_code = ""
        for n, raw in enumerate(shipping_lines):
            if not isinstance(raw, Mapping):
                raise ValidationFailed.on(f"shipping_lines.{n}", "must be an object")
            shipping_code = shipping_code or fields.text(
                raw, "method_id", f"shipping_lines.{n}.method_id", max_length=100
            )
        billing = fields.section(payload, "billing", "billing", required=False)
        shipping = fields.section(payload, "shipping", "shipping", required=False)
        phone = fields.text(billing, "phone", "billing.phone", max_length=40)
        # A shop selling only virtual goods asks for no shipping address: the billing one stands in.
        ship_to = (
            _address(shipping, "shipping", phone=phone)
            if shipping.get("address_1")
            else _address(billing, "billing")
        )
        updated_at = _gmt(payload, "date_modified_gmt", required=True)
        assert updated_at is not None
        return rules.ChannelOrder(
            external_id=fields.text(payload, "id", "id", required=True, max_length=40),
            number=fields.text(payload, "number", "number", max_length=40),
            updated_at=updated_at,
            placed_at=_gmt(payload, "date_created_gmt", required=False),
            lines=lines,
            ship_to=ship_to,
            billing=_address(billing, "billing") if billing.get("address_1") else None,
            currency=fields.text(payload, "currency", "currency", required=True, max_length=3).upper(),
            email=fields.text(billing, "email", "billing.email", max_length=320),
            shipping_code=shipping_code,
            shipping=fields.decimal(payload, "shipping_total", "shipping_total"),
            total_tax=fields.decimal(payload, "total_tax", "total_tax"),
            total=fields.decimal(payload, "total", "total"),
            taxes=_taxes(payload.get("tax_lines")),
            taxes_included=payload.get("prices_include_tax") is True,
            attributes=fields.attributes(
                payload.get("meta_data"), name_key="key", value_key="value", private_prefix="_"
            ),
        )

    def wanted(self, payload: Mapping[str, Any]) -> bool:
        return payload.get("status") in IMPORT_STATUSES

    def takes_topic(self, headers: Mapping[str, str]) -> bool:
        return headers.get(TOPIC_HEADER) in ORDER_TOPICS

    def change_topic(self, headers: Mapping[str, str]) -> bool:
        return headers.get(TOPIC_HEADER) in ORDER_TOPICS

    def changes(
        self, headers: Mapping[str, str] | None, payload: Mapping[str, Any]
    ) -> list[rules.ChannelChange]:
        """An order whose status is `cancelled` is a cancellation; each of its `refunds` (id, reason, a negative
        `total`) a refund keyed by its id; `refunded` with no refund listed, a refund of the whole `total`."""
        status = payload.get("status")
        refunds = payload.get("refunds") or []
        if status not in ("cancelled", "refunded") and not refunds:
            return []
        if not isinstance(refunds, list):
            raise ValidationFailed.on("refunds", "must be a list")
        external_id = fields.text(payload, "id", "id", required=True, max_length=40)
        at = _gmt(payload, "date_modified_gmt", required=True)
        assert at is not None
        currency = fields.text(payload, "currency", "currency", required=True, max_length=3).upper()
        found: list[rules.ChannelChange] = []
        if status == "cancelled":
            found.append(rules.ChannelChange(external_id, "cancel", "cancel", at, "cancelled on WooCommerce"))
        for n, raw in enumerate(refunds):
            if not isinstance(raw, Mapping):
                raise ValidationFailed.on(f"refunds.{n}", "must be an object")
            if rules.ours(raw.get("reason")):
                continue  # one of our refunds (its reason carries our mark), reported back: ours already
            total = fields.decimal(raw, "total", f"refunds.{n}.total") or Decimal(0)
            found.append(
                rules.ChannelChange(
                    external_id,
                    "refund",
                    fields.text(raw, "id", f"refunds.{n}.id", required=True, max_length=40),
                    at,
                    fields.text(raw, "reason", f"refunds.{n}.reason") or "refunded on WooCommerce",
                    abs(total),
                    currency,
                )
            )
        if status == "refunded" and not refunds:
            whole = fields.decimal(payload, "total", "total")
            found.append(
                rules.ChannelChange(
                    external_id, "refund", "refunded", at, "refunded on WooCommerce", whole, currency
                )
            )
        return found

    def verify_webhook(self, access: Access, headers: Mapping[str, str], body: bytes) -> None:
        given = headers.get(SIGNATURE_HEADER, "")
        if not given and TOPIC_HEADER not in headers and _PING.match(body.strip()):
            return  # the test delivery sent when the webhook is saved: acknowledged, it carries no topic
        secret = access.credentials.get("webhook_secret", "")
        if not secret:
            raise SignatureInvalid("no webhook secret is set for this connector")
        if not given or not hmac.compare_digest(webhook_signature(secret, body), given.strip()):
            raise SignatureInvalid("the X-WC-Webhook-Signature signature does not match the body")

    def poll_orders(self, access: Access, cursor: Mapping[str, Any], now: datetime) -> PollPage:
        """One page of the paid orders modified in the window [after, before): `before` is fixed when the window
        opens, so an order changed while it is read moves past it into the next window instead of being skipped."""
        after = str(cursor.get("after") or (now - FIRST_POLL).isoformat())
        before = str(cursor.get("before") or now.isoformat())
        page = int(cursor.get("page") or 1)
        report = CallReport()
        params = {
            "modified_after": _wc_time(after),
            "modified_before": _wc_time(before),
            "dates_are_gmt": "true",
            "status": ",".join(IMPORT_STATUSES),
            "orderby": "modified",
            "order": "asc",
            "per_page": str(int(access.config.get("page_size") or PAGE_SIZE)),
            "page": str(page),
        }
        with _client(access) as client:
            response = send(client, "GET", f"{API}/orders", channel=_CHANNEL, report=report, params=params)
        found = json_body(response, _CHANNEL)
        if not isinstance(found, list):
            raise CallFailed("WooCommerce's order list is not a list")
        try:
            pages = int(response.headers.get("X-WP-TotalPages") or 1)
        except ValueError:
            pages = 1
        orders = [o for o in found if isinstance(o, dict)]
        if page < pages:
            return PollPage(orders, {"after": after, "before": before, "page": page + 1}, False, report)
        # WooCommerce's date filters exclude both ends: the next window starts a second early, so an order changed
        # in the very second this window ends is read (twice at worst: the inbox makes that one order).
        overlap = datetime.fromisoformat(before) - timedelta(seconds=1)
        return PollPage(orders, {"after": overlap.isoformat()}, True, report)

    # --- outbound -------------------------------------------------------------------------------------------

    def push_stock(self, access: Access, updates: Sequence[StockUpdate]) -> CallReport:
        return self._batch(
            access, [(u.listing_id, {"manage_stock": True, "stock_quantity": u.quantity}) for u in updates]
        )

    def push_prices(self, access: Access, updates: Sequence[PriceUpdate]) -> CallReport:
        """`regular_price` (a decimal string, WooCommerce's own form) through the same batch endpoints as stock."""
        return self._batch(access, [(u.listing_id, {"regular_price": u.price}) for u in updates])

    def _batch(self, access: Access, changes: Sequence[tuple[str, dict[str, Any]]]) -> CallReport:
        report = CallReport()
        groups: dict[str, list[dict[str, Any]]] = {}
        for listing_id, fields_set in changes:
            product, variation = _listing(listing_id)
            target = f"{API}/products/{product}/variations/batch" if variation else f"{API}/products/batch"
            groups.setdefault(target, []).append({"id": int(variation or product), **fields_set})
        with _client(access) as client:
            for target, objects in groups.items():
                for batch in rules.batches(objects, STOCK_BATCH):
                    response = send(
                        client, "POST", target, channel=_CHANNEL, report=report, json={"update": list(batch)}
                    )
                    _batch_errors(json_body(response, _CHANNEL))
        return report

    def push_shipment(self, access: Access, notice: ShipmentNotice) -> CallReport:
        report = CallReport()
        order = f"{API}/orders/{notice.external_id}"
        with _client(access) as client:
            notes = json_body(
                send(
                    client,
                    "GET",
                    f"{order}/notes",
                    channel=_CHANNEL,
                    report=report,
                    params={"type": "customer"},
                ),
                _CHANNEL,
            )
            if not isinstance(notes, list):
                raise CallFailed("WooCommerce's order notes are not a list")
            told = notice.tracking_number and any(
                notice.tracking_number in str(n.get("note", "")) for n in notes if isinstance(n, Mapping)
            )
            if notice.tracking_number and not told:  # a retry after the note went out does not repeat it
                send(
                    client,
                    "POST",
                    f"{order}/notes",
                    channel=_CHANNEL,
                    report=report,
                    json={"note": _note(notice), "customer_note": True},
                )
            status = str(access.config.get("shipped_status") or "completed")
            send(client, "PUT", order, channel=_CHANNEL, report=report, json={"status": status})
        return report

    def push_cancellation(self, access: Access, notice: CancellationNotice) -> CallReport:
        """The order set to `cancelled` (WooCommerce puts its stock back; our next push sets the figure), with a
        private note saying why; an order WooCommerce shows cancelled already is left as it is."""
        report = CallReport()
        order = f"{API}/orders/{notice.external_id}"
        with _client(access) as client:
            found = json_body(send(client, "GET", order, channel=_CHANNEL, report=report), _CHANNEL)
            if isinstance(found, Mapping) and found.get("status") == "cancelled":
                return report
            send(client, "PUT", order, channel=_CHANNEL, report=report, json={"status": "cancelled"})
            send(client, "POST", f"{order}/notes", channel=_CHANNEL, report=report,
                 json={"note": f"Cancelled in the order management system: {notice.reason}"[:500],
                       "customer_note": False})  # fmt: skip
        return report

    def push_refund(self, access: Access, notice: RefundNotice) -> CallReport:
        """A refund of `amount` through the order's payment gateway (`api_refund: true`), its reason carrying our
        key: a refund already made under that key (an answer lost on the way) is not made again. A return's refund
        also names the returned units as its line items (by the ids the order was imported with; `refund_total`
        0.00 each, the money being the refund's `amount`; `api_restock` false: our stock pushes set WooCommerce's
        figure), so the order shows them refunded."""
        lines = [{"id": int(x.line_id) if x.line_id.isdigit() else x.line_id, "quantity": x.quantity,
                  "refund_total": "0.00"} for x in notice.lines if x.line_id]  # fmt: skip
        extra: dict[str, Any] = {"line_items": lines, "api_restock": False} if lines else {}
        return _refund_once(access, notice.external_id, notice.key, lambda mark: {
            "amount": str(notice.amount), "reason": f"{notice.reason[:200]} {mark}", "api_refund": True,
            **extra})  # fmt: skip

    def push_line_cancellation(self, access: Access, notice: LineCancellationNotice) -> CallReport:
        """A refund of nothing that names the cancelled units as its line items (`amount` 0, `api_refund` false:
        the money goes by its own refund notice; `api_restock` false: our stock pushes set WooCommerce's figure),
        so WooCommerce shows them refunded off the order and stops counting them; its reason carries our key, so
        one already made under it (an answer lost on the way) is not made again."""
        lines = [{"id": int(x.line_id) if x.line_id.isdigit() else x.line_id, "quantity": x.quantity,
                  "refund_total": "0.00"} for x in notice.lines]  # fmt: skip
        return _refund_once(access, notice.external_id, notice.key, lambda mark: {
            "amount": "0.00", "reason": f"Cancelled: {notice.reason[:200]} {mark}", "api_refund": False,
            "api_restock": False, "line_items": lines})  # fmt: skip


def _refund_once(
    access: Access, external_id: str, key: str, body: Callable[[str], dict[str, Any]]
) -> CallReport:
    """POST the order's refund `body(mark)` — its reason carrying our key's mark — unless one of the order's refunds
    carries the mark already (made before, its answer lost on the way)."""
    report = CallReport()
    refunds = f"{API}/orders/{external_id}/refunds"
    mark = f"[ordersmith:{key}]"
    with _client(access) as client:
        made = json_body(send(client, "GET", refunds, channel=_CHANNEL, report=report), _CHANNEL)
        if not isinstance(made, list):
            raise CallFailed("WooCommerce's refunds of the order are not a list")
        if any(mark in str(r.get("reason") or "") for r in made if isinstance(r, Mapping)):
            return report
        send(client, "POST", refunds, channel=_CHANNEL, report=report, json=body(mark))
    return report


def _note(notice: ShipmentNotice) -> str:
    carrier = f" with {notice.carrier}" if notice.carrier else ""
    url = f" ({notice.tracking_url})" if notice.tracking_url else ""
    return f"Your order has shipped{carrier}. Tracking number: {notice.tracking_number}{url}"


def _wc_time(iso: str) -> str:
    """An ISO 8601 stamp as WooCommerce's date filters read it (`dates_are_gmt`: UTC, no offset)."""
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _taxes(raw: Any) -> list[rules.ReportedTax]:
    if not isinstance(raw, list):
        return []
    found = []
    for n, tax in enumerate(raw):
        if not isinstance(tax, Mapping):
            raise ValidationFailed.on(f"tax_lines.{n}", "must be an object")
        percent = fields.decimal(tax, "rate_percent", f"tax_lines.{n}.rate_percent", ratio=True)
        amount = (fields.decimal(tax, "tax_total", f"tax_lines.{n}.tax_total") or Decimal(0)) + (
            fields.decimal(tax, "shipping_tax_total", f"tax_lines.{n}.shipping_tax_total") or Decimal(0)
        )
        found.append(
            rules.ReportedTax(
                title=fields.text(tax, "label", f"tax_lines.{n}.label"),
                rate=(percent or Decimal(0)) / 100,
                amount=amount,
            )
        )
    return found


def _batch_errors(answer: Any) -> None:
    """A batch answers 200 with an `error` object in place of each product it refused."""
    refused = [
        f"{o.get('id')}: {(o.get('error') or {}).get('message')}"
        for o in (answer.get("update") or [] if isinstance(answer, Mapping) else [])
        if isinstance(o, Mapping) and o.get("error")
    ]
    if refused:
        raise CallFailed(f"WooCommerce refused stock for {'; '.join(refused)[:300]}", permanent=True)


def _client(access: Access) -> httpx.Client:
    base = str(access.config.get("store_url", "")).rstrip("/")
    if not base:
        raise CallFailed("the connector has no store_url", permanent=True)
    key, secret = access.credentials.get("consumer_key", ""), access.credentials.get("consumer_secret", "")
    if not key or not secret:
        raise CallFailed("the connector has no consumer_key and consumer_secret", permanent=True)
    return httpx.Client(
        verify=tls.client_context(),
        base_url=base,
        auth=httpx.BasicAuth(key, secret),
        headers={"Accept": "application/json"},
        timeout=access.timeout_s,
        transport=access.transport,
    )
