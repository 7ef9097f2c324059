"""`ordersmith finance open-dispute` against real databases: a dispute opened by hand once (a second time is refused
in one line, nothing changes), a malformed amount refused naming it."""

from __future__ import annotations

from ordersmith.finance import service as finance
from ordersmith.platform.db import UnitOfWork
from tests.integration.test_cli import run


def test_a_dispute_is_opened_by_hand_from_the_command_line_once(db_url: str, uow: UnitOfWork):
    finance.ensure_chart(uow)
    args = (
        "finance",
        "open-dispute",
        "dp_cli_1",
        "--capture",
        "ch_cli_1",
        "--fee",
        "15.00",
        "--reason",
        "fraud",
    )
    # when the amount is malformed: one line, exit 2, nothing opened
    bad = run(db_url, *args, "--amount", "22,00")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "amount" in bad.stderr
    assert finance.list_disputes(uow).items == []
    # when it is opened
    opened = run(db_url, *args, "--amount", "22.00")
    # then it is open, manual, and listed
    assert opened.returncode == 0, opened.stderr
    (dispute,) = finance.list_disputes(uow).items
    assert opened.stdout.strip() == f"{dispute.number} open: 22.00 USD against ch_cli_1"
    assert (dispute.source, dispute.processor, dispute.fee.amount) == ("manual", "stripe", 15)
    # when it is opened again: refused in one line, nothing changes
    again = run(db_url, *args, "--amount", "22.00")
    assert again.returncode == 2 and "is recorded already as" in again.stderr
    assert len(finance.list_disputes(uow).items) == 1
