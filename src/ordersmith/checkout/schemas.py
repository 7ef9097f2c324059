"""Checkout's request mapping: the API body of an order to the orders service's request."""

from __future__ import annotations

from ordersmith.orders import service
from ordersmith.orders.schemas import OrderIn, money


def order_request(body: OrderIn, currency: str) -> service.OrderRequest:
    """The service's request from the API body."""
    return service.OrderRequest(
        lines=[service.LineRequest(sku=line.sku, quantity=line.quantity, ship_to=line.ship_to,
                                   personalization=dict(line.personalization), gift_message=line.gift_message,
                                   source_code=line.source_code)
               for line in body.lines],
        ship_tos=[service.ShipToRequest(ref=s.ref, name=s.name, line1=s.line1, line2=s.line2, city=s.city,
                                        region=s.region, postal_code=s.postal_code, country=s.country.upper(),
                                        phone=s.phone, method=s.method) for s in body.ship_tos],
        customer=body.customer,
        new_customer=service.NewCustomer(**body.new_customer.model_dump()) if body.new_customer else None,
        email=body.email,
        billing=body.billing.model_dump() if body.billing else None,
        source_code=body.source_code,
        coupons=tuple(body.coupons),
        external_id=body.external_id,
        placed_at=body.placed_at,
        payments=[service.PaymentRequest(method=p.method, amount=money(p.amount, currency,
                                                                        field=f"payments.{n}.amount"),
                                         token=p.token, reference=p.reference, bank=p.bank)
                  for n, p in enumerate(body.payments)],
        priority=body.priority,
        release=body.release,
        fulfillment=body.fulfillment,
        store=body.store,
    )  # fmt: skip
