"""Pure channel rules: versions, unmapped SKUs, back-off, available to sell, batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ordersmith.channels import rules
from ordersmith.kernel.cards import contains_card_number

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def test_only_a_strictly_newer_channel_version_replaces_the_stored_one() -> None:
    assert rules.newer(T0 + timedelta(seconds=1), T0) is True
    assert rules.newer(T0, T0) is False
    assert rules.newer(T0 - timedelta(seconds=1), T0) is False


def test_unmapped_skus_are_listed_once_in_order_of_appearance() -> None:
    lines = [
        rules.ChannelLine("B", 1),
        rules.ChannelLine("A", 1),
        rules.ChannelLine("B", 2),
        rules.ChannelLine("C", 1),
    ]
    assert rules.unmapped(lines, {"A": "TEE"}) == ["B", "C"]
    assert rules.unmapped(lines, {"A": "TEE", "B": "MUG", "C": "LAMP"}) == []


def test_back_off_doubles_up_to_the_cap_and_a_permanent_or_last_failure_is_dead_lettered() -> None:
    assert [rules.retry_delay_s(n, permanent=False, max_attempts=20) for n in (1, 2, 3, 4)] == [
        30,
        60,
        120,
        240,
    ]
    assert rules.retry_delay_s(12, permanent=False, max_attempts=20) == rules.BACKOFF_CAP_S
    assert rules.retry_delay_s(rules.MAX_ATTEMPTS, permanent=False) is None
    assert rules.retry_delay_s(1, permanent=True) is None


def test_available_to_sell_is_available_less_the_buffer_never_below_zero() -> None:
    assert rules.available_to_sell(10, buffer=3) == 7
    assert rules.available_to_sell(2, buffer=3) == 0
    assert rules.available_to_sell(-4, buffer=0) == 0


def test_batches_cover_every_item_once_in_order() -> None:
    assert rules.batches([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    assert rules.batches([], 3) == []


def test_a_marketplace_payment_reference_never_passes_for_a_card_number() -> None:
    # 111-0000000-0000000 is Luhn-valid: as is, the order would be refused for carrying a card number
    assert rules.payment_reference("amz", "111-0000000-0000000") == "amz:111_0000000_0000000"
    assert rules.payment_reference("amz", "111-0000000-0000001") == "amz:111-0000000-0000001"
    assert rules.payment_reference("shop", "4111111111111111") == "shop:411111111111_1111"
    assert rules.payment_reference("market", "A-1001") == "market:A-1001"


@given(st.from_regex(r"[0-9A-Z -]{0,40}", fullmatch=True))
def test_no_payment_reference_contains_a_card_number(external_id: str) -> None:
    assert not contains_card_number(rules.payment_reference("amz", external_id))


def test_a_failing_poll_backs_off_from_its_interval_up_to_the_cap() -> None:
    assert rules.poll_delay_s(0, interval_s=120) == 120
    assert [rules.poll_delay_s(n, interval_s=120) for n in (1, 2, 3, 4)] == [120, 120, 120, 240]
    assert [rules.poll_delay_s(n, interval_s=60) for n in (1, 2, 3)] == [60, 60, 120]
    assert rules.poll_delay_s(20, interval_s=60) == rules.BACKOFF_CAP_S
