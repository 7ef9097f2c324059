"""The pure rules of segments and pulls: the rule tree's checks, the household and suppression keys, the seeded
split into cells."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordersmith.kernel.errors import ValidationFailed
from ordersmith.marketing import lists


def candidate(number: str, line1: str = "1 Elm St", **fields: object) -> lists.Candidate:
    values: dict[str, object] = dict(
        customer_id=number,
        number=number,
        name="Ann Buyer",
        line1=line1,
        line2="",
        city="Town",
        region="CA",
        postal_code="94105",
        country="US",
        email="",
        last_order_on=None,
    )
    return lists.Candidate(**(values | fields))  # type: ignore[arg-type]


@given(
    total=st.integers(0, 100_000),
    weights=st.lists(st.integers(1, 1000), min_size=1, max_size=8),
)
def test_cells_hold_every_name_each_within_one_of_its_exact_share(total: int, weights: list[int]):
    # given percentages adding up to 100 (the last takes the rounding)
    raw = [Decimal(w) * 100 / sum(weights) for w in weights]
    percents = [p.quantize(Decimal("0.0001")) for p in raw[:-1]]
    percents.append(Decimal(100) - sum(percents))
    if percents[-1] <= 0:
        return
    # when the names are split
    sizes = lists.cell_sizes(total, percents)
    # then every name is in one cell and each cell is within one name of its share
    assert sum(sizes) == total
    for size, percent in zip(sizes, percents, strict=True):
        assert abs(Decimal(size) - Decimal(total) * percent / 100) < 1


@given(seed=st.integers(0, 2**31 - 1), count=st.integers(0, 300))
def test_a_split_is_a_permutation_repeatable_by_its_seed(seed: int, count: int):
    names = [candidate(f"C-{n:06d}", line1=f"{n} Elm St") for n in range(count)]
    cells = [lists.Cell("T", Decimal(70)), lists.Cell("C", Decimal(30))]
    dealt = lists.split(names, cells, seed)
    assert sorted(c.number for _, c in dealt) == [c.number for c in names]
    assert dealt == lists.split(list(reversed(names)), cells, seed)  # the input's order does not matter


def test_one_name_per_household_keeps_the_most_recent_buyer():
    from datetime import date

    older = candidate("C-1", last_order_on=date(2025, 1, 1))
    newer = candidate("C-2", line1="1 ELM st.", last_order_on=date(2026, 1, 1))
    never = candidate("C-3", line1="1 Elm  Street")  # another spelling of the street: another household
    assert [c.number for c in lists.one_per_household([older, newer, never])] == ["C-2", "C-3"]


def test_suppression_rows_match_by_email_household_or_named_person():
    keys = lists.suppression_keys(
        [
            lists.SuppressionEntry(email=" Ann@Example.COM "),
            lists.SuppressionEntry(line1="9 Oak Ave", postal_code="94 105", country="us"),
            lists.SuppressionEntry(name="Bo  Buyer", line1="2 Pine Rd", postal_code="94105", country="US"),
        ]
    )
    assert keys.matches(candidate("C-1", email="ann@example.com"))
    assert keys.matches(candidate("C-2", line1="9 oak ave."))
    assert keys.matches(candidate("C-3", line1="2 Pine Rd", name="bo buyer"))
    assert not keys.matches(candidate("C-4", line1="2 Pine Rd", name="Cy Buyer"))
    with pytest.raises(ValidationFailed) as refused:
        lists.suppression_keys([lists.SuppressionEntry(name="Only Name")], "file")
    assert [e.field for e in refused.value.errors] == ["file.0"]


@pytest.mark.parametrize(
    ("tree", "field"),
    [
        ([], "rules"),
        ({"all": [{"field": "country", "op": "in", "value": ["US"]}], "any": []}, "rules"),
        ({"field": "country", "op": "in", "value": ["USA"]}, "rules.value"),
        ({"field": "country", "op": "in", "value": ["US"], "extra": 1}, "rules.extra"),
        ({"field": "country", "op": "in"}, "rules.value"),
        ({"field": "rfm_cell", "op": "in", "value": ["556"]}, "rules.value"),
        ({"field": "do_not_mail", "op": "is", "value": "yes"}, "rules.value"),
        ({"field": "last_order", "op": "within_days", "value": True}, "rules.value"),
        ({"field": "region", "op": "in", "value": ["C\x00A"]}, "rules.value"),
        (
            {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {}}}}}}}}}},
            "rules" + ".not" * 9,
        ),
    ],
)
def test_a_wrong_rule_is_named_by_its_path(tree: object, field: str):
    with pytest.raises(ValidationFailed) as refused:
        lists.validate_tree(tree)
    assert [e.field for e in refused.value.errors] == [field]
