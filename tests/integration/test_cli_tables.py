"""The CLI at an 80-column terminal (issue 17): every list-style command fits, and no value is cut short — a long
one wraps at its spaces; and `demo load` reports its progress step by step and unit by unit."""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path

from rich.console import Console

from ordersmith import demo
from ordersmith.cli._common import demo_progress, table
from ordersmith.cli._common import out as cli_out
from ordersmith.customers import service as customers
from ordersmith.customers.service import Address, Details, Phone
from ordersmith.kernel.money import Money
from ordersmith.orders import service as orders
from ordersmith.platform.access import SCOPES
from ordersmith.platform.db import Database, UnitOfWork
from ordersmith.platform.settings import Settings
from ordersmith.purchasing import service as purchasing
from tests.builders import (
    channel,
    make_api_key,
    make_order_shop,
    make_user,
    make_vendor,
    order_request,
    ship_to,
)
from tests.support.cli import run

SOME_SCOPES = ["orders:read", "orders:write", "customers:read", "customers:write", "purchasing:approve",
               "reservations:write", "sales_channels:read"]  # fmt: skip


def _words(text: str) -> list[str]:
    """The words of a table, its column gaps, line ends and list commas aside."""
    return [word.removesuffix(",") for word in text.split()]


def _column(lines: list[str], header: str, _: str) -> str:
    """What a one-row table shows in the (left-aligned) column under `header`, its lines joined."""
    heads = lines[0] if header in lines[0].split() else lines[1]
    start = heads.index(header)
    following = [heads.index(h, start + len(header)) for h in heads[start + len(header) :].split()[:1]]
    end = following[0] if following else None
    below = lines[lines.index(heads) + 1 :]
    return "".join(line[start:end].strip() for line in below)


def test_every_list_command_fits_80_columns_and_cuts_nothing(db_url: str, uow: UnitOfWork):
    # given a shop with a held order, a customer with a long e-mail, a key with many scopes, vendors and a PO
    make_order_shop(uow)
    held = orders.place_order(uow, channel=channel(uow), request=order_request(
        ("MUG", 1), ship_tos=[ship_to(postal_code="ABC")])).order  # fmt: skip
    address = Address(kind="bill_to", line1="1 Main St", city="Denver", region="CO", postal_code="80202",
                      country="US")  # fmt: skip
    customers.create_customer(uow, details=Details(
        first_name="Maximiliane", last_name="Oppenheimer-Castellanos", emails=["maximiliane.oppenheimer@example.com"],
        phones=[Phone("303 555 0167")], addresses=[address]))  # fmt: skip
    make_api_key(uow, scopes=SOME_SCOPES, name="warehouse management system integration")
    make_api_key(uow, scopes=sorted(SCOPES), name="admin")
    make_user(uow, role="accountant", email="accounts.payable.department@example.com")
    make_vendor(uow, code="NORTHLOOM")
    purchasing.set_vendor_item(uow, vendor="NORTHLOOM", sku="TEE", vendor_sku="NL-TEE-0001",
                               cost=Money(Decimal("4.20"), "USD"))  # fmt: skip
    purchasing.set_rule(uow, sku="TEE", location="EAST", method="min_max", min_qty=50, max_qty=90)
    purchasing.create_purchase_order(uow, vendor="NORTHLOOM", location="EAST",
                                     lines=[purchasing.NewLine("TEE", 12)])  # fmt: skip
    commands = {
        ("api-keys", "list"): [
            "warehouse",
            "management",
            "orders:read/write",
            "customers:read/write",
            "purchasing:approve",
            "reservations:write",
            "sales_channels:read",
            "every",
            "scope",
            f"({len(SCOPES)})",
        ],
        ("users", "list"): ["accounts.payable.department@example.com", "accountant"],
        ("orders", "list"): [held.number, "on_hold", str(held.total.amount), "USD"],
        ("orders", "holds"): [held.number, "undeliverable"],
        # the name and e-mail together are too wide for 80 columns: they fold, every character kept, in order
        ("customers", "find", "oppenheimer"): [
            ("name", "MaximilianeOppenheimer-Castellanos"),
            ("e-mail", "maximiliane.oppenheimer@example.com"),
            "(303)",
            "555-0167",
        ],
        ("inventory", "locations"): ["EAST", "WEST", "STORE1"],
        ("purchasing", "vendors"): ["NORTHLOOM", "NET30"],
        ("purchasing", "list"): ["PO-000001", "draft", "NORTHLOOM", "EAST"],
        ("purchasing", "suggest"): ["NORTHLOOM", "EAST", "TEE", "to", "order"],
    }
    for command, expected in commands.items():
        # when the command runs on an 80-column terminal
        result = run(db_url, *command, columns=80)
        # then it fits, nothing ends in an ellipsis, and every value is there whole
        assert result.returncode == 0, (command, result.stderr)
        lines = result.stdout.splitlines()
        assert lines and max(len(line) for line in lines) <= 80, (command, result.stdout)
        assert "…" not in result.stdout and "..." not in result.stdout, (command, result.stdout)
        words = _words(result.stdout)
        for value in expected:
            if isinstance(value, tuple):
                assert _column(lines, *value) == value[1], (command, value, result.stdout)
            else:
                assert value in words, (command, value, result.stdout)


def test_a_table_gives_way_by_its_widest_column_and_keeps_words_whole() -> None:
    shown = table("code", "name", "why", numeric=["code"])
    shown.add_row(
        "1", "Hearth & Home Goods", "projected 0 <= reorder point 0 (0.00/day x 10 days + safety 0)"
    )
    console = Console(file=io.StringIO(), width=40, color_system=None)
    console.print(shown)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert max(len(line) for line in text.splitlines()) <= 40
    row = "1 Hearth & Home Goods projected 0 <= reorder point 0 (0.00/day x 10 days + safety 0)"
    assert sorted(_words(text)) == sorted(["code", "name", "why", *row.split()])  # every word whole, none cut


class _Seen:
    def __init__(self) -> None:
        self.steps: list[tuple[int, int, str, int | None]] = []
        self.units: list[int] = []

    def step(self, number: int, of: int, name: str, units: int | None) -> None:
        self.steps.append((number, of, name, units))

    def unit(self, done: int) -> None:
        self.units.append(done)


def test_a_demo_load_reports_each_step_and_each_unit_it_counts(
    db: Database, settings: Settings, tmp_path: Path
):
    # given a small demo (120 customers: three batches of 50 with the deliberate duplicate)
    small = settings.model_copy(update={"demo_customers": 120})
    seen = _Seen()
    # when it loads up to the customers
    demo.load(db, small, tmp_path / "credentials.txt", up_to_stage=25, progress=seen)
    # then every step was announced in order, the customers with their three batches, each batch as it finished
    assert [s[0] for s in seen.steps] == list(range(1, len(seen.steps) + 1))
    assert {s[1] for s in seen.steps} == {len(seen.steps)}
    assert [s for s in seen.steps if s[2].startswith("customers")] == [
        (len(seen.steps), len(seen.steps), "customers: a thousand customers", 3)
    ]
    assert seen.units == [1, 2, 3]
    # and a second load has nothing to count
    again = _Seen()
    demo.load(db, small, tmp_path / "credentials.txt", up_to_stage=25, progress=again)
    assert again.units == [] and len(again.steps) == len(seen.steps)


def test_the_demo_progress_bar_draws_a_bar_with_counts() -> None:
    console = Console(file=io.StringIO(), width=80, color_system=None, force_terminal=False)
    # The console's own setting, not its `file` property: that reads sys.stdout when none was set, and putting it
    # back would pin the CLI to this test's captured stdout (later commands in this process then printed nowhere).
    saved = cli_out._file
    cli_out.file = console.file
    try:
        with demo_progress() as bar:
            bar.step(1, 2, "platform: users", None)
            bar.step(2, 2, "orders: a year of orders", 40)
            for done in range(1, 41):
                bar.unit(done)
    finally:
        cli_out._file = saved
    drawn = console.file.getvalue()  # type: ignore[attr-defined]
    assert re.search(r"demo data\s+━+\s+2/2", drawn), drawn
