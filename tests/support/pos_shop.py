"""A store with a till, for the POS tests: the order shop (tee 20.00, mug 10.00, California tax 10 %), a POS
channel that collects (`till`, not billing later), STORE1 set up at a San Francisco address with register R1, a
cap (CAP, 12.50, GTIN 0012345678905) sold in stores only, and store stock: 3 tees, 5 mugs, 4 caps."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from ordersmith.catalog import service as catalog
from ordersmith.channels.pos import service as pos
from ordersmith.kernel.money import Money
from ordersmith.platform import sales_channels
from ordersmith.platform.db import UnitOfWork
from ordersmith.pricing import service as pricing
from tests.builders import make_order_shop, stock

CAP_GTIN = "0012345678905"
STORE_ADDRESS = {
    "name": "Ordersmith SF",
    "line1": "865 Market St",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94103",
    "country": "US",
}


def make_pos_shop(uow: UnitOfWork) -> pos.Register:
    make_order_shop(uow)
    sales_channels.create_sales_channel(
        uow, code="till", name="Store tills", kind="pos", division="store", currency="USD"
    )
    catalog.create_item(uow, sku="CAP", name="Cap", divisions=["store"], barcodes=[CAP_GTIN], weight_g=100)
    pricing.create_price_list(
        uow,
        code="store",
        name="Store",
        currency="USD",
        priority=50,
        prices=[pricing.PriceEntry("CAP", Money(Decimal("12.50"), "USD"))],
    )
    stock(uow, sku="MUG", location="STORE1", quantity=5)
    stock(uow, sku="CAP", location="STORE1", quantity=4)
    pos.put_store(uow, location="STORE1", settings=pos.StoreSettings(channel="till", **STORE_ADDRESS))
    return pos.create_register(uow, code="R1", store="STORE1", name="Front till")


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def sale_body(
    *lines: tuple[str, int],
    tenders: list[dict[str, Any]] | None = None,
    sale_id: uuid.UUID | None = None,
    rung_at: datetime | str = "2026-01-01T10:00:00+00:00",
    **fields: Any,
) -> dict[str, Any]:
    """A till sale as JSON (the API's body), paid in cash (50.00 handed over) unless told otherwise."""
    return {
        "id": str(sale_id or uuid.uuid4()),
        "register": "R1",
        "rung_at": rung_at.isoformat() if isinstance(rung_at, datetime) else rung_at,
        "lines": [{"sku": sku, "quantity": q} for sku, q in (lines or (("TEE", 1),))],
        "tenders": tenders or [{"method": "cash", "received": "50.00", "change": "28.00"}],
        **fields,
    }


def sale_request(*lines: tuple[str, int], **fields: Any) -> pos.SaleRequest:
    from ordersmith.channels.pos.schemas import SaleIn

    return SaleIn.model_validate(sale_body(*lines, **fields)).to_request()
