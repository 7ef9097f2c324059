"""What every console page shares: the session check (by role), the CSRF check on forms, the templates and the
navigation each role sees, and money and time as people read them."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from ordersmith import __version__
from ordersmith.customers import service as customers
from ordersmith.kernel.errors import NotAuthenticated
from ordersmith.kernel.money import Money
from ordersmith.platform.access import Principal
from ordersmith.platform.http import authenticate
from ordersmith.platform.secrets import constant_time_equal

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

# Every console screen a role may open from the top bar: (label, path, the scope it needs). The bar shows them in
# groups (NAVIGATION_GROUPS, by path; a path not named there goes to the last group) that wrap as a whole, so the
# bar fits a 1280 px screen whatever a role may see.
NAVIGATION = [
    ("Dashboard", "/dashboard", "orders:read"),
    ("Phone order", "/phone-order", "orders:write"),
    ("Till", "/pos", "pos:sell"),
    ("Flagged sales", "/pos/flagged", "pos:manage"),
    ("Orders", "/orders", "orders:read"),
    ("Holds", "/holds", "orders:read"),
    ("Customers", "/customers", "customers:read"),
    ("Stock", "/stock", "inventory:read"),
    ("Purchasing", "/purchasing", "purchasing:read"),
    ("Categories", "/categories", "catalog:read"),
    ("Receivables", "/finance/receivables", "finance:read"),
    ("Journal", "/finance/journal", "finance:read"),
    ("Statements", "/finance/statements", "finance:read"),
    ("Settlements", "/finance/settlements", "finance:read"),
    ("Ledger exports", "/finance/exports", "finance:read"),
    ("Periods", "/finance/periods", "finance:read"),
    ("Match exceptions", "/payables/exceptions", "payables:read"),
    ("Offers", "/marketing", "pricing:write"),
    ("Campaigns", "/campaigns", "marketing:read"),
    ("Continuity", "/continuity", "subscriptions:read"),
    ("Segments", "/segments", "marketing:read"),
    ("List pulls", "/extractions", "marketing:read"),
    ("Warehouse", "/warehouse", "warehouse:read"),
    ("Imports", "/imports", "data:import"),
    ("Reports", "/reports", "reports:read"),
    ("Exports", "/exports", "data:export"),
    ("Live events", "/events", "events:read"),
    ("Users", "/admin/users", "users:read"),
    ("API keys", "/admin/api-keys", "api_keys:read"),
    ("Webhooks", "/admin/webhooks", "webhooks:read"),
    ("Channels", "/admin/channels", "sales_channels:write"),
    ("CRM", "/admin/crm", "crm:read"),
    ("Custom fields", "/admin/custom-fields", "custom_fields:write"),
    ("Policies", "/admin/settings", "settings:read"),
    ("Stores and tills", "/pos/setup", "pos:manage"),
]
NAVIGATION_GROUPS = {
    "Sell": (
        "/dashboard",
        "/phone-order",
        "/pos",
        "/pos/flagged",
        "/pos/setup",
        "/orders",
        "/holds",
        "/customers",
        "/marketing",
        "/campaigns",
        "/segments",
        "/extractions",
        "/continuity",
    ),
    "Goods": ("/stock", "/purchasing", "/categories", "/warehouse"),
    "Books": (
        "/finance/receivables",
        "/finance/journal",
        "/finance/statements",
        "/finance/settlements",
        "/finance/exports",
        "/finance/periods",
        "/payables/exceptions",
    ),
    "Data": ("/imports", "/reports", "/exports"),
    "Admin": (
        "/events",
        "/admin/users",
        "/admin/api-keys",
        "/admin/webhooks",
        "/admin/channels",
        "/admin/crm",
        "/admin/custom-fields",
    ),
}


# The marketing screens, linked from each other (a bar under the title) and from the marketing role's home.
MARKETING_SCREENS = [
    ("Campaigns", "/campaigns", "marketing:read"),
    ("Key codes", "/source-codes", "marketing:read"),
    ("Results", "/campaign-results", "marketing:read"),
    ("Segments", "/segments", "marketing:read"),
    ("List pulls", "/extractions", "marketing:read"),
    ("Mail files", "/mail-files", "marketing:read"),
    ("Continuity", "/continuity", "subscriptions:read"),
    ("Offers", "/marketing", "pricing:write"),
]


def navigation(principal: Principal | None) -> list[tuple[str, list[tuple[str, str]]]]:
    """The groups of (label, path) this principal may open, in NAVIGATION's order; empty groups left out."""
    if principal is None:
        return []
    last = list(NAVIGATION_GROUPS)[-1]
    group_of = {path: group for group, paths in NAVIGATION_GROUPS.items() for path in paths}
    groups: dict[str, list[tuple[str, str]]] = {group: [] for group in NAVIGATION_GROUPS}
    for label, href, scope in NAVIGATION:
        if scope is None or principal.can(scope):
            groups[group_of.get(href, last)].append((label, href))
    return [(group, entries) for group, entries in groups.items() if entries]


def money(value: Money | None) -> str:
    """`$1,234.50`-style for USD, `1,234.50 EUR` otherwise."""
    if value is None:
        return ""
    text = f"{value.amount:,.2f}"
    return f"${text}" if value.currency == "USD" else f"{text} {value.currency}"


templates.env.filters["money"] = money
templates.env.filters["phone"] = lambda e164: customers.display_phone(e164) if e164 else ""
templates.env.filters["when"] = lambda at: at.strftime("%Y-%m-%d %H:%M") if at else ""


def age(at: datetime, now: datetime) -> str:
    """How long ago, as a queue reads it: `45 min`, `5 h`, `3 d` (a no-break space: one line in a narrow cell)."""
    minutes = max(int((now - at).total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes}\u00a0min"
    if minutes < 48 * 60:
        return f"{minutes // 60}\u00a0h"
    return f"{minutes // (24 * 60)}\u00a0d"


templates.env.filters["age"] = age
templates.env.globals["marketing_screens"] = MARKETING_SCREENS


class LoginRequired(Exception):
    """No console session: send the browser to the login page."""


class PageForbidden(Exception):
    """The user may not see or do this: render an error page, not problem+json."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def principal_for(request: Request, scope: str | None = None) -> Principal:
    try:
        principal = authenticate(request)
    except NotAuthenticated as exc:
        raise LoginRequired from exc
    if principal.kind != "user":
        raise LoginRequired
    if scope is not None and not principal.can(scope):
        raise PageForbidden(f"your role ({principal.role}) may not open this page")
    return principal


def user_id_of(principal: Principal) -> uuid.UUID:
    assert principal.id is not None  # principal_for() lets only signed-in users through
    return principal.id


def check_form_csrf(principal: Principal, token: str) -> None:
    if not (principal.csrf_token and constant_time_equal(token, principal.csrf_token)):
        raise PageForbidden("the form expired or did not come from this console; reload the page")


def render(
    request: Request, template: str, principal: Principal | None, status: int = 200, **context: Any
) -> Response:
    groups = navigation(principal)
    return templates.TemplateResponse(
        request,
        template,
        {
            "principal": principal,
            "nav": [entry for _, entries in groups for entry in entries],
            "nav_groups": groups,
            "version": __version__,
            "path": request.url.path,
            **context,
        },
        status_code=status,
    )
