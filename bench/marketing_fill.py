"""Set-based fill for the marketing benchmark at the issue's scale: C customers (each a default US address, the mail
channel; one in twenty said no to mail, one in a hundred is flagged deceased, one in twenty lives with the customer
before), 100 styles of 8 variants and 200 other items in a tree of seven categories, and N orders of one or two
lines over a year — written by INSERT … SELECT over `generate_series` on PostgreSQL and a recursive CTE on SQLite, a
million rows a statement.

Every value is an integer hash of the row's number, so both databases hold the same data: the buyer of order g is
1 + ⌊C · u₁ · u₂⌋ (u₁, u₂ two hashes of g in [0, 1): most customers buy a few times, the first ones often, the last
tenth rarely or never), 70 % of orders are catalog ones (mail and phone), 20 % web, 10 % store; 2 % are cancelled;
60 % carry one of the 24 key codes; one line in sixteen had a unit returned. The secondary indexes of orders and
their lines are dropped for the load and built again after it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from ordersmith.catalog.tables import CategoryRow, ItemRow, StyleRow
from ordersmith.orders.tables import OrderLineRow, OrderRow
from ordersmith.platform.db import Database

STEP = 1_000_000  # rows per INSERT … SELECT
STYLES, VARIANTS, PLAIN_ITEMS = 100, 8, 200
ITEMS = STYLES * VARIANTS + PLAIN_ITEMS
START = datetime(2026, 1, 1, tzinfo=UTC)
M = 4294967296  # 2^32: hashes are in [0, M)
PRICES = (999, 1500, 2500, 4999)


def uid(kind: int, n: int) -> uuid.UUID:
    """The id the SQL gives row `n` of a kind: time-ordered like UUIDv7, so primary keys fill in order."""
    return uuid.UUID(f"{kind:08x}000070008000{n:012x}")


class Sql:
    """The few expressions that differ between the two databases."""

    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"

    def uid(self, kind: int, n: str) -> str:
        if self.pg:
            return f"CAST('{kind:08x}000070008000' || lpad(to_hex({n}), 12, '0') AS uuid)"
        return f"printf('{kind:08x}000070008000%012x', {n})"

    def at(self, seconds: str) -> str:
        """START + seconds, as each database stores an aware UTC timestamp."""
        if self.pg:
            return f"(TIMESTAMPTZ '2026-01-01 00:00:00+00' + make_interval(secs => {seconds}))"
        return f"(strftime('%Y-%m-%d %H:%M:%S', '2026-01-01 00:00:00', '+' || ({seconds}) || ' seconds') || '.000000')"

    def text(self, expression: str) -> str:
        return f"CAST({expression} AS text)" if self.pg else f"CAST({expression} AS TEXT)"

    def pad(self, expression: str, width: int) -> str:
        return (
            f"lpad(CAST({expression} AS text), {width}, '0')"
            if self.pg
            else f"printf('%0{width}d', {expression})"
        )

    def boolean(self, expression: str) -> str:
        return f"({expression})" if self.pg else f"(CASE WHEN {expression} THEN 1 ELSE 0 END)"

    def series(self, low: int, high: int) -> tuple[str, str]:
        """(a WITH prefix, a FROM clause) giving the numbers low..high as `g.n`."""
        if self.pg:
            return "", f"generate_series(CAST({low} AS bigint), {high}) AS g(n)"
        prefix = f"WITH RECURSIVE g(n) AS (SELECT {low} UNION ALL SELECT n + 1 FROM g WHERE n < {high}) "
        return prefix, "g"


def _hashes(n: str) -> dict[str, str]:
    """Four integer hashes of row `n` in [0, 2^32) (Weyl sequences: the same on both databases)."""
    return {
        "h1": f"(({n}) * 2654435761 % {M})",
        "h2": f"((({n}) * 2246822519 + 3266489917) % {M})",
        "h3": f"((({n}) * 3266489917 + 668265263) % {M})",
        "h4": f"((({n}) * 374761393 + 2654435761) % {M})",
    }


def _line(h: dict[str, str], line: int) -> dict[str, str]:
    item = f"(({h['h2']} / 13 + {line * 7919}) % {ITEMS})"
    quantity = f"(1 + ({h['h1']} / 97 + {line}) % 3)"
    price = f"(CASE {item} % 4 " + " ".join(f"WHEN {k} THEN {p}" for k, p in enumerate(PRICES)) + " END)"
    returned = f"(CASE WHEN ({h['h1']} / 7 + {line}) % 16 = 0 THEN 1 ELSE 0 END)"
    return {
        "item": item,
        "quantity": quantity,
        "price": price,
        "value": f"({price} * {quantity})",
        "returned": returned,
    }


def _run(db: Database, statement: str, label: str, say: Callable[[str], None]) -> None:
    started = time.perf_counter()
    connection = db.engine.raw_connection()  # the driver's own cursor: no parameters, so `%` is the operator
    try:
        cursor = connection.cursor()
        cursor.execute(statement)
        cursor.close()
        connection.commit()
    finally:
        connection.close()
    say(f"{label} ({time.perf_counter() - started:.0f} s)")


def _catalog(db: Database) -> None:
    styles, items = [], []
    for s in range(1, STYLES + 1):
        styles.append(dict(id=uid(4, s), code=f"S{s:03d}", name=f"Style {s}", axes=[], divisions=["catalog", "web"],
                           tax_class="standard", created_at=START, version=1))  # fmt: skip
    for i in range(ITEMS):
        style = 1 + i // VARIANTS if i < STYLES * VARIANTS else None
        sku = f"S{style:03d}-V{i % VARIANTS + 1}" if style else f"ITEM-{i:04d}"
        items.append(dict(id=uid(3, i), sku=sku, sku_key=sku, name=sku, description="", kind="stock", status="active",
                          tax_class="standard", style_id=uid(4, style) if style else None, backorderable=False,
                          created_at=START, updated_at=START, version=1))  # fmt: skip
    with db.engine.begin() as connection:
        connection.execute(sa.insert(StyleRow.__table__), styles)
        connection.execute(sa.insert(ItemRow.__table__), items)


# The merchandise tree: (code, parent); styles and items of no style are put in its leaves by their number
CATEGORIES = (("APPAREL", None), ("TOPS", "APPAREL"), ("BOTTOMS", "APPAREL"), ("HOME", None),
              ("KITCHEN", "HOME"), ("LIGHTING", "HOME"), ("GIFTS", None))  # fmt: skip
STYLE_CATEGORIES = ("TOPS", "BOTTOMS", "TOPS", "KITCHEN")  # style s: STYLE_CATEGORIES[s % 4]
ITEM_CATEGORIES = ("KITCHEN", "LIGHTING", "GIFTS", "TOPS", None)  # item of no style i: ITEM_CATEGORIES[i % 5]


def categorize(db: Database) -> None:
    """Put the styles (with their variants) and the items of no style in the merchandise tree: the categories made
    when missing, every assignment written again (a database filled before categories existed gets them too)."""
    paths: dict[str, str] = {}
    for code, parent in CATEGORIES:
        paths[code] = f"{paths[parent]}/{code}" if parent else code
    with db.engine.begin() as connection:
        have = set(connection.execute(sa.select(CategoryRow.code)).scalars())
        missing = [dict(code=code, name=code.title(), parent_code=parent, path=paths[code], active=True,
                        created_at=START, updated_at=START, version=1)
                   for code, parent in CATEGORIES if code not in have]  # fmt: skip
        if missing:
            connection.execute(sa.insert(CategoryRow.__table__), missing)
        styles, items = StyleRow.__table__, ItemRow.__table__
        for k, category in enumerate(STYLE_CATEGORIES):
            chosen = [uid(4, s) for s in range(1, STYLES + 1) if s % 4 == k]
            connection.execute(sa.update(styles).where(styles.c.id.in_(chosen)).values(category=category))
            connection.execute(sa.update(items).where(items.c.style_id.in_(chosen)).values(category=category))
        for k, category in enumerate(ITEM_CATEGORIES):
            chosen = [uid(3, i) for i in range(STYLES * VARIANTS, ITEMS) if i % 5 == k]
            connection.execute(sa.update(items).where(items.c.id.in_(chosen)).values(category=category))


def _customers(db: Database, sql: Sql, customers: int, say: Callable[[str], None]) -> None:
    false, true = ("false", "true") if sql.pg else ("0", "1")
    for low in range(1, customers + 1, STEP):
        high = min(low + STEP - 1, customers)
        prefix, source = sql.series(low, high)
        _run(db, f"""{prefix}INSERT INTO customers (id, number, kind, first_name, last_name, company, display_name,
            status, customer_group, default_country, tax_exempt, tax_certificate, currency, payment_terms, do_not_mail,
            do_not_email, do_not_call, tags, created_channel, source_code, last_source_code, created_at, updated_at,
            version)
            SELECT {sql.uid(1, "g.n")}, 'C-' || {sql.text("g.n + 100000")}, 'consumer', 'Pat', {sql.text("g.n")}, '',
                'Customer ' || {sql.text("g.n")}, 'buyer', 'retail', 'US', {false}, '', 'USD', '',
                {sql.boolean("g.n % 20 = 3")}, {false}, {false}, '[]', 'mail', '', '', {sql.at("0")}, {sql.at("0")}, 1
            FROM {source}""", f"customers {low:,}-{high:,}", say)  # fmt: skip
        # one in twenty lives at the address of the customer before: the same street, region and postal code
        street = "(CASE WHEN g.n % 20 = 7 THEN g.n - 1 ELSE g.n END)"
        region = f"(CASE {street} % 6 " + " ".join(
            f"WHEN {k} THEN '{r}'" for k, r in enumerate(("CA", "NY", "TX", "IL", "WA", "FL"))) + " END)"  # fmt: skip
        digit = f"(CASE {street} % 6 " + " ".join(
            f"WHEN {k} THEN '{d}'" for k, d in enumerate("917693")) + " END)"  # fmt: skip
        postal = sql.pad(f"{_hashes(street)['h1']} % 10000", 4)
        _run(db, f"""{prefix}INSERT INTO customer_addresses (id, customer_id, kind, name, line1, line2, city, region,
            postal_code, country, is_default)
            SELECT {sql.uid(2, "g.n")}, {sql.uid(1, "g.n")}, 'bill_to', 'Customer ' || {sql.text("g.n")},
                {sql.text(street)} || ' Main St', '', 'Town', {region},
                {digit} || {postal}, 'US', {true}
            FROM {source}""", f"addresses {low:,}-{high:,}", say)  # fmt: skip
        _run(
            db,
            f"""{prefix}INSERT INTO customer_channels (customer_id, channel)
            SELECT {sql.uid(1, "g.n")}, 'mail' FROM {source}""",
            f"channels {low:,}-{high:,}",
            say,
        )
        _run(db, f"""{prefix}INSERT INTO marketing_mail_flags (customer_id, deceased, undeliverable, updated_at)
            SELECT {sql.uid(1, "g.n")}, {true}, {false}, {sql.at("0")} FROM {source} WHERE g.n % 100 = 5""",
             f"mail flags {low:,}-{high:,}", say)  # fmt: skip


def _orders(
    db: Database, sql: Sql, customers: int, orders: int, codes: list[str], say: Callable[[str], None]
) -> None:
    h = _hashes("g.n")
    buyer = f"(1 + ({customers} * {h['h1']} / {M}) * {h['h2']} / {M})"
    kind = f"({h['h4']} % 10)"
    channel = (f"(CASE WHEN {kind} < 4 THEN 'mail' WHEN {kind} < 7 THEN 'phone' WHEN {kind} < 9 THEN 'web' "
               "ELSE 'store-1' END)")  # fmt: skip
    division = f"(CASE WHEN {kind} < 7 THEN 'catalog' WHEN {kind} < 9 THEN 'web' ELSE 'store' END)"
    two_lines = f"({h['h4']} / 16 % 3 = 0)"
    first, second = _line(h, 1), _line(h, 2)
    total = f"({first['value']} + CASE WHEN {two_lines} THEN {second['value']} ELSE 0 END)"
    code = "(CASE " + " ".join(f"WHEN {h['h2']} % 24 = {k} THEN '{c}'" for k, c in enumerate(codes)) + " END)"
    keyed = f"(CASE WHEN {h['h3']} % 10 < 6 THEN {code} END)"
    status = f"(CASE WHEN {h['h4']} % 50 = 7 THEN 'cancelled' ELSE 'shipped' END)"
    at = sql.at(f"{h['h3']} % 31536000")
    false = "false" if sql.pg else "0"
    for low in range(1, orders + 1, STEP):
        high = min(low + STEP - 1, orders)
        prefix, source = sql.series(low, high)
        _run(db, f"""{prefix}INSERT INTO orders (id, number, channel, division, external_id, customer_id,
            customer_number, email, status, payment_status, fulfillment_status, currency, merchandise_minor,
            surcharges_minor, discounts_minor, shipping_minor, tax_minor, total_minor, source_code, coupons, billing,
            payment, pricing, ship_tos, allocation, address_key, card_key, priority, exchange_for, fulfillment, store,
            placed_at, imported, release_at, created_at, updated_at, version)
            SELECT {sql.uid(5, "g.n")}, {sql.text("g.n + 1000000")}, {channel}, {division}, NULL, {sql.uid(1, buyer)},
                'C-' || {sql.text(f"{buyer} + 100000")}, '', {status}, 'captured', 'shipped', 'USD', {total}, 0, 0, 0,
                0, {total}, {keyed}, '[]', '{{}}', '{{}}', '{{}}', '[]', '[]', '', '', 0, NULL, 'ship', NULL, {at},
                {false}, NULL, {at}, {at}, 1
            FROM {source}""", f"orders {low:,}-{high:,}", say)  # fmt: skip
        for number, line in ((1, first), (2, second)):
            where = f"WHERE {two_lines}" if number == 2 else ""
            _run(db, f"""{prefix}INSERT INTO order_lines (order_id, line_no, item_id, sku, name, quantity, ship_to,
                personalization, gift_message, unit_price_minor, price_list, merchandise_minor, surcharge_minor,
                discount_minor, tax_minor, reserved, backordered, cancelled, shipped, returned, returnable,
                allocations)
                SELECT {sql.uid(5, "g.n")}, {number}, {sql.uid(3, line["item"])}, 'SKU', 'A product',
                    {line["quantity"]}, 'main', '{{}}', '', {line["price"]}, 'usd', {line["value"]}, 0, 0, 0, 0, 0, 0,
                    {line["quantity"]}, {line["returned"]}, {"true" if sql.pg else "1"}, '[]'
                FROM {source} {where}""", f"order lines {number} {low:,}-{high:,}", say)  # fmt: skip


def fill(db: Database, customers: int, orders: int, codes: list[str], say: Callable[[str], None]) -> None:
    """Customers, the catalog and orders, set-based; the orders' secondary indexes built after their rows."""
    sql = Sql(db.dialect)
    _catalog(db)
    categorize(db)
    _customers(db, sql, customers, say)
    indexes = [*OrderRow.__table__.indexes, *OrderLineRow.__table__.indexes]
    with db.engine.begin() as connection:
        for index in indexes:
            index.drop(connection)
    _orders(db, sql, customers, orders, codes, say)
    started = time.perf_counter()
    with db.engine.begin() as connection:
        if sql.pg:
            connection.exec_driver_sql("SET maintenance_work_mem = '1GB'")
        for index in indexes:
            index.create(connection)
    say(f"{len(indexes)} order indexes built ({time.perf_counter() - started:.0f} s)")


def sizes(db: Database) -> dict[str, Any]:
    """PostgreSQL: the stored facts' tables and the lines' item index, with their indexes, in MB."""
    if db.dialect != "postgresql":
        return {}
    names = ("marketing_customer_facts", "marketing_customer_purchases", "marketing_customer_styles",
             "marketing_customer_items", "ix_order_lines_item", "orders", "order_lines")  # fmt: skip
    with db.engine.connect() as connection:
        return {
            name: round(
                connection.exec_driver_sql(f"SELECT pg_total_relation_size('{name}')").scalar_one() / 2**20
            )
            for name in names
        }
