"""What one agent worked on lately, for their home page: the customers they opened and the orders they placed.

Kept in a cookie of the browser they sign in on (no table: it is a convenience, not a record — the audit log is the
record), bound to the user who signed in, at most KEEP of each, newest first. Only numbers are kept; the home page
reads each one through its context's service (so a number that no longer resolves is simply left out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

from ordersmith.console._pages import user_id_of
from ordersmith.platform.access import Principal
from ordersmith.platform.http import get_settings

COOKIE = "ordersmith_recent"
KEEP = 8
_NUMBER = re.compile(r"[A-Za-z0-9-]{1,20}")


@dataclass(frozen=True)
class Recent:
    customers: list[str]  # customer numbers, newest first
    orders: list[str]  # order numbers, newest first


def _numbers(text: str) -> list[str]:
    return [n for n in text.split(".") if _NUMBER.fullmatch(n)][:KEEP]


def read(request: Request, principal: Principal) -> Recent:
    """This user's recent customers and orders (empty for another user's cookie or a malformed one)."""
    user, _, rest = request.cookies.get(COOKIE, "").partition("~")
    if user != user_id_of(principal).hex:
        return Recent([], [])
    customers, _, orders = rest.partition("~")
    return Recent(_numbers(customers), _numbers(orders))


def remember(
    request: Request,
    response: Response,
    principal: Principal,
    *,
    customer: str | None = None,
    order: str | None = None,
) -> Response:
    """Put `customer` and `order` first in this user's lists (kept for 30 days) and return the response."""
    now = read(request, principal)
    customers = ([customer] if customer else []) + [c for c in now.customers if c != customer]
    orders = ([order] if order else []) + [o for o in now.orders if o != order]
    kept = (".".join(_numbers(".".join(numbers))) for numbers in (customers, orders))
    value = "~".join((user_id_of(principal).hex, *kept))
    response.set_cookie(
        COOKIE,
        value,
        max_age=30 * 24 * 3600,
        path="/",
        httponly=True,
        secure=get_settings(request).cookie_secure,
        samesite="lax",
    )
    return response
