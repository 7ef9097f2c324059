"""The dispute posting rules by example (ADR 0040): opened, won (with and without the fee back), lost — each balanced,
the disputes account back at zero once closed, and the rules in the table the subscriber reads."""

from __future__ import annotations

from ordersmith.finance import dispute_rules, rules

MAPPINGS = {(kind, key): code for kind, key, code in rules.DEFAULT_MAPPINGS}
OPENED = {"number": "DP-000001", "processor": "stripe", "capture_reference": "ch_9", "method": "card",
          "currency": "USD", "amount": "22.00", "fee": "15.00"}  # fmt: skip


def lines_of(posting: rules.Posting | None) -> list[tuple[str, int, int]]:
    assert posting is not None
    rules.check_balanced(posting.lines)
    return [(x.account, x.debit_minor, x.credit_minor) for x in posting.lines]


def test_a_dispute_opened_takes_its_amount_and_fee_out_of_the_capture_s_clearing_account():
    assert lines_of(dispute_rules.post_dispute_opened(OPENED, {}, MAPPINGS)) == [
        ("1250", 2200, 0),
        ("6110", 1500, 0),
        ("1100", 0, 3700),
    ]
    paypal = dispute_rules.post_dispute_opened(OPENED | {"method": "paypal", "fee": "0"}, {}, MAPPINGS)
    assert lines_of(paypal) == [("1250", 2200, 0), ("1110", 0, 2200)]


def test_a_dispute_won_puts_the_amount_and_any_fee_returned_back_in_clearing():
    assert lines_of(dispute_rules.post_dispute_won(OPENED | {"fee_returned": "0.00"}, {}, MAPPINGS)) == [
        ("1100", 2200, 0),
        ("1250", 0, 2200),
    ]
    assert lines_of(dispute_rules.post_dispute_won(OPENED | {"fee_returned": "15.00"}, {}, MAPPINGS)) == [
        ("1100", 3700, 0),
        ("1250", 0, 2200),
        ("6110", 0, 1500),
    ]


def test_a_dispute_lost_is_a_loss_and_the_fee_stays_an_expense():
    assert lines_of(dispute_rules.post_dispute_lost(OPENED, {}, MAPPINGS)) == [
        ("6150", 2200, 0),
        ("1250", 0, 2200),
    ]


def test_opened_then_closed_leaves_the_disputes_account_at_zero_and_the_rules_are_in_the_table():
    for close in (dispute_rules.post_dispute_won, dispute_rules.post_dispute_lost):
        net: dict[str, int] = {}
        for posting in (dispute_rules.post_dispute_opened(OPENED, {}, MAPPINGS), close(OPENED, {}, MAPPINGS)):
            for account, debit, credit in lines_of(posting):
                net[account] = net.get(account, 0) + debit - credit
        assert net["1250"] == 0
    assert {k: rules.RULES[k] for k in dispute_rules.RULES} == dispute_rules.RULES


def test_settlement_dispute_lines_are_read_from_stripe_and_authorize_net_with_their_fee_kept_apart():
    import json

    from ordersmith.finance import settlements

    stripe = settlements.parse_stripe(
        "balance_transaction_id,currency,gross,fee,net,reporting_category,source_id,charge_id\n"
        "txn_1,usd,10.00,0.59,9.41,charge,ch_1,ch_1\n"
        "txn_2,usd,-22.00,15.00,-37.00,dispute,dp_1,ch_9\n"
        "txn_3,usd,22.00,-15.00,37.00,dispute_reversal,dp_1,ch_9\n"
    )
    assert [(x.kind, x.reference, x.dispute, x.gross_minor) for x in stripe.lines] == [
        ("charge", "ch_1", "", 1000),
        ("dispute", "ch_9", "dp_1", -2200),
        ("dispute", "ch_9", "dp_1", 2200),
    ]
    assert stripe.fees_minor == 59  # the disputes' fees are theirs, not the payout's processor fees
    batch = {"messages": {"resultCode": "Ok"}, "transactions": [
        {"transId": "601", "transactionStatus": "chargeback", "settleAmount": 22.0},
        {"transId": "602", "transactionStatus": "chargebackReversal", "settleAmount": 5.0},
    ]}  # fmt: skip
    anet = settlements.parse_authorize_net(json.dumps(batch), batch_id="9", currency="USD")
    assert [(x.kind, x.dispute, x.gross_minor) for x in anet.lines] == [
        ("dispute", "601", -2200),
        ("dispute", "602", 500),
    ]
