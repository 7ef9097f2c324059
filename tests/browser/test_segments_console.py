"""Segments in a real browser: the editor's count follows the rules as they are typed (the unsaved definition
counted by the API, nothing stored), names the wrong part of the rules, and a saved segment shows its count in the
list."""

from __future__ import annotations

import json

from ordersmith.marketing import service as marketing
from tests.browser.test_console_screens import shot, sign_in
from tests.builders import make_user
from tests.integration.test_marketing_lists import add_customer
from tests.support.server import Server


def test_the_segment_editor_counts_the_rules_as_they_are_typed(page, server: Server, fixture_uow) -> None:
    # given three customers, two around San Francisco, and a marketer signed in
    add_customer(fixture_uow, "Ann Buyer", postal_code="94105")
    add_customer(fixture_uow, "Bo Buyer", postal_code="94110", line1="2 Mission St")
    add_customer(fixture_uow, "Cy Buyer", postal_code="10001", line1="3 Broadway")
    make_user(fixture_uow, role="marketing", email="marketing@example.com")
    sign_in(page, "marketing@example.com")
    page.goto("/segments")
    # when the rules are typed: San Francisco's postal codes
    rules = {"field": "postal_prefix", "op": "starts_with", "value": ["941"]}
    page.fill("#segment-rules", json.dumps(rules))
    # then the count follows
    page.wait_for_selector("#live-count:has-text('2 customers match now')")
    # and a field that does not exist is named
    page.fill("#segment-rules", json.dumps({"field": "shoe_size", "op": "in", "value": ["9"]}))
    page.wait_for_selector("#live-count:has-text('rules.field')")
    assert marketing.list_segments(fixture_uow).items == []
    # when the segment is saved
    page.fill("#segment-rules", json.dumps({"all": [rules]}))
    page.fill("input[name=code]", "SF")
    page.fill("input[name=name]", "San Francisco")
    page.click("#segment-form button[type=submit]")
    page.wait_for_url("**/segments?edit=SF**")
    # then it is listed with its count
    page.wait_for_selector("[data-segment-count='SF']:has-text('2')")
    page.wait_for_selector("#live-count:has-text('2 customers match now')")
    shot(page, "segments")
