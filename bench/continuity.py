"""Continuity shipments: N members due today, placed by one run of the due-shipment job in this process (each a
card order through checkout: claim, re-read, price, authorize at the in-process sandbox processor, place, record),
after as many cancelled subscriptions as history (the due query must not read them).

    python -m bench.continuity --db sqlite|postgres [--members 200] [--history 2000]

Prints one figure per line and a summary line.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench.common import pg_database
from ordersmith.continuity import service as continuity
from ordersmith.customers import service as customers
from ordersmith.payments import service as payments
from ordersmith.platform import migrate
from ordersmith.platform.db import Actor, Database
from ordersmith.platform.settings import Settings

SHIP_TO = {"name": "A Member", "line1": "1 Market St", "city": "San Francisco", "region": "CA",
           "postal_code": "94105", "country": "US", "method": "ground"}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--history", type=int, default=2000, help="cancelled subscriptions already there")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.builders import make_order_shop, stock

    folder = Path(tempfile.mkdtemp(prefix="bench-continuity-"))
    url = pg_database("bench_continuity") if args.db == "postgres" else f"sqlite:///{folder}/bench.db"
    migrate.upgrade(url)
    settings = Settings(database_url=url, vault_database_url=f"sqlite:///{folder}/vault.db", env="test",
                        sandbox_gateway_path=str(folder / "gateway.db"), sandbox_carrier_path=str(folder / "c.db"),
                        sandbox_wallet_path=str(folder / "w.db"), _env_file=None)  # type: ignore[call-arg]  # fmt: skip
    db = Database(url, pool_size=5)
    wired = payments.setup_payments(db, settings)
    uow = db.unit_of_work(Actor.system("bench"))
    make_order_shop(uow)
    stock(uow, sku="TEE", location="EAST", quantity=10 * args.members + 10)
    continuity.create_program(uow, code="TEES", name="Tees", kind="replenish", interval_weeks=4,
                              items=[continuity.ProgramItem("TEE", 1)], terms="A tee every 4 weeks.")  # fmt: skip
    token = wired.vault.tokenize(number="4242424242424242", exp_month=12, exp_year=2031, actor="bench").token
    buyer = customers.create_customer(uow, details=customers.Details(first_name="Bench"))
    for n in range(args.history + args.members):
        sub = continuity.sign_up(uow, program="TEES", customer=buyer.number, channel="web", ship_to=SHIP_TO,
                                 card_token=token, accepted_terms=True, terms_version=1)  # fmt: skip
        if n < args.history:
            continuity.cancel_subscription(uow, ref=sub.number)
    started = time.perf_counter()
    placed = continuity.place_due_shipments(uow, worker="bench", lease_s=300, budget_s=3600)
    elapsed = time.perf_counter() - started
    idle = time.perf_counter()
    assert continuity.place_due_shipments(uow, worker="bench", lease_s=300) == 0
    idle_ms = (time.perf_counter() - idle) * 1000
    print(f"continuity_shipments: {placed} shipments")
    print(f"continuity_time_per_shipment: {elapsed / max(placed, 1) * 1000:.1f} ms")
    print(f"continuity_throughput: {placed / elapsed:.1f} shipments/s (one process)")
    print(f"continuity_idle_run: {idle_ms:.1f} ms with {args.history} cancelled subscriptions")
    print(
        f"summary: continuity {args.db} {placed} shipments at {placed / elapsed:.1f}/s, idle run {idle_ms:.1f} ms"
    )
    db.dispose()
    wired.vault.dispose()


if __name__ == "__main__":
    main()
