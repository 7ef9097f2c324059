"""`ordersmith marketing …` for the stored purchase facts (ADR 0037): rebuild them from every order (the backfill),
score every buyer now, choose how a currency is scored (quintiles or cut-offs), and show one customer's facts."""

from __future__ import annotations

from typing import Annotated

import typer

from ordersmith.cli._common import command, out
from ordersmith.cli.marketing import _uow, marketing_app
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.marketing import service as marketing
from ordersmith.platform.schemas import money_in


@marketing_app.command("refresh-facts")
@command
def refresh_facts() -> None:
    """Rebuild every customer's purchase facts from every order, then score every buyer (the backfill; the relay
    keeps them current afterwards)."""
    written, scored = marketing.refresh_facts(_uow())
    out.print(
        f"purchase facts rebuilt: {written['customers']} customer-currency row(s), {written['purchases']} "
        f"customer row(s), {written['styles']} customer-style row(s), {written['items']} customer-item row(s)"
    )
    for currency, buyers in sorted(scored.items()):
        out.print(f"{currency}: {buyers} buyer(s) scored")


@marketing_app.command("score-rfm")
@command
def score_rfm(
    currency: Annotated[str | None, typer.Option(help="only this currency's buyers")] = None,
) -> None:
    """Score every buyer now from the stored facts (the scoring run, which also runs on its own every hour)."""
    uow = _uow()
    if currency is not None:
        currency = marketing.get_rfm_scoring(uow, currency=currency).currency
    for code, buyers in sorted(marketing.score_rfm(uow, currency=currency).items()):
        out.print(f"{code}: {buyers} buyer(s) scored")


def _numbers(text: str, option: str, currency: str | None = None) -> list[int]:
    parts = [p.strip() for p in text.split(",")]
    try:
        if currency is not None:
            return [money_in(p, currency, field=option).minor for p in parts]
        return [int(p) for p in parts]
    except ValueError:
        raise ValidationFailed.on(option, f"{text!r} is not four whole numbers separated by commas") from None


@marketing_app.command("rfm-scoring")
@command
def rfm_scoring(
    currency: Annotated[str, typer.Argument(help="the currency whose buyers are scored")] = "USD",
    quintiles: Annotated[bool, typer.Option(help="score by quintiles (the default)")] = False,
    recency_days: Annotated[
        str | None, typer.Option(help="cut-offs: 4 day counts, e.g. 30,90,180,365 (within 30 days: R 5)")
    ] = None,
    frequency_orders: Annotated[
        str | None, typer.Option(help="cut-offs: 4 order counts, e.g. 2,3,5,10 (10 or more: F 5)")
    ] = None,
    monetary: Annotated[
        str | None, typer.Option(help="cut-offs: 4 amounts, e.g. 50,100,250,500 (500.00 or more: M 5)")
    ] = None,
) -> None:
    """Show how a currency's buyers are scored, or set it: --quintiles, or all three cut-off lists."""
    uow = _uow()
    given = [recency_days, frequency_orders, monetary]
    if quintiles and any(v is not None for v in given):
        raise ValidationFailed.on("--quintiles", "--quintiles takes no cut-offs")
    if quintiles:
        marketing.set_rfm_scoring(uow, currency=currency, method="quintiles")
    elif any(v is not None for v in given):
        if recency_days is None or frequency_orders is None or monetary is None:
            raise ValidationFailed.on(
                "--recency-days", "cut-offs need --recency-days, --frequency-orders and --monetary"
            )
        cutoffs = marketing.check_cutoffs(
            _numbers(recency_days, "--recency-days"),
            _numbers(frequency_orders, "--frequency-orders"),
            _numbers(monetary, "--monetary", currency.upper()),
        )
        marketing.set_rfm_scoring(uow, currency=currency, method="cutoffs", cutoffs=cutoffs)
    found = marketing.get_rfm_scoring(uow, currency=currency)
    how = found.method
    if found.cutoffs is not None:
        amounts = ", ".join(
            str(Money.from_minor(m, found.currency).amount) for m in found.cutoffs.monetary_minor
        )
        how += (
            f" (recency days {', '.join(map(str, found.cutoffs.recency_days))}; orders "
            f"{', '.join(map(str, found.cutoffs.frequency_orders))}; spent {amounts})"
        )
    when = found.scored_at.isoformat(timespec="seconds") if found.scored_at else "never"
    out.print(f"{found.currency}: {how}; last scored {when} ({found.scored_customers} buyer(s))")


@marketing_app.command("facts")
@command
def facts(customer: str) -> None:
    """A customer's stored purchase facts: orders, spend, returns, lifetime value and RFM cell per currency."""
    found = marketing.get_purchase_facts(_uow(), customer_number=customer)
    if not found.orders:
        out.print(f"{customer}: no orders yet")
        return
    for f in found.currencies:
        cell = f.cell or "not scored yet"
        out.print(
            f"{f.currency}: {f.orders} order(s) {f.first_order_at.date()} to {f.last_order_at.date()}, spent "
            f"{f.monetary.amount}, returned {f.returned.amount}, lifetime value {f.lifetime_value.amount}; RFM {cell}"
        )
    last = found.last_order_at.date() if found.last_order_at else None
    out.print(
        f"{found.orders} order(s) in all, the last {last}; divisions: {', '.join(found.divisions)}; "
        f"styles bought: {found.styles}"
    )
