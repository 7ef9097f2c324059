"""The phone-order form as data: its rows of lines and recipients (any number of each, `line-N-…` and
`ship-N-…`), the API's `OrderIn` it describes, and the live quote the screen shows beside it.

The quote is priced exactly as `POST /api/v1/orders/quote` prices it; a coupon that does not apply does not take the
quote away: it is named beside the coupon field with its reason, and the rest is priced without it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from ordersmith.checkout.schemas import order_request
from ordersmith.kernel.errors import OrdersmithError, ValidationFailed
from ordersmith.orders import service as orders
from ordersmith.orders.schemas import OrderIn
from ordersmith.platform import sales_channels
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.schemas import validated
from ordersmith.pricing import rules as pricing_rules

RECIPIENT_REFS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code")
REQUIRED_ADDRESS = ("name", "line1", "city")

# What an agent reads beside the coupon field, for each reason pricing gives.
COUPON_REASONS = {
    "coupon_unknown": "no such coupon",
    "coupon_expired": "expired or not started yet",
    "coupon_exhausted": "used up",
    "coupon_not_applicable": "not for this customer, channel or order",
    "coupon_below_threshold": "the order is below the coupon's minimum",
    "coupon_not_combinable": "cannot be combined with another offer on this order",
}
BRAND_NAMES = {"amex": "Amex", "mastercard": "Mastercard", "jcb": "JCB", "unionpay": "UnionPay"}


def card_label(brand: str, last_four: str) -> str:
    """`Visa ····4242`: how a stored card is shown (never its number, never its token)."""
    return f"{BRAND_NAMES.get(brand, brand.capitalize())} ····{last_four}"


def indexed(form: Any, prefix: str, *, keep_empty: bool = False) -> list[dict[str, str]]:
    """Rows of a form sent as `prefix-N-field` (any N), in N's order, skipping rows left empty unless asked."""
    rows: dict[int, dict[str, str]] = {}
    pattern = re.compile(rf"^{prefix}-(\d{{1,4}})-(.+)$")
    for key, value in form.multi_items():
        match = pattern.match(key)
        if match and isinstance(value, str):
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = value.strip()
    return [rows[n] for n in sorted(rows) if keep_empty or any(v for k, v in rows[n].items() if k != "ref")]


def screen_rows(form: Any) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The lines and recipients to draw: those typed (after a refusal), else one empty line and recipient A."""
    lines = [r for r in indexed(form, "line") if r.get("sku")] or [{}]
    recipients = [r for r in indexed(form, "ship") if r.get("name") or r.get("line1")] or [
        {"ref": "A", "name": str(form.get("ship-0-name", "")), "country": "US"}
    ]
    for n, recipient in enumerate(recipients):
        recipient["ref"] = recipient.get("ref") or RECIPIENT_REFS[n % len(RECIPIENT_REFS)]
    return lines, recipients


def order_in(form: Any, *, to_quote: bool = False) -> OrderIn:
    """The order the entry form describes, checked by the API's own model: the console refuses what the API
    refuses (a country of three letters, a 5,000-character name, a quantity of `1.5`), field by field. `to_quote`:
    an address still being typed is priced by what pricing reads (country, state, postal code, method), so a name,
    street or city not typed yet stands as "…" — only for the quote, never for an order.

    Raises:
        ValidationFailed: naming each field as the API names it (`ship_tos.0.country`, `lines.0.quantity`).
    """
    ship_rows = [r for r in indexed(form, "ship") if r.get("name") or r.get("line1")]
    ship_tos: list[dict[str, Any]] = [
        {
            "ref": s.get("ref") or RECIPIENT_REFS[n % len(RECIPIENT_REFS)],
            **{
                name: s.get(name) or ("…" if to_quote and name in REQUIRED_ADDRESS else "")
                for name in ADDRESS_FIELDS
            },
            "country": s.get("country") or "US",
            "phone": s.get("phone", ""),
            "method": s.get("method") or "ground",
        }
        for n, s in enumerate(ship_rows)
    ]
    lines = [
        {
            "sku": row["sku"],
            "quantity": row.get("quantity") or "1",
            "ship_to": row.get("ship_to") or (ship_tos[0]["ref"] if ship_tos else "A"),
            "personalization": {k.removeprefix("p-"): v for k, v in row.items() if k.startswith("p-") and v},
            "gift_message": row.get("gift_message", ""),
        }
        for row in indexed(form, "line")
        if row.get("sku")
    ]
    payments = [
        {
            "method": p["method"],
            "amount": p.get("amount") or None,
            "token": p.get("token", ""),
            "reference": p.get("reference", ""),
            "bank": p.get("bank", ""),
        }
        for p in indexed(form, "pay")
        if p.get("method")
    ]
    new_customer = None
    if not form.get("customer") and (form.get("first_name") or form.get("last_name")):
        new_customer = {
            name: str(form.get(name, "")) for name in ("first_name", "last_name", "email", "phone")
        }
    return validated(
        OrderIn,
        {
            "lines": lines,
            "ship_tos": ship_tos,
            "customer": str(form.get("customer") or "") or None,
            "new_customer": new_customer,
            "source_code": str(form.get("source_code") or "") or None,
            "coupons": coupons_of(form),
            "payments": payments,
        },
    )


def coupons_of(form: Any) -> list[str]:
    return [c.strip() for c in str(form.get("coupons", "")).split(",") if c.strip()]


@dataclass
class QuoteView:
    """What the quote panel shows: the quote (None until there is something to price), why it could not be
    priced, and the coupons left out with their reasons."""

    quote: pricing_rules.Quote | None = None
    problems: list[str] = field(default_factory=list)
    refused_coupons: dict[str, str] = field(default_factory=dict)
    line_numbers: dict[str, int] = field(
        default_factory=dict
    )  # the quote's line ref → the form's line number

    @property
    def status(self) -> int:
        return 422 if self.problems else 200


def _coupon_refusals(exc: ValidationFailed, coupons: list[str]) -> dict[str, str] | None:
    """The coupons a refusal names with their reasons, when coupons are all it is about; else None."""
    refused: dict[str, str] = {}
    for error in exc.errors:
        match = re.fullmatch(r"coupons\.(\d+)", error.field)
        if match is None or int(match.group(1)) >= len(coupons):
            return None
        refused[coupons[int(match.group(1))].upper()] = COUPON_REASONS.get(error.message, error.message)
    return refused or None


def quote_view(uow: UnitOfWork, principal: Principal, form: Any) -> QuoteView:
    """Price what the form holds, as `POST /api/v1/orders/quote` would (nothing reserved or written). A coupon
    that does not apply is set aside with its reason and the rest priced without it."""
    rows = indexed(form, "line", keep_empty=True)  # numbered as the screen numbers them, empty rows too
    positions = [position for position, row in enumerate(rows, start=1) if row.get("sku")]
    view = QuoteView(line_numbers={str(n): position for n, position in enumerate(positions)})
    if not positions:
        return view
    if not [r for r in indexed(form, "ship") if r.get("name") or r.get("line1")]:
        view.problems = ["add a recipient (a name or a street) to price shipping and tax"]
        return view
    coupons = coupons_of(form)
    try:
        body = order_in(form, to_quote=True).model_copy(update={"payments": [], "new_customer": None})
        channel = sales_channels.ordering_channel(uow, principal, str(form.get("channel") or "") or None)
        wanted = order_request(body, channel.currency)
        try:
            view.quote = orders.quote_order(uow, channel=channel, request=wanted)
        except ValidationFailed as exc:
            refused = _coupon_refusals(exc, coupons)
            if refused is None:
                raise
            view.refused_coupons = refused
            kept = tuple(c for c in wanted.coupons if c.upper() not in refused)
            view.quote = orders.quote_order(uow, channel=channel, request=replace(wanted, coupons=kept))
    except OrdersmithError as exc:
        view.problems = [f"{e.field}: {e.message}" for e in exc.errors] or [exc.detail]
    return view
