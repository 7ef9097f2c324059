"""Customers on SQLite and PostgreSQL: validated contacts, numbers, optimistic edits, the timeline and search."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ordersmith.customers import service as customers
from ordersmith.customers.service import Address, Details, Phone
from ordersmith.customers.tables import CustomerRow
from ordersmith.kernel.errors import NotFound, PreconditionFailed, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.tables import AuditRow


def jane(**overrides: object) -> Details:
    fields: dict[str, object] = dict(
        first_name="Jane", last_name="Doe", emails=["Jane.Doe@Example.com"], phones=[Phone("(415) 555-0132", "mobile")],
        addresses=[Address(kind="bill_to", line1="1 Market St", city="San Francisco", region="CA",
                           postal_code="94105", country="us"),
                   Address(kind="ship_to", name="Mum", line1="9 Elm Rd", city="Leeds", postal_code="ls1 4ap",
                           country="GB")])  # fmt: skip
    return Details(**{**fields, **overrides})  # type: ignore[arg-type]


def _count(db: Database, table: type) -> int:
    with db.session() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


def test_a_customer_is_numbered_and_its_contacts_normalised(uow: UnitOfWork):
    first = customers.create_customer(
        uow, details=jane(), created_channel="call-center", source_code="FALL26"
    )
    second = customers.create_customer(uow, details=Details(company="Acme Corp", kind="business"))
    assert (first.number, second.number) == ("C-100001", "C-100002")
    assert first.display_name == "Jane Doe" and second.display_name == "Acme Corp"
    assert first.emails == ["jane.doe@example.com"]
    assert first.phones == [Phone("+14155550132", "mobile")]
    assert [(a.kind, a.postal_code, a.country, a.is_default) for a in first.addresses] == [
        ("bill_to", "94105", "US", True), ("ship_to", "LS1 4AP", "GB", True)]  # fmt: skip
    assert customers.get_customer(uow, ref="c-100001").id == first.id
    assert customers.get_customer(uow, ref=str(first.id)).number == "C-100001"
    assert [e.kind for e in customers.timeline(uow, ref=first.number).items] == ["system"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"emails": ["jane@"]}, "emails.0"),
        ({"phones": [Phone("555-01")]}, "phones.0.number"),
        (
            {"addresses": [Address(kind="bill_to", line1="x", city="y", postal_code="9410", country="US")]},
            "addresses.0.postal_code",
        ),
        ({"first_name": "", "last_name": "", "company": ""}, "last_name"),
        ({"tax_exempt": True}, "tax_certificate"),
        ({"credit_limit": Money(Decimal("500"), "EUR")}, "credit_limit.currency"),
    ],
)
def test_bad_contacts_are_refused_naming_the_field_and_create_nothing(
    uow: UnitOfWork, db: Database, overrides: dict, field: str
):
    with pytest.raises(ValidationFailed) as bad:
        customers.create_customer(uow, details=jane(**overrides))
    assert bad.value.errors[0].field == field
    assert _count(db, CustomerRow) == 0
    assert customers.create_customer(uow, details=jane()).number == "C-100001"  # the number was not used up


def test_an_edit_applies_only_at_the_version_the_agent_read(uow: UnitOfWork, db: Database):
    created = customers.create_customer(uow, details=jane())
    edited = customers.update_customer(uow, ref=created.number, changes={"do_not_mail": True, "tags": ["VIP"]},
                                       expected_version=1)  # fmt: skip
    assert (edited.version, edited.do_not_mail, edited.tags) == (2, True, ["vip"])
    audits = _count(db, AuditRow)
    with pytest.raises(PreconditionFailed) as stale:
        customers.update_customer(uow, ref=created.number, changes={"last_name": "Smith"}, expected_version=1)
    assert stale.value.extra["current_version"] == 2
    after = customers.get_customer(uow, ref=created.number)
    assert (after.last_name, after.version) == ("Doe", 2) and _count(db, AuditRow) == audits
    with pytest.raises(ValidationFailed) as bad:
        customers.update_customer(
            uow, ref=created.number, changes={"phones": [Phone("nope")]}, expected_version=2
        )
    assert bad.value.errors[0].field == "phones.0.number"
    assert customers.get_customer(uow, ref=created.number).phones == [Phone("+14155550132", "mobile")]


def test_two_agents_editing_at_once_one_wins_and_the_other_is_told(db: Database):
    uow = db.unit_of_work(Actor.system("test"))
    created = customers.create_customer(uow, details=jane())
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def agent(name: str) -> None:
        barrier.wait()
        try:
            customers.update_customer(db.unit_of_work(Actor.system(name)), ref=created.number,
                                      changes={"first_name": name}, expected_version=1)  # fmt: skip
            outcomes.append("saved")
        except PreconditionFailed:
            outcomes.append("refused")

    threads = [threading.Thread(target=agent, args=(n,)) for n in ("Ann", "Bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused", "saved"]
    assert customers.get_customer(uow, ref=created.number).version == 2


def test_notes_and_calls_join_the_timeline_newest_first(uow: UnitOfWork):
    created = customers.create_customer(uow, details=jane())
    customers.add_note(
        uow, ref=created.number, body="Asked about the wool throw", kind="call", channel="phone"
    )
    customers.add_note(uow, ref=created.number, body="Prefers e-mail")
    entries = customers.timeline(uow, ref=created.number).items
    assert [(e.kind, e.body) for e in entries] == [("note", "Prefers e-mail"), ("call", "Asked about the wool throw"),
                                                   ("system", "customer created")]  # fmt: skip
    with pytest.raises(ValidationFailed):
        customers.add_note(uow, ref=created.number, body="   ")
    with pytest.raises(NotFound):
        customers.add_note(uow, ref="C-999999", body="hello")


def test_search_finds_by_phone_in_any_format_email_postal_code_number_and_misspelt_name(uow: UnitOfWork):
    target = customers.create_customer(uow, details=jane(last_name="Smith"))
    customers.create_customer(uow, details=Details(first_name="John", last_name="Smithers",
                                                   emails=["john@example.com"]))  # fmt: skip
    customers.create_customer(uow, details=Details(first_name="Jane", last_name="Doherty",
                                                   phones=[Phone("212 555 0199")]))  # fmt: skip

    def first(q: str) -> str:
        hits = customers.search_customers(uow, q=q)
        assert hits, q
        return hits[0].number

    for typed in ("4155550132", "+1 (415) 555-0132", "415.555.0132", "555-0132"):
        assert first(typed) == target.number, typed
    assert first("jane.doe@example.com") == target.number
    assert first("94105") == target.number
    assert first("LS1 4AP") == target.number
    assert first(target.number.lower()) == target.number
    assert first("Jane Smyth") == target.number  # misspelt: matched by sound
    assert first("jane smi") == target.number  # prefixes
    assert {h.display_name for h in customers.search_customers(uow, q="smith")} >= {
        "Jane Smith",
        "John Smithers",
    }
    assert customers.search_customers(uow, q="zzzz") == []
    with pytest.raises(ValidationFailed):
        customers.search_customers(uow, q="j")


def test_search_keys_follow_edits(uow: UnitOfWork):
    created = customers.create_customer(uow, details=jane())
    customers.update_customer(
        uow, ref=created.number, changes={"emails": ["jd@example.org"]}, expected_version=1
    )
    assert customers.search_customers(uow, q="jane.doe@example.com") == []
    assert [h.number for h in customers.search_customers(uow, q="jd@example.org")] == [created.number]


def test_likely_duplicates_are_found_by_email_phone_or_name_at_a_postal_code(uow: UnitOfWork):
    original = customers.create_customer(uow, details=jane())
    customers.create_customer(
        uow, details=Details(first_name="J", last_name="Doe", emails=["jane.doe@example.com"])
    )
    customers.create_customer(
        uow, details=Details(first_name="Janet", last_name="Doe", phones=[Phone("415 555 0132")])
    )
    customers.create_customer(uow, details=Details(first_name="Jane", last_name="Doe", addresses=[
        Address(kind="bill_to", line1="2 Other St", city="SF", postal_code="94105", country="US")]))  # fmt: skip
    customers.create_customer(uow, details=Details(first_name="Someone", last_name="Else", addresses=[
        Address(kind="bill_to", line1="3 Other St", city="SF", postal_code="94105", country="US")]))  # fmt: skip
    found = customers.find_duplicates(uow, ref=original.number)
    assert [(d.number, d.reasons) for d in found] == [
        ("C-100002", ["same e-mail"]),
        ("C-100003", ["same phone"]),
        ("C-100004", ["same name and postal code"]),
    ]


def test_merging_moves_contacts_and_timeline_and_the_old_number_redirects(uow: UnitOfWork, db: Database):
    survivor = customers.create_customer(uow, details=jane())
    duplicate = customers.create_customer(uow, details=Details(
        first_name="Jane", last_name="Doe", emails=["jane@work.example"], phones=[Phone("212 555 0199")],
        addresses=[Address(kind="ship_to", line1="5 Work Ave", city="New York", postal_code="10001", country="US")],
        status="buyer"))  # fmt: skip
    customers.add_note(uow, ref=duplicate.number, body="Ordered by phone last year", kind="call")
    merged = customers.merge_customers(uow, survivor=survivor.number, merged=duplicate.number)
    assert merged.emails == ["jane.doe@example.com", "jane@work.example"]
    assert [p.number for p in merged.phones] == ["+14155550132", "+12125550199"]
    assert sorted(a.line1 for a in merged.addresses) == ["1 Market St", "5 Work Ave", "9 Elm Rd"]
    assert merged.status == "buyer"
    bodies = [e.body for e in customers.timeline(uow, ref=survivor.number).items]
    assert "Ordered by phone last year" in bodies and any("merged into this customer" in b for b in bodies)
    assert (
        customers.get_customer(uow, ref=duplicate.number).number == survivor.number
    )  # the old number redirects
    assert [h.number for h in customers.search_customers(uow, q="212 555 0199")] == [survivor.number]
    with db.session() as session:
        actions = list(
            session.scalars(sa.select(AuditRow.action).where(AuditRow.object_id == survivor.number))
        )
    assert "customer.merged" in actions


def test_merging_a_customer_into_itself_or_twice_is_409_and_changes_nothing(uow: UnitOfWork):
    from ordersmith.kernel.errors import Conflict

    one = customers.create_customer(uow, details=jane())
    with pytest.raises(Conflict):
        customers.merge_customers(uow, survivor=one.number, merged=one.number)
    other = customers.create_customer(uow, details=Details(last_name="Other"))
    customers.merge_customers(uow, survivor=one.number, merged=other.number)
    with pytest.raises(Conflict):  # `other` now redirects to `one`: the same customer
        customers.merge_customers(uow, survivor=one.number, merged=other.number)
    assert customers.get_customer(uow, ref=one.number).version == 2


def test_export_holds_everything_and_anonymizing_removes_the_person_but_keeps_the_number(
    uow: UnitOfWork, db: Database
):
    import json

    created = customers.create_customer(uow, details=jane(tags=["vip"]))
    customers.add_note(uow, ref=created.number, body="Lives with her mum in Leeds")
    exported = customers.export_customer(uow, ref=created.number)
    json.dumps(exported)  # plain JSON values only
    assert exported["customer"]["emails"] == ["jane.doe@example.com"]
    assert {a["city"] for a in exported["addresses"]} == {"San Francisco", "Leeds"}
    assert [e["body"] for e in exported["timeline"]][-1] == "Lives with her mum in Leeds"
    assert [c["action"] for c in exported["changes"]] == ["customer.note_added", "customer.created"]
    gone = customers.anonymize_customer(uow, ref=created.number, reason="erasure request 2026-11-28")
    assert (gone.number, gone.display_name, gone.emails, gone.phones, gone.addresses) == (
        created.number, "Anonymized customer", [], [], [])  # fmt: skip
    assert customers.search_customers(uow, q="jane.doe@example.com") == []
    assert customers.search_customers(uow, q="Jane Doe") == []
    again = customers.export_customer(uow, ref=created.number)
    text = json.dumps(again)
    for personal in ("Jane", "Doe", "jane.doe", "4155550132", "Market St", "Leeds", "94105"):
        assert personal not in text, personal
    with db.session() as session:  # nor anywhere in the audit trail
        audit = json.dumps([[r.before, r.after] for r in session.scalars(sa.select(AuditRow))])
    for personal in ("Jane", "jane.doe", "4155550132", "Market St"):
        assert personal not in audit, personal
    with pytest.raises(ValidationFailed):
        customers.update_customer(
            uow, ref=created.number, changes={"first_name": "J"}, expected_version=gone.version
        )
