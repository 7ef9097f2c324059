"""Evaluating the hold rules for an order, at capture and again after a change — one place that gathers the facts
the pure `rules.holds` looks at (velocity, open balance on account, addresses) from the order row."""

from __future__ import annotations

import functools

import sqlalchemy as sa

from ordersmith.customers import service as customers
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.orders import rules
from ordersmith.orders.service._common import holds_of, move
from ordersmith.orders.service.policies import hold_policy
from ordersmith.orders.tables import OrderHoldRow, OrderLineRow, OrderRow
from ordersmith.platform import plugins
from ordersmith.platform.db import UnitOfWork

# Marketplaces screen their own buyers and a store sale is face to face: the fraud rules do not apply there.
UNSCREENED_CHANNEL_KINDS = frozenset({"marketplace", "pos"})
ON_ACCOUNT = "on_account"  # the card_key of an order paid on account

# Two counts, each from its own (key, placed_at) index: only this card's and this address's recent orders are read,
# never every order of the window (an OR over both let the planner pick the placed_at index and read them all).
_VELOCITY = sa.select(
    sa.select(sa.func.count())
    .where(OrderRow.card_key == sa.bindparam("card"), OrderRow.placed_at >= sa.bindparam("since"))
    .scalar_subquery(),
    sa.select(sa.func.count())
    .where(OrderRow.address_key == sa.bindparam("address"), OrderRow.placed_at >= sa.bindparam("since"))
    .scalar_subquery(),
)
# What the customer owes on account in other open orders (this one excluded: its total is counted separately).
_OPEN_ON_ACCOUNT = sa.select(sa.func.coalesce(sa.func.sum(OrderRow.total_minor), 0)).where(
    OrderRow.customer_id == sa.bindparam("customer"),
    OrderRow.id != sa.bindparam("order"),
    OrderRow.status.not_in(("cancelled", "completed")),
    # not yet invoiced (payments keeps the exact figure, invoices included, in `account_balances`)
    OrderRow.payment_status.in_(("pending", "authorized", "partially_captured")),
    OrderRow.card_key == ON_ACCOUNT,
)


def evaluate_holds(
    uow: UnitOfWork, order: OrderRow, *, buyer: customers.BuyerFacts | None, screen_fraud: bool, first_order: bool,
    review: bool, credit_decided: bool = False,
) -> list[rules.Hold]:  # fmt: skip
    """Every reason to hold `order` as it stands (its row, not yet necessarily written). The fraud rules run only
    when `screen_fraud` and a policy exists for the order's currency and channel (set in the console:
    `orders.hold_thresholds`). `credit_decided`: checkout decided the credit on account already (one conditional
    UPDATE against the limit), so the estimate here is skipped."""
    policy = hold_policy(uow, currency=order.currency, channel=order.channel) if screen_fraud else None
    same_card = same_address = 0
    if policy is not None:
        counts = uow.execute_core(_VELOCITY, {"card": order.card_key or "-", "address": order.address_key,
                                              "since": uow.now() - policy.velocity_window}).first()  # fmt: skip
        same_card, same_address = (int(counts[0]), int(counts[1])) if counts else (0, 0)
    on_account = order.card_key == ON_ACCOUNT and not credit_decided
    open_balance = Money.zero(order.currency)
    if on_account and buyer is not None:
        owed = uow.execute_core(_OPEN_ON_ACCOUNT, {"customer": buyer.id, "order": order.id}).scalar() or 0
        open_balance = Money.from_minor(int(owed), order.currency)
    limit = buyer.credit_limit if buyer and buyer.credit_limit else None
    limit = limit if limit is not None and limit.currency == order.currency else None
    facts = rules.OrderFacts(
        total=Money.from_minor(order.total_minor, order.currency),
        billing_country=(order.billing or {}).get("country", "").upper() or None,
        ship_countries=tuple(s["country"].upper() for s in order.ship_tos),
        first_order=first_order,
        on_account=on_account,
        credit_limit=limit,
        open_balance=open_balance,
        recent_orders_same_card=same_card if order.card_key and order.card_key != ON_ACCOUNT else 0,
        recent_orders_same_address=same_address,
        undeliverable=tuple(
            s["ref"] for s in order.ship_tos
            if rules.address_problems(country=s["country"], postal_code=s.get("postal_code", ""), line1=s["line1"],
                                      city=s["city"])
        ),
        personalization_review=review,
        customer_number=buyer.number if buyer is not None else "",
    )  # fmt: skip
    return rules.holds(facts, policy)


def plugin_holds(
    order: OrderRow, lines: list[OrderLineRow], *, first_order: bool, rules_: tuple[plugins.Contribution, ...]
) -> list[rules.Hold]:
    """The holds the plugins' hold rules ask for (docs/guides/plugins.md). Each rule runs on a frozen view under
    the time budget; one that raises, answers nonsense or runs late is skipped (logged and counted) and the order
    is placed as the other rules say."""

    def money(minor: int) -> Money:
        return Money.from_minor(minor, order.currency)

    view = rules.HoldView(
        external_id=order.external_id or "", channel=order.channel, currency=order.currency,
        total=money(order.total_minor), merchandise=money(order.merchandise_minor), first_order=first_order,
        customer_number=order.customer_number or "", email=order.email or "",
        billing_country=str((order.billing or {}).get("country", "")).upper(), fulfillment=order.fulfillment,
        source_code=order.source_code or "",
        ship_tos=tuple(
            rules.HoldAddress(ref=s["ref"], country=str(s["country"]).upper(), region=str(s.get("region") or ""),
                              postal_code=str(s.get("postal_code") or ""), city=str(s.get("city") or ""),
                              line1=str(s.get("line1") or ""), line2=str(s.get("line2") or ""),
                              method=str(s.get("method") or ""))
            for s in order.ship_tos
        ),
        lines=tuple(rules.HoldLine(sku=line.sku, quantity=line.quantity, unit_price=money(line.unit_price_minor),
                                   ship_to=line.ship_to) for line in lines),
    )  # fmt: skip
    found: list[rules.Hold] = []
    for rule in rules_:
        hold = plugins.within_budget(
            rule,
            functools.partial(_ask, rule, view),
            budget_s=plugins.hold_budget_s,
            what=f"an order on {order.channel}",
        )
        if hold is not None and hold.reason not in {h.reason for h in found}:
            found.append(hold)
    return found


def _ask(rule: plugins.Contribution, view: rules.HoldView) -> rules.Hold | None:
    return rules.plugin_hold(rule.value(view))


def hold_rows(order: OrderRow, found: list[rules.Hold], uow: UnitOfWork) -> list[OrderHoldRow]:
    return [OrderHoldRow(order_id=order.id, id=new_id(), reason=h.reason, detail=h.detail[:500], status="active",
                         placed_at=uow.now(), placed_by="rules", resolved_at=None, resolved_by=None, note="")
            for h in found]  # fmt: skip


def recheck_holds(uow: UnitOfWork, row: OrderRow) -> None:
    """Evaluate the hold rules again after a change: an address that cannot be delivered to, a total beyond the
    credit limit. A reason not already holding the order holds it (the fraud rules ran at capture and are not run
    again)."""
    buyer = customers.buyer_facts(uow, ref=str(row.customer_id)) if row.customer_id else None
    found = evaluate_holds(uow, row, buyer=buyer, screen_fraud=False, first_order=False, review=False)
    active = {h.reason for h in holds_of(uow, row.id) if h.status == "active"}
    new = [h for h in found if h.reason not in active]
    if not new:
        return
    if row.status != "on_hold":
        move(uow, row, "hold", {"reasons": [h.reason for h in new]})
    uow.session.add_all(hold_rows(row, new, uow))
