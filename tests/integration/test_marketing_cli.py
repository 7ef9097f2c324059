"""`ordersmith marketing …` against real databases: a campaign, a drop and a key code built from the command line,
a channel's policy, the results per code; a bad value is one line and a non-zero exit, and changes nothing."""

from __future__ import annotations

from ordersmith.marketing import service as marketing
from ordersmith.orders import service as orders
from ordersmith.platform.db import UnitOfWork
from tests.builders import channel, make_order_shop, order_request
from tests.support.cli import run


def test_a_campaign_its_drop_and_code_are_built_and_its_results_printed(db_url: str, uow: UnitOfWork):
    # given the shop
    make_order_shop(uow)
    # when a campaign, its drop and a code are made from the command line, and an order comes in with the code
    steps = [
        run(db_url, "marketing", "add-campaign", "fall26", "--name", "Fall 2026 book"),
        run(
            db_url,
            "marketing",
            "add-drop",
            "FALL26",
            "d1",
            "--in-home",
            "2020-09-01",
            "--quantity",
            "1000",
            "--cost-per-piece",
            "0.50",
            "--creative",
            "cover A",
        ),
        run(
            db_url,
            "marketing",
            "add-code",
            "f26h1",
            "--campaign",
            "FALL26",
            "--drop",
            "D1",
            "--segment",
            "house",
            "--quantity",
            "1000",
            "--ends-on",
            "2030-12-31",
            "--expected",
            "2.5",
        ),
        run(db_url, "marketing", "policy", "web", "default", "--default-code", "F26H1"),
    ]
    assert [s.returncode for s in steps] == [0, 0, 0, 0], [s.stderr for s in steps]
    assert steps[1].stdout.strip() == "drop D1 of FALL26: 1000 piece(s), cost 500.00"
    assert steps[3].stdout.strip() == "web: unknown or expired source codes: key them to F26H1"
    orders.place_order(uow, channel=channel(uow), request=order_request(("TEE", 2), source_code="TYPO"))
    listed = run(db_url, "marketing", "codes")
    shown = run(db_url, "marketing", "results", "--by", "code")
    # then the code is listed and its results show 1 order of 1,000 books: 0.10 %, 40.00 demand, 0.04 per book
    assert "F26H1" in listed.stdout and "2020-09-01 to 2030-12-31" in listed.stdout
    assert shown.returncode == 0, shown.stderr
    row = next(line for line in shown.stdout.splitlines() if "F26H1" in line).split()
    assert row[1:7] == ["1000", "1", "0.10", "1", "40.00", "40.00"]
    # cost per order 500.00; ROI (40 - 500) / 500; no margin (nothing shipped: blank); no order matched back
    assert row[-3:] == ["500.00", "-92.0", "0"]


def test_a_bad_value_fails_in_one_line_and_changes_nothing(db_url: str, uow: UnitOfWork):
    run(db_url, "marketing", "add-campaign", "FALL26", "--name", "Fall")
    bad = run(
        db_url,
        "marketing",
        "add-drop",
        "FALL26",
        "D1",
        "--in-home",
        "next week",
        "--quantity",
        "10",
        "--cost-per-piece",
        "0.5",
    )
    unknown = run(
        db_url, "marketing", "add-code", "X1", "--campaign", "NOPE", "--drop", "D1", "--segment", "s"
    )
    assert bad.returncode != 0 and bad.stderr.count("\n") == 1 and "--in-home" in bad.stderr
    assert unknown.returncode != 0 and unknown.stderr.strip() == "error: no campaign 'NOPE'"
    assert marketing.get_campaign(uow, code="FALL26").drops == []
