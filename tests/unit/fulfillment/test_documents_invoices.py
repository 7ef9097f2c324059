from datetime import date

import pytest

from ordersmith.fulfillment.documents import (
    Charge,
    CommercialInvoice,
    CustomerInvoice,
    commercial_invoice_pdf,
    customer_invoice_pdf,
)
from tests.unit.fulfillment.documents_support import make_line, make_party, pages_text, usd


def make_commercial_invoice(**overrides: object) -> CommercialInvoice:
    values: dict[str, object] = {
        "invoice_number": "CI-5001",
        "issued_on": date(2026, 3, 5),
        "shipment_number": "S-100234-1",
        "shipper": make_party("Northwind Goods", lines=("1 Dock Street",), city="Seattle", region="WA"),
        "consignee": make_party(
            "Zoë Łukasiewicz", lines=("ul. Długa 5",), city="Gdańsk", region=None, country="PL"
        ),
        "export_reason": "Sale",
        "incoterm": "DAP",
        "currency": "USD",
        "lines": (
            make_line(
                1,
                quantity=2,
                unit_price=usd("19.99"),
                hs_code="6912.00",
                country_of_origin="PT",
                weight_g=450,
            ),
            make_line(
                2,
                quantity=3,
                unit_price=usd("1250.10"),
                hs_code="9403.30",
                country_of_origin="US",
                weight_g=12500,
            ),
        ),
        "declaration": "I declare that the information on this invoice is true and correct.",
        "signature_name": "Grace Hopper",
        "signature_title": "Shipping manager",
        "order_number": "100234",
        "freight": usd("45.00"),
    }
    values.update(overrides)
    return CommercialInvoice(**values)  # type: ignore[arg-type]


def make_customer_invoice(**overrides: object) -> CustomerInvoice:
    values: dict[str, object] = {
        "invoice_number": "INV-7001",
        "order_number": "100234",
        "issued_on": date(2026, 3, 5),
        "ordered_on": date(2026, 3, 4),
        "due_on": date(2026, 4, 4),
        "terms": "Net 30",
        "currency": "USD",
        "retailer": make_party("Northwind Goods", lines=("1 Dock Street",), city="Seattle", region="WA"),
        "bill_to": make_party(),
        "ship_to": make_party("Charles Babbage"),
        "lines": (
            make_line(
                1, quantity=2, unit_price=usd("10.00"), total=usd("20.00"), personalization={"Monogram": "AL"}
            ),
            make_line(2, quantity=1, unit_price=usd("1500.00")),
        ),
        "discounts": (Charge("Coupon SPRING10", usd("10.00")),),
        "shipping": (Charge("Ground shipping", usd("7.50")),),
        "taxes": (Charge("Sales tax 8%", usd("120.80")),),
        "total": usd("1638.30"),
        "amount_paid": usd("1000.00"),
        "payment_instructions": "Pay by bank transfer to IBAN DE00 1234, reference INV-7001.",
    }
    values.update(overrides)
    return CustomerInvoice(**values)  # type: ignore[arg-type]


def test_commercial_invoice_totals_are_the_sum_of_its_lines_plus_freight():
    # given
    invoice = make_commercial_invoice()

    # when
    (text,) = pages_text(commercial_invoice_pdf(invoice))

    # then
    assert invoice.lines_total == usd("3790.28")  # 2 x 19.99 + 3 x 1250.10
    assert invoice.total_value == usd("3835.28")
    assert invoice.total_weight_g == 38400
    assert "Lines total USD 3,790.28" in text
    assert "Freight USD 45.00" in text
    assert "Total value USD 3,835.28" in text
    assert "Total quantity 5" in text
    assert "Total net weight (kg) 38.400" in text


def test_commercial_invoice_shows_customs_fields_parties_and_declaration():
    # given
    invoice = make_commercial_invoice()

    # when
    (text,) = pages_text(commercial_invoice_pdf(invoice))

    # then
    for expected in [
        "Commercial invoice Invoice CI-5001",
        "Incoterm: DAP",
        "Reason for export: Sale",
        "CONSIGNEE\nZoë Lukasiewicz\nul. Dluga 5\nGdansk 97201\nPL",
        "1 Walnut desk organiser no. 1\nSKU SKU-0001\n6912.00 PT 2 19.99 0.900 39.98",
        "2 Walnut desk organiser no. 2\nSKU SKU-0002\n9403.30 US 3 1,250.10 37.500 3,750.30",
        "I declare that the information on this invoice is true and correct.",
        "Signature: Grace Hopper, Shipping manager\nDate: 2026-03-05",
    ]:
        assert expected in text, expected


def test_commercial_invoice_refuses_a_line_without_customs_fields():
    # given
    line = make_line(1, quantity=1, unit_price=usd("5.00"), country_of_origin="US", weight_g=10)

    # when / then
    with pytest.raises(ValueError, match="line 1 needs an HS code"):
        make_commercial_invoice(lines=(line,))


def test_customer_invoice_shows_lines_discounts_shipping_tax_and_balance_due():
    # given
    invoice = make_customer_invoice()

    # when
    (text,) = pages_text(customer_invoice_pdf(invoice))

    # then
    assert invoice.balance_due == usd("638.30")
    for expected in [
        "Invoice No. INV-7001",
        "Due date: 2026-04-04",
        "Terms: Net 30",
        "BILL TO\nAda Lovelace",
        "SHIP TO\nCharles Babbage",
        "1 SKU-0001 Walnut desk organiser no. 1\nMonogram: AL\n2 USD 10.00 USD 20.00",
        "2 SKU-0002 Walnut desk organiser no. 2 1 USD 1,500.00 USD 1,500.00",
        "Subtotal USD 1,520.00\nCoupon SPRING10 USD -10.00\nGround shipping USD 7.50\nSales tax 8% USD 120.80\n"
        "Total USD 1,638.30\nAmount paid USD 1,000.00\nBalance due USD 638.30",
        "Pay by bank transfer to IBAN DE00 1234, reference INV-7001.",
    ]:
        assert expected in text, expected


def test_customer_invoice_refuses_a_total_that_does_not_add_up():
    # when / then
    with pytest.raises(ValueError, match=r"total 1638.31 USD does not add up; its parts come to 1638.30 USD"):
        make_customer_invoice(total=usd("1638.31"))


def test_the_same_invoices_render_byte_identical_pdfs():
    # given
    commercial, customer = make_commercial_invoice(), make_customer_invoice()

    # when / then
    assert commercial_invoice_pdf(commercial) == commercial_invoice_pdf(commercial)
    assert customer_invoice_pdf(customer) == customer_invoice_pdf(customer)
