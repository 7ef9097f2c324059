"""The pure rules of an import: matching a header to a kind's columns, reading cells, and the docs naming every
column of every kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from ordersmith.data.imports.kinds import KINDS
from ordersmith.data.imports.rules import (
    HeaderProblem,
    Spec,
    cells_by_column,
    custom_column,
    match_header,
    parse_boolean,
    parse_components,
    parse_list,
    refused_columns,
)

ITEMS = KINDS["items"].spec
CUSTOMERS = KINDS["customers"].spec


def _with_season() -> Spec:
    return ITEMS.with_columns(
        [custom_column(name="season", label="Season", type="choice", required=True, choices=["spring", "autumn"],
                       max_length=None)]
    )  # fmt: skip


def test_custom_field_columns_match_as_custom_dot_name_in_any_case_or_as_an_export_names_them() -> None:
    spec = _with_season()
    assert match_header(spec, ["sku", "name", "Custom.Season"]) == ["sku", "name", "custom.season"]
    assert match_header(spec, ["sku", "name", "custom_season"]) == ["sku", "name", "custom.season"]
    with pytest.raises(HeaderProblem) as unknown:
        match_header(spec, ["sku", "name", "custom.colour"])
    assert unknown.value.column == "custom.colour"
    assert unknown.value.message == (
        "unknown column 'custom.colour': no custom field 'colour' is defined for items (defined: custom.season)"
    )
    with pytest.raises(HeaderProblem, match="appears twice"):
        match_header(spec, ["sku", "name", "custom.season", "custom_season"])


def test_a_custom_field_column_has_an_example_its_field_accepts() -> None:
    examples = {
        type_: custom_column(name="f", label="Buyer name", type=type_, required=True, choices=choices,
                             max_length=5 if type_ == "text" else None).example
        for type_, choices in (("text", []), ("choice", ["a", "b"]), ("number", []), ("decimal", []),
                               ("date", []), ("boolean", []))
    }  # fmt: skip
    assert examples == {"text": "Buyer", "choice": "a", "number": "1", "decimal": "12.50", "date": "2026-01-31",
                        "boolean": "false"}  # fmt: skip


def test_headers_are_matched_whatever_their_case_spacing_and_dashes() -> None:
    assert match_header(ITEMS, [" SKU", "Name ", "Country of-origin"]) == ["sku", "name", "country_of_origin"]


@pytest.mark.parametrize(
    ("header", "column", "message"),
    [
        (["sku", "name", "colour"], "colour", "unknown column 'colour' for a items import"),
        (
            ["name"],
            "sku",
            "missing required column(s) sku for a items import (is this a file of another kind?)",
        ),
        (["sku", "name", "SKU"], "SKU", "column 'SKU' appears twice"),
        (["sku", "", "name"], "header", "a column has no name in the first row"),
    ],
)
def test_a_header_that_does_not_fit_names_the_column(header: list[str], column: str, message: str) -> None:
    with pytest.raises(HeaderProblem) as problem:
        match_header(ITEMS, header)
    assert problem.value.column == column
    assert problem.value.message.startswith(message)


def test_money_columns_name_the_scope_the_caller_lacks() -> None:
    names = ["emails", "last_name", "credit_limit", "tax_exempt", "customer_group"]
    assert refused_columns(CUSTOMERS, names, frozenset({"customers:write", "customers:tax"})) == [
        ("credit_limit", "customers:credit"),
        ("customer_group", "customers:pricing"),
    ]
    assert refused_columns(CUSTOMERS, names, None) == []


def test_cells_read_as_booleans_lists_and_kit_components() -> None:
    assert [parse_boolean(t) for t in ("Yes", "x", "0", "", "maybe")] == [True, True, False, False, None]
    assert parse_list(" web | store ||") == ["web", "store"]
    assert parse_components("MUG-1:2|TEA-3") == [
        {"sku": "MUG-1", "quantity": "2"},
        {"sku": "TEA-3", "quantity": "1"},
    ]
    assert cells_by_column(["sku", "name"], ["A-1"]) == {"sku": "A-1", "name": ""}
    assert (
        cells_by_column(["sku", "name"], ["A-1", "x", "extra"])
        == "the row has 3 cells but the header names 2 columns"
    )


def test_the_import_guide_documents_every_column_of_every_kind() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "imports.md").read_text()
    for kind, target in KINDS.items():
        assert f"(`{kind}`)" in guide
        for column in target.spec.columns:
            assert f"| `{column.name}` |" in guide, (kind, column.name)
        section = guide.split(f"(`{kind}`)", 1)[1].split("\n## ", 1)[0]
        assert ("| `custom.<name>` |" in section) == (target.custom_kind is not None), kind
