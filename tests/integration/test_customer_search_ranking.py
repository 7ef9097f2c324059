"""Search on SQLite and PostgreSQL: what was typed exactly comes first (issue 17)."""

from __future__ import annotations

from ordersmith.customers import service as customers
from ordersmith.customers.service import Details, Phone
from ordersmith.platform.db import UnitOfWork


def test_a_whole_phone_number_ranks_its_customer_above_people_sharing_the_last_seven_digits(uow: UnitOfWork):
    # given two people whose numbers share the last seven digits (the one sorting first by name is not the caller)
    caller = customers.create_customer(uow, details=Details(first_name="Zoe", last_name="Young",
                                                            phones=[Phone("(303) 555-0167")]))  # fmt: skip
    other = customers.create_customer(uow, details=Details(first_name="Abe", last_name="Adams",
                                                           phones=[Phone("720 555 0167")]))  # fmt: skip
    for typed in ("3035550167", "(303) 555-0167", "+1 303 555 0167", "303.555.0167"):
        # when the whole number is typed
        hits = customers.search_customers(uow, q=typed)
        # then the caller is first, the other person after
        assert [h.number for h in hits] == [caller.number, other.number], typed
        assert hits[0].score > hits[1].score
    # the last seven digits alone cannot tell them apart: both are found, by name
    assert [h.number for h in customers.search_customers(uow, q="555-0167")] == [other.number, caller.number]
    # the other number typed in full ranks the other person first
    assert customers.search_customers(uow, q="7205550167")[0].number == other.number
