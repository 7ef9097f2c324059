"""The generic CSV/SFTP marketplace feed on SQLite and PostgreSQL, against a real SFTP server on 127.0.0.1
(`tests/support/sftp_server.py`: asyncssh serving a temporary folder): order files in the inbox folder become one
order per channel order id, once, however often a file is read or re-uploaded; a bad row dead-letters its own order
with the row and the reason while the file's other orders import; read files move to the done folder (after the
commit: a failed move reads the file again, recording nothing twice); available-to-sell, price and shipment files
go out to the outbox folder; a wrong password or host key pauses the feed with a dead letter."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ordersmith.channels import service as channels
from ordersmith.channels.tables import ChannelOrderRow, ConnectorRow, PollStateRow
from ordersmith.kernel.clock import FixedClock
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.orders.tables import OrderRow
from ordersmith.payments import service as payments
from ordersmith.platform import jobs, outbox
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.settings import Settings
from ordersmith.platform.tables import OutboxRow
from ordersmith.pricing import service as pricing
from tests.builders import make_order_shop, stock
from tests.support.sftp_server import SftpServer, sftp_server

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
HEADER = "order_id,placed_at,currency,email,ship_name,ship_line1,ship_city,ship_region,ship_postal_code,ship_country,sku,quantity,unit_price"  # noqa: E501
MAPPED = {"M-TEE": "TEE", "M-MUG": "MUG", "M-LAMP": "LAMP"}


def row(order_id: str, sku: str, quantity: str = "1", *, name: str = "Ann Buyer") -> str:
    return (
        f"{order_id},2026-12-01T10:00:00+00:00,USD,ann@example.com,{name},1 Market St,San Francisco,CA,94105,US,"
        f"{sku},{quantity},20.00"
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SftpServer]:
    with sftp_server(tmp_path_factory.mktemp("sftp")) as running:
        yield running


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


def _drain(db: Database) -> int:
    total = 0
    while (ran := jobs.run_due_jobs(db, worker="test")) > 0:
        total += ran
    return total


def _relay(uow: UnitOfWork) -> None:
    while outbox.dispatch_batch(uow):
        pass


def _folders(root: Path) -> dict[str, Path]:
    return {"inbox": root / "orders" / "inbox", "done": root / "orders" / "done", "outbox": root / "outbox"}


@pytest.fixture
def feed(db: Database, settings: Settings, clock: FixedClock, server: SftpServer) -> Iterator[UnitOfWork]:
    for path in _folders(server.root).values():
        path.mkdir(parents=True, exist_ok=True)
        for old in path.iterdir():
            old.unlink()
    server.failing_renames = 0
    db.set_clock(clock)
    wired = payments.setup_payments(db, settings)
    channels.register()
    channels.setup_channels(db, settings)
    uow = db.unit_of_work(Actor.system("test"))
    make_order_shop(uow)
    channels.create_connector(
        uow,
        code="mkt",
        kind="csv_sftp",
        sales_channel="amazon",  # a marketplace: it collected the money
        name="A marketplace by SFTP",
        config={
            "shipping_method": "ground",
            "host": "127.0.0.1",
            "port": server.port,
            "username": server.username,
            "host_key": server.public_host_key,
            "stock_window_s": 5,
            "price_list": "usd",
        },
        credentials={"password": server.password},
    )
    for channel_sku, sku in MAPPED.items():
        channels.map_sku(uow, connector="mkt", channel_sku=channel_sku, sku=sku, listing_id=f"L-{sku}")
    _relay(uow)
    clock.advance(timedelta(seconds=5))
    _drain(db)  # the first stock file and the first (empty) poll
    for old in _folders(server.root)["outbox"].iterdir():
        old.unlink()
    yield uow
    wired.vault.dispose()


def _upload(server: SftpServer, name: str, *rows: str, header: str = HEADER) -> None:
    inbox = _folders(server.root)["inbox"]
    (inbox / name).write_text("\n".join((header, *rows)) + "\n", encoding="utf-8")


def _poll(uow: UnitOfWork, clock: FixedClock) -> None:
    clock.advance(timedelta(minutes=2))
    _drain(uow.db)


def _orders(uow: UnitOfWork) -> list[OrderRow]:
    with uow:
        return list(uow.session.scalars(sa.select(OrderRow).order_by(OrderRow.external_id)))


def _lines(uow: UnitOfWork, row: OrderRow) -> list[tuple[str, int]]:
    return [(line.sku, line.quantity) for line in orders.get_order(uow, ref=str(row.id)).lines]


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _read(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def test_an_order_file_imports_each_order_once_and_moves_to_done_and_a_reupload_adds_nothing(
    feed: UnitOfWork, server: SftpServer, clock: FixedClock
) -> None:
    # given: a file of two orders, the first of two lines
    _upload(server, "orders-1.csv", row("MK-1", "M-TEE", "2"), row("MK-1", "M-MUG"), row("MK-2", "M-LAMP"))
    # when
    _poll(feed, clock)
    # then
    placed = _orders(feed)
    assert [(o.external_id, _lines(feed, o)) for o in placed] == [
        ("MK-1", [("TEE", 2), ("MUG", 1)]),
        ("MK-2", [("LAMP", 1)]),
    ]
    folders = _folders(server.root)
    assert _names(folders["inbox"]) == []
    (done,) = _names(folders["done"])
    assert done.startswith("20261201T1202") and done.endswith("-orders-1.csv")
    first = orders.get_order(feed, ref=str(placed[0].id))
    (ship_to,) = first.ship_tos
    assert (ship_to.name, ship_to.line1, ship_to.city, ship_to.region, ship_to.postal_code) == (
        "Ann Buyer",
        "1 Market St",
        "San Francisco",
        "CA",
        "94105",
    )
    kept = channels.get_channel_order(feed, connector="mkt", external_id="MK-1")
    assert (kept.status, kept.deliveries, kept.reported["subtotal"]) == ("imported", 1, "60.00")
    # when the marketplace uploads the same file again, and another file repeats MK-2 beside a new order
    _upload(server, "orders-1.csv", row("MK-1", "M-TEE", "2"), row("MK-1", "M-MUG"), row("MK-2", "M-LAMP"))
    _upload(server, "orders-2.csv", row("MK-2", "M-LAMP"), row("MK-3", "M-TEE"))
    _poll(feed, clock)
    # then: one new order, the repeats counted as deliveries, both files done
    assert [o.external_id for o in _orders(feed)] == ["MK-1", "MK-2", "MK-3"]
    assert channels.get_channel_order(feed, connector="mkt", external_id="MK-2").deliveries == 3
    assert _names(folders["inbox"]) == []
    assert len(_names(folders["done"])) == 3
    assert channels.connector_health(feed, code="mkt").dead_letters_open == 0


def test_a_bad_row_dead_letters_its_order_with_the_row_and_reason_and_the_files_other_orders_import(
    feed: UnitOfWork, server: SftpServer, clock: FixedClock
) -> None:
    # given: MK-11's second line has no whole quantity; a row lacks its order id; MK-12's lines disagree on
    # the buyer's name
    _upload(
        server,
        "mixed.csv",
        row("MK-10", "M-TEE"),
        row("MK-11", "M-TEE"),
        row("MK-11", "M-MUG", "two"),
        row("", "M-MUG"),
        row("MK-12", "M-TEE"),
        row("MK-12", "M-MUG", name="Bob Other"),
        row("MK-13", "M-LAMP", "3"),
    )
    # when
    _poll(feed, clock)
    # then: the good orders imported, the file done
    assert [(o.external_id, _lines(feed, o)) for o in _orders(feed)] == [
        ("MK-10", [("TEE", 1)]),
        ("MK-13", [("LAMP", 3)]),
    ]
    folders = _folders(server.root)
    assert (_names(folders["inbox"]), len(_names(folders["done"]))) == ([], 1)
    letters = sorted(channels.list_dead_letters(feed, connector="mkt").items, key=lambda d: d.reference)
    assert [(d.operation, d.reference, d.error) for d in letters] == [
        ("import_order", "MK-11", "line.4.quantity: a whole number from 1 to 1000000"),
        ("import_order", "MK-12", "line.7.ship_name: differs from line 6 of the same order"),
        ("import_order", "mixed.csv:5", "line.5.order_id: is required"),
    ]
    kept = json.loads(letters[0].payload["body"])
    assert (kept["file"], [(r["line"], r["sku"], r["quantity"]) for r in kept["rows"]]) == (
        "mixed.csv",
        [(3, "M-TEE", "1"), (4, "M-MUG", "two")],
    )
    assert channels.connector_health(feed, code="mkt").dead_letters_open == 3
    with feed:
        assert feed.session.scalar(sa.select(sa.func.count()).select_from(ChannelOrderRow)) == 2
    # when the marketplace uploads a corrected file for MK-11
    _upload(server, "fixed.csv", row("MK-11", "M-TEE"), row("MK-11", "M-MUG", "2"))
    _poll(feed, clock)
    # then
    (fixed,) = [o for o in _orders(feed) if o.external_id == "MK-11"]
    assert _lines(feed, fixed) == [("TEE", 1), ("MUG", 2)]


def test_an_unreadable_file_is_dead_lettered_whole_and_moved_and_an_unmapped_sku_is_held(
    feed: UnitOfWork, server: SftpServer, clock: FixedClock
) -> None:
    # given: a file without the quantity column, and an order for a SKU not mapped yet
    _upload(server, "a-broken.csv", "MK-20,M-TEE", header="order_id,sku")
    _upload(server, "b-good.csv", row("MK-21", "M-NEW", "1"))
    os.utime(_folders(server.root)["inbox"] / "b-good.csv", (2_000_000_000, 2_000_000_000))  # the newer file
    # when
    _poll(feed, clock)
    # then
    (letter,) = channels.list_dead_letters(feed, connector="mkt").items
    assert (letter.reference, letter.error) == (
        "file:a-broken.csv",
        "file: a-broken.csv: the header lacks the required column(s) placed_at, currency, ship_name, "
        "ship_line1, ship_city, ship_country, quantity",
    )
    held = channels.get_channel_order(feed, connector="mkt", external_id="MK-21")
    assert (held.status, held.hold_reason, held.unmapped_skus) == ("held", "unmapped_sku", ["M-NEW"])
    assert _names(_folders(server.root)["inbox"]) == []
    # when the SKU is mapped: the held order imports
    channels.map_sku(feed, connector="mkt", channel_sku="M-NEW", sku="TEE")
    _drain(feed.db)
    assert [o.external_id for o in _orders(feed)] == ["MK-21"]


def test_a_file_whose_move_fails_after_the_commit_is_read_again_without_a_second_order(
    feed: UnitOfWork, server: SftpServer, clock: FixedClock
) -> None:
    # given: the server refuses the next rename (the move to the done folder)
    _upload(server, "orders-9.csv", row("MK-30", "M-TEE"))
    server.failing_renames = 1
    # when
    _poll(feed, clock)
    # then: the order is recorded and imported; the file stays; the poll backs off like a failed one
    assert [o.external_id for o in _orders(feed)] == ["MK-30"]
    folders = _folders(server.root)
    assert _names(folders["inbox"]) == ["orders-9.csv"]
    health = channels.connector_health(feed, code="mkt")
    assert health.polling is not None and health.polling.failures == 1
    assert "rename refused" in (health.last_error or "")
    # when the next poll comes
    clock.advance(timedelta(minutes=5))
    _drain(feed.db)
    # then: read again, nothing twice, moved
    assert [o.external_id for o in _orders(feed)] == ["MK-30"]
    assert channels.get_channel_order(feed, connector="mkt", external_id="MK-30").deliveries == 2
    assert (_names(folders["inbox"]), len(_names(folders["done"]))) == ([], 1)
    health = channels.connector_health(feed, code="mkt")
    assert health.polling is not None and health.polling.failures == 0


def _latest_available(uow: UnitOfWork) -> dict[str, int]:
    with uow:
        rows = uow.session.scalars(
            sa.select(OutboxRow).where(OutboxRow.type == "stock.changed").order_by(OutboxRow.id)
        )
        return {r.payload["sku"]: int(r.payload["available"]["web"]) for r in rows}


def test_available_to_sell_goes_out_as_one_file_per_window_with_the_latest_figures(
    feed: UnitOfWork, server: SftpServer, clock: FixedClock
) -> None:
    # given: six changes to three mapped items within a window
    for n in range(6):
        stock(feed, sku=("TEE", "MUG", "LAMP")[n % 3], location="EAST", quantity=1)
    _relay(feed)
    clock.advance(timedelta(seconds=5))
    # when
    _drain(feed.db)
    # then: one file, each item once with its latest figure; no half-written file left behind
    outbox_folder = _folders(server.root)["outbox"]
    (name,) = _names(outbox_folder)
    assert name.startswith("available-") and name.endswith(".csv")
    latest = _latest_available(feed)
    assert _read(outbox_folder / name) == [
        {"sku": "M-LAMP", "listing_id": "L-LAMP", "quantity": str(latest["LAMP"])},
        {"sku": "M-MUG", "listing_id": "L-MUG", "quantity": str(latest["MUG"])},
        {"sku": "M-TEE", "listing_id": "L-TEE", "quantity": str(latest["TEE"])},
    ]


def test_price_changes_go_out_as_one_file_per_window_and_a_refused_write_is_dead_lettered_then_replayed(
    feed: UnitOfWork, server: SftpServer, clock: FixedClock
) -> None:
    # given: three changes to two mapped items' unit prices, one to a quantity break (not a unit price)
    for sku, price, breaks in (
        ("TEE", "22.00", 1),
        ("MUG", "11.50", 1),
        ("TEE", "21.00", 1),
        ("MUG", "9.00", 6),
    ):
        entry = pricing.PriceEntry(sku, Money(Decimal(price), "USD"), min_quantity=breaks)
        pricing.set_list_price(feed, code="usd", entry=entry)
    _relay(feed)
    clock.advance(timedelta(seconds=5))
    # when
    _drain(feed.db)
    # then: one file with each item's latest unit price
    outbox_folder = _folders(server.root)["outbox"]
    (name,) = _names(outbox_folder)
    assert name.startswith("prices-")
    assert _read(outbox_folder / name) == [
        {"sku": "M-MUG", "listing_id": "L-MUG", "price": "11.50", "currency": "USD"},
        {"sku": "M-TEE", "listing_id": "L-TEE", "price": "21.00", "currency": "USD"},
    ]
    # when the server refuses the login and a price changes
    channels.set_credentials(feed, code="mkt", credentials={"password": "not-it"})
    pricing.set_list_price(feed, code="usd", entry=pricing.PriceEntry("LAMP", Money(Decimal("75.00"), "USD")))
    _relay(feed)
    clock.advance(timedelta(seconds=5))
    _drain(feed.db)
    # then: dead-lettered at once with the price; replayed once the password is right, it goes out
    (letter,) = [
        d for d in channels.list_dead_letters(feed, connector="mkt").items if d.operation == "push_prices"
    ]
    assert letter.payload == {"updates": [{"sku": "LAMP", "price": "75.00", "currency": "USD"}]}
    channels.set_credentials(feed, code="mkt", credentials={"password": server.password})
    channels.replay_dead_letter(feed, dead_letter_id=letter.id)
    _drain(feed.db)
    (second,) = [n for n in _names(outbox_folder) if n != name]
    assert _read(outbox_folder / second) == [
        {"sku": "M-LAMP", "listing_id": "L-LAMP", "price": "75.00", "currency": "USD"}
    ]


def test_a_shipment_confirmation_file_is_written_once_even_when_sent_again(
    feed: UnitOfWork, server: SftpServer, clock: FixedClock
) -> None:
    # given an imported order
    _upload(server, "orders-5.csv", row("MK-40", "M-TEE"))
    _poll(feed, clock)
    (placed,) = _orders(feed)
    # when it ships
    orders.record_shipment(feed, ref=placed.number, tracking="1Z999AA10123456784")
    _relay(feed)
    _drain(feed.db)
    # then
    outbox_folder = _folders(server.root)["outbox"]
    shipments = [n for n in _names(outbox_folder) if n.startswith("shipment-")]
    assert shipments == ["shipment-MK-40-1Z999AA10123456784.csv"]
    (sent,) = _read(outbox_folder / shipments[0])
    assert (sent["order_id"], sent["tracking_number"]) == ("MK-40", "1Z999AA10123456784")
    assert datetime.fromisoformat(sent["shipped_at"]) == clock.now()
    # when the same confirmation is sent again (a retry after a lost answer)
    with feed:
        connector_id = feed.session.scalar(sa.select(ConnectorRow.id).where(ConnectorRow.code == "mkt"))
    outcome = channels.push_shipment(
        feed,
        {
            "connector_id": str(connector_id),
            "external_id": "MK-40",
            "tracking": "1Z999AA10123456784",
            "shipped_at": START.isoformat(),
        },
    )
    # then: written once
    assert outcome == "sent"
    assert [n for n in _names(outbox_folder) if n.startswith("shipment-")] == shipments
    assert datetime.fromisoformat(_read(outbox_folder / shipments[0])[0]["shipped_at"]) == clock.now()


def test_a_refused_password_pauses_the_feed_with_a_dead_letter_until_replayed(
    feed: UnitOfWork, server: SftpServer, clock: FixedClock
) -> None:
    # given: the marketplace changed the password
    channels.set_credentials(feed, code="mkt", credentials={"password": "not-it"})
    _upload(server, "orders-7.csv", row("MK-50", "M-TEE"))
    # when
    _poll(feed, clock)
    # then: paused at once, dead-lettered, the file untouched
    (letter,) = channels.list_dead_letters(feed, connector="mkt").items
    assert (letter.operation, letter.reference) == ("poll_orders", "mkt")
    assert "refused the credentials" in letter.error
    with feed:
        state = feed.session.scalar(sa.select(PollStateRow))
        assert state is not None and state.paused
    assert _names(_folders(server.root)["inbox"]) == ["orders-7.csv"]
    # when a key login is set instead, and the letter replayed
    channels.set_credentials(feed, code="mkt", credentials={"private_key": server.client_private_key})
    channels.replay_dead_letter(feed, dead_letter_id=letter.id)
    _drain(feed.db)
    # then
    assert [o.external_id for o in _orders(feed)] == ["MK-50"]
    assert _names(_folders(server.root)["inbox"]) == []


def test_a_host_key_other_than_the_pinned_one_is_refused_for_good(
    feed: UnitOfWork, server: SftpServer, clock: FixedClock
) -> None:
    # given: the connector pins another server's key (a man in the middle, or a moved server)
    impostor = SftpServer(server.root, username="x", password="y").public_host_key
    with feed:
        connector = feed.session.scalar(sa.select(ConnectorRow).where(ConnectorRow.code == "mkt"))
        assert connector is not None
        connector.config = dict(connector.config, host_key=impostor)
    _upload(server, "orders-8.csv", row("MK-60", "M-TEE"))
    # when
    _poll(feed, clock)
    # then: no file read, the feed paused with the reason
    assert _orders(feed) == []
    (letter,) = channels.list_dead_letters(feed, connector="mkt").items
    assert "another host key" in letter.error


@pytest.mark.parametrize(
    ("config", "credentials", "field"),
    [
        ({"host_key": "ssh-ed25519 not-base64!"}, {"password": "pw"}, "config.host_key"),
        ({"host_key": ""}, {"password": "pw"}, "config.host_key"),
        ({"port": 70000}, {"password": "pw"}, "config.port"),
        ({"inbox_dir": "orders"}, {"password": "pw"}, "config.inbox_dir"),
        ({"done_dir": "/orders/inbox"}, {"password": "pw"}, "config.done_dir"),
        ({}, {}, "credentials.password"),
        ({}, {"private_key": "-----BEGIN NONSENSE-----"}, "credentials.private_key"),
        ({}, {"password": "pw", "token": "x"}, "credentials.token"),
    ],
)
def test_a_feed_with_bad_settings_is_refused_naming_the_field_and_nothing_is_created(
    feed: UnitOfWork, server: SftpServer, config: dict[str, Any], credentials: dict[str, str], field: str
) -> None:
    base = {
        "shipping_method": "ground",
        "host": "127.0.0.1",
        "port": server.port,
        "username": "shop",
        "host_key": server.public_host_key,
    }
    # when
    with pytest.raises(ValidationFailed) as refused:
        channels.create_connector(
            feed,
            code="mkt2",
            kind="csv_sftp",
            sales_channel="amazon",
            name="Another",
            config={**base, **config},
            credentials=credentials,
        )
    # then
    assert [e.field for e in refused.value.errors] == [field]
    with feed:
        assert feed.session.scalar(sa.select(sa.func.count()).select_from(ConnectorRow)) == 1
