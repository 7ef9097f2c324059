from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordersmith.catalog.rules import Template, TemplateField, personalize
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.kernel.money import Money

USD = "USD"
MONOGRAM = Template(
    code="towel-monogram",
    name="Towel monogram",
    currency=USD,
    non_returnable=True,
    fields=(
        TemplateField("initials", "text", "Initials", required=True, max_length=3, characters="monogram",
                      per_character=Money("2.50", USD)),
        TemplateField("font", "font", "Font", required=True, options=("Block", "Script")),
        TemplateField("thread", "thread_colour", "Thread colour", options=("Navy", "Gold"),
                      surcharge=Money("1.00", USD)),
        TemplateField("message", "text", "Message", max_length=20, characters="printable",
                      surcharge=Money("5.00", USD), per_character=Money("0.25", USD)),
    ),
)  # fmt: skip


def test_a_full_personalization_is_priced_per_field_and_per_character():
    result = personalize(
        MONOGRAM, {"initials": "ABC", "font": "Script", "thread": "Gold", "message": "Happy  day"}
    )
    # 3 x 2.50 + 1.00 + 5.00 + 8 non-space characters x 0.25
    assert result.surcharge == Money("15.50", USD)
    assert result.values["message"] == "Happy day"
    assert result.non_returnable is True


def test_optional_fields_left_empty_cost_nothing():
    assert personalize(MONOGRAM, {"initials": "JD", "font": "Block"}).surcharge == Money("5.00", USD)


def test_every_problem_is_reported_at_once_naming_the_field():
    with pytest.raises(ValidationFailed) as caught:
        personalize(MONOGRAM, {"initials": "abcd", "font": "Comic", "colour": "red", "message": "x" * 21})
    assert sorted(e.field for e in caught.value.errors) == [
        "values.colour", "values.font", "values.initials", "values.message",
    ]  # fmt: skip


@pytest.mark.parametrize(("initials", "message"), [("ab", "lower case"), ("A1", "digit"), ("", "missing")])
def test_initials_must_be_upper_case_letters_and_are_required(initials: str, message: str):
    with pytest.raises(ValidationFailed) as caught:
        personalize(MONOGRAM, {"initials": initials, "font": "Block"})
    assert [e.field for e in caught.value.errors] == ["values.initials"], message


def test_templates_that_make_no_sense_are_refused():
    with pytest.raises(ValueError, match="max_length"):
        TemplateField("name", "text", "Name")
    with pytest.raises(ValueError, match="needs options"):
        TemplateField("font", "font", "Font")
    with pytest.raises(ValueError, match="unique"):
        Template("t", "T", USD, (TemplateField("a", "choice", "A", options=("x",)),) * 2)
    with pytest.raises(ValueError, match="non-negative USD"):
        Template(
            "t", "T", USD, (TemplateField("a", "choice", "A", options=("x",), surcharge=Money("1", "EUR")),)
        )


@given(text=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=3))
def test_the_surcharge_is_linear_in_the_characters(text: str):
    result = personalize(MONOGRAM, {"initials": text, "font": "Block"})
    assert result.surcharge.amount == Decimal("2.50") * len(text)
