"""API exports pushed to QuickBooks Online and Business Central, against loopback stubs of their documented APIs
(tests/support/ledger_stubs.py) and real SQLite and PostgreSQL: every entry arrives balanced, once — after a lost
answer, a crash between the package taking an entry and our record of it, a 401, a 429, a half-written entry —
and a refused entry keeps the package's message until a later push delivers it."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from ordersmith.finance import ledgers
from ordersmith.finance import service as finance
from ordersmith.finance.service import pushes
from ordersmith.finance.tables import AccountingExportItemRow, LedgerTokenRow
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.platform import jobs, secrets
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.settings import Settings
from tests.integration.test_cli import run
from tests.integration.test_finance_exports import expected, post_november
from tests.support.http_stub import serving
from tests.support.ledger_stubs import BusinessCentral, Qbo

ACCOUNTS = ["1000", "1010", "1100", "1300", "2100", "3000", "4020", "5000", "6100"]


def qbo_env(stub: Qbo) -> dict[str, str]:
    return {
        "qbo_client_id": stub.client_id,
        "qbo_client_secret": stub.client_secret,
        "qbo_refresh_token": "RT-first",
        "qbo_realm_id": stub.realm,
        "qbo_base_url": stub.api.url(),
        "qbo_token_url": f"{stub.api.url()}/oauth2/v1/tokens/bearer",
    }


def bc_env(stub: BusinessCentral) -> dict[str, str]:
    return {
        "bc_tenant_id": stub.tenant,
        "bc_client_id": stub.client_id,
        "bc_client_secret": stub.client_secret,
        "bc_company_id": stub.company,
        "bc_journal_id": stub.journal,
        "bc_base_url": stub.base_url,
        "bc_token_url": stub.token_url,
    }


SECRET = ("qbo_client_secret", "qbo_refresh_token", "bc_client_secret")


def wire(db: Database, settings: Settings, **values: str) -> None:
    update: dict[str, object] = {k: SecretStr(v) if k in SECRET else v for k, v in values.items()}
    finance.setup_ledgers(db, settings.model_copy(update={**update, "ledger_backoff_s": 0.0}))


@pytest.fixture
def qbo(uow: UnitOfWork, settings: Settings) -> Iterator[Qbo]:
    stub = Qbo(accounts={number: str(n) for n, number in enumerate(ACCOUNTS, start=1)})
    with serving(stub.api):
        wire(uow.db, settings, **qbo_env(stub))
        yield stub


@pytest.fixture
def bc(uow: UnitOfWork, settings: Settings) -> Iterator[BusinessCentral]:
    stub = BusinessCentral(accounts=set(ACCOUNTS))
    with serving(stub.api):
        wire(uow.db, settings, **bc_env(stub))
        yield stub


def usd_entries() -> list[tuple[str, list[tuple[str, Decimal]]]]:
    return sorted((day.isoformat(), amounts) for day, amounts in expected("USD"))


def items(uow: UnitOfWork) -> list[AccountingExportItemRow]:
    with uow.db.session() as session:
        return list(
            session.scalars(sa.select(AccountingExportItemRow).order_by(AccountingExportItemRow.entry_id))
        )


def journal_posts(stub: Qbo) -> list[str]:
    return [
        s.query["requestid"] for s in stub.api.seen if s.method == "POST" and s.path.endswith("/journalentry")
    ]


# --- QuickBooks Online -------------------------------------------------------------------------------------------


def test_quickbooks_takes_each_entry_balanced_once_and_the_rotated_refresh_token_is_kept_sealed(
    uow: UnitOfWork, qbo: Qbo, settings: Settings
):
    # given November posted and recorded as a QuickBooks Online export in dollars
    post_november(uow)
    export = finance.create_export(uow, period="2026-11", format="qbo", currency="USD")
    # when it is pushed
    done = finance.push_export(uow, export_id=export.id)
    # then QuickBooks holds the four dollar entries, balanced, with the accounts found by number once each
    assert (done.entries, done.pushed, done.failed) == (4, 4, 0)
    assert sorted(qbo.entries()) == usd_entries()
    lookups = [s.query["query"] for s in qbo.api.seen if s.path.endswith("/query")]
    assert len(lookups) == len(set(lookups)) == 9
    posted = [s.json for s in qbo.api.seen if s.path.endswith("/journalentry")]
    assert {p["CurrencyRef"]["value"] for p in posted} == {"USD"}
    assert all(len(p["DocNumber"]) <= 21 and "[Ordersmith " in p["PrivateNote"] for p in posted)
    # and every item keeps QuickBooks' id and when
    assert sorted(i.remote_id for i in items(uow)) == sorted(qbo.created)
    assert all(i.pushed_at is not None and i.last_error is None for i in items(uow))
    # and Intuit's rotated refresh token is stored sealed, not in the clear, and is the one now valid
    with uow.db.session() as session:
        (row,) = session.scalars(sa.select(LedgerTokenRow))
    assert row.target == "quickbooks_online" and qbo.refresh_token not in row.sealed
    key = settings.secret_key.get_secret_value()
    assert secrets.unseal(key, pushes.SEAL_PURPOSE, row.sealed) == qbo.refresh_token
    # when it is pushed again: nothing is left to send, and nothing is sent
    sent = len(journal_posts(qbo))
    again = finance.push_export(uow, export_id=export.id)
    assert (again.pushed, again.failed, len(journal_posts(qbo))) == (4, 0, sent)


def test_an_expired_access_token_is_refreshed_once_and_a_429_waits(uow: UnitOfWork, qbo: Qbo):
    post_november(uow)
    export = finance.create_export(uow, period="2026-11", format="qbo", currency="USD")
    adapter_calls: list[str] = []
    original = ledgers.QuickBooksOnline.push

    def push_and_expire(self: ledgers.QuickBooksOnline, entry, *, request_id: str, customer=None) -> str:
        adapter_calls.append(request_id)
        if len(adapter_calls) == 2:
            qbo.expire_access()  # the hour is up
            qbo.throttle = 2  # and Intuit throttles the next two calls
        return original(self, entry, request_id=request_id, customer=customer)

    ledgers.QuickBooksOnline.push = push_and_expire  # type: ignore[method-assign]
    try:
        done = finance.push_export(uow, export_id=export.id)
    finally:
        ledgers.QuickBooksOnline.push = original  # type: ignore[method-assign]
    assert (done.pushed, done.failed) == (4, 0)
    assert qbo.refreshes == 2 and sorted(qbo.entries()) == usd_entries()
    assert qbo.throttle == 0  # both 429s were answered, and waited out
    tokens = [s for s in qbo.api.seen if s.path.endswith("/tokens/bearer")]
    assert len(tokens) == 2 and len(qbo.created) == 4 and not qbo.replays


def test_a_lost_answer_is_retried_under_the_same_requestid_and_intuit_replays_it(uow: UnitOfWork, qbo: Qbo):
    # given QuickBooks creates the first two entries but their answers are lost (503)
    post_november(uow)
    qbo.lose_answers = 2
    export = finance.create_export(uow, period="2026-11", format="qbo", currency="USD")
    done = finance.push_export(uow, export_id=export.id)
    # then each is sent again under its requestid, and Intuit answers with the entry it made: four entries, once
    assert (done.pushed, done.failed) == (4, 0)
    assert len(qbo.replays) == 2 and len(qbo.created) == 4 and sorted(qbo.entries()) == usd_entries()


def test_a_refused_entry_keeps_intuit_s_message_and_a_later_push_sends_it_under_a_new_requestid(
    uow: UnitOfWork, qbo: Qbo
):
    # given the fees account made inactive in QuickBooks
    post_november(uow)
    qbo.inactive.add(qbo.accounts["6100"])
    export = finance.create_export(uow, period="2026-11", format="qbo", currency="USD")
    # when the export is pushed: three entries go, the fees entry is refused with Intuit's own words
    done = finance.push_export(uow, export_id=export.id)
    assert (done.pushed, done.failed) == (3, 1)
    ((entry_id, error),) = finance.push_failures(uow, export_id=export.id)
    assert "Object Not Found" in error and "made inactive" in error and "code 610" in error
    first = journal_posts(qbo)
    # when the account is active again and the export pushed again
    qbo.inactive.clear()
    again = finance.push_export(uow, export_id=export.id)
    # then the fees entry goes (a new requestid: Intuit would replay its refusal), nothing else is sent again
    assert (again.pushed, again.failed) == (4, 0) and finance.push_failures(uow, export_id=export.id) == []
    (retry,) = journal_posts(qbo)[len(first) :]
    assert retry == f"{entry_id.hex}-1" and f"{entry_id.hex}-0" in first
    assert sorted(qbo.entries()) == usd_entries() and not qbo.replays


def test_a_crash_after_quickbooks_took_an_entry_does_not_create_it_twice(uow: UnitOfWork, qbo: Qbo):
    post_november(uow)
    export = finance.create_export(uow, period="2026-11", format="qbo", currency="USD")
    original = pushes._record
    calls = {"n": 0}

    def crash_on_second_success(uow_: UnitOfWork, **kwargs):
        if kwargs["error"] is None:
            calls["n"] += 1
            if calls["n"] == 2:
                raise SystemExit("killed between QuickBooks' answer and our record")
        return original(uow_, **kwargs)

    pushes._record = crash_on_second_success  # type: ignore[assignment]
    try:
        with pytest.raises(SystemExit):
            finance.push_export(uow, export_id=export.id)
    finally:
        pushes._record = original
    # the second entry reached QuickBooks but was not recorded
    assert len(qbo.created) == 2 and finance.get_export(uow, export_id=export.id).pushed == 1
    # when the push runs again, the unrecorded entry is sent under the same requestid: Intuit answers with the
    # entry it created, and creates nothing
    done = finance.push_export(uow, export_id=export.id)
    assert (done.pushed, done.failed) == (4, 0)
    assert len(qbo.replays) == 1 and len(qbo.created) == 4
    assert sorted(qbo.entries()) == usd_entries()
    assert sorted(i.remote_id for i in items(uow)) == sorted(qbo.created)


def test_a_refresh_token_intuit_no_longer_takes_stops_the_push_and_records_why(uow: UnitOfWork, qbo: Qbo):
    post_november(uow)
    qbo.refresh_token = "RT-someone-else-rotated-it"
    export = finance.create_export(uow, period="2026-11", format="qbo", currency="USD")
    with pytest.raises(ledgers.LedgerUnavailable, match="invalid_grant"):
        finance.push_export(uow, export_id=export.id)
    stopped = finance.get_export(uow, export_id=export.id)
    assert (stopped.pushed, stopped.failed, len(qbo.created)) == (0, 1, 0)
    # and the lease is free again: the next push (once reconnected) may run
    qbo.refresh_token = "RT-first"
    assert finance.push_export(uow, export_id=export.id).pushed == 4


def test_two_pushes_of_one_export_at_once_one_runs_and_the_other_is_refused(uow: UnitOfWork, qbo: Qbo):
    post_november(uow)
    export = finance.create_export(uow, period="2026-11", format="qbo", currency="USD")
    qbo.delay_s = 0.2  # each entry takes a while: the pushes overlap
    results: list[str] = []

    def push() -> None:
        try:
            results.append(
                str(finance.push_export(uow.db.unit_of_work(Actor.system("t")), export_id=export.id).pushed)
            )
        except finance.PushInProgress as exc:
            results.append(exc.code)

    threads = [threading.Thread(target=push) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["4", "push_in_progress"]
    assert len(qbo.created) == 4 and not qbo.replays


def test_api_exports_are_never_summarised_and_file_exports_are_not_pushed(uow: UnitOfWork, qbo: Qbo):
    post_november(uow)
    with pytest.raises(ValidationFailed) as refused:
        finance.create_export(uow, period="2026-11", format="qbo", currency="USD", summary=True)
    assert refused.value.errors[0].field == "summary"
    assert finance.list_exports(uow).items == []
    gl = finance.create_export(uow, period="2026-11", format="gl")
    with pytest.raises(finance.NotAnApiExport):
        finance.push_export(uow, export_id=gl.id)
    with pytest.raises(finance.NotAnApiExport):
        finance.queue_push(uow, export_id=gl.id)


def test_the_push_job_runs_in_the_worker(uow: UnitOfWork, qbo: Qbo):
    post_november(uow)
    export = finance.create_export(uow, period="2026-11", format="qbo", currency="USD")
    finance.queue_push(uow, export_id=export.id)
    # (other contexts' schedules registered in this process may be due on a fresh database too)
    assert jobs.run_due_jobs(uow.db, worker="t") >= 1
    assert finance.get_export(uow, export_id=export.id).pushed == 4
    assert sorted(qbo.entries()) == usd_entries()


# --- Business Central --------------------------------------------------------------------------------------------


def test_business_central_gets_each_entry_s_lines_once_balanced(uow: UnitOfWork, bc: BusinessCentral):
    post_november(uow)
    export = finance.create_export(uow, period="2026-11", format="bc", currency="USD")
    done = finance.push_export(uow, export_id=export.id)
    assert (done.pushed, done.failed) == (4, 0)
    documents = bc.documents()
    assert sorted(documents.values()) == usd_entries()
    assert sorted(documents) == sorted(i.remote_id for i in items(uow))
    assert all(len(key) <= 20 for key in documents) and bc.tokens == 1
    # pushed again: nothing is sent
    posts = bc.posts
    assert finance.push_export(uow, export_id=export.id).pushed == 4 and bc.posts == posts


def test_a_crash_after_business_central_took_an_entry_is_found_by_its_external_document_number(
    uow: UnitOfWork, bc: BusinessCentral
):
    post_november(uow)
    export = finance.create_export(uow, period="2026-11", format="bc", currency="USD")
    original = pushes._record

    def crash(uow_: UnitOfWork, **kwargs):
        raise SystemExit("killed between Business Central's answer and our record")

    pushes._record = crash  # type: ignore[assignment]
    try:
        with pytest.raises(SystemExit):
            finance.push_export(uow, export_id=export.id)
    finally:
        pushes._record = original
    posted = bc.posts
    assert posted == 2 and finance.get_export(uow, export_id=export.id).pushed == 0
    done = finance.push_export(uow, export_id=export.id)
    # the first entry was found whole in the journal: not posted again
    assert (done.pushed, done.failed) == (4, 0) and bc.posts == 9 and bc.deletes == 0
    assert sorted(bc.documents().values()) == usd_entries()


def test_a_half_written_entry_is_deleted_and_written_again_whole(uow: UnitOfWork, bc: BusinessCentral):
    post_november(uow)
    export = finance.create_export(uow, period="2026-11", format="bc", currency="USD")
    # the second line of the second entry (three lines) is stored, but the answer is a 500: the adapter cannot know
    bc.fail_after_storing = {4}
    done = finance.push_export(uow, export_id=export.id)
    assert (done.pushed, done.failed) == (4, 0)
    assert bc.deletes == 2 and bc.posts == 11  # the two lines of the first try of that entry, then its three
    assert sorted(bc.documents().values()) == usd_entries()


def test_a_line_business_central_refuses_fails_the_entry_with_its_message_and_leaves_nothing_of_it(
    uow: UnitOfWork, bc: BusinessCentral
):
    post_november(uow)
    bc.accounts.discard("2100")  # the sales tax account is not in Business Central's chart
    export = finance.create_export(uow, period="2026-11", format="bc", currency="USD")
    done = finance.push_export(uow, export_id=export.id)
    assert (done.pushed, done.failed) == (3, 1)
    ((_entry, error),) = finance.push_failures(uow, export_id=export.id)
    assert "The G/L Account does not exist" in error and "2100" in error
    documents = bc.documents()
    assert len(documents) == 3 and all("2100" not in [a for a, _ in v[1]] for v in documents.values())
    # once the account exists, the next push delivers the entry
    bc.accounts.add("2100")
    assert finance.push_export(uow, export_id=export.id).failed == 0
    assert sorted(bc.documents().values()) == usd_entries()


# --- the command line --------------------------------------------------------------------------------------------


def test_the_cli_pushes_an_export_inline(uow: UnitOfWork, db_url: str, settings: Settings):
    stub = BusinessCentral(accounts=set(ACCOUNTS))
    post_november(uow)
    with serving(stub.api):
        env = {f"ORDERSMITH_{k.upper()}": v for k, v in bc_env(stub).items()}
        made = run(db_url, "finance", "export", "2026-11", "--format", "bc", "--currency", "USD", **env)
        assert made.returncode == 0, made.stderr
        (export,) = finance.list_exports(uow).items
        assert f"finance push {export.id}" in made.stdout.replace("\n", "")
        pushed = run(db_url, "finance", "push", str(export.id), **env)
        assert pushed.returncode == 0, pushed.stderr
        assert "4 of 4 entries pushed, 0 refused" in pushed.stdout
        bad = run(db_url, "finance", "push", "not-a-uuid", **env)
        assert bad.returncode != 0 and "export_id" in bad.stderr
    assert sorted(stub.documents().values()) == usd_entries()
    assert uuid.UUID(str(export.id))


def test_a_receivable_line_names_the_configured_customer_as_quickbooks_requires(
    uow: UnitOfWork, qbo: Qbo, settings: Settings
):
    # given an invoice on account in November (Dr accounts receivable / Cr revenue), and 1200 being an Accounts
    # Receivable account in QuickBooks
    finance.post_manual_entry(
        uow, posted_on=date(2026, 11, 12), currency="USD", memo="invoice on account",
        lines=[finance.ManualLine("1200", debit=Money(Decimal("80.00"), "USD")),
               finance.ManualLine("4020", credit=Money(Decimal("80.00"), "USD"))],
    )  # fmt: skip
    qbo.accounts["1200"] = "12"
    qbo.types["1200"] = "Accounts Receivable"
    qbo.customers["Ordersmith customers"] = "58"
    export = finance.create_export(uow, period="2026-11", format="qbo", currency="USD")
    # when no customer is configured, the entry is refused saying which setting names one
    assert finance.push_export(uow, export_id=export.id).failed == 1
    ((_entry, error),) = finance.push_failures(uow, export_id=export.id)
    assert "ORDERSMITH_QBO_CUSTOMER" in error and not qbo.created
    # when it is configured, the receivable line names that customer and QuickBooks takes the entry
    wire(uow.db, settings, **qbo_env(qbo), qbo_customer="Ordersmith customers")
    done = finance.push_export(uow, export_id=export.id)
    assert (done.pushed, done.failed) == (1, 0)
    ((_id, entry),) = qbo.created.items()
    (receivable,) = [
        line for line in entry["Line"] if line["JournalEntryLineDetail"]["AccountRef"]["value"] == "12"
    ]
    assert receivable["JournalEntryLineDetail"]["Entity"] == {
        "Type": "Customer",
        "EntityRef": {"value": "58"},
    }
    assert qbo.entries() == [("2026-11-12", [("1200", Decimal("80.00")), ("4020", Decimal("-80.00"))])]


def test_receivable_lines_name_each_invoice_s_own_customer_found_or_made_once_in_quickbooks(
    uow: UnitOfWork, qbo: Qbo, db: Database, settings: Settings
):
    from ordersmith.customers import service as customers
    from ordersmith.payments import service as payments
    from ordersmith.platform import outbox
    from tests.builders import make_account_customer, make_order_shop, place_on_account, ship_and_invoice

    # given two customers invoiced on account (Dr accounts receivable), one of them paying by check (Cr accounts
    # receivable); QuickBooks knows the second already by its display name, and 1200 is its receivable account
    finance.ensure_chart(uow)
    payments.setup_payments(db, settings)
    make_order_shop(uow)
    finance.register()
    try:
        first, second = make_account_customer(uow), make_account_customer(uow)
        for customer in (first, second):
            ship_and_invoice(uow, place_on_account(uow, customer.number))
        (invoice,) = payments.list_invoices(uow, customer_id=first.id).items
        payments.apply_invoice_payment(uow, invoice=invoice.number, amount=Money(Decimal("60.00"), "USD"),
                                       method="check")  # fmt: skip
        while outbox.dispatch_batch(db.unit_of_work(uow.actor)):
            pass
    finally:
        finance.unregister()
    names = customers.display_names(uow, numbers=[first.number, second.number])
    qbo.accounts.update({a.code: f"9{a.code}" for a in finance.list_accounts(uow)} | {"1200": "12"})
    qbo.types["1200"] = "Accounts Receivable"
    qbo.customers[f"{names[second.number]} ({second.number})"] = "77"
    period = finance.list_periods(uow)[-1].code
    export = finance.create_export(uow, period=period, format="qbo", currency="USD")
    # when the export is pushed (no stand-in customer is configured)
    done = finance.push_export(uow, export_id=export.id)
    # then every entry arrived, each receivable line naming its invoice's customer: the first made in QuickBooks once,
    # the second found by its display name
    assert (done.pushed, done.failed) == (done.entries, 0), finance.push_failures(uow, export_id=export.id)
    made = [s for s in qbo.api.seen if s.method == "POST" and s.path.endswith("/customer")]
    assert [m.json["DisplayName"] for m in made] == [f"{names[first.number]} ({first.number})"]
    first_id = qbo.customers[f"{names[first.number]} ({first.number})"]
    named = sorted(
        (
            line["JournalEntryLineDetail"]["PostingType"],
            line["JournalEntryLineDetail"]["Entity"]["EntityRef"]["value"],
        )
        for entry in qbo.created.values()
        for line in entry["Line"]
        if line["JournalEntryLineDetail"]["AccountRef"]["value"] == "12"
    )
    assert named == sorted([("Debit", first_id), ("Credit", first_id), ("Debit", "77")])
    # and the mapping is kept, so the next push names them without asking QuickBooks again
    with db.engine.connect() as conn:
        kept = conn.execute(sa.text("SELECT customer_number, remote_id FROM ledger_customers")).all()
    assert sorted(tuple(k) for k in kept) == sorted([(first.number, first_id), (second.number, "77")])
    assert ledgers.QboCustomer("C-1", "Ann: Buyer\t&\nCo").display_name == "Ann Buyer & Co (C-1)"
