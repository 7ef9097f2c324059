"""Items: created or updated by SKU through catalog's bulk use case (`import_items`)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from ordersmith.catalog import service as catalog
from ordersmith.catalog.schemas import ItemIn
from ordersmith.data.imports.kinds._common import (
    Kind,
    Outcome,
    Row,
    _first,
    _schema_errors,
    _typed,
    custom_column,
    split_custom,
)
from ordersmith.data.imports.rules import Column, Spec
from ordersmith.platform.db import UnitOfWork

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
        Column(
            "category",
            "the merchandise category's code, e.g. KITCHEN (active; a style's variant keeps its style's; blank: none)",
            "",
        ),
    ),
)


_LISTS = ("divisions", "barcodes", "components")


def _item_key(cells: dict[str, str]) -> tuple[str, str] | None:
    sku = cells.get("sku", "").strip()
    return ("sku", sku.upper()) if sku else None  # SKUs are one item in any letter case


def _check_items(
    uow: UnitOfWork, rows: list[Row], write: bool, granted: frozenset[str] | None, memo: dict[str, Any]
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    accepted: list[tuple[int, catalog.ItemImport]] = []
    for n, (_, cells) in enumerate(rows):
        outcome = Outcome("invalid")
        outcomes.append(outcome)
        cells, custom = split_custom(cells, outcome.errors)
        data = _typed(ITEMS, cells, outcome.errors)
        for name in _LISTS:
            data.setdefault(name, [])  # the schema's default, given: pydantic deep-copies a default list
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
        accepted.append((n, catalog.ItemImport(sku=model.sku, values=values, custom_fields=custom)))
    if accepted:
        # The new items of the run's earlier chunks (rolled back in a dry run): a kit later in the file finds them.
        pending: dict[str, str] = memo.setdefault("new_items", {})
        results = catalog.import_items(uow, rows=[item for _, item in accepted], write=write, pending=pending)
        for (n, _), result in zip(accepted, results, strict=True):
            outcomes[n].action = result.action
            outcomes[n].errors += [_item_error(f, reason) for f, reason in result.errors]
    return outcomes


def _item_error(field: str, reason: str) -> tuple[str, str]:
    if field == "components" and reason.startswith("no item with SKU"):
        # Kits are checked after every other row of the file: a component it creates anywhere is found.
        return field, f"{reason} (neither in the catalog nor in this file)"
    if field.startswith("custom_fields."):
        return custom_column(field), reason
    return (field if field in ITEMS.names else "sku"), reason


def _item_phase(cells: dict[str, str]) -> int:
    """Kits after every other row: a new kit's components may be created anywhere in the file."""
    return 1 if cells.get("kind", "").strip().lower() == "kit" else 0


KIND = Kind(
    spec=ITEMS,
    key=_item_key,
    check=_check_items,
    phase=_item_phase,
    phase_columns=frozenset({"kind"}),
    custom_kind="item",
)
