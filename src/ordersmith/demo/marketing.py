"""Demo marketing: two seasons of catalog campaigns (spring and fall books, each mailed in two drops) with a key
code per drop and list — the house file, a rented list and prospects — their quantities mailed and costs; the
prospects' codes offer 15 % off. The web channel keys an unknown code to its own default code.

The calendar is fixed relative to the moment of the load, as the orders' year is: `codes_on` tells the orders
loader which codes a catalog order placed on a day may carry (valid that day, with a week's margin so a load
resumed days later still finds them valid). After the orders (and the continuity programs' orders), every customer's
purchase facts are computed and scored, as `ordersmith marketing refresh-facts` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ordersmith.demo._framework import DemoReport, loader
from ordersmith.kernel.clock import utcnow
from ordersmith.kernel.money import Money
from ordersmith.marketing import service as marketing
from ordersmith.platform.db import Actor, Database, UnitOfWork, use_case
from ordersmith.platform.settings import Settings
from ordersmith.pricing import service as pricing

# Days before the load each drop lands in homes; each book's codes stay valid this long.
_IN_HOME = (350, 270, 170, 80)
_VALID = timedelta(days=150)
_MARGIN = timedelta(days=7)
# list, quantity mailed, cost per piece (a rented name costs its rental on top of print and postage)
_LISTS = (
    ("H", "house file", 12_000, "0.55"),
    ("R", "rented list", 30_000, "0.68"),
    ("P", "prospects", 18_000, "0.62"),
)
_PROSPECT_OFFER = "BOOK15"
WEB_DEFAULT = "WEB-DEFAULT"


@dataclass(frozen=True)
class _Drop:
    campaign: str  # SPRING26, FALL26 …
    code: str  # D1, D2
    in_home_on: date

    def key(self, list_code: str) -> str:
        return f"{self.campaign[0]}{self.campaign[-2:]}{self.code}{list_code}"  # F26D1H

    @property
    def ends_on(self) -> date:
        return self.in_home_on + _VALID


def _calendar(now: datetime) -> list[_Drop]:
    """The four drops of the last year, two per book; a book is named by the season and year of its second drop
    (the one that lands in its season)."""
    days = [(now - timedelta(days=d)).date() for d in _IN_HOME]
    drops: list[_Drop] = []
    for first, second in zip(days[::2], days[1::2], strict=True):
        book = f"{'SPRING' if second.month <= 6 else 'FALL'}{second.year % 100:02d}"
        drops += [_Drop(book, "D1", first), _Drop(book, "D2", second)]
    return drops


def codes_on(now: datetime, at: datetime) -> list[str]:
    """The key codes a catalog order placed at `at` may carry: those valid that day with a week to spare."""
    day = at.date()
    return [
        drop.key(list_code)
        for drop in _calendar(now)
        if drop.in_home_on + _MARGIN <= day <= drop.ends_on - _MARGIN
        for list_code, *_ in _LISTS
    ]


@use_case
def _set_up(uow: UnitOfWork, now: datetime) -> tuple[int, int]:
    """Everything in one transaction: a load killed half-way leaves nothing to confuse the next one."""
    pricing.create_promotion(
        uow,
        promotion=pricing.PromotionInput(
            code=_PROSPECT_OFFER,
            name="15 % off for new catalog readers",
            kind="percent_off_items",
            percent=Decimal(15),
            coupon_required=True,
        ),
    )
    drops = _calendar(now)
    made = 0
    for campaign in dict.fromkeys(d.campaign for d in drops):
        mine = [d for d in drops if d.campaign == campaign]
        marketing.create_campaign(
            uow,
            code=campaign,
            name=f"{campaign[:-2].title()} 20{campaign[-2:]} book",
            kind="catalog",
            currency="USD",
            drops=[
                marketing.NewDrop(
                    d.code,
                    d.in_home_on,
                    sum(q for _, _, q, _ in _LISTS),
                    Money(Decimal("0.60"), "USD"),
                    f"{campaign} cover {d.code[-1]}",
                )
                for d in mine
            ],
        )
        for drop in mine:
            for list_code, segment, quantity, _cost in _LISTS:
                marketing.create_source_code(
                    uow,
                    code=drop.key(list_code),
                    campaign=campaign,
                    drop=drop.code,
                    segment=segment,
                    quantity_mailed=quantity,
                    ends_on=drop.ends_on,
                    promotions=[_PROSPECT_OFFER] if list_code == "P" else [],
                    expected_response_pct=Decimal("4.0") if list_code == "H" else Decimal("1.2"),
                )
                made += 1
    marketing.create_campaign(
        uow,
        code="WEB",
        name="Web site, always on",
        kind="web",
        currency="USD",
        drops=[marketing.NewDrop("ALWAYS", drops[0].in_home_on, 0, Money.zero("USD"))],
    )
    marketing.create_source_code(
        uow,
        code=WEB_DEFAULT,
        campaign="WEB",
        drop="ALWAYS",
        segment="web visitors",
        starts_on=drops[0].in_home_on,
    )
    marketing.set_channel_policy(uow, channel="web", on_unknown="default", default_code=WEB_DEFAULT)
    return len(dict.fromkeys(d.campaign for d in drops)), made


@loader("marketing: two seasons of catalog campaigns with their key codes", stage=45)
def _marketing(db: Database, settings: Settings, report: DemoReport) -> None:
    uow = db.unit_of_work(Actor.system("demo"))
    if marketing.list_campaigns(uow, limit=1).items:
        return  # made in one transaction: all there or none
    campaigns, codes = _set_up(uow, utcnow().replace(microsecond=0))
    report.say(
        f"{campaigns} catalog campaigns in 4 drops with {codes} key codes; web keys unknown codes to "
        f"{WEB_DEFAULT}"
    )


@loader("marketing: every customer's purchase facts and RFM scores", stage=68)
def _purchase_facts(db: Database, settings: Settings, report: DemoReport) -> None:
    """The demo's orders were written with no relay running: the backfill computes their facts (the same rows
    again on a second load), so segments count from the first page view."""
    written, scored = marketing.refresh_facts(db.unit_of_work(Actor.system("demo")))
    buyers = ", ".join(f"{n} in {currency}" for currency, n in sorted(scored.items()))
    report.say(
        f"purchase facts of {written['purchases']} buyers ({written['customers']} buyer-currency pairs, "
        f"{written['styles']} buyer-style and {written['items']} buyer-item pairs); "
        f"RFM scores: {buyers or 'no buyers yet'}"
    )


def _rule(field: str, op: str, value: object) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


# (code, name, rules): what a catalog marketer keeps to pull the next book's lists from
DEMO_SEGMENTS: list[tuple[str, str, dict[str, Any]]] = [
    ("BEST", "Best customers (top RFM cells)", _rule("rfm_cell", "in", ["555", "554", "545", "455"])),
    ("LAPSED-CATALOG", "Catalog buyers not seen for six months", {"all": [
        _rule("purchased_division", "in", ["catalog"]), _rule("last_order", "not_within_days", 180)]}),
    ("HOME-BUYERS", "Bought for the home, mailable", {"all": [
        _rule("purchased_category", "in", ["HOME"]), _rule("do_not_mail", "is", False)]}),
    ("APPAREL-NOT-HOME", "Apparel buyers who never bought for the home", {"all": [
        _rule("purchased_category", "in", ["APPAREL"]), {"not": _rule("purchased_category", "in", ["HOME"])}]}),
]  # fmt: skip


@loader("marketing: segments by RFM, division and merchandise category", stage=69)
def _segments(db: Database, settings: Settings, report: DemoReport) -> None:
    uow = db.unit_of_work(Actor.system("demo"))
    have = {s.code for s in marketing.list_segments(uow, limit=100).items}
    for code, name, rules in DEMO_SEGMENTS:
        if code not in have:
            marketing.create_segment(uow, code=code, name=name, rules=rules)
            report.say(f"segment {code}: {marketing.count_segment(uow, code=code)} customers now")
