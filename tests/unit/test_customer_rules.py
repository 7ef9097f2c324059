"""Pure customer rules: normalising contacts, Soundex, search keys and query parsing."""

from __future__ import annotations

import pytest

from ordersmith.customers import rules


@pytest.mark.parametrize(
    ("typed", "country", "stored"),
    [
        ("(415) 555-0132", "US", "+14155550132"),
        ("415.555.0132", "US", "+14155550132"),
        ("+1 415 555 0132", "GB", "+14155550132"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("011 44 20 7946 0958", "US", "+442079460958"),
        ("0044 20 7946 0958", "DE", "+442079460958"),
    ],
)
def test_phones_are_stored_e164_whatever_the_format(typed: str, country: str, stored: str):
    assert rules.normalize_phone(typed, country) == stored


@pytest.mark.parametrize("typed", ["12", "call me", "+1 415 555 01"])
def test_what_is_not_a_phone_number_is_refused(typed: str):
    with pytest.raises(rules.Invalid):
        rules.normalize_phone(typed, "US")


def test_emails_are_checked_and_normalised():
    assert rules.normalize_email("  Jane.Doe@Example.COM ") == "jane.doe@example.com"
    for bad in ("jane", "jane@", "jane doe@example.com", "@example.com"):
        with pytest.raises(rules.Invalid):
            rules.normalize_email(bad)


def test_postal_codes_follow_their_countrys_format():
    assert rules.normalize_postal_code("us", "94107-1234") == "94107-1234"
    assert rules.normalize_postal_code("GB", "sw1a  1aa") == "SW1A 1AA"
    assert rules.normalize_postal_code("CA", "k1a 0b1") == "K1A 0B1"
    assert rules.normalize_postal_code("AE", "") == ""  # no postal codes there
    for country, bad in (("US", "9410"), ("DE", "1011"), ("GB", "12345")):
        with pytest.raises(rules.Invalid):
            rules.normalize_postal_code(country, bad)


def test_soundex_lets_misspelt_names_find_each_other():
    assert rules.soundex("Smith") == rules.soundex("Smyth") == "s530"
    assert rules.soundex("Robert") == rules.soundex("Rupert") == "r163"
    assert rules.soundex("Tymczak") == "t522" and rules.soundex("Pfister") == "p236"
    assert rules.soundex("Müller") == rules.soundex("Muller")


def test_search_keys_cover_every_way_a_customer_is_looked_up():
    keys = rules.search_keys(rules.Searchable(number="C-100042", names=["José", "O'Brien", ""],
                                              emails=["jo@example.com"], phones=["+14155550132"],
                                              postal_codes=["SW1A 1AA"]))  # fmt: skip
    expected = {("name", "jose"), ("name", "o"), ("name", "brien"), ("sound", "j200"), ("phone", "14155550132"),
                ("phone", "5550132"), ("email", "jo@example.com"), ("postal", "SW1A1AA"),
                ("number", "C-100042")}  # fmt: skip
    assert expected <= keys
    assert {("full", "jose o brien"), ("full", "brien o jose")} <= keys


def test_a_query_is_read_as_every_kind_of_key_it_could_be():
    phone = rules.parse_query("415-555-0132", "US")
    assert ("phone", "14155550132") in phone.exact and ("phone", "5550132") in phone.exact
    person = rules.parse_query("Jon Smyth", "US")  # a person: one range over the whole name, or its sounds
    assert person.prefixes == [("full", "jon smyth")] and person.exact == [("sounds", "j500 s530")]
    word = rules.parse_query("Smyth", "US")
    assert ("name", "smyth") in word.prefixes and ("sound", "s530") in word.exact
    assert rules.parse_query("c-100042", "US").prefixes == [("number", "C-100042")]
    assert ("email", "jo@example.com") in rules.parse_query("Jo@Example.com", "US").prefixes
    assert ("postal", "SW1A1AA") in rules.parse_query("SW1A 1AA", "US").exact


@pytest.mark.parametrize(
    "raw",
    [
        "ada@example.com",
        "  Ada.Lovelace+News@Example.COM ",
        "a_b-c@sub.example.co.uk",
        f"{'a' * 64}@example.com",
        f"{'a' * 65}@example.com",
        f"{'a' * 64}@{'b' * 63}.{'c' * 63}.{'d' * 63}.com",
        f"{'a' * 60}@{'b' * 63}.{'c' * 63}.{'d' * 60}.com",
        "a..b@example.com",
        ".a@example.com",
        "a.@example.com",
        "a@localhost",
        "a@example.test",
        "a@example",
        "a@-example.com",
        "a@exa_mple.com",
        "a@123.456",
        "a@example..com",
        "a@@example.com",
        "@example.com",
        "a@",
        "a b@example.com",
        "jörg@example.com",
        "jorg@münchen.de",
        '"quoted"@example.com',
        "a@xn--mnchen-3ya.de",
        "a@[127.0.0.1]",
    ],
)
def test_an_address_is_normalised_or_refused_as_checking_it_whole_would(raw: str) -> None:
    # given what email-validator says of the whole address
    try:
        expected: str | None = rules._normalize_whole(raw.strip())
        reason = None
    except rules.Invalid as exc:
        expected, reason = None, str(exc)
    # when
    rules.normalize_email.cache_clear()
    try:
        found: str | None = rules.normalize_email(raw)
        refused = None
    except rules.Invalid as exc:
        found, refused = None, str(exc)
    # then
    assert (found, refused) == (expected, reason)


@pytest.mark.parametrize(
    "text", ["Ada LOVELACE", "  o'Brien-Smith  ", "Zoë Ångström", "ÆSIR ß", "İstanbul", "a_b\tc", ""]
)
def test_folding_ascii_text_takes_a_shortcut_that_gives_the_same_keys(text: str) -> None:
    import re
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    assert rules.fold(text) == " ".join(re.sub(r"[^0-9a-z]+", " ", plain).split())
