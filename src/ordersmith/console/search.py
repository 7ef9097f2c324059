"""Global search, one keystroke away (`/`): customers by name, phone (any format), e-mail or postal code; orders by
number or channel order id; items by SKU or name. `/search` is a page (works without JavaScript);
`/search/results` is the same answer as a fragment the search box shows while the agent types."""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ordersmith.catalog import service as catalog
from ordersmith.console._pages import principal_for, render, templates
from ordersmith.customers import service as customers
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.orders import service as orders
from ordersmith.platform.access import Principal
from ordersmith.platform.http import unit_of_work

router = APIRouter(include_in_schema=False)


def _found(request: Request, principal: Principal, q: str) -> dict[str, Any]:
    uow = unit_of_work(request)
    found: dict[str, Any] = {"q": q, "customers": [], "orders": [], "items": []}
    if len(q.strip()) < 2:
        return found
    if principal.can("customers:read"):
        with contextlib.suppress(ValidationFailed):  # e.g. a query of symbols only
            found["customers"] = customers.search_customers(uow, q=q, limit=8)
    if principal.can("orders:read"):
        found["orders"] = orders.find_orders(uow, q=q, limit=6)
    if principal.can("catalog:read"):
        found["items"] = catalog.find_items(uow, q=q, limit=6)
    return found


@router.get("/search")
def search_page(request: Request, q: str = "") -> Response:
    principal = principal_for(request)
    return render(request, "search.html", principal, **_found(request, principal, q))


@router.get("/search/results")
def search_results(request: Request, q: str = "") -> Response:
    principal = principal_for(request)
    return templates.TemplateResponse(request, "_search_results.html", _found(request, principal, q))
