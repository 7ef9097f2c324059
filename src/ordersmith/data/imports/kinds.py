"""The kinds of record an import brings in: each a column spec, the key that finds a row's existing record, and a
chunk check that goes through the target context's own schema (the API's) and use case.

Invariant: a row reaches the target's use case only after the API's input schema accepted it; its errors name the
file's column (a list field's element, a money field's part: the column it came from).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from ordersmith.catalog import service as catalog
from ordersmith.catalog.rules import sku_key
from ordersmith.catalog.schemas import ItemIn
from ordersmith.customers import service as customers
from ordersmith.customers.schemas import CustomerIn
from ordersmith.data.imports.rules import Column, Spec, parse_boolean, parse_components, parse_list
from ordersmith.kernel.errors import Forbidden, OrdersmithError
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.input_guard import text_refusal


@dataclass
class Outcome:
    """What one row does or would do: created | updated | unchanged | invalid, with (column, reason) errors."""

    action: str
    errors: list[tuple[str, str]] = field(default_factory=list)


Row = tuple[int, dict[str, str]]  # row number, cells by column
Check = Callable[[UnitOfWork, list[Row], bool, frozenset[str] | None], list[Outcome]]


@dataclass(frozen=True)
class Kind:
    spec: Spec
    # a row's natural key and the column it comes from (a repeat in one file is an error)
    key: Callable[[dict[str, str]], tuple[str, str] | None]
    # Check (and with write=True, apply) a chunk, inside the caller's unit of work. A dry run passes write=False
    # and rolls the transaction back: a kind may write anyway when only writing tells (customers do).
    check: Check


# --- reading cells ------------------------------------------------------------------------------------------


def _typed(spec: Spec, cells: dict[str, str], errors: list[tuple[str, str]]) -> dict[str, Any]:
    """The non-blank cells as the API's JSON would carry them (lists split, booleans read); card numbers and
    NUL characters refused as the API refuses them."""
    data: dict[str, Any] = {}
    for name, text in cells.items():
        column = spec.column(name)
        reason = text_refusal(text, (name,))
        if reason is not None:
            errors.append((name, reason))
            continue
        if not text:
            continue
        if column.format == "boolean":
            value = parse_boolean(text)
            if value is None:
                errors.append((name, "must be true or false (yes/no, 1/0 also do)"))
                continue
            data[name] = value
        elif column.format == "list":
            data[name] = parse_list(text)
        elif column.format == "components":
            data[name] = parse_components(text)
        else:
            data[name] = text
    return data


def _schema_errors(
    exc: ValidationError, column_of: Callable[[tuple[Any, ...]], str]
) -> list[tuple[str, str]]:
    found = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        found.append((column_of(tuple(error["loc"])), message))
    return found


def _first(loc: tuple[Any, ...]) -> str:
    return str(loc[0]) if loc else "row"


# --- items --------------------------------------------------------------------------------------------------

ITEMS = Spec(
    kind="items",
    title="Items",
    key="sku",
    scope="catalog:write",
    columns=(
        Column(
            "sku", "the item's SKU; an existing SKU (any letter case) is updated", "MUG-001", required=True
        ),
        Column("name", "the item's name", "Enamel mug, 12 oz", required=True),
        Column("description", "free text", "Speckled blue enamel"),
        Column(
            "kind",
            "stocked, kit, non_inventory, drop_ship or gift_card (default stocked; fixed once created)",
            "stocked",
        ),
        Column("status", "active, discontinued or inactive (default active)", "active"),
        Column("tax_class", "the tax class (default standard)", "standard"),
        Column("divisions", "division codes, separated by |", "web|store", format="list"),
        Column("barcodes", "GTIN-8, -12, -13 or -14 codes, separated by |", "4006381333931", format="list"),
        Column("weight_g", "weight in grams", "340", format="integer"),
        Column("length_mm", "length in millimetres", "120", format="integer"),
        Column("width_mm", "width in millimetres", "90", format="integer"),
        Column("height_mm", "height in millimetres", "95", format="integer"),
        Column(
            "components",
            "a kit's components as SKU:quantity, separated by | (new kits only)",
            "",
            format="components",
        ),
        Column("personalization_template", "a personalization template's code", ""),
        Column(
            "backorderable", "orders may take more than is in stock (true/false)", "false", format="boolean"
        ),
        Column("hs_code", "customs tariff number (6 to 10 digits, dots allowed)", "7323.94"),
        Column("country_of_origin", "two-letter ISO country code", "PT"),
    ),
)


def _item_key(cells: dict[str, str]) -> tuple[str, str] | None:
    sku = cells.get("sku", "").strip()
    return ("sku", sku_key(sku)) if sku else None


def _check_items(
    uow: UnitOfWork, rows: list[Row], write: bool, granted: frozenset[str] | None
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    accepted: list[tuple[int, catalog.ItemImport]] = []
    for n, (_, cells) in enumerate(rows):
        outcome = Outcome("invalid")
        outcomes.append(outcome)
        data = _typed(ITEMS, cells, outcome.errors)
        try:
            model = ItemIn.model_validate(data)
        except ValidationError as exc:
            outcome.errors += _schema_errors(exc, _first)
        if outcome.errors:
            continue
        present = set(cells) - {"sku"}  # a column in the file sets its field, a blank cell to its default
        values = model.model_dump(include=present)
        if "components" in values:
            values["components"] = [(c["sku"], c["quantity"]) for c in values["components"]]
        accepted.append((n, catalog.ItemImport(sku=model.sku, values=values)))
    if accepted:
        results = catalog.import_items(uow, rows=[item for _, item in accepted], write=write)
        for (n, _), result in zip(accepted, results, strict=True):
            outcomes[n].action = result.action
            outcomes[n].errors += [(f if f in ITEMS.names else "sku", reason) for f, reason in result.errors]
    return outcomes


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
    uow: UnitOfWork, rows: list[Row], write: bool, granted: frozenset[str] | None
) -> list[Outcome]:
    """Each row checked as the create or edit would check it; with `write`, new customers are written together
    (`create_customers`) and edits one by one through the edit use case, each in a savepoint."""
    outcomes = []
    creates: list[tuple[customers.Details, str]] = []
    for _, cells in rows:
        outcome = Outcome("invalid")
        outcomes.append(outcome)
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
            outcome.action = customers.import_customer(
                uow,
                write=False,
                number=number,
                details=details,
                fields=fields,
                source_code=source_code,
                granted=granted,
            )
            if write and outcome.action == "created":
                creates.append((details, source_code))
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


KINDS: dict[str, Kind] = {
    "items": Kind(spec=ITEMS, key=_item_key, check=_check_items),
    "customers": Kind(spec=CUSTOMERS, key=_customer_key, check=_check_customers),
}
