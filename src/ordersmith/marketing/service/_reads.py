"""The columns of other contexts' tables that segments, list pulls, matchback and the stored purchase facts read —
read only, never written.

Marketing sits below orders (ADR 0025) and so cannot import their tables; like reporting, it reads them through
these lightweight Core descriptions (ADR 0031 says why and what it costs). A column renamed in orders or customers
must be renamed here too: the marketing tests exercise every column listed.
"""

from __future__ import annotations

import sqlalchemy as sa

from ordersmith.platform.db import UTCDateTime

customers = sa.table(
    "customers",
    sa.column("id", sa.Uuid()),
    sa.column("number", sa.String()),
    sa.column("display_name", sa.String()),
    sa.column("do_not_mail", sa.Boolean()),
    sa.column("do_not_email", sa.Boolean()),
    sa.column("source_code", sa.String()),
    sa.column("last_source_code", sa.String()),
    sa.column("merged_into_id", sa.Uuid()),
    sa.column("anonymized_at", UTCDateTime()),
)
addresses = sa.table(
    "customer_addresses",
    sa.column("id", sa.Uuid()),
    sa.column("customer_id", sa.Uuid()),
    sa.column("kind", sa.String()),
    sa.column("name", sa.String()),
    sa.column("line1", sa.String()),
    sa.column("line2", sa.String()),
    sa.column("city", sa.String()),
    sa.column("region", sa.String()),
    sa.column("postal_code", sa.String()),
    sa.column("country", sa.String()),
    sa.column("is_default", sa.Boolean()),
)
emails = sa.table(
    "customer_emails",
    sa.column("customer_id", sa.Uuid()),
    sa.column("email", sa.String()),
    sa.column("is_primary", sa.Boolean()),
)
customer_channels = sa.table(
    "customer_channels", sa.column("customer_id", sa.Uuid()), sa.column("channel", sa.String())
)
orders = sa.table(
    "orders",
    sa.column("id", sa.Uuid()),
    sa.column("customer_id", sa.Uuid()),
    sa.column("division", sa.String()),
    sa.column("status", sa.String()),
    sa.column("currency", sa.String()),
    sa.column("merchandise_minor", sa.BigInteger()),
    sa.column("surcharges_minor", sa.BigInteger()),
    sa.column("discounts_minor", sa.BigInteger()),
    sa.column("source_code", sa.String()),
    sa.column("address_key", sa.String()),
    sa.column("exchange_for", sa.Uuid()),
    sa.column("placed_at", UTCDateTime()),
)
order_lines = sa.table(
    "order_lines",
    sa.column("order_id", sa.Uuid()),
    sa.column("item_id", sa.Uuid()),
    sa.column("sku", sa.String()),
    sa.column("source_code", sa.String()),
    sa.column("quantity", sa.Integer()),
    sa.column("cancelled", sa.Integer()),
    sa.column("returned", sa.Integer()),
    sa.column("merchandise_minor", sa.BigInteger()),
    sa.column("surcharge_minor", sa.BigInteger()),
    sa.column("discount_minor", sa.BigInteger()),
)
items = sa.table(
    "items",
    sa.column("id", sa.Uuid()),
    sa.column("sku_key", sa.String()),
    sa.column("style_id", sa.Uuid()),
    sa.column("category", sa.String()),
)
styles = sa.table(
    "styles", sa.column("id", sa.Uuid()), sa.column("code", sa.String()), sa.column("category", sa.String())
)
