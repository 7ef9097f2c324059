"""Dunning letters (pure): which letter a customer's oldest past-due invoice calls for, and the letter itself as
plain text or HTML from a template.

Invariant: a letter lists exactly the invoices it is given and their balances add up to the total it asks for;
every value placed in the HTML is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from string import Template

# (stage, first day past due it applies from, subject, the paragraph that says what we ask). In order: the last
# stage whose first day the oldest invoice has reached is the letter.
STAGES: tuple[tuple[str, int, str, str], ...] = (
    (
        "reminder",
        1,
        "Payment reminder",
        "Our records show the invoices below are past due. If you have already paid, thank you and please "
        "disregard this letter; otherwise please send payment of $total at your earliest convenience.",
    ),
    (
        "second_notice",
        31,
        "Second notice: invoices past due",
        "We have not yet received payment for the invoices below, now more than 30 days past due. Please send "
        "payment of $total within 10 days, or contact us to arrange it.",
    ),
    (
        "final_notice",
        61,
        "Final notice before collection",
        "The invoices below are more than 60 days past due and new orders on account are on hold. Unless payment "
        "of $total reaches us within 10 days, we will pass the account to collection.",
    ),
)

TEXT = Template(
    """$retailer

$date

$customer_name (customer $customer_number)

$subject

Dear customer,

$ask

$table
Total past due: $total
$credit
Please quote the invoice numbers with your payment.

$retailer
"""
)

HTML = Template(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>$subject</title></head>
<body>
<p>$retailer</p>
<p>$date</p>
<p>$customer_name (customer $customer_number)</p>
<h1>$subject</h1>
<p>Dear customer,</p>
<p>$ask</p>
<table>
<thead><tr><th>Invoice</th><th>Order</th><th>Due</th><th>Days past due</th><th>Balance</th></tr></thead>
<tbody>
$rows</tbody>
</table>
<p><strong>Total past due: $total</strong></p>
$credit<p>Please quote the invoice numbers with your payment.</p>
<p>$retailer</p>
</body></html>
"""
)


@dataclass(frozen=True)
class PastDue:
    invoice: str
    order: str
    due_on: date
    days_past_due: int
    balance: str  # formatted, e.g. "USD 120.00"
    balance_minor: int


@dataclass(frozen=True)
class Letter:
    stage: str
    subject: str
    text: str
    html: str
    total_minor: int
    currency: str


def stage_for(days_past_due: int) -> tuple[str, str, str] | None:
    """(stage, subject, ask) for the oldest invoice's days past due; None when nothing is past due."""
    found = None
    for stage, first_day, subject, ask in STAGES:
        if days_past_due >= first_day:
            found = (stage, subject, ask)
    return found


def letter(
    *,
    retailer: str,
    customer_name: str,
    customer_number: str,
    on: date,
    items: Sequence[PastDue],
    currency: str,
    total: str,
    credit: str = "",
) -> Letter | None:
    """The letter for these past-due invoices (None when there are none); `credit` names unapplied cash the
    customer holds (it is not taken off the total: applying it is the accountant's act)."""
    if not items:
        return None
    oldest = max(item.days_past_due for item in items)
    stage = stage_for(oldest)
    if stage is None:
        return None
    name, subject, ask_template = stage
    total_text = f"{total} {currency}"
    ask = Template(ask_template).substitute(total=total_text)
    credit_line = f"You hold {credit} of unapplied payments with us." if credit else ""
    width = max(len(item.invoice) for item in items)
    table = "".join(
        f"  {item.invoice:<{width}}  order {item.order:<10}  due {item.due_on.isoformat()}  "
        f"{item.days_past_due:>4} days  {item.balance:>14}\n"
        for item in items
    )
    values = {
        "retailer": retailer,
        "date": on.isoformat(),
        "customer_name": customer_name,
        "customer_number": customer_number,
        "subject": subject,
        "ask": ask,
        "table": table,
        "total": total_text,
    }
    text = TEXT.substitute(values, credit=f"{credit_line}\n" if credit_line else "")
    escaped = {key: html.escape(value) for key, value in values.items() if key != "table"}
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(cell)}</td>"
            for cell in (
                item.invoice,
                item.order,
                item.due_on.isoformat(),
                str(item.days_past_due),
                item.balance,
            )
        )
        + "</tr>\n"
        for item in items
    )
    page = HTML.substitute(
        escaped, rows=rows, credit=f"<p>{html.escape(credit_line)}</p>\n" if credit_line else ""
    )
    return Letter(name, subject, text, page, sum(item.balance_minor for item in items), currency)
