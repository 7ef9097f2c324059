"""The pure CRM rules: an order's deal stage, a deal's and a contact's properties as HubSpot takes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from ordersmith.channels.crm import rules

SALE = rules.Sale(
    order_id="0190a2b4-0000-7000-8000-000000000001",
    number="100234",
    status="released",
    fulfillment_status="allocated",
    total=Decimal("60.50"),
    currency="USD",
    placed_at=datetime(2026, 12, 1, 12, 0, 5, 123456, tzinfo=UTC),
)


@pytest.mark.parametrize(
    ("status", "fulfillment", "stage"),
    [
        ("pending", "unallocated", "open"),
        ("on_hold", "allocated", "open"),
        ("released", "partially_shipped", "open"),
        ("partially_shipped", "partially_shipped", "open"),
        ("released", "shipped", "won"),
        ("shipped", "shipped", "won"),
        ("completed", "shipped", "won"),
        ("cancelled", "unallocated", "lost"),
    ],
)
def test_an_order_is_an_open_deal_until_shipped_in_full_or_cancelled(
    status: str, fulfillment: str, stage: str
) -> None:
    assert rules.stage_of(status, fulfillment) == stage


def test_a_deal_carries_the_order_number_the_total_as_a_decimal_string_and_the_mapped_stage() -> None:
    properties = rules.deal_properties(
        SALE, pipeline="default", stages=rules.DEFAULT_STAGES, order_id_property="ordersmith_order_id"
    )
    assert properties == {
        "dealname": "100234",
        "amount": "60.50",
        "deal_currency_code": "USD",
        "pipeline": "default",
        "dealstage": "contractsent",
        "closedate": "2026-12-01T12:00:05.123Z",
        "ordersmith_order_id": "0190a2b4-0000-7000-8000-000000000001",
    }


def test_a_time_in_another_zone_is_sent_in_utc() -> None:
    at = datetime(2026, 12, 1, 7, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert rules.hubspot_time(at) == "2026-12-01T12:00:00.000Z"


def test_a_contact_carries_consent_as_a_checkbox_and_no_email_property_when_there_is_none() -> None:
    person = rules.Person("C-100001", "", "Jane", "Doe", "", "+14155550132", marketing_consent=False)
    assert rules.contact_properties(person, consent_property="consent") == {
        "firstname": "Jane",
        "lastname": "Doe",
        "company": "",
        "phone": "+14155550132",
        "consent": "false",
    }


def test_a_failed_sync_backs_off_and_a_refusal_is_not_retried() -> None:
    assert [rules.retry_delay_s(n, permanent=False) for n in range(1, 6)] == [30, 60, 120, 240, None]
    assert rules.retry_delay_s(1, permanent=True) is None


def test_the_rate_limit_reads_as_calls_left_and_a_wait_only_while_it_lasts():
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    said = {"max": 190, "remaining": 0, "interval_ms": 10000, "daily": 250000, "daily_remaining": 249999}
    assert rules.rate_limit_text(said, now=now) == "0 of 190 calls left per 10 s; 249999 of 250000 today"
    waiting = said | {"waiting_until": (now + timedelta(seconds=3)).isoformat()}
    assert rules.rate_limit_text(waiting, now=now).endswith("; throttled until 2026-12-01 12:00:03 UTC")
    assert rules.rate_limit_text(waiting, now=now + timedelta(seconds=3)) == rules.rate_limit_text(
        said, now=now
    )
    assert rules.rate_limit_text({}, now=now) == ""
    assert rules.rate_limit_text({"waiting_until": "not a time"}, now=now) == ""
