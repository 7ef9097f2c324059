"""The inventory subledger trued up to the inventory account, once, after an upgrade (ADR 0041's migration note).

A database that held item costs before the subledger was kept by value (migration
`0048_fincost_landed_and_location_costs`, ADR 0041) starts each item's value at units times its average, while the
inventory account holds what was posted — the rounding of every earlier average apart. Nothing that posts since can
close that difference (each posting moves the account and the items' values by the same amount, in one
transaction), so it is posted here: per currency, one entry of the difference between the account and the items'
value, against the account the business keeps for inventory adjustments.

Invariants: the difference is read in one statement (one snapshot: a posting committing meanwhile moves both sides
or neither); two true-ups at once are serialised on the inventory account's row, so the second finds nothing left
to post; a currency without a difference posts nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import cast

import sqlalchemy as sa

from ordersmith.finance import rules
from ordersmith.finance.service._common import mappings
from ordersmith.finance.service.journal import write_entry
from ordersmith.finance.tables import AccountRow, ItemCostRow, PeriodBalanceRow
from ordersmith.kernel.errors import Conflict, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork, use_case

RULE = "inventory_true_up"
_ACCOUNTS = cast(sa.Table, AccountRow.__table__)
_ITEMS = cast(sa.Table, ItemCostRow.__table__)
_BALANCES = cast(sa.Table, PeriodBalanceRow.__table__)


@dataclass(frozen=True)
class TrueUp:
    """One currency's true-up: `amount` posted to the inventory account (above zero a debit: the account held less
    than the items' value; below zero a credit), against `account`."""

    currency: str
    amount: Money
    account: str
    entry_id: uuid.UUID


def _differences(uow: UnitOfWork, inventory: str) -> dict[str, int]:
    """Per currency, Σ items' value minus the inventory account's balance (what to post to the account), in one
    statement."""
    held = sa.select(_ITEMS.c.currency.label("currency"), _ITEMS.c.value_minor.label("minor"))
    booked = sa.select(
        _BALANCES.c.currency.label("currency"),
        (_BALANCES.c.credit_minor - _BALANCES.c.debit_minor).label("minor"),
    ).where(_BALANCES.c.account_code == inventory)
    both = sa.union_all(held, booked).subquery()
    query = sa.select(both.c.currency, sa.func.sum(both.c.minor)).group_by(both.c.currency)
    return {str(c): int(m) for c, m in uow.execute_core(query) if c and m}


@use_case
def true_up_inventory(uow: UnitOfWork, *, account: str, posted_on: date | None = None) -> list[TrueUp]:
    """Post what separates the inventory account from the inventory subledger, per currency, against `account`
    (an active account that is not the inventory account); returns the entries posted (none when they agree).

    Raises:
        ValidationFailed: `account` unknown, inactive or the inventory account itself; nothing is posted.
        Conflict: no account is mapped to the inventory role.
        PeriodClosed: `posted_on` (today by default) falls in a closed period.
    """
    try:
        inventory = rules.resolve(mappings(uow), "role", "inventory")
    except rules.UnmappedAccount as exc:  # the chart's inventory role mapped away: nothing to true up against
        raise Conflict(f"{exc}: map the inventory role to an account first") from None
    account = account.strip()
    # Serialise true-ups on the inventory account's row: the second one reads what the first one posted.
    found = uow.session.execute(
        sa.select(_ACCOUNTS.c.code, _ACCOUNTS.c.active)
        .where(_ACCOUNTS.c.code.in_(sorted({inventory, account})))
        .order_by(_ACCOUNTS.c.code)
        .with_for_update()
    ).all()
    active = {code: bool(on) for code, on in found}
    if account == inventory:
        raise ValidationFailed.on(
            "account", f"{account} is the inventory account: name the adjustment account"
        )
    if account not in active:
        raise ValidationFailed.on("account", f"no account {account}")
    if not active[account]:
        raise ValidationFailed.on("account", f"account {account} is inactive")
    day = posted_on or uow.now().date()
    posted = []
    for currency, minor in sorted(_differences(uow, inventory).items()):
        memo = "Inventory subledger true-up: the items' value at cost against the inventory account"
        lines = [
            rules.Line(inventory, max(minor, 0), max(-minor, 0), memo),
            rules.Line(account, max(-minor, 0), max(minor, 0), memo),
        ]
        entry_id = write_entry(uow, lines=lines, currency=currency, posted_on=day, rule=RULE, memo=memo,
                               reference="inventory-true-up", refuse_closed=True)  # fmt: skip
        uow.audit("finance.inventory_trued_up", object_type="journal_entry", object_id=str(entry_id),
                  after={"currency": currency, "amount_minor": minor, "account": account})  # fmt: skip
        posted.append(TrueUp(currency, Money.from_minor(minor, currency), account, entry_id))
    return posted
