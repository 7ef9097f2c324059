"""The edge check for free text: where it finds a card number or a NUL character, and where it must not."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ordersmith.platform.input_guard import CARD_REASON, NUL_REASON, body_refusal

JSON = b"application/json"


def test_a_card_number_hidden_behind_json_escapes_is_found() -> None:
    # given a body whose digits are written as \u escapes
    body = b'{"notes": "\\u0034111 1111 1111 1111"}'
    # when it is checked / then the field is named
    assert body_refusal(body, JSON) == ("notes", CARD_REASON)


def test_a_card_number_as_a_json_integer_or_key_is_found() -> None:
    assert body_refusal(b'{"a": {"b": [1, 4111111111111111]}}', JSON) == ("a.b.1", CARD_REASON)
    assert body_refusal(b'{"meta": {"4111111111111111": "x"}}', JSON) == (
        "meta.411111******1111",
        CARD_REASON,
    )


def test_form_and_multipart_fields_are_checked_by_name() -> None:
    form = b"application/x-www-form-urlencoded"
    assert body_refusal(b"body=card+4111%201111%201111%201111&kind=note", form) == ("body", CARD_REASON)
    assert body_refusal(b"body=ok%00", form) == ("body", NUL_REASON)
    multipart = (
        b'--XyZ\r\nContent-Disposition: form-data; name="note"\r\n\r\n5555-5555-5555-4444\r\n--XyZ--\r\n'
    )
    assert body_refusal(multipart, b"multipart/form-data; boundary=XyZ") == ("note", CARD_REASON)


def test_skus_barcodes_tracking_numbers_and_short_phone_numbers_are_not_card_numbers() -> None:
    # given Luhn-valid long digit strings in the fields where they belong
    body = (
        b'{"sku": "4006381333924", "barcodes": ["4006381333924"], "tracking": "4111111111111111", '
        b'"ship_tos": [{"phone": "+86 138 0013 8002"}], "phones": [{"number": "8613800138002"}]}'
    )
    # when it is checked / then nothing is refused
    assert body_refusal(body, JSON) is None
    # but a phone field holding more digits than any phone number is
    assert body_refusal(b'{"ship_tos": [{"phone": "4111 1111 1111 1111"}]}', JSON) == (
        "ship_tos.0.phone",
        CARD_REASON,
    )


def test_the_vault_request_may_carry_the_number_but_not_a_nul_character() -> None:
    assert body_refusal(b'{"number": "4111 1111 1111 1111"}', JSON, cards=False) is None
    assert body_refusal(b'{"holder": "A\\u0000"}', JSON, cards=False) == ("holder", NUL_REASON)


def test_numbers_that_fail_luhn_and_bodies_that_are_not_json_pass() -> None:
    assert body_refusal(b'{"notes": "4111 1111 1111 1112", "quantity": 12}', JSON) is None
    assert body_refusal(b"{nope 4111111111111111", JSON) is None  # the route answers 400


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789 -x", max_size=40))
def test_the_quick_card_check_answers_as_the_full_scan(text: str) -> None:
    from ordersmith.kernel.cards import contains_card_number, redact

    assert contains_card_number(text) is (redact(text) != text)
    assert contains_card_number("pay 4111 1111 1111 1111 now") and not contains_card_number("4111 1111 1111")


def test_a_uuid_whose_digit_groups_happen_to_pass_luhn_is_an_id_not_a_card_number() -> None:
    # given a random UUID (a till's sale id) whose groups "6183-4831-9143" join into a Luhn-valid run
    sale_id = "530e016d-6183-4831-9143-1f0644227a01"
    # when it is sent / then it is let through, while the same digits written as a card number are not
    assert body_refusal(b'{"id": "%s"}' % sale_id.encode(), JSON) is None
    assert body_refusal(b'{"note": "id 6183-4831-9143-1f06"}', JSON) == ("note", CARD_REASON)
