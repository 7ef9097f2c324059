import re

from barcode.codex import Code128

from ordersmith.fulfillment.documents import pick_list_pdf
from ordersmith.fulfillment.documents.model import ToteAllocation
from tests.unit.fulfillment.documents_support import (
    barcodes,
    make_pick_list,
    make_stop,
    pages_text,
    rectangles,
)

CHECKBOX_PT = 14.17  # 5 mm


def test_pick_list_stops_appear_in_walk_sequence_with_their_totes():
    # given
    pick_list = make_pick_list(
        (
            make_stop(3, bin="C-01-1", sku="MUG-RED"),
            make_stop(1, bin="A-07-3", sku="MUG-BLUE", zone="A", aisle="7", bay="1", level="3"),
            make_stop(
                2,
                bin="B-02-1",
                sku="TEA-GREEN",
                quantity=5,
                allocations=(ToteAllocation("T-09", "100240", "S-100240-1", 5),),
            ),
        )
    )

    # when
    (text,) = pages_text(pick_list_pdf(pick_list))

    # then
    assert text.index("MUG-BLUE") < text.index("TEA-GREEN") < text.index("MUG-RED")
    assert "A-07-3\nZone A  Aisle 7\nBay 1  Level 3" in text
    assert "T-09 - 100240 / S-100240-1 x 5" in text
    assert "T-01 - 100234 / S-100234-1 x 1\nT-02 - 100235 / S-100235-1 x 2" in text
    assert (
        "Location: Main DC    Picker: Ana    Created: 2026-03-04 09:15 UTC    3 stops, 11 units, 3 totes"
        in text
    )
    assert "T-01 100234 S-100234-1 2\nT-02 100235 S-100235-1 4\nT-09 100240 S-100240-1 5" in text


def test_pick_list_draws_a_checkbox_and_a_sku_or_gtin_barcode_per_stop_and_the_wave_barcode():
    # given
    pick_list = make_pick_list(
        (make_stop(1, sku="MUG-BLUE"), make_stop(2, sku="MUG-RED", gtin="00012345678905"))
    )

    # when
    pdf = pick_list_pdf(pick_list)

    # then
    assert barcodes(pdf, 0) == [
        Code128(value, writer=None).build()[0] for value in ("W-2041", "MUG-BLUE", "00012345678905")
    ]
    boxes = [r for r in rectangles(pdf, 0, filled=False) if round(r[2], 2) == CHECKBOX_PT]
    assert len(boxes) == 2


def test_a_200_stop_pick_list_keeps_every_stop_in_order_and_numbers_its_pages():
    # given
    stops = tuple(
        make_stop(n, name=f"Ceramic mug with a long descriptive name that wraps in its column, no. {n}")
        for n in range(200, 0, -1)
    )

    # when
    pdf = pick_list_pdf(make_pick_list(stops))
    texts = pages_text(pdf)

    # then
    pages = len(texts)
    assert pages > 10
    for number, text in enumerate(texts, start=1):
        assert text.startswith("Pick list Wave W-2041\n")
        assert text.endswith(f"Page {number} of {pages}")
        assert "Done Seq Bin SKU Item Qty" in text
    skus = re.findall(r"SKU-(\d{4})", "\n".join(texts))
    assert [int(sku) for sku in skus] == list(range(1, 201))
    drawn = sum(len(barcodes(pdf, index)) for index in range(pages))
    assert drawn == 200 + pages


def test_the_same_pick_list_renders_byte_identical_pdfs():
    # given
    pick_list = make_pick_list(tuple(make_stop(n) for n in range(1, 30)))

    # when
    first, second = pick_list_pdf(pick_list), pick_list_pdf(pick_list)

    # then
    assert first == second
    assert b"/CreationDate (D:20260304091500Z" in first
