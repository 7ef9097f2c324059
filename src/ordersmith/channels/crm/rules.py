"""Pure CRM rules: what a customer and an order look like as a CRM contact and deal, and which deal stage an order
is at. Invariant: money leaves as a decimal string in the currency's exponent, never a float; times as UTC ISO 8601.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

KINDS = ("hubspot",)
DEFAULT_BASE_URL = "https://api.hubapi.com"
DEFAULT_PIPELINE = "default"
# HubSpot's default sales pipeline's stage ids (docs/crm-hubspot.md): an order is open until shipped in full.
DEFAULT_STAGES = {"open": "contractsent", "won": "closedwon", "lost": "closedlost"}
DEFAULT_CONSENT_PROPERTY = "ordersmith_marketing_consent"
DEFAULT_ORDER_ID_PROPERTY = "ordersmith_order_id"
DEFAULT_BATCH_SIZE = 100  # HubSpot's batch endpoints take at most 100 inputs
DEFAULT_WINDOW_S = 5
MAX_ATTEMPTS = 5
BACKOFF_BASE_S = 30
BACKOFF_CAP_S = 3600


@dataclass(frozen=True)
class Person:
    """The customer facts a contact carries."""

    number: str
    email: str  # the primary e-mail, "" when there is none
    first_name: str
    last_name: str
    company: str
    phone: str  # E.164, "" when there is none
    marketing_consent: bool  # may be e-mailed marketing (not `do_not_email`)


@dataclass(frozen=True)
class Sale:
    """The order facts a deal carries."""

    order_id: str
    number: str
    status: str
    fulfillment_status: str
    total: Decimal
    currency: str
    placed_at: datetime


def stage_of(status: str, fulfillment_status: str) -> str:
    """`open`, `won` (shipped in full or completed) or `lost` (cancelled)."""
    if status == "cancelled":
        return "lost"
    if status in ("shipped", "completed") or fulfillment_status == "shipped":
        return "won"
    return "open"


def hubspot_time(at: datetime) -> str:
    """A datetime property value as HubSpot takes it: UTC ISO 8601 with milliseconds."""
    assert at.tzinfo is not None, "times are timezone-aware"
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def contact_properties(person: Person, *, consent_property: str) -> dict[str, str]:
    """The contact's properties (every value a string, as HubSpot's API takes them; a checkbox is "true"/"false")."""
    properties = {
        "firstname": person.first_name,
        "lastname": person.last_name,
        "company": person.company,
        "phone": person.phone,
        consent_property: "true" if person.marketing_consent else "false",
    }
    if person.email:
        properties["email"] = person.email
    return properties


def deal_properties(
    sale: Sale, *, pipeline: str, stages: Mapping[str, str], order_id_property: str
) -> dict[str, str]:
    """The deal's properties: named by the order number, the total as a decimal string, the stage from the order's
    state, closing on the day it was placed."""
    assert isinstance(sale.total, Decimal), "money is Decimal"
    return {
        "dealname": sale.number,
        "amount": str(sale.total),
        "deal_currency_code": sale.currency,
        "pipeline": pipeline,
        "dealstage": stages[stage_of(sale.status, sale.fulfillment_status)],
        "closedate": hubspot_time(sale.placed_at),
        order_id_property: sale.order_id,
    }


def retry_delay_s(attempts: int, *, permanent: bool) -> int | None:
    """Seconds until a sync that failed `attempts` times runs again; None: dead-letter it now."""
    if permanent or attempts >= MAX_ATTEMPTS:
        return None
    return int(min(BACKOFF_BASE_S * 2 ** (attempts - 1), BACKOFF_CAP_S))


def rate_limit_text(rate_limit: Mapping[str, object], *, now: datetime) -> str:
    """The CRM's last word on its rate limit as staff read it (the console and the CLI): calls left in its rolling
    window and today, and the wait it asked for while that wait lasts; "" when it has said nothing yet."""
    parts: list[str] = []
    if "remaining" in rate_limit and "max" in rate_limit:
        window = rate_limit.get("interval_ms")
        per = f" per {int(window) / 1000:g} s" if isinstance(window, int) else ""
        parts.append(f"{rate_limit['remaining']} of {rate_limit['max']} calls left{per}")
    if "daily_remaining" in rate_limit and "daily" in rate_limit:
        parts.append(f"{rate_limit['daily_remaining']} of {rate_limit['daily']} today")
    waiting = rate_limit.get("waiting_until")
    if isinstance(waiting, str):
        try:
            until = datetime.fromisoformat(waiting)
        except ValueError:
            until = None
        if until is not None and until.tzinfo is not None and until > now:
            parts.append(f"throttled until {until.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC")
    return "; ".join(parts)
