"""The `ordersmith` command against real databases: it works, and every failure is one line and a non-zero exit.

Commands run in the test process through the Typer app (tests/support/cli.py); the few tests about the process
itself — the entry point, what a shell sees on stderr and as the exit code — start a real `python -m ordersmith`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from ordersmith.platform import identity
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.settings import Settings
from ordersmith.platform.tables import ApiKeyRow, SalesChannelRow, UserRow
from tests.builders import make_channel
from tests.support.cli import environment, run


def run_process(
    db_url: str, *args: str, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """`python -m ordersmith ARGS` as its own process, the way a shell runs it."""
    return subprocess.run(
        [sys.executable, "-m", "ordersmith", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200", **environment(db_url, **env)},
        timeout=60,
        check=False,
    )


def _count(db: Database, table: type) -> int:
    with db.session() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


def test_users_create_reads_the_password_from_stdin(db_url: str, uow: UnitOfWork):
    result = run(db_url, "users", "create", "pat@example.com", "--role", "manager", stdin="a long password\n")
    assert result.returncode == 0, result.stderr
    assert "created pat@example.com (manager)" in result.stdout
    assert "a long password" not in result.stdout
    user = identity.find_user_by_email(uow, email="pat@example.com")
    assert user is not None and user.role == "manager"


def test_users_create_generates_and_prints_a_password_once(db_url: str, uow: UnitOfWork, db: Database):
    result = run(db_url, "users", "create", "sam@example.com", "--role", "agent", "--generate")
    assert result.returncode == 0, result.stderr
    password = result.stdout.strip().splitlines()[-1]
    assert len(password) >= 15
    session = identity.sign_in(
        uow,
        email="sam@example.com",
        password=password,
        totp_code=None,
        settings=Settings(_env_file=None),  # type: ignore[call-arg]
    )
    assert session.user.email == "sam@example.com"


def test_a_bad_role_is_one_line_on_stderr_with_a_non_zero_exit_and_nothing_written(db_url: str, db: Database):
    result = run_process(
        db_url, "users", "create", "pat@example.com", "--role", "owner", stdin="a long password\n"
    )
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0 and result.stderr.startswith("error: role")
    assert "Traceback" not in result.stderr
    assert _count(db, UserRow) == 0


def test_reset_password_for_an_unknown_user_fails_cleanly(db_url: str):
    result = run(db_url, "users", "reset-password", "ghost@example.com", stdin="a long password\n")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: no user with e-mail ghost@example.com"


def test_api_keys_create_prints_the_key_once_and_revoke_by_prefix_works(db_url: str, uow: UnitOfWork):
    make_channel(uow, code="amazon-us", kind="marketplace", division="marketplace")
    created = run(
        db_url,
        "api-keys",
        "create",
        "--name",
        "amazon",
        "--scope",
        "sales_channels:read",
        "--scope",
        "events:read",
        "--channel",
        "amazon-us",
    )
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    resolved = identity.resolve_api_key(uow, clear=secret)
    assert resolved is not None and resolved[0].scopes == frozenset({"sales_channels:read", "events:read"})
    revoked = run(db_url, "api-keys", "revoke", secret[:12])
    assert revoked.returncode == 0, revoked.stderr
    assert identity.resolve_api_key(uow, clear=secret) is None


def test_an_unknown_scope_is_refused_and_no_key_is_made(db_url: str, db: Database):
    result = run(db_url, "api-keys", "create", "--name", "x", "--scope", "orders:everything")
    assert result.returncode == 2 and result.stderr.startswith("error: scopes")
    assert _count(db, ApiKeyRow) == 0


def test_demo_load_is_idempotent(db_url: str, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)  # the credentials file goes to var/ under the working directory
    small = {"ORDERSMITH_DEMO_ORDERS": "150", "ORDERSMITH_DEMO_CUSTOMERS": "200"}
    first = run(db_url, "demo", "load", **small)
    assert first.returncode == 0, first.stderr
    counts = (_count(db, UserRow), _count(db, SalesChannelRow), _count(db, ApiKeyRow))
    assert counts == (8, 5, 5)  # a user per role, the store clerk included
    assert (tmp_path / "var" / "demo-credentials.txt").stat().st_mode & 0o777 == 0o600
    second = run(db_url, "demo", "load", **small)
    assert second.returncode == 0 and "already there" in second.stdout
    assert (_count(db, UserRow), _count(db, SalesChannelRow), _count(db, ApiKeyRow)) == counts
    _assert_demo_catalog(db)
    _assert_demo_orders(db)
    from ordersmith.continuity import service as continuity

    # a dozen continuity members (made once), their first shipments left due for the job
    members = continuity.list_subscriptions(db.unit_of_work(Actor.system("test")), limit=50).items
    assert len(members) == 12
    assert sorted(m.status for m in members).count("active") == 10


def _assert_demo_orders(db: Database) -> None:
    """A year of orders from every channel, through the order service: most shipped, some cancelled or
    returned, the ledger still exact; the latest shipped through the pack station, the till's sales carried out of
    the store (make run loads 5,000; this test asks for 150)."""
    from ordersmith.inventory import service as inventory
    from ordersmith.orders.tables import OrderRow, ReturnRow

    uow = db.unit_of_work(Actor.system("test"))
    with uow:
        by_channel = dict(
            uow.session.execute(sa.select(OrderRow.channel, sa.func.count()).group_by(OrderRow.channel)).all()
        )
        statuses = set(uow.session.scalars(sa.select(OrderRow.status).distinct()))
        oldest = uow.session.scalar(sa.select(sa.func.min(OrderRow.placed_at)))
        returns = uow.session.scalar(sa.select(sa.func.count()).select_from(ReturnRow))
    assert set(by_channel) == {"web", "call-center", "catalog-mail", "amazon-us", "store-pos"}
    assert sum(by_channel.values()) >= 145 and {"shipped", "cancelled"} <= statuses and returns
    assert oldest is not None and (uow.now() - oldest).days > 300
    assert inventory.verify(uow) == []
    with uow:
        kinds = dict(uow.session.execute(sa.text("SELECT kind, count(*) FROM shipments GROUP BY kind")).all())
        labelled = uow.session.execute(
            sa.text("SELECT count(*) FROM packages WHERE status = 'labelled'")
        ).scalar()
    assert kinds.get("ship", 0) > 0 and kinds.get("taken", 0) > 0 and labelled
    # every buyer's purchase facts are there and scored (marketing's backfill after the orders), one row per
    # customer and currency with a live order
    from ordersmith.marketing.fact_tables import CustomerFactRow

    with uow:
        buyers = uow.session.execute(
            sa.text(
                "SELECT count(*) FROM (SELECT DISTINCT customer_id, currency FROM orders o WHERE status <> 'cancelled' "
                "AND exchange_for IS NULL AND EXISTS (SELECT 1 FROM customers c WHERE c.id = o.customer_id "
                "AND c.merged_into_id IS NULL AND c.anonymized_at IS NULL)) AS bought"
            )
        ).scalar()
        facts = uow.session.scalar(sa.select(sa.func.count()).select_from(CustomerFactRow))
        unscored = uow.session.scalar(
            sa.select(sa.func.count()).where(CustomerFactRow.recency_score.is_(None))
        )
    assert facts == buyers and buyers > 0 and unscored == 0
    # and the marketer's segments, by RFM, division and category, count buyers as the live definition does
    from ordersmith.marketing import service as marketing

    segments = {s.code: s for s in marketing.list_segments(uow).items}
    assert sorted(segments) == ["APPAREL-NOT-HOME", "BEST", "HOME-BUYERS", "LAPSED-CATALOG"]
    for code in ("HOME-BUYERS", "APPAREL-NOT-HOME"):
        counted = marketing.count_segment(uow, code=code)
        assert counted > 0 and counted == marketing.count_rules(uow, rules=segments[code].rules, live=True), (
            code
        )


def _assert_demo_catalog(db: Database) -> None:
    """The demo is a realistic catalog retailer: what the catalog/inventory issue asks of it."""
    from ordersmith.catalog import service as catalog
    from ordersmith.inventory import service as inventory
    from ordersmith.inventory.tables import StockMovementRow
    from ordersmith.platform.db import Actor
    from ordersmith.purchasing import service as purchasing

    uow = db.unit_of_work(Actor.system("test"))
    items = catalog.list_items(uow, limit=500).items
    assert len(items) >= 200
    assert sum(1 for i in items if i.kind == "kit") >= 3
    assert sum(1 for i in items if i.variant) >= 100
    assert sum(1 for i in items if i.personalization_template) >= 3
    # every item is filed in the merchandise tree (a variant in its style's category)
    assert [i.sku for i in items if i.category is None] == []
    apparel = {i.sku for i in catalog.list_items(uow, category="APPAREL", limit=500).items}
    assert "POLO-NAVY-M" in apparel and "SCARF-PLAID" in apparel and "MUG-CERAMIC" not in apparel
    kinds = sorted(loc.kind for loc in inventory.list_locations(uow))
    assert kinds == ["store", "store", "warehouse", "warehouse", "warehouse"]
    assert len(purchasing.list_vendors(uow)) >= 3
    statuses = {po.status for po in purchasing.list_purchase_orders(uow).items}
    assert {"partially_received", "sent", "approved"} <= statuses
    assert inventory.verify(uow) == []
    assert _count(db, StockMovementRow) > 500
    from ordersmith.customers import service as customers
    from ordersmith.customers.tables import CustomerRow

    assert _count(db, CustomerRow) == 201  # the test asks for 200 (make run makes 1,000), and the duplicate
    twins = {d.number: d.reasons for d in customers.find_duplicates(uow, ref="C-100001")}
    assert "same e-mail" in twins["C-100201"]  # the deliberate duplicate, made after the others
    from ordersmith.pricing import service as pricing

    assert [p.code for p in pricing.list_price_lists(uow)] == ["USD-TRADE", "USD-RETAIL"]
    assert any(p.running for p in pricing.list_promotions(uow))


def test_production_with_development_secrets_refuses_to_start(db_url: str):
    result = run_process(db_url, "serve", ORDERSMITH_ENV="production")
    assert result.returncode == 2
    assert result.stderr.startswith("error: refusing to start in production: ORDERSMITH_SECRET_KEY")


def test_inventory_verify_passes_on_a_clean_ledger_and_names_a_drifted_level(
    db_url: str, uow: UnitOfWork, db
):
    from ordersmith.inventory.tables import StockLevelRow
    from tests.builders import make_item, make_location, stock

    make_item(uow, sku="TEE")
    make_location(uow, code="WH1")
    stock(uow, sku="TEE", location="WH1", quantity=3)
    clean = run(db_url, "inventory", "verify")
    assert clean.returncode == 0, clean.stderr
    with db.engine.begin() as conn:
        conn.execute(sa.update(StockLevelRow.__table__).values(on_hand=9))
    drifted = run(db_url, "inventory", "verify")
    assert drifted.returncode == 1
    assert drifted.stderr.strip() == "TEE at WH1: on_hand is 9, the ledger says 3"


def test_inventory_adjust_below_zero_is_one_line_and_changes_nothing(db_url: str, uow: UnitOfWork):
    from ordersmith.inventory import service as inventory
    from tests.builders import make_item, make_location, stock

    make_item(uow, sku="TEE")
    make_location(uow, code="WH1")
    stock(uow, sku="TEE", location="WH1", quantity=3)
    result = run(db_url, "inventory", "adjust", "TEE", "WH1", "--", "-4")
    assert (
        result.returncode == 2
        and result.stderr.count("\n") == 1
        and result.stderr.startswith("error: TEE at WH1")
    )
    assert inventory.get_availability(uow, sku="TEE").on_hand == 3


def test_inventory_transfer_and_count_from_the_command_line(db_url: str, uow: UnitOfWork):
    from ordersmith.inventory import service as inventory
    from tests.builders import make_item, make_location, stock

    make_item(uow, sku="TEE")
    make_location(uow, code="DC")
    make_location(uow, code="SHOP", kind="store")
    stock(uow, sku="TEE", location="DC", quantity=5)
    moved = run(db_url, "inventory", "transfer", "TEE", "DC", "SHOP", "2")
    assert moved.returncode == 0, moved.stderr
    counted = run(db_url, "inventory", "count", "SHOP", "TEE=1")
    assert counted.returncode == 0 and "TEE: 2 -> 1 (variance -1)" in counted.stdout
    bad = run(db_url, "inventory", "count", "SHOP", "TEE=lots")
    assert bad.returncode == 2 and bad.stderr.startswith("error: count lines look like SKU=12")
    availability = inventory.get_availability(uow, sku="TEE")
    assert {x.location: x.on_hand for x in availability.locations} == {"DC": 3, "SHOP": 1}


def test_inventory_level_sets_safety_stock_and_division_pools(db_url: str, uow: UnitOfWork):
    from ordersmith.inventory import service as inventory
    from tests.builders import make_item, make_location, stock

    make_item(uow, sku="TEE")
    make_location(uow, code="DC")
    stock(uow, sku="TEE", location="DC", quantity=20)
    done = run(db_url, "inventory", "level", "TEE", "DC", "--safety", "2", "--fence", "catalog=5",
               "--buffer", "marketplace=3")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "safety stock 2; pools: catalog: fence 5, buffer 0; marketplace: fence 0, buffer 3" in done.stdout
    assert inventory.get_availability(uow, sku="TEE", division="marketplace").available == 20 - 2 - 5 - 3
    bad = run(db_url, "inventory", "level", "TEE", "DC", "--fence", "moon=1")
    assert bad.returncode == 2 and bad.stderr.strip() == "error: pools.0.division: unknown division 'moon'"
    assert inventory.get_availability(uow, sku="TEE", division="marketplace").available == 10


def test_a_purchase_order_from_the_command_line(db_url: str, uow: UnitOfWork):
    from ordersmith.inventory import service as inventory
    from tests.builders import make_item, make_location

    make_item(uow, sku="TEE")
    make_location(uow, code="DC")
    assert (
        run(db_url, "purchasing", "vendor-add", "ACME", "Acme Textiles", "--lead-time-days", "5").returncode
        == 0
    )
    listed = run(db_url, "purchasing", "vendor-item", "ACME", "TEE", "A-TEE", "4.20", "--pack", "6")
    assert listed.returncode == 0 and "ACME sells TEE as A-TEE at 4.20 USD" in listed.stdout, listed.stdout
    created = run(db_url, "purchasing", "create", "ACME", "DC", "TEE=12")
    assert created.returncode == 0 and "PO-000001 draft" in created.stdout, created.stderr
    for step in ("approve", "send"):
        assert run(db_url, "purchasing", step, "PO-000001").returncode == 0
    over = run(db_url, "purchasing", "receive", "PO-000001", "TEE=13")
    assert over.returncode == 2 and over.stderr.count("\n") == 1 and "at most 12 more" in over.stderr
    assert inventory.get_availability(uow, sku="TEE").on_hand == 0
    done = run(db_url, "purchasing", "receive", "PO-000001", "TEE=12", "--reference", "ASN-9")
    assert done.returncode == 0 and "PO-000001 received" in done.stdout
    assert inventory.get_availability(uow, sku="TEE").on_hand == 12
    assert run(db_url, "purchasing", "rule", "TEE", "DC", "--method", "min_max", "--min-qty", "20",
               "--max-qty", "40").returncode == 0  # fmt: skip
    suggested = run(db_url, "purchasing", "suggest")
    assert suggested.returncode == 0 and "ACME" in suggested.stdout and "30" in suggested.stdout


def test_customers_from_the_command_line(db_url: str, uow: UnitOfWork):
    import json

    from ordersmith.customers import service as customers
    from ordersmith.customers.service import Details, Phone

    customers.create_customer(
        uow, details=Details(first_name="Jane", last_name="Smith", phones=[Phone("415 555 0132")])
    )
    customers.create_customer(
        uow, details=Details(first_name="Jane", last_name="Smith", phones=[Phone("415 555 0132")])
    )
    found = run(db_url, "customers", "find", "(415) 555-0132")
    assert found.returncode == 0 and "C-100001" in found.stdout and "C-100002" in found.stdout
    assert "(415) 555-0132" in found.stdout and "+14155550132" not in found.stdout  # as people read it
    shown = run(db_url, "customers", "show", "C-100001")
    assert "phone   (415) 555-0132" in shown.stdout and "+1415" not in shown.stdout
    merged = run(db_url, "customers", "merge", "C-100001", "C-100002")
    assert merged.returncode == 0 and "C-100002 merged into C-100001" in merged.stdout
    itself = run(db_url, "customers", "merge", "C-100001", "C-100001")
    assert itself.returncode == 2 and itself.stderr.strip() == "error: C-100001 cannot be merged into itself"
    exported = run(db_url, "customers", "export", "C-100001")
    assert json.loads(exported.stdout)["customer"]["number"] == "C-100001"
    gone = run(db_url, "customers", "anonymize", "C-100001", "--reason", "erasure #7")
    assert gone.returncode == 0 and customers.get_customer(uow, ref="C-100001").phones == []


def test_orders_commands_list_show_work_the_hold_queue_and_refuse_in_one_line(db_url: str, uow: UnitOfWork):
    from ordersmith.orders import service as orders
    from tests.builders import channel, make_order_shop, order_request, ship_to

    make_order_shop(uow)
    held = orders.place_order(uow, channel=channel(uow), request=order_request(
        ("MUG", 1), ship_tos=[ship_to(postal_code="ABC")])).order  # fmt: skip
    listed = run(db_url, "orders", "list")
    assert listed.returncode == 0 and held.number in listed.stdout and "on_hold" in listed.stdout
    shown = run(db_url, "orders", "show", held.number)
    assert (
        "1 x MUG Mug @ 10.00 [reserved: 1 at WEST]" in shown.stdout and "hold undeliverable" in shown.stdout
    )
    assert held.number in run(db_url, "orders", "holds").stdout
    released = run(db_url, "orders", "release", held.number, "--note", "address checked by phone")
    assert released.returncode == 0 and f"order {held.number} is released" in released.stdout
    released_version = orders.get_order(uow, ref=held.number).version
    # a refusal is one line on stderr and a non-zero exit, and changes nothing
    again = run(db_url, "orders", "release", held.number)
    assert again.returncode != 0 and again.stderr.count("\n") == 1 and "cannot release" in again.stderr
    after = orders.get_order(uow, ref=held.number)
    assert after.status == "released" and after.version == released_version  # the refusal changed nothing
    missing = run(db_url, "orders", "show", "999")
    assert missing.returncode != 0 and missing.stderr.strip() == "error: no order '999'"


def test_purchasing_rule_saves_a_reorder_point_rule_with_a_minimum(
    db_url: str, uow: UnitOfWork, db: Database
):
    # given an item and a location
    from ordersmith.purchasing.tables import ReplenishmentRuleRow
    from tests.builders import make_item, make_location

    make_item(uow, sku="MUG")
    make_location(uow, code="L1")
    # when the CLI sets a reorder-point rule with a minimum and no maximum
    result = run(db_url, "purchasing", "rule", "MUG", "L1", "--method", "reorder_point", "--min-qty", "5",
                 "--reorder-qty", "20")  # fmt: skip
    # then it is saved, and said so on one line
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "MUG at L1: reorder_point min 5 max 0 reorder 20 vendor default"
    with db.session() as session:
        [saved] = session.scalars(sa.select(ReplenishmentRuleRow)).all()
    assert (saved.method, saved.min_qty, saved.max_qty, saved.reorder_qty) == ("reorder_point", 5, 0, 20)
