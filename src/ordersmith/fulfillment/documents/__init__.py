"""Printable warehouse and customer documents: packing slips, pick lists, commercial and customer invoices as
PDF (fpdf2), and shipping and bin labels as ZPL for thermal printers.

A leaf package: it imports only `ordersmith.kernel` and its libraries (fpdf2, python-barcode, segno). The
integrator fills the dataclasses of `model` from the database and calls one renderer; the same input always
renders the same bytes.
"""

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

__all__ = [
    "Charge",
    "CommercialInvoice",
    "CustomerInvoice",
    "DocumentLine",
    "PackingSlip",
    "Party",
    "PickList",
    "PickStop",
    "ToteAllocation",
    "packing_slip_pdf",
]
