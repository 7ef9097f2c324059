"""The store POS on SQLite and PostgreSQL: a till sale is one POS-channel order carried out of the store (its stock
consumed at once), however often it is sent; its cash counts into its shift once; a sale handed over offline that
can no longer be filled is flagged for the store manager (never lost), placed again once it can be, or resolved
with a note; shifts close with the drawer's difference; the catalog slice a till keeps for offline selling."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ordersmith.channels.pos import service as pos
from ordersmith.channels.pos.tables import PosSaleRow, PosShiftRow
from ordersmith.inventory import service as inventory
from ordersmith.kernel.errors import Conflict, InsufficientStock, NotFound, ValidationFailed
from ordersmith.orders import service as orders
from ordersmith.orders.tables import OrderRow
from ordersmith.payments import service as payments
from ordersmith.platform.access import ROLE_SCOPES, Principal
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.settings import Settings
from ordersmith.platform.tables import AuditRow
from tests.support.pos_shop import CAP_GTIN, make_pos_shop, sale_request, usd

CLERK = Principal(
    kind="user", id=uuid.uuid4(), label="clerk@example.com", scopes=ROLE_SCOPES["store"], role="store"
)
MANAGER = Principal(
    kind="user", id=uuid.uuid4(), label="boss@example.com", scopes=ROLE_SCOPES["manager"], role="manager"
)


@pytest.fixture
def shop(uow: UnitOfWork, db: Database, settings: Settings):  # type: ignore[no-untyped-def]
    wired = payments.setup_payments(db, settings)
    make_pos_shop(uow)
    yield uow
    wired.vault.dispose()


def count(uow: UnitOfWork, model: type) -> int:
    with uow:
        return int(uow.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def free(uow: UnitOfWork, sku: str, location: str = "STORE1") -> int:
    found = inventory.get_availability(uow, sku=sku)
    return next((loc.on_hand - loc.reserved for loc in found.locations if loc.location == location), 0)


def shift_row(uow: UnitOfWork, shift_id: uuid.UUID) -> tuple[int, int, int, int]:
    with uow:
        row = uow.session.get(PosShiftRow, shift_id)
        assert row is not None
        return row.cash_in_minor, row.change_out_minor, row.sales, row.late_sales


def test_a_cash_sale_is_one_taken_order_of_the_till_s_channel_and_its_cash_counts_into_the_shift(
    shop: UnitOfWork,
):
    # given an open shift with a 100.00 float
    shift = pos.open_shift(shop, principal=CLERK, register="R1", opening_float="100.00")
    # when a tee is rung up and paid with 50.00 in cash (28.00 change)
    rung = pos.ring_up(shop, principal=CLERK, sale=sale_request(("TEE", 1), shift=str(shift.id)))
    # then it is one order of the till's channel, carried out of STORE1 and shipped at once, paid in cash
    order = rung.order
    assert (rung.created, rung.sale.status, rung.sale.order_number) == (True, "placed", order.number)
    assert (order.channel, order.fulfillment, order.store, order.status) == (
        "till",
        "taken",
        "STORE1",
        "shipped",
    )
    assert (order.external_id, order.total) == (str(rung.sale.id), usd("22.00"))
    (cash,) = payments.order_payments(shop, order_id=order.id)
    assert (cash.method, cash.status, cash.captured) == ("cash", "captured", usd("22.00"))
    assert free(shop, "TEE") == 2 and free(shop, "TEE", "EAST") == 10
    # and the drawer counts 50.00 in and 28.00 out: 122.00 expected
    assert shift_row(shop, shift.id) == (5000, 2800, 1, 0)
    assert pos.get_shift(shop, principal=CLERK, shift_id=shift.id).expected == usd("122.00")
    assert inventory.verify(shop) == []


def test_the_same_sale_sent_again_answers_the_first_order_and_counts_nothing_again(shop: UnitOfWork):
    shift = pos.open_shift(shop, principal=CLERK, register="R1", opening_float="0.00")
    sale = sale_request(("TEE", 1), shift=str(shift.id))
    first = pos.ring_up(shop, principal=CLERK, sale=sale)
    # when the till sends it twice more, once as handed over offline
    again = pos.ring_up(shop, principal=CLERK, sale=sale)
    offline = pos.ring_up(shop, principal=CLERK, sale=sale_request(("TEE", 1), sale_id=sale.id, offline=True))
    # then both answer the first order, and nothing more was written or counted
    assert (again.created, again.order.id, offline.order.id) == (False, first.order.id, first.order.id)
    assert count(shop, OrderRow) == 1 and free(shop, "TEE") == 2
    assert shift_row(shop, shift.id) == (5000, 2800, 1, 0)


def test_an_offline_sale_whose_stock_is_gone_is_flagged_with_its_cash_counted_and_never_placed_twice(
    shop: UnitOfWork,
):
    # given an open shift, and four tees rung up offline where the store has three
    shift = pos.open_shift(shop, principal=CLERK, register="R1", opening_float="20.00")
    sale = sale_request(
        ("TEE", 4),
        shift=str(shift.id),
        offline=True,
        tenders=[{"method": "cash", "received": "100.00", "change": "12.00"}],
    )
    # when it is synced
    with pytest.raises(pos.SaleFlagged) as flagged:
        pos.ring_up(shop, principal=CLERK, sale=sale)
    # then no order and no stock moved, but the sale is flagged for the manager with its reason, and its cash is in
    assert flagged.value.status == 409 and flagged.value.extra["reason"] == "stock_gone"
    assert count(shop, OrderRow) == 0 and free(shop, "TEE") == 3
    (listed,) = pos.list_flagged(shop, principal=MANAGER, store="STORE1").items
    assert (listed.id, listed.status, listed.reason, listed.cash_received) == (
        sale.id,
        "flagged",
        "stock_gone",
        usd("100.00"),
    )
    assert shift_row(shop, shift.id) == (10000, 1200, 1, 0)
    # and sent again it answers its flag and counts nothing again
    with pytest.raises(pos.SaleFlagged):
        pos.ring_up(shop, principal=CLERK, sale=sale)
    assert shift_row(shop, shift.id) == (10000, 1200, 1, 0) and count(shop, PosSaleRow) == 1


def test_an_online_sale_without_the_stock_is_refused_and_nothing_is_written(shop: UnitOfWork):
    with pytest.raises(InsufficientStock):
        pos.ring_up(shop, principal=CLERK, sale=sale_request(("TEE", 4)))
    assert count(shop, OrderRow) == 0 and count(shop, PosSaleRow) == 0 and free(shop, "TEE") == 3


def test_a_flagged_sale_is_placed_once_by_the_manager_after_a_count_and_then_cannot_be_resolved(
    shop: UnitOfWork,
):
    sale = sale_request(("TEE", 4), offline=True, tenders=[{"method": "cash", "received": "88.00"}])
    with pytest.raises(pos.SaleFlagged):
        pos.ring_up(shop, principal=CLERK, sale=sale)
    # placing it again before the stock is found refuses it again: it stays flagged
    with pytest.raises(InsufficientStock):
        pos.place_flagged(shop, principal=MANAGER, sale_id=sale.id)
    assert pos.get_sale(shop, sale_id=sale.id, principal=None).attempts == 2
    # when a count finds the fourth tee and the manager places it
    inventory.record_count(shop, location="STORE1", counts={"TEE": 4})
    rung = pos.place_flagged(shop, principal=MANAGER, sale_id=sale.id)
    # then it is one order with the sale's id, the flag is gone from the list, and the till's resend answers it
    assert (rung.order.external_id, rung.order.total, rung.sale.status) == (
        str(sale.id),
        usd("88.00"),
        "placed",
    )
    assert pos.list_flagged(shop, principal=MANAGER).items == []
    assert pos.ring_up(shop, principal=CLERK, sale=sale).order.id == rung.order.id
    with pytest.raises(Conflict):
        pos.place_flagged(shop, principal=MANAGER, sale_id=sale.id)
    with pytest.raises(Conflict):
        pos.resolve_flagged(shop, principal=MANAGER, sale_id=sale.id, note="too late")
    assert count(shop, OrderRow) == 1 and free(shop, "TEE") == 0


def test_a_flagged_sale_resolved_with_a_note_is_audited_and_still_answers_its_flag(shop: UnitOfWork):
    sale = sale_request(("TEE", 9), offline=True)
    with pytest.raises(pos.SaleFlagged):
        pos.ring_up(shop, principal=CLERK, sale=sale)
    resolved = pos.resolve_flagged(shop, principal=MANAGER, sale_id=sale.id, note="written off: shrinkage")
    assert (resolved.status, resolved.note) == ("resolved", "written off: shrinkage")
    assert pos.list_flagged(shop, principal=MANAGER).items == []
    with pytest.raises(pos.SaleFlagged) as again:
        pos.ring_up(shop, principal=CLERK, sale=sale)
    assert again.value.extra["sale_status"] == "resolved"
    with shop:
        actions = shop.session.scalars(
            sa.select(AuditRow.action).where(AuditRow.object_id == str(sale.id)).order_by(AuditRow.at)
        ).all()
    assert actions == ["pos.sale_flagged", "pos.sale_resolved"]


def test_a_card_is_not_taken_offline_and_malformed_tenders_are_refused_naming_the_field(shop: UnitOfWork):
    cases = [
        (
            {"offline": True, "tenders": [{"method": "card", "amount": "22.00", "token": "vtok_x"}]},
            "tenders.0.method",
        ),
        ({"tenders": [{"method": "cash", "amount": "22.00", "received": "22.00"}]}, "tenders.0.amount"),
        ({"tenders": [{"method": "cash"}]}, "tenders.0.received"),
        ({"tenders": [{"method": "cash", "received": "10.00", "change": "12.00"}]}, "tenders.0.change"),
        (
            {"tenders": [{"method": "cash", "received": "1"}, {"method": "cash", "received": "1"}]},
            "tenders.1.method",
        ),
        ({"tenders": [{"method": "gift_card", "token": "X"}]}, "tenders.0.amount"),
        ({"tenders": [{"method": "cash", "received": "1.001"}]}, "tenders.0.received"),
        ({"rung_at": "2099-01-01T00:00:00+00:00"}, "rung_at"),
        ({"shift": str(uuid.uuid4())}, "shift"),
    ]
    for fields, field in cases:
        with pytest.raises(ValidationFailed) as refused:
            pos.ring_up(shop, principal=CLERK, sale=sale_request(("TEE", 1), **fields))
        assert [e.field for e in refused.value.errors] == [field], fields
    assert count(shop, OrderRow) == 0 and count(shop, PosSaleRow) == 0 and free(shop, "TEE") == 3


def test_a_split_tender_pays_by_gift_card_and_card_and_the_cash_pays_the_rest(shop: UnitOfWork, db: Database):
    # given a 30.00 gift card and a card in the vault
    gift = payments.issue(shop, amount=usd("30.00"))
    token = (
        payments.wiring(shop)
        .vault.tokenize(number="4242424242424242", exp_month=12, exp_year=2031, actor="test")
        .token
    )
    # when two tees and a mug (55.00 with tax) are paid 30.00 by gift card, 20.00 by card and the rest in cash
    tenders = [
        {"method": "gift_card", "amount": "30.00", "token": gift.code},
        {"method": "card", "amount": "20.00", "token": token},
        {"method": "cash", "received": "10.00", "change": "5.00"},
    ]
    rung = pos.ring_up(shop, principal=CLERK, sale=sale_request(("TEE", 2), ("MUG", 1), tenders=tenders))
    # then each tender paid its part
    found = {p.method: p for p in payments.order_payments(shop, order_id=rung.order.id)}
    assert rung.order.total == usd("55.00")
    assert (found["gift_card"].captured, found["card"].authorized, found["cash"].captured) == (
        usd("30.00"),
        usd("20.00"),
        usd("5.00"),
    )
    assert payments.get_gift_card(shop, card_id=gift.card.id).balance == usd("0.00")


def test_a_gift_card_short_at_the_sync_of_an_offline_sale_flags_it(shop: UnitOfWork):
    gift = payments.issue(shop, amount=usd("10.00"))
    sale = sale_request(
        ("TEE", 1), offline=True, tenders=[{"method": "gift_card", "amount": "22.00", "token": gift.code}]
    )
    with pytest.raises(pos.SaleFlagged) as flagged:
        pos.ring_up(shop, principal=CLERK, sale=sale)
    assert flagged.value.extra["reason"] == "gift_card_short"
    assert (
        payments.get_gift_card(shop, card_id=gift.card.id).balance == usd("10.00") and free(shop, "TEE") == 3
    )


def test_a_shift_closes_with_the_drawer_s_difference_and_a_register_has_one_open_shift(shop: UnitOfWork):
    shift = pos.open_shift(shop, principal=CLERK, register="R1", opening_float="100.00")
    with pytest.raises(pos.ShiftOpen):
        pos.open_shift(shop, principal=CLERK, register="R1", opening_float="50.00")
    pos.ring_up(
        shop,
        principal=CLERK,
        sale=sale_request(
            ("MUG", 1),
            shift=str(shift.id),
            tenders=[{"method": "cash", "received": "20.00", "change": "9.00"}],
        ),
    )
    # when the drawer is counted 2.50 short
    closed = pos.close_shift(
        shop, principal=CLERK, shift_id=shift.id, counted="108.50", note="two coins missing"
    )
    # then expected is 100 + 20 - 9 = 111.00, the difference -2.50, kept on the shift and audited
    assert (closed.status, closed.expected_at_close, closed.counted, closed.difference) == (
        "closed",
        usd("111.00"),
        usd("108.50"),
        usd("-2.50"),
    )
    with pytest.raises(Conflict):
        pos.close_shift(shop, principal=CLERK, shift_id=shift.id, counted="111.00")
    with shop:
        audited = shop.session.scalars(
            sa.select(AuditRow.after).where(AuditRow.action == "pos.shift_closed")
        ).all()
    assert [(a["expected"], a["counted"], a["difference"]) for a in audited] == [
        ("111.00", "108.50", "-2.50")
    ]
    # a new shift opens once the last one is closed; a sale synced late still counts into the shift it was rung in
    pos.open_shift(shop, principal=CLERK, register="R1", opening_float="100.00")
    pos.ring_up(
        shop,
        principal=CLERK,
        sale=sale_request(
            ("MUG", 1), shift=str(shift.id), offline=True, tenders=[{"method": "cash", "received": "11.00"}]
        ),
    )
    assert shift_row(shop, shift.id) == (3100, 900, 2, 1)
    assert pos.get_shift(shop, principal=CLERK, shift_id=shift.id).difference == usd("-2.50")


def test_the_catalog_slice_prices_one_unit_at_the_store_with_its_tax_rate_barcodes_and_free_units(
    shop: UnitOfWork,
):
    page = pos.catalog_slice(shop, principal=CLERK, register="R1", limit=50)
    found = {i.sku: (i.price, i.tax_rate, i.free, i.barcodes) for i in page.items}
    # the store division's items (the personalized towel left out), the store list's cap, California's 10 %
    assert found["TEE"] == (usd("20.00"), Decimal("0.1"), 3, [])
    assert found["CAP"] == (usd("12.50"), Decimal("0.1"), 4, [CAP_GTIN.zfill(14)])
    assert found["SET"][2] is None and "TOWEL" not in found
    # a scanner reads the cap's UPC as 12 digits; a code sold elsewhere only is nothing here
    assert pos.lookup(shop, principal=CLERK, register="R1", code="012345678905").sku == "CAP"  # type: ignore[union-attr]
    assert pos.lookup(shop, principal=CLERK, register="R1", code="NOPE") is None


def test_a_pos_channel_s_key_sees_only_its_own_stores_and_another_s_register_is_not_found(shop: UnitOfWork):
    from ordersmith.platform import sales_channels

    other = sales_channels.create_sales_channel(
        shop, code="till-2", name="Other", kind="pos", division="store", currency="USD"
    )
    key = Principal(
        kind="api_key", id=uuid.uuid4(), label="k", scopes=ROLE_SCOPES["store"], channel_id=other.id
    )
    assert pos.list_registers(shop, principal=key) == [] and pos.list_stores(shop, principal=key) == []
    with pytest.raises(NotFound):
        pos.get_register(shop, code="R1", principal=key)
    with pytest.raises(NotFound):
        pos.ring_up(shop, principal=key, sale=sale_request(("TEE", 1)))
    assert count(shop, OrderRow) == 0


def test_a_quote_of_a_sale_runs_the_pipeline_with_its_coupons(shop: UnitOfWork):
    from ordersmith.pricing import service as pricing

    pricing.create_promotion(
        shop,
        promotion=pricing.PromotionInput(
            code="TENOFF",
            name="10 % off",
            kind="percent_off_items",
            percent=Decimal("10"),
            coupon_required=True,
        ),
    )
    pricing.create_coupon(shop, code="SAVE10", promotion="TENOFF")
    quote = pos.quote_sale(shop, principal=CLERK, sale=sale_request(("TEE", 2), coupons=["SAVE10"]))
    assert (quote.discounts, quote.total) == (usd("4.00"), usd("39.60"))
    assert orders.list_orders(shop, limit=5).items == []


def test_an_order_bought_online_is_returned_in_store_into_the_store_s_stock_and_refunded_to_its_gift_card(
    shop: UnitOfWork,
):
    from tests.builders import channel, order_request, place_paid

    # given a web order of two tees paid by gift card, shipped from the warehouse
    gift = payments.issue(shop, amount=usd("100.00"))
    placed = place_paid(
        shop,
        channel=channel(shop),
        request=order_request(
            ("TEE", 2), payments=[orders.PaymentRequest(method="gift_card", token=gift.code)]
        ),
    ).order
    orders.record_shipment(shop, ref=str(placed.id), lines={1: 2}, tracking="1Z")
    after_sale = payments.get_gift_card(shop, card_id=gift.card.id).balance
    # when one tee is brought back to STORE1's till
    done = pos.return_in_store(
        shop,
        principal=CLERK,
        register="R1",
        order_ref=placed.number,
        lines=[pos.ReturnLineRequest(line_no=1, quantity=1, reason="wrong_size")],
    )
    # then it is back in the store's stock and its price with tax is back on the gift card
    assert (done.store, done.refund_due, done.refunded, done.refund_problem) == (
        "STORE1",
        usd("22.00"),
        usd("22.00"),
        None,
    )
    assert free(shop, "TEE") == 4
    assert payments.get_gift_card(shop, card_id=gift.card.id).balance == after_sale + usd("22.00")
    assert orders.get_return(shop, ref=done.return_number).status == "received"


def test_a_till_sale_returned_in_store_pays_cash_out_of_the_drawer_counted_into_the_shift(shop: UnitOfWork):
    shift = pos.open_shift(shop, principal=CLERK, register="R1", opening_float="100.00")
    sale = pos.ring_up(
        shop,
        principal=CLERK,
        sale=sale_request(("MUG", 2), shift=str(shift.id), tenders=[{"method": "cash", "received": "22.00"}]),
    )
    done = pos.return_in_store(
        shop,
        principal=CLERK,
        register="R1",
        order_ref=sale.order.number,
        shift=shift.id,
        lines=[pos.ReturnLineRequest(line_no=1, quantity=1, reason="damaged")],
    )
    assert (done.refunded, done.cash_out) == (usd("11.00"), usd("11.00"))
    drawer = pos.get_shift(shop, principal=CLERK, shift_id=shift.id)
    assert (drawer.cash_refunds, drawer.expected) == (usd("11.00"), usd("111.00"))
    # store credit instead: a new card for the rest, nothing from the drawer
    credit = pos.return_in_store(
        shop,
        principal=CLERK,
        register="R1",
        order_ref=sale.order.number,
        shift=shift.id,
        lines=[pos.ReturnLineRequest(line_no=1, quantity=1, reason="changed_mind")],
        to_store_credit=True,
    )
    assert credit.store_credit_code and credit.cash_out == usd("0.00")
    assert pos.get_shift(shop, principal=CLERK, shift_id=shift.id).cash_refunds == usd("11.00")
    # more than was bought is refused, naming the field, and nothing changes
    with pytest.raises(ValidationFailed) as refused:
        pos.return_in_store(
            shop,
            principal=CLERK,
            register="R1",
            order_ref=sale.order.number,
            lines=[pos.ReturnLineRequest(line_no=1, quantity=1, reason="damaged")],
        )
    assert refused.value.errors[0].field == "lines.0.quantity"
    assert free(shop, "MUG") == 5


def test_endless_aisle_a_sale_delivered_from_the_warehouse_when_the_store_has_none(shop: UnitOfWork):
    # the store has no lamps; the warehouse has two
    found = pos.elsewhere(shop, principal=CLERK, register="R1", sku="LAMP")
    assert (found.here, [(s.location, s.available) for s in found.elsewhere]) == (0, [("EAST", 2)])
    address = {
        "name": "Ann Buyer",
        "line1": "1 Market St",
        "city": "San Francisco",
        "region": "CA",
        "postal_code": "94105",
        "country": "US",
        "method": "ground",
    }
    rung = pos.ring_up(
        shop,
        principal=CLERK,
        sale=sale_request(
            ("LAMP", 1),
            deliver_to=address,
            tenders=[{"method": "cash", "received": "100.00", "change": "6.50"}],
        ),
    )
    # then it is the till channel's order, shipped (lamp 80 + ground 5, 10 % tax on the lamp) from EAST
    order = rung.order
    assert (order.channel, order.fulfillment, order.store, order.total) == (
        "till",
        "ship",
        None,
        usd("93.00"),
    )
    assert [a.location for line in order.lines for a in line.allocations] == ["EAST"]
    with pytest.raises(ValidationFailed) as offline:
        pos.ring_up(shop, principal=CLERK, sale=sale_request(("LAMP", 1), deliver_to=address, offline=True))
    assert offline.value.errors[0].field == "deliver_to"


def test_the_cli_sets_a_store_up_adds_a_register_lists_flagged_sales_and_refuses_bad_input_in_one_line(
    db_url: str, shop: UnitOfWork
):
    from tests.builders import make_location
    from tests.support.cli import run

    # a second store's till, set up from the command line
    make_location(shop, code="STORE2", kind="store", division="store")
    made = run(
        db_url,
        "pos",
        "store",
        "STORE2",
        "--channel",
        "till",
        "--name",
        "Oakland",
        "--line1",
        "1 Broadway",
        "--city",
        "Oakland",
        "--region",
        "CA",
        "--country",
        "US",
    )
    assert made.returncode == 0, made.stderr
    assert run(db_url, "pos", "register", "OAK-1", "--store", "STORE2").returncode == 0
    assert "OAK-1" in run(db_url, "pos", "registers").stdout
    # a flagged sale is listed with its reason
    sale = sale_request(("TEE", 9), offline=True)
    with pytest.raises(pos.SaleFlagged):
        pos.ring_up(shop, principal=CLERK, sale=sale)
    listed = run(db_url, "pos", "flagged")
    assert str(sale.id) in listed.stdout and "stock_gone" in listed.stdout
    # bad input: one line, a non-zero exit, nothing written
    refused = run(db_url, "pos", "register", "OAK-2", "--store", "NOWHERE")
    assert (refused.returncode, refused.stderr.strip().count("\n")) == (2, 0)
    assert "store" in refused.stderr
    assert [r.code for r in pos.list_registers(shop, principal=None, store="STORE2")] == ["OAK-1"]
    # a register renamed and closed, then opened again; closing one whose shift is open is refused
    renamed = run(db_url, "pos", "register-change", "OAK-1", "--name", "Oakland front", "--close")
    assert renamed.returncode == 0, renamed.stderr
    assert "closed" in renamed.stdout and "closed" in run(db_url, "pos", "registers").stdout
    assert run(db_url, "pos", "register-change", "OAK-1", "--open").returncode == 0
    found = pos.get_register(shop, code="OAK-1", principal=None)
    assert (found.name, found.active) == ("Oakland front", True)
    pos.open_shift(shop, principal=None, register="OAK-1", opening_float="10.00")
    busy = run(db_url, "pos", "register-change", "OAK-1", "--close")
    assert busy.returncode != 0 and busy.stderr.strip().count("\n") == 0 and "open shift" in busy.stderr
    assert pos.get_register(shop, code="OAK-1", principal=None).active
    both = run(db_url, "pos", "register-change", "OAK-1", "--close", "--open")
    assert both.returncode == 2 and pos.get_register(shop, code="OAK-1", principal=None).active


def test_a_register_read_into_the_cache_while_its_change_commits_is_not_kept_stale(shop: UnitOfWork) -> None:
    from ordersmith.channels.pos.service._common import CACHE, load_register

    # given the register cached by an earlier sale
    with shop:
        load_register(shop, code="R1", principal=None)
    # when it is renamed, and a sale in another thread reads (and caches) it before the rename commits
    with shop:
        pos.update_register(shop, code="R1", principal=None, name="Back till")
        shop.db.caches.setdefault(CACHE, {})["R1"] = ("read before the commit", None)  # type: ignore[index]
    # then the commit clears what was cached meanwhile: the next sale reads the new name
    assert CACHE not in shop.db.caches
    with shop:
        assert load_register(shop, code="R1", principal=None).register.name == "Back till"
