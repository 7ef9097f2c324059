"""Demo continuity: a candle club (a candle every 4 weeks) and a three-candle scent series, with a dozen members
signed up on the web shop — nine due today, the others later, one paused, one cancelled, and one whose card the
processor declines (past due, on the retry schedule, once tried).

The first shipments are left for the job (`ordersmith serve` runs it in-process, or `ordersmith worker`), which
places them within a minute of starting: the load itself places no order, so it stays quick (twelve sign-ups) and
its counts are those of the orders loader. Resumable: a member already signed up is not signed up again.
"""

from __future__ import annotations

from datetime import timedelta

from ordersmith.continuity import service as continuity
from ordersmith.demo._framework import DemoReport, loader
from ordersmith.payments import service as payments
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.settings import Settings

_TERMS_CLUB = (
    "One soy candle (cedar) every 4 weeks at the web shop's price plus shipping and tax, charged to your card on "
    "each ship date. Skip, pause or cancel any time before a ship date at Account > Subscriptions or by phone."
)
_TERMS_SERIES = (
    "Three candles, one every 4 weeks (fig, linen, amber), each at the web shop's price plus shipping and tax, "
    "charged to your card on its ship date. Cancel any time; nothing more ships after you cancel."
)
_CARDS = ("4242424242424242", "5555555555554444", "378282246310005")
_DECLINED = "4000000000000002"
_CITIES = (("Boston", "MA", "02110"), ("Austin", "TX", "78701"), ("Denver", "CO", "80202"),
           ("Portland", "OR", "97201"))  # fmt: skip
MEMBERS = 12


def _programs(uow: UnitOfWork) -> None:
    made = {p.code for p in continuity.list_programs(uow, limit=10).items}
    if "CANDLE-CLUB" not in made:
        continuity.create_program(uow, code="CANDLE-CLUB", name="Candle club", kind="replenish", interval_weeks=4,
                                  items=[continuity.ProgramItem("CANDLE-CEDAR", 1)], terms=_TERMS_CLUB)  # fmt: skip
    if "SCENTS" not in made:
        continuity.create_program(uow, code="SCENTS", name="Scent series", kind="series", interval_weeks=4,
                                  items=[continuity.ProgramItem(f"CANDLE-{s}", 1) for s in ("FIG", "LINEN", "AMBER")],
                                  terms=_TERMS_SERIES)  # fmt: skip


@loader("continuity: a candle club and a scent series with their members", stage=65)
def _continuity(db: Database, settings: Settings, report: DemoReport) -> None:
    uow = db.unit_of_work(Actor.system("demo"))
    _programs(uow)
    vault = payments.wiring(uow).vault
    today = uow.now().date()
    signed = 0
    for n in range(MEMBERS):
        customer = f"C-{100001 + (n * 7) % settings.demo_customers}"
        program = "SCENTS" if n % 3 == 2 else "CANDLE-CLUB"
        if any(s.program == program for s in continuity.list_subscriptions(uow, customer=customer).items):
            continue  # made by a load that was stopped part-way
        number = _DECLINED if n == 5 else _CARDS[n % len(_CARDS)]
        token = vault.tokenize(number=number, exp_month=1 + n % 12, exp_year=2030, holder="Demo Member",
                               actor="demo").token  # fmt: skip
        city, region, postal = _CITIES[n % len(_CITIES)]
        sub = continuity.sign_up(
            uow, program=program, customer=customer, channel="web",
            ship_to={"name": f"Member {n + 1}", "line1": f"{10 + n} Main St", "city": city, "region": region,
                     "postal_code": postal, "country": "US", "method": "ground"},
            card_token=token, accepted_terms=True, terms_version=1,
            starts_on=today if n < 9 else today + timedelta(days=7 * (n - 8)),
        )  # fmt: skip
        if n == 10:
            continuity.pause_subscription(uow, ref=sub.number, until=today + timedelta(weeks=6))
        if n == 11:
            continuity.cancel_subscription(uow, ref=sub.number, reason="moving abroad")
        signed += 1
    if signed:
        report.say(f"2 continuity programs, {signed} members signed up; nine first shipments are due today "
                   "(`serve` or a worker places them within a minute)")  # fmt: skip
