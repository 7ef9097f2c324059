"""What the accountant's screens share: the books' sub-navigation, a refusal as a form shows it (the RFC 9457
problem's detail, and each `errors[]` entry beside the field it names), and the small readers of form values.

A refused form is rendered again with what was typed, the status the API would answer, the problem's detail in an
alert and each field's message next to the field (`aria-invalid`, `aria-describedby`); nothing was written.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from ordersmith.console._pages import money, render, templates
from ordersmith.kernel.errors import NotFound, OrdersmithError, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.platform.access import Principal
from ordersmith.platform.schemas import money_in

_AMOUNT = re.compile(r"^[0-9]{1,15}(\.[0-9]{1,4})?$")

BUCKET_LABELS = (
    "current",
    "1-30",
    "31-60",
    "61-90",
    "91-120",
    "over 120",
)  # the aging's, as people read them
# The books' screens, as their sub-navigation lists them: (label, path, the scope it needs).
BOOKS = [
    ("Overview", "/", "finance:read"),
    ("Receivables", "/finance/receivables", "finance:read"),
    ("Cash on account", "/finance/cash", "finance:read"),
    ("Dunning", "/finance/dunning", "finance:read"),
    ("Journal", "/finance/journal", "finance:read"),
    ("Statements", "/finance/statements", "finance:read"),
    ("Settlements", "/finance/settlements", "finance:read"),
    ("Disputes", "/finance/disputes", "finance:read"),
    ("Ledger exports", "/finance/exports", "finance:read"),
    ("Costing", "/finance/costing", "finance:read"),
    ("Periods and years", "/finance/periods", "finance:read"),
    ("Vendor bills", "/payables/bills", "payables:read"),
    ("Match exceptions", "/payables/exceptions", "payables:read"),
]


@dataclass(frozen=True)
class Refusal:
    """A use case's refusal as a page shows it: the status, the problem's detail and each field's message."""

    status: int = 200
    detail: str = ""
    fields: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.detail)


NO_REFUSAL = Refusal()


def refusal(exc: OrdersmithError) -> Refusal:
    """The problem+json the API would answer, for a page: its status, detail and `errors[]` by field (the first
    message of a field wins; a nested field's message also stands beside its form field, `file.net` beside
    `file`)."""
    fields: dict[str, str] = {}
    for error in exc.errors:
        fields.setdefault(error.field, error.message)
    for error in exc.errors:  # a file's row and column (`file.net`) is shown beside the file's own field
        fields.setdefault(error.field.split(".")[0], error.message)
    return Refusal(exc.status, exc.detail, fields)


templates.env.filters["minor"] = lambda minor, currency: money(Money.from_minor(int(minor), currency))


def books_nav(principal: Principal) -> list[tuple[str, str]]:
    return [(label, href) for label, href, scope in BOOKS if principal.can(scope)]


def page(
    request: Request, template: str, principal: Principal, *, refused: Refusal = NO_REFUSAL, **context: Any
) -> Response:
    """Render a books screen with its sub-navigation and any refusal (its status, else 200)."""
    return render(
        request,
        template,
        principal,
        status=refused.status if refused else 200,
        books=books_nav(principal),
        refused=refused,
        **context,
    )


def not_found(request: Request, principal: Principal, exc: NotFound) -> Response:
    return render(request, "error.html", principal, status=404, title="Not found", detail=exc.detail)


def day(value: str, field_name: str) -> date | None:
    """A date typed in a form (None when left empty); ValidationFailed names the field."""
    text = value.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed.on(field_name, "a date, YYYY-MM-DD") from None


def amount(value: str, currency: str, field_name: str) -> Money | None:
    """An amount typed in a form in `currency` (None when left empty), read as the API reads one (at most 15
    digits, no finer than the currency's minor unit); ValidationFailed names the field."""
    text = value.strip()
    if not text:
        return None
    if not _AMOUNT.match(text):
        raise ValidationFailed.on(field_name, f"an amount in {currency}, e.g. 25.00")
    return money_in(text, currency, field=field_name)


_REF = re.compile(r"^[A-Za-z0-9._-]{1,40}$")


def ref(value: str, what: str) -> str:
    """A customer, invoice or settlement number from a URL: one that cannot be any record's is not found (never a
    query with a NUL byte or a page of text in it)."""
    if not _REF.match(value):
        raise NotFound(f"no {what} {value[:40]!r}")
    return value


def record_id(value: str, what: str) -> uuid.UUID:
    """A journal entry's or an export's id from a URL: anything else is not found."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"no {what} {value[:40]!r}") from None


def current_period(today: date) -> str:
    return f"{today.year:04d}-{today.month:02d}"
