"""Printable warehouse and customer documents: packing slips, pick lists, commercial and customer invoices and
customers' account statements as PDF (fpdf2), and shipping and bin labels as ZPL for thermal printers.

A leaf package: it imports only `ordersmith.kernel` and its libraries (fpdf2, python-barcode, segno). The
integrator fills the dataclasses of `model` from the database and calls one renderer; the same input always
renders the same bytes.
"""

from .commercial_invoice import commercial_invoice_pdf
from .customer_invoice import customer_invoice_pdf
from .model import (
    Charge,
    CommercialInvoice,
    CustomerInvoice,
    DocumentLine,
    PackingSlip,
    Party,
    PickList,
    PickStop,
    ToteAllocation,
)
from .packing_slip import packing_slip_pdf
from .pick_list import pick_list_pdf
from .statement import AccountStatement, StatementInvoice, account_statement_pdf
from .zpl import bin_label_zpl, shipping_label_zpl

__all__ = [
    "AccountStatement",
    "Charge",
    "CommercialInvoice",
    "CustomerInvoice",
    "DocumentLine",
    "PackingSlip",
    "Party",
    "PickList",
    "PickStop",
    "StatementInvoice",
    "ToteAllocation",
    "account_statement_pdf",
    "bin_label_zpl",
    "commercial_invoice_pdf",
    "customer_invoice_pdf",
    "packing_slip_pdf",
    "pick_list_pdf",
    "shipping_label_zpl",
]
