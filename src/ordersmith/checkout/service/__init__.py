"""Checkout use cases: placing an order with its payment, quoting it, adding a tender to a placed order, and
covering a total an edit raised.

Invariants: no processor call inside a transaction or lock; an order is priced once and written once, with its
final payment status, in the same transaction as its tenders; the tenders of an order never cover more than its
total under any concurrency.
"""

from ordersmith.checkout.service.adding import add_tender, cover_total, register
from ordersmith.checkout.service.placing import check_caller, place_order

__all__ = ["add_tender", "check_caller", "cover_total", "place_order", "register"]
