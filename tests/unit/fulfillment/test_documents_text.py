from ordersmith.fulfillment.documents.text import money_text, printable
from ordersmith.kernel.money import Money
from tests.unit.fulfillment.documents_support import usd


def test_printable_keeps_latin_1_and_transliterates_the_rest():
    # when / then
    assert printable("Zoë Łukasiewicz") == "Zoë Lukasiewicz"
    assert printable("Dvořák, Œuvre, straße") == "Dvorák, OEuvre, straße"
    assert printable("“quoted” \N{EN DASH} dash … €5") == '"quoted" - dash ... EUR5'
    assert printable("party 🎉👍🏽 time") == "party  time"
    assert printable("山田 太郎") == "?? ??"
    assert printable("line one\nline two\ttab\x07") == "line one\nline two tab"


def test_printable_output_always_encodes_as_latin_1():
    # given
    every_plane_sample = "".join(chr(code) for code in range(0, 0x3000, 7)) + "🎉\U0010fffd\ud800"

    # when
    text = printable(every_plane_sample)

    # then
    assert text.encode("latin-1").decode("latin-1") == text


def test_money_text_groups_thousands_with_the_currency_first():
    # when / then
    assert money_text(usd("1234567.5")) == "USD 1,234,567.50"
    assert money_text(Money("1200", "JPY")) == "JPY 1,200"
    assert money_text(-usd("5")) == "USD -5.00"
