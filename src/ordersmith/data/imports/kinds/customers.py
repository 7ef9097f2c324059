"""Customers: created (many at once) or edited by number or first e-mail, through customers' use cases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from ordersmith.customers import service as customers
from ordersmith.customers.schemas import CustomerIn
from ordersmith.data.imports.kinds._common import (
    Kind,
    Outcome,
    Row,
    _schema_errors,
    _typed,
    custom_column,
    split_custom,
)
from ordersmith.data.imports.rules import Column, Spec, is_custom, parse_list
from ordersmith.kernel.errors import Forbidden, OrdersmithError
from ordersmith.marketing import service as marketing
from ordersmith.platform.db import UnitOfWork

# --- customers ----------------------------------------------------------------------------------------------

_ADDRESS_PARTS = (
    ("name", "the addressee"),
    ("line1", "street and number"),
    ("line2", "more"),
    ("city", "city"),
    ("region", "state or region"),
    ("postal_code", "postal code"),
    ("country", "two-letter country code (default: default_country)"),
)
_ADDRESS_EXAMPLES = {
    "name": "Ada Lovelace",
    "line1": "12 Harbour Street",
    "city": "Portland",
    "region": "ME",
    "postal_code": "04101",
    "country": "US",
}

CUSTOMERS = Spec(
    kind="customers",
    title="Customers",
    key="number, else the first e-mail",
    scope="customers:write",
    columns=(
        Column(
            "number", "an existing customer's number, to update it (blank: found by e-mail, else created)", ""
        ),
        Column("kind", "consumer or business (default consumer)", "consumer"),
        Column("first_name", "first name", "Ada"),
        Column("last_name", "last name (a person's name or a company is required)", "Lovelace"),
        Column("company", "company name", ""),
        Column("status", "prospect or buyer (default prospect)", "buyer"),
        Column("customer_group", "price group (default retail)", "retail", scope="customers:pricing"),
        Column("default_country", "two-letter country code (default US)", "US"),
        Column(
            "emails",
            "e-mail addresses, separated by | (the first is the primary)",
            "ada@example.com",
            format="list",
        ),
        Column("phones", "phone numbers in any format, separated by |", "+1 207 555 0100", format="list"),
        *(
            Column(
                f"{kind}_{part}",
                f"{label} of the {kind.replace('_', '-')} address",
                _ADDRESS_EXAMPLES.get(part, ""),
            )
            for kind in ("bill_to", "ship_to")
            for part, label in _ADDRESS_PARTS
        ),
        Column(
            "tax_exempt",
            "exempt from sales tax (true/false)",
            "false",
            format="boolean",
            scope="customers:tax",
        ),
        Column("tax_certificate", "the exemption certificate's number", "", scope="customers:tax"),
        Column(
            "tax_exempt_until", "the exemption's end (YYYY-MM-DD)", "", format="date", scope="customers:tax"
        ),
        Column(
            "credit_limit",
            "credit limit in the customer's currency",
            "",
            format="decimal",
            scope="customers:credit",
        ),
        Column("currency", "ISO 4217 currency (default USD)", "USD"),
        Column("payment_terms", "payment terms, e.g. net30", "", scope="customers:credit"),
        Column("do_not_mail", "no catalogs or letters (true/false)", "false", format="boolean"),
        Column("do_not_email", "no marketing e-mail (true/false)", "false", format="boolean"),
        Column("do_not_call", "no telephone marketing (true/false)", "false", format="boolean"),
        Column("tags", "tags, separated by |", "wholesale-lead", format="list"),
        Column("source_code", "the source (key) code that brought the customer", ""),
    ),
)

_ADDRESS_KINDS = ("bill_to", "ship_to")


def _customer_key(cells: dict[str, str]) -> tuple[str, str] | None:
    number = cells.get("number", "").strip()
    if number:
        return "number", number.upper()
    emails = parse_list(cells.get("emails", ""))
    return ("emails", emails[0].lower()) if emails else None


def _customer_data(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The API's JSON for a customer from a row's typed cells, and the address kinds in the order given."""
    body = {k: v for k, v in data.items() if not k.startswith(_ADDRESS_KINDS) and k not in ("number",)}
    kinds = []
    for kind in _ADDRESS_KINDS:
        parts = {part: data[f"{kind}_{part}"] for part, _ in _ADDRESS_PARTS if f"{kind}_{part}" in data}
        if parts:
            parts.setdefault("country", data.get("default_country", "US"))
            body.setdefault("addresses", []).append({"kind": kind, **parts, "is_default": True})
            kinds.append(kind)
    if "phones" in body:
        body["phones"] = [{"number": number} for number in body["phones"]]
    if "credit_limit" in body:
        body["credit_limit"] = {"amount": body["credit_limit"], "currency": data.get("currency", "USD")}
    return body, kinds


def _customer_column(kinds: list[str]) -> Callable[[tuple[Any, ...]], str]:
    def column(loc: tuple[Any, ...]) -> str:
        parts = [str(p) for p in loc]
        if (
            parts
            and parts[0] == "addresses"
            and len(parts) > 1
            and parts[1].isdigit()
            and int(parts[1]) < len(kinds)
        ):
            kind = kinds[int(parts[1])]
            return (
                f"{kind}_{parts[2]}"
                if len(parts) > 2 and f"{kind}_{parts[2]}" in CUSTOMERS.names
                else f"{kind}_line1"
            )
        if len(parts) > 1 and parts[0] == "custom_fields":
            return custom_column(".".join(parts[:2]))
        return parts[0] if parts and parts[0] in CUSTOMERS.names else "row"

    return column


def _details_fields(cells: dict[str, str]) -> frozenset[str]:
    """The Details fields a file's columns set."""
    names = set()
    for name in cells:
        if name.startswith(_ADDRESS_KINDS):
            names.add("addresses")
        elif name not in ("number", "source_code"):
            names.add(name)
    return frozenset(names)


def _check_customers(
    uow: UnitOfWork, rows: list[Row], write: bool, granted: frozenset[str] | None, memo: dict[str, Any]
) -> list[Outcome]:
    """Each row checked as the create or edit would check it; with `write`, new customers are written together
    (`create_customers`) and edits one by one through the edit use case, each in a savepoint."""
    outcomes = []
    creates: list[customers.NewCustomer] = []
    known = customers.known_customers(
        uow,
        numbers=[cells.get("number", "") for _, cells in rows],
        emails=[found[0] for _, cells in rows if (found := parse_list(cells.get("emails", "")))],
        custom_fields=bool(rows) and any(is_custom(name) for name in rows[0][1]),
    )
    for _, cells in rows:
        outcome = Outcome("invalid")
        outcomes.append(outcome)
        cells, custom = split_custom(cells, outcome.errors)
        data = _typed(CUSTOMERS, cells, outcome.errors)
        body, kinds = _customer_data(data)
        column_of = _customer_column(kinds)
        try:
            model = CustomerIn.model_validate(body)
        except ValidationError as exc:
            outcome.errors += _schema_errors(exc, column_of)
        if outcome.errors:
            continue
        fields = _details_fields(cells)
        details = _details(model, fields)
        number, source_code = data.get("number"), model.source_code
        try:
            if source_code.strip():  # a code of the master list, never typo text (no channel: no default)
                offer = marketing.resolve_source_code(uow, code=source_code, channel="", on=uow.now().date())
                source_code = offer.code if offer is not None else ""
            outcome.action = customers.import_customer(
                uow,
                write=False,
                number=number,
                details=details,
                fields=fields,
                source_code=source_code,
                granted=granted,
                known=known,
                custom_fields=custom,
            )
            if write and outcome.action == "created":
                creates.append(customers.NewCustomer(details, source_code, custom))
            elif write and outcome.action == "updated":
                mark = uow.checkpoint()
                savepoint = uow.session.begin_nested()
                try:
                    customers.import_customer(
                        uow,
                        write=True,
                        number=number,
                        details=details,
                        fields=fields,
                        source_code=source_code,
                        granted=granted,
                        custom_fields=custom,
                    )
                except OrdersmithError:
                    savepoint.rollback()
                    uow.rewind(mark)
                    raise
                savepoint.commit()
        except OrdersmithError as exc:
            outcome.action = "invalid"
            if isinstance(exc, Forbidden) or not exc.errors:
                outcome.errors.append(("row", exc.detail))
            else:
                outcome.errors += [(column_of(tuple(e.field.split("."))), e.message) for e in exc.errors]
    if creates:
        customers.create_customers(uow, rows=creates, granted=granted)
    return outcomes


def _details(model: BaseModel, fields: frozenset[str]) -> customers.Details:
    assert isinstance(model, CustomerIn)
    values = model.model_dump(include=set(fields))
    if "phones" in values:
        values["phones"] = [customers.Phone(p["number"], p.get("label", "")) for p in values["phones"]]
    if "addresses" in values:
        values["addresses"] = [customers.Address(**a) for a in values["addresses"]]
    if "credit_limit" in values:
        values["credit_limit"] = model.credit_limit.to_money() if model.credit_limit is not None else None
    return customers.Details(**values)


KIND = Kind(spec=CUSTOMERS, key=_customer_key, check=_check_customers, custom_kind="customer")
