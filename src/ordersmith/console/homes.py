"""Each role's home, where it lands after signing in (`/`): its worklist, never a page to click through.

- agent: a big "New phone order", the customers they opened lately (with their last contact) and the orders they
  placed (kept per browser by `recent.py`), and the hold queue's size;
- manager and admin: today's figures (as the dashboard), the oldest holds and the carriers' shipment exceptions;
- warehouse: the warehouse's own home (`/warehouse`);
- accountant: the month's close as a worklist (`books_home.py`): who is late, the exception queue, settlements'
  differences, open months, last year's close, whether the books balance, the latest exports;
- marketing: its own screens first — campaigns, key codes, results, segments, list pulls, mail files, continuity,
  offers — each with what it counts now, then the other screens the role may open;
- readonly: the screens the role may open, each with what it counts now.

Every figure is a bounded read (a page of at most a few rows, or a count over an index), never a walk of history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.console import recent
from ordersmith.console._pages import MARKETING_SCREENS, navigation, principal_for, render
from ordersmith.console.books_home import accountant_home
from ordersmith.console.dashboard import today_figures
from ordersmith.continuity import service as continuity
from ordersmith.customers import service as customers
from ordersmith.fulfillment import service as fulfillment
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import NotFound
from ordersmith.kernel.pagination import Page
from ordersmith.marketing import service as marketing
from ordersmith.orders import service as orders
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.http import unit_of_work
from ordersmith.pricing import service as pricing
from ordersmith.purchasing import service as purchasing

router = APIRouter(include_in_schema=False)
HOLDS_SHOWN = 10
EXCEPTIONS_SHOWN = 10
DRAFTS_COUNTED = 20
MARKETING_COUNTED = 20


@router.get("/")
def home(request: Request) -> Response:
    principal = principal_for(request)
    if principal.role == "warehouse":  # the floor starts at its own screen
        return RedirectResponse("/warehouse", status_code=303)
    if principal.role == "store":  # store staff start at the till
        return RedirectResponse("/pos", status_code=303)
    if principal.role == "agent":
        return render(request, "homes/agent.html", principal, **_agent(request, principal))
    if principal.role in ("manager", "admin"):
        return render(request, "homes/manager.html", principal, **_manager(request, principal))
    if principal.role == "accountant":
        return render(request, "homes/accountant.html", principal, **accountant_home(request, principal))
    return render(request, "homes/screens.html", principal, screens=_screens(request, principal))


# --- agent -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecentCustomer:
    customer: customers.Customer
    last_contact: customers.TimelineEntry | None


def _agent(request: Request, principal: Principal) -> dict[str, Any]:
    uow = unit_of_work(request)
    mine = recent.read(request, principal)
    return {
        "recent_customers": [c for c in (_recent_customer(uow, n) for n in mine.customers) if c],
        "recent_orders": [o for o in (_recent_order(uow, n) for n in mine.orders) if o],
        "figures": today_figures(request),
    }


def _recent_customer(uow: UnitOfWork, number: str) -> RecentCustomer | None:
    try:
        customer = customers.get_customer(uow, ref=number)
    except NotFound:
        return None
    last = customers.timeline(uow, ref=str(customer.id), limit=1).items
    return RecentCustomer(customer, last[0] if last else None)


def _recent_order(uow: UnitOfWork, number: str) -> orders.Order | None:
    try:
        return orders.get_order(uow, ref=number)
    except NotFound:
        return None


# --- manager ---------------------------------------------------------------------------------------------------


def _manager(request: Request, principal: Principal) -> dict[str, Any]:
    uow = unit_of_work(request)
    exceptions: list[fulfillment.ShipmentSummary] = []
    exception_count = 0
    if principal.can("fulfillment:read"):
        # Per location over the status index, only where the worklist counts any (exceptions are few).
        for work in fulfillment.warehouse_work(uow):
            exception_count += work.exceptions
            if work.exceptions:
                exceptions += fulfillment.list_shipments(
                    uow, location=work.location, status="exception", limit=EXCEPTIONS_SHOWN
                ).items
    return {
        "figures": today_figures(request),
        "holds": orders.list_holds(uow, limit=HOLDS_SHOWN),
        "exceptions": sorted(exceptions, key=lambda s: s.updated_at)[:EXCEPTIONS_SHOWN],
        "exception_count": exception_count,
    }


# --- the other roles: their screens with their counts -----------------------------------------------------------


@dataclass(frozen=True)
class Screen:
    label: str
    href: str
    about: str
    count: str  # what the screen counts now ("" where it counts nothing)
    counted: str  # what that count is


ABOUT = {
    "/dashboard": "today's orders and revenue by channel, kept current",
    "/phone-order": "take an order on the phone",
    "/orders": "find an order by channel, status, customer or date",
    "/holds": "orders waiting for a decision, oldest first",
    "/customers": "find a customer; their orders, notes and consent",
    "/stock": "an item's or style's stock by location, and its movements",
    "/purchasing": "purchase orders and replenishment suggestions",
    "/categories": "the merchandise category tree items and styles are sorted into",
    "/warehouse": "waves, picking, packing and shipments",
    "/marketing": "promotions, coupons with their uses, and price lists",
    "/campaigns": "campaigns and their drops: in-home dates, quantities mailed, costs; their key codes",
    "/source-codes": "the master list of key codes with their offers, and what each channel does with an unknown one",
    "/campaign-results": "orders, response, $ per book and ROI per key code, drop and campaign, with charts",
    "/segments": "who to mail, by rules, with live counts",
    "/extractions": "pull a segment's names: suppressions, households, test/control cells, the funnel, the mail file",
    "/mail-files": "the mail files sent, and matchback of orders that came in without a code",
    "/continuity": "continuity programs and their members",
    "/imports": "bulk imports of items, customers, stock and prices, with a dry run",
    "/reports": "sales, source codes, top items, returns, stock, receivables and tax, as tables, files and charts",
    "/exports": "orders, customers, stock, purchasing and payments in bulk (CSV, XLSX, Parquet)",
    "/events": "every event as it happens",
    "/finance/receivables": "what customers owe by days past due, their statements and invoices",
    "/finance/journal": "the journal's entries by account, period and the event that caused them",
    "/finance/statements": "trial balance, income statement and balance sheet, by division and channel",
    "/finance/settlements": "processors' payouts matched to captures and refunds, and their differences",
    "/finance/exports": "the journal exported to the accounting package, each entry once",
    "/finance/periods": "close months and fiscal years",
    "/payables/exceptions": "vendor bills that failed their three-way match",
}


def _screens(request: Request, principal: Principal) -> list[Screen]:
    uow = unit_of_work(request)
    counts: dict[str, tuple[str, str]] = {}
    if principal.can("orders:read"):
        figures = today_figures(request)
        counts["/dashboard"] = (figures["revenue_today"], "revenue today")
        counts["/orders"] = (str(figures["orders_today"]), "orders today")
        counts["/holds"] = (str(figures["on_hold"]), "orders on hold")
    if principal.can("inventory:read"):
        counts["/stock"] = (str(inventory.low_stock_count(uow)), "stock levels running low")
    if principal.can("purchasing:read"):
        drafts = purchasing.list_purchase_orders(uow, status="draft", limit=DRAFTS_COUNTED)
        count = f"{DRAFTS_COUNTED}+" if drafts.next_cursor else str(len(drafts.items))
        counts["/purchasing"] = (count, "drafts waiting for approval")
    if principal.can("pricing:write"):
        switched_on = sum(1 for p in pricing.list_promotions(uow) if p.active)  # reference data: a few rows
        counts["/marketing"] = (str(switched_on), "promotions switched on")
    entries = [entry for _, group in navigation(principal) for entry in group]
    if principal.can("marketing:read"):
        counts |= _marketing_counts(uow, principal)
    if principal.role == "marketing":  # its own screens first (those not in the top bar too), then the others
        mine = [(label, href) for label, href, scope in MARKETING_SCREENS if principal.can(scope)]
        entries = mine + [entry for entry in entries if entry not in mine]
    return [Screen(label, href, ABOUT.get(href, ""), *counts.get(href, ("", ""))) for label, href in entries]


def _counted(page: Page[Any]) -> str:
    return f"{MARKETING_COUNTED}+" if page.next_cursor else str(len(page.items))


def _marketing_counts(uow: UnitOfWork, principal: Principal) -> dict[str, tuple[str, str]]:
    """The marketing screens' counts: a page of at most MARKETING_COUNTED rows each, read by its index."""
    counts = {
        "/campaigns": (_counted(marketing.list_campaigns(uow, limit=MARKETING_COUNTED)), "campaigns"),
        "/source-codes": (_counted(marketing.list_source_codes(uow, limit=MARKETING_COUNTED)), "key codes"),
        "/segments": (_counted(marketing.list_segments(uow, limit=MARKETING_COUNTED)), "segments"),
    }
    last = marketing.list_extractions(uow, limit=1).items
    if last:
        counts["/extractions"] = (f"{last[0].names:,}", f"names in the last pull ({last[0].segment})")
    if principal.can("subscriptions:read"):
        active = continuity.list_subscriptions(uow, status="active", limit=MARKETING_COUNTED)
        counts["/continuity"] = (_counted(active), "active members")
    return counts
