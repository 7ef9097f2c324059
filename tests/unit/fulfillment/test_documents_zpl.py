import pytest

from ordersmith.fulfillment.documents import bin_label_zpl, shipping_label_zpl
from ordersmith.fulfillment.documents.zpl import field_data
from tests.unit.fulfillment.documents_support import make_party


def make_label(**overrides: object) -> str:
    values: dict[str, object] = {
        "ship_from": make_party("Northwind Goods", lines=("1 Dock Street",), city="Seattle", region="WA"),
        "ship_to": make_party(),
        "service": "UPS Ground",
        "tracking_number": "1Z999AA10123456784",
        "package_number": 2,
        "package_count": 3,
        "reference": "Order 100234",
    }
    values.update(overrides)
    return shipping_label_zpl(**values)  # type: ignore[arg-type]


def test_shipping_label_is_one_4_by_6_inch_label_at_203_dpi_with_the_tracking_barcode():
    # when
    label = make_label()

    # then
    lines = label.splitlines()
    assert lines[:5] == ["^XA", "^CI28", "^PW812", "^LL1218", "^LH0,0"]
    assert lines[-1] == "^XZ"
    assert label.count("^XA") == 1
    assert label.count("^XZ") == 1
    assert "^FO40,715^BY3^BCN,220,Y,N,N,A^FH\\^FD1Z999AA10123456784^FS" in lines
    assert "^FO560,24^A0N,40,40^FB222,1,0,L^FH\\^FD2 of 3^FS" in lines
    assert "^FO30,590^A0N,56,56^FB752,1,0,L^FH\\^FDUPS Ground^FS" in lines
    assert "^FO50,250^A0N,38,38^FB732,1,0,L^FH\\^FDAda Lovelace^FS" in lines
    assert "^FO50,382^A0N,38,38^FB732,1,0,L^FH\\^FDPortland, OR 97201^FS" in lines
    assert "^FO30,1020^A0N,30,30^FB752,2,0,L^FH\\^FDRef: Order 100234^FS" in lines
    assert all(line.isascii() for line in lines)


def test_field_data_escapes_carets_tildes_backslashes_and_non_ascii_as_hex():
    # when / then
    assert field_data("A^B~C\\D") == "A\\5EB\\7EC\\5CD"
    assert field_data("Zoë") == "Zo\\C3\\AB"
    assert field_data("plain 123-_") == "plain 123-_"


def test_a_name_cannot_inject_zpl_commands():
    # given
    hostile = make_party("Mallory ^XZ^XA~JR")

    # when
    label = make_label(ship_to=hostile, reference="~DGR:LOGO")

    # then
    assert label.count("^XA") == 1
    assert label.count("^XZ") == 1
    assert "~" not in label
    assert "^FH\\^FDMallory \\5EXZ\\5EXA\\7EJR^FS" in label
    assert "^FH\\^FDRef: \\7EDGR:LOGO^FS" in label


def test_shipping_label_refuses_a_package_number_outside_the_count():
    # when / then
    with pytest.raises(ValueError, match="package 4 of 3"):
        make_label(package_number=4)


def test_bin_label_prints_the_bin_code_its_location_and_its_barcode():
    # when
    label = bin_label_zpl("A-07-3", zone="A", aisle="7", bay="1", level="3")

    # then
    assert label.splitlines() == [
        "^XA",
        "^CI28",
        "^PW812",
        "^LL406",
        "^LH0,0",
        "^FO30,20^A0N,80,80^FB752,1,0,L^FH\\^FDA-07-3^FS",
        "^FO30,110^A0N,30,30^FB752,1,0,L^FH\\^FDZone A  Aisle 7  Bay 1  Level 3^FS",
        "^FO40,160^BY4^BCN,170,Y,N,N,A^FH\\^FDA-07-3^FS",
        "^XZ",
    ]
