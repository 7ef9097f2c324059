"""Builders for test data, going through the real services."""

from __future__ import annotations

from dataclasses import replace

from ordersmith.platform import identity, sales_channels
from ordersmith.platform.access import SCOPES
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.identity import NewApiKey, User
from ordersmith.platform.sales_channels import SalesChannel

DEFAULT_PASSWORD = "correct horse battery"


def make_user(
    uow: UnitOfWork, *, role: str = "agent", email: str | None = None, password: str = DEFAULT_PASSWORD
) -> User:
    return identity.create_user(
        uow, email=email or f"{role}@example.com", name=role.title(), role=role, password=password
    )


def make_api_key(
    uow: UnitOfWork, *, scopes: list[str] | None = None, channel: str | None = None, name: str = "test"
) -> NewApiKey:
    return identity.create_api_key(
        uow, name=name, scopes=scopes if scopes is not None else sorted(SCOPES), channel_code=channel
    )


def make_channel(
    uow: UnitOfWork, *, code: str = "web", kind: str = "web", division: str = "web"
) -> SalesChannel:
    return sales_channels.create_sales_channel(
        uow, code=code, name=code.title(), kind=kind, division=division, currency="USD"
    )


def make_item(
    uow: UnitOfWork, *, sku: str = "TEE-001", kind: str = "stocked", divisions: list[str] | None = None
):
    from ordersmith.catalog import service as catalog

    return catalog.create_item(uow, sku=sku, name=f"Item {sku}", kind=kind, divisions=divisions or ["web"])


def make_location(
    uow: UnitOfWork,
    *,
    code: str = "WH1",
    kind: str = "warehouse",
    division: str | None = None,
    priority: int = 100,
):
    from ordersmith.inventory import service as inventory

    return inventory.create_location(
        uow, code=code, name=code, kind=kind, division=division, priority=priority
    )


def stock(uow: UnitOfWork, *, sku: str, location: str, quantity: int) -> None:
    from ordersmith.inventory import service as inventory

    inventory.adjust_stock(uow, sku=sku, location=location, quantity=quantity, reason="receipt")


def make_vendor(uow: UnitOfWork, *, code: str = "ACME", lead_time_days: int = 10, over_receipt_pct: int = 0):
    from ordersmith.purchasing import service as purchasing

    return purchasing.create_vendor(uow, code=code, name=f"{code} Ltd", currency="USD", terms="NET30",
                                    lead_time_days=lead_time_days, over_receipt_pct=over_receipt_pct)  # fmt: skip


def make_drop_ship_item(
    uow: UnitOfWork, *, vendor: str = "ACME", sku: str = "SOFA", cost: str = "120.00", price: str = "300.00"
) -> None:
    """A vendor (made unless it exists) and an item of kind `drop_ship` it ships straight to the customer at COST,
    sold at PRICE on the web and catalog divisions (needs `make_order_shop` first)."""
    from decimal import Decimal

    from ordersmith.catalog import service as catalog
    from ordersmith.kernel.errors import NotFound
    from ordersmith.kernel.money import Money
    from ordersmith.pricing import service as pricing
    from ordersmith.purchasing import service as purchasing

    try:
        purchasing.get_vendor(uow, code=vendor)
    except NotFound:
        make_vendor(uow, code=vendor)
    catalog.create_item(
        uow, sku=sku, name=sku.title(), kind="drop_ship", divisions=["web", "catalog"], weight_g=40000
    )
    purchasing.set_vendor_item(
        uow,
        vendor=vendor,
        sku=sku,
        vendor_sku=f"{vendor[:2]}-{sku}",
        cost=Money(Decimal(cost), "USD"),
        preferred=True,
    )
    pricing.create_price_list(
        uow,
        code=sku.lower(),
        name=sku.title(),
        currency="USD",
        prices=[pricing.PriceEntry(sku, Money(Decimal(price), "USD"))],
    )


def sent_purchase_order(uow: UnitOfWork, *, vendor: str, location: str, lines: list[tuple[str, int]]):
    """A PO to VENDOR for (sku, quantity) lines at the vendor's listed cost (or 1.00), approved and sent."""
    from decimal import Decimal

    from ordersmith.kernel.money import Money
    from ordersmith.purchasing import service as purchasing

    cost = Money(Decimal("1.00"), "USD")
    new_lines = [purchasing.NewLine(sku, quantity, unit_cost=cost) for sku, quantity in lines]
    po = purchasing.create_purchase_order(uow, vendor=vendor, location=location, lines=new_lines)
    purchasing.approve(uow, number=po.number)
    return purchasing.send(uow, number=po.number)


ORDER_CHANNELS = [("web", "web", "web"), ("phone", "call_center", "catalog"), ("mail", "catalog", "catalog"),
                  ("amazon", "marketplace", "web"), ("store-1", "pos", "store")]  # fmt: skip


def make_order_shop(uow: UnitOfWork) -> None:
    """What placing orders needs: five channels, two warehouses and a store, items (one backorderable, a kit, a
    personalized one), a USD price list, ground shipping and California tax."""
    from decimal import Decimal

    from ordersmith.catalog import personalization
    from ordersmith.catalog import service as catalog
    from ordersmith.kernel.money import Money
    from ordersmith.pricing import service as pricing

    def usd(amount: str) -> Money:
        return Money(Decimal(amount), "USD")

    # These channels bill later: the order tests are about orders, so an order without a tender is released.
    # Checkout's rule (nothing collected → the order waits for its payment) is tested on channels that collect.
    for code, kind, division in ORDER_CHANNELS:
        sales_channels.create_sales_channel(
            uow, code=code, name=code, kind=kind, division=division, currency="USD", bills_later=True
        )
    make_location(uow, code="EAST", priority=10)
    make_location(uow, code="WEST", priority=20)
    make_location(uow, code="STORE1", kind="store", division="store", priority=5)
    personalization.create_template(uow, code="mono", name="Monogram", currency="USD", non_returnable=True, fields=[
        {"name": "initials", "kind": "text", "label": "Initials", "required": True, "max_length": 3,
         "characters": "monogram", "options": [], "surcharge": "5.00", "per_character": None}])  # fmt: skip
    divisions = ["web", "catalog", "store"]
    catalog.create_item(uow, sku="TEE", name="Tee", divisions=divisions, weight_g=200)
    catalog.create_item(uow, sku="MUG", name="Mug", divisions=divisions, weight_g=400)
    catalog.create_item(uow, sku="LAMP", name="Lamp", divisions=divisions, weight_g=2000, backorderable=True)
    catalog.create_item(uow, sku="TOWEL", name="Towel", divisions=divisions, weight_g=300,
                        personalization_template="mono")  # fmt: skip
    catalog.create_item(uow, sku="SET", name="Tee and mug", kind="kit", divisions=divisions,
                        components=[("TEE", 1), ("MUG", 2)])  # fmt: skip
    pricing.create_price_list(uow, code="usd", name="Retail", currency="USD", prices=[
        pricing.PriceEntry("TEE", usd("20.00")), pricing.PriceEntry("MUG", usd("10.00")),
        pricing.PriceEntry("LAMP", usd("80.00")), pricing.PriceEntry("TOWEL", usd("15.00")),
        pricing.PriceEntry("SET", usd("35.00"))])  # fmt: skip
    pricing.create_shipping_method(uow, code="ground", name="Ground", kind="flat", flat=usd("5.00"))
    pricing.create_tax_rate(uow, name="CA", country="US", region="CA", rate=Decimal("0.1"))
    stock(uow, sku="TEE", location="EAST", quantity=10)
    stock(uow, sku="TEE", location="WEST", quantity=10)
    stock(uow, sku="MUG", location="WEST", quantity=20)
    stock(uow, sku="LAMP", location="EAST", quantity=2)
    stock(uow, sku="TOWEL", location="EAST", quantity=5)
    stock(uow, sku="TEE", location="STORE1", quantity=3)


def ship_to(ref: str = "main", **fields: str):
    from ordersmith.orders import service as orders

    address = {"name": "Ann Buyer", "line1": "1 Market St", "city": "San Francisco", "region": "CA",
               "postal_code": "94105", "country": "US", "method": "ground"} | fields  # fmt: skip
    return orders.ShipToRequest(ref=ref, **address)


def order_request(*lines: tuple[str, int], **fields: object):
    """An order for (sku, quantity) lines to one Californian address."""
    from ordersmith.orders import service as orders

    values: dict[str, object] = {"lines": [orders.LineRequest(sku=sku, quantity=q) for sku, q in lines],
                                 "ship_tos": [ship_to()]} | fields  # fmt: skip
    return orders.OrderRequest(**values)  # type: ignore[arg-type]


def channel(uow: UnitOfWork, code: str = "web") -> SalesChannel:
    from ordersmith.platform.access import Principal

    staff = Principal(kind="user", id=None, label="test", scopes=frozenset(SCOPES), role="admin")
    return sales_channels.ordering_channel(uow, staff, code)


def place_paid(
    uow: UnitOfWork, *, channel: SalesChannel, request, scopes: frozenset[str] | None = None, **kw
):
    """Place an order through checkout as staff holding every scope (or `scopes`), on `channel`."""
    from ordersmith.checkout import rules as checkout_rules
    from ordersmith.checkout import service as checkout

    caller = checkout_rules.Caller(
        channel_kind=channel.kind, scopes=frozenset(SCOPES) if scopes is None else scopes,
        bills_later=channel.bills_later,
    )  # fmt: skip
    return checkout.place_order(uow, channel=channel, caller=caller, request=request, **kw)


def make_source_code(
    uow: UnitOfWork,
    code: str = "FALL26",
    *,
    campaign: str = "FALL",
    quantity_mailed: int = 1000,
    cost_per_piece: str = "0.50",
    price_list: str | None = None,
    promotions: tuple[str, ...] = (),
    in_home_on=None,
    ends_on=None,
):
    """A master-list source code (its campaign and drop `D1` made when missing), valid from `in_home_on` (default
    2020-01-01) with no end unless `ends_on`; the drop mails exactly this code's pieces."""
    from datetime import date
    from decimal import Decimal

    from ordersmith.kernel.errors import NotFound
    from ordersmith.kernel.money import Money
    from ordersmith.marketing import service as marketing

    drop = marketing.NewDrop(
        code="D1",
        in_home_on=in_home_on or date(2020, 1, 1),
        quantity_mailed=quantity_mailed,
        cost_per_piece=Money(Decimal(cost_per_piece), "USD"),
    )
    try:
        marketing.get_campaign(uow, code=campaign)
        drop_code = f"D{code}"[:40]
        marketing.add_drops(uow, campaign=campaign, drops=[replace(drop, code=drop_code)])
    except NotFound:
        drop_code = "D1"
        marketing.create_campaign(
            uow, code=campaign, name=campaign.title(), kind="catalog", currency="USD", drops=[drop]
        )
    return marketing.create_source_code(
        uow,
        code=code,
        campaign=campaign,
        drop=drop_code,
        segment="house file",
        quantity_mailed=quantity_mailed,
        price_list=price_list,
        promotions=promotions,
        ends_on=ends_on,
        expected_response_pct=Decimal("2"),
    )


def make_account_customer(uow: UnitOfWork, *, limit: str = "500.00", terms: str = "net30"):
    """A business customer who buys on account: a credit limit in USD and payment terms."""
    from decimal import Decimal

    from ordersmith.customers import service as customers
    from ordersmith.kernel.money import Money

    details = customers.Details(
        kind="business",
        company="Acme",
        emails=["ap@acme.example"],
        credit_limit=Money(Decimal(limit), "USD"),
        payment_terms=terms,
    )
    return customers.create_customer(uow, details=details)


def place_on_account(uow: UnitOfWork, customer: str):
    """A phone order of two tees and a mug (60.00 in `make_order_shop`) billed to `customer`'s account."""
    from ordersmith.orders import service as orders

    request = order_request(
        ("TEE", 2), ("MUG", 1), payments=[orders.PaymentRequest(method="on_account")], customer=customer
    )
    return place_paid(uow, channel=channel(uow, "phone"), request=request).order


def ship_and_invoice(uow: UnitOfWork, order) -> None:
    """Ship every reserved unit of `order` and capture what is due (an invoice, for an order on account)."""
    from ordersmith.orders import service as orders
    from ordersmith.payments import service as payments

    orders.record_shipment(
        uow, ref=str(order.id), lines={line.line_no: line.reserved for line in order.lines}, tracking="1Z"
    )
    payments.capture_shipped(uow, order_id=order.id)
