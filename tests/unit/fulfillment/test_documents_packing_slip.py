import segno
from barcode.codex import Code128

from ordersmith.fulfillment.documents import packing_slip_pdf
from ordersmith.fulfillment.documents.codes import QR_ERROR_LEVEL
from tests.unit.fulfillment.documents_support import (
    barcodes,
    make_line,
    make_party,
    make_slip,
    numbered_lines,
    pages_text,
    qr_modules,
    usd,
)


def test_packing_slip_shows_its_lines_addresses_gift_message_personalization_and_returns():
    # given
    slip = make_slip(
        gift_message="Happy birthday, Grace! Love, Ada",
        lines=(
            make_line(1, quantity=2, personalization={"Engraving": "G.H.", "Font": "Script"}),
            make_line(2, sku="PEN-BR-01", name="Brass pen", quantity=4, gift_message="For your desk"),
        ),
    )

    # when
    (text,) = pages_text(packing_slip_pdf(slip))

    # then
    for expected in [
        "Packing slip",
        "Order 100234",
        "Order date: 2026-03-04",
        "Shipment: S-100234-1",
        "Tracking: 1Z999AA10123456784",
        "Northwind Goods",
        "SHIP TO\nAda Lovelace\n12 Analytical Row\nFlat 3\nPortland, OR 97201\nUS",
        "BILL TO\nCharles Babbage\n7 Difference Lane",
        "GIFT MESSAGE\nHappy birthday, Grace! Love, Ada",
        "1 SKU-0001 Walnut desk organiser no. 1",
        "Engraving: G.H.\nFont: Script",
        "2 PEN-BR-01 Brass pen\nGift message: For your desk\n4",
        "2 lines, 6 units",
        "Return unworn items within 30 days in their original box.",
        "Return code: R-1188",
        "https://shop.example/returns?code=R-1188",
        "Page 1 of 1",
    ]:
        assert expected in text, expected


def test_packing_slip_hides_prices_unless_asked_and_never_on_a_gift():
    # given
    priced = (make_line(1, quantity=2, unit_price=usd("1234.50"), total=usd("2469.00")),)
    asked = make_slip(lines=priced, show_prices=True)
    gift = make_slip(lines=priced, show_prices=True, gift_message="Enjoy")

    # when
    (asked_text,) = pages_text(packing_slip_pdf(asked))
    (gift_text,) = pages_text(packing_slip_pdf(gift))

    # then
    assert "USD 1,234.50" in asked_text
    assert "USD 2,469.00" in asked_text
    assert "USD" not in gift_text


def test_packing_slip_barcodes_encode_the_order_and_shipment_numbers():
    # given
    slip = make_slip()

    # when
    drawn = barcodes(packing_slip_pdf(slip), 0)

    # then
    assert drawn == [Code128("100234", writer=None).build()[0], Code128("S-100234-1", writer=None).build()[0]]


def test_packing_slip_qr_code_encodes_the_returns_url():
    # given
    slip = make_slip()
    expected = segno.make("https://shop.example/returns?code=R-1188", error=QR_ERROR_LEVEL, micro=False)
    dark = {(r, c) for r, row in enumerate(expected.matrix) for c, module in enumerate(row) if module}

    # when
    drawn = qr_modules(packing_slip_pdf(slip), 0)

    # then
    assert drawn == dark


def test_the_same_packing_slip_renders_byte_identical_pdfs():
    # given
    slip = make_slip(lines=numbered_lines(40), gift_message="Congratulations")

    # when
    first, second = packing_slip_pdf(slip), packing_slip_pdf(slip)

    # then
    assert first == second
    assert b"/CreationDate (D:20260304000000Z" in first


def test_names_and_messages_outside_latin_1_render_transliterated():
    # given
    slip = make_slip(
        ship_to=make_party("Zoë Łukasiewicz", lines=("ul. Świętokrzyska 11",), city="Kraków"),
        gift_message="Wszystkiego najlepszego 🎉🎂 — from 山田 “Taro”",
        lines=(
            make_line(
                1,
                name="Crème brûlée torch \N{LEFT SINGLE QUOTATION MARK}Pro\N{RIGHT SINGLE QUOTATION MARK} №2",
                personalization={"Name": "Dvořák ❤️"},
            ),
        ),
    )

    # when
    (text,) = pages_text(packing_slip_pdf(slip))

    # then
    assert "Zoë Lukasiewicz" in text
    assert "ul. Swietokrzyska 11" in text
    assert "Kraków" in text
    assert 'Wszystkiego najlepszego  - from ?? "Taro"' in text
    assert "Crème brûlée torch 'Pro' No.2" in text
    assert "Name: Dvorák" in text


def test_a_long_packing_slip_repeats_its_header_on_every_page_and_counts_pages():
    # given
    slip = make_slip(lines=numbered_lines(120))

    # when
    texts = pages_text(packing_slip_pdf(slip))

    # then
    assert len(texts) == 4
    for number, text in enumerate(texts, start=1):
        assert text.startswith("Packing slip Order 100234\n")
        assert "# SKU Item Qty" in text
        assert text.endswith(f"Page {number} of 4")
    whole = "\n".join(texts)
    assert [n for n in range(1, 121) if f"SKU-{n:04d}" in whole] == list(range(1, 121))
    assert whole.index("SKU-0120") < whole.index("Return code: R-1188")
