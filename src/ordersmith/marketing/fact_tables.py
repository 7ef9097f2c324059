"""Marketing's stored purchase facts (ADR 0037): per customer and currency the RFM measures with their scores and
lifetime value, per customer their orders with the divisions they came from, the styles and the items of no style
they bought (ADR 0063), and per currency how RFM scores are given (quintiles or configured cut-offs) with the
quintile boundaries of the last scoring run.

Invariants: a row exists only for a customer neither merged away nor anonymized who has a live order behind it (not
cancelled; for the per-currency facts, not an exchange either); every figure equals what the customer's orders say
as of the last order event the relay handed to marketing (facts are recomputed per customer from the orders, so a
replayed event changes nothing). Scores are 1 to 5 or not given yet.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ordersmith.platform.db import Base

_SCORES = "BETWEEN 1 AND 5"


class CustomerFactRow(Base):
    """One buyer's orders in one currency: what RFM scores and lifetime value are computed from. The same orders
    the `rfm_cells` report counts (not cancelled, not exchanges). On PostgreSQL its pages keep a fifth free
    (fillfactor 80, set by the migration), so the scoring run's updates stay in their page (scores are in no
    index)."""

    __tablename__ = "marketing_customer_facts"
    __table_args__ = (
        sa.CheckConstraint("orders > 0", name="ck_marketing_facts_orders"),
        sa.CheckConstraint(
            f"(recency_score IS NULL OR recency_score {_SCORES}) AND "
            f"(frequency_score IS NULL OR frequency_score {_SCORES}) AND "
            f"(monetary_score IS NULL OR monetary_score {_SCORES})",
            name="ck_marketing_facts_scores",
        ),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(
        primary_key=True
    )  # customers' id; no foreign key across contexts
    currency: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    first_order_at: Mapped[datetime]
    last_order_at: Mapped[datetime]
    orders: Mapped[int]
    monetary_minor: Mapped[int] = mapped_column(
        sa.BigInteger
    )  # goods charged: merchandise + surcharges - discounts
    returned_minor: Mapped[int] = mapped_column(sa.BigInteger)  # the share of that value returned units carry
    lifetime_value_minor: Mapped[int] = mapped_column(sa.BigInteger)  # monetary - returned
    recency_score: Mapped[int | None] = mapped_column(sa.SmallInteger)
    frequency_score: Mapped[int | None] = mapped_column(sa.SmallInteger)
    monetary_score: Mapped[int | None] = mapped_column(sa.SmallInteger)
    updated_at: Mapped[datetime]


class CustomerPurchaseRow(Base):
    """One customer's orders not cancelled, in any currency and exchanges too (the live rules' definition): how
    many, the first and the last, the divisions they came from as `,catalog,web,`, and the merchandise categories
    the styles and items of no style they bought are filed in, as `,KITCHEN,TEES,` (the categories themselves, not
    those above them: a rule on `HOME` reads the codes of HOME's subtree, so moving a category changes no row;
    ADR 0063). The `purchased_division`, `purchased_category` and `last_order` segment rules read it, one row per
    customer, and so does a pull's "recent buyers" suppression."""

    __tablename__ = "marketing_customer_purchases"
    __table_args__ = (
        sa.CheckConstraint("orders > 0", name="ck_marketing_purchases_orders"),
        sa.Index("ix_marketing_customer_purchases_last", "last_order_at"),
    )

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    orders: Mapped[int]
    first_order_at: Mapped[datetime]
    last_order_at: Mapped[datetime]
    divisions: Mapped[str] = mapped_column(sa.String(2000))  # ",catalog,web,": each code between commas
    categories: Mapped[str] = mapped_column(sa.Text, default="", server_default="")  # ",KITCHEN,TEES," or ""


class CustomerStyleRow(Base):
    """A style a customer bought (an item of it on an order not cancelled): the `purchased_style` rule reads it by
    style. One row per pair, nothing else, to stay small."""

    __tablename__ = "marketing_customer_styles"
    __table_args__ = (sa.Index("ix_marketing_customer_styles_style", "style_id", "customer_id"),)

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    style_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # catalog's style id; no foreign key


class CustomerItemRow(Base):
    """An item of no style a customer bought (on an order not cancelled): with the style pairs, where a buyer's
    categories are read from, and how the buyers of an item filed anew are found (ADR 0063). One row per pair,
    nothing else."""

    __tablename__ = "marketing_customer_items"
    __table_args__ = (sa.Index("ix_marketing_customer_items_item", "item_id", "customer_id"),)

    customer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    item_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # catalog's item id; no foreign key


class RfmScoringRow(Base):
    """How one currency's buyers are scored, and what the last scoring run found. A currency without a row is
    scored by quintiles."""

    __tablename__ = "marketing_rfm_scoring"
    __table_args__ = (
        sa.CheckConstraint("method IN ('quintiles', 'cutoffs')", name="ck_marketing_rfm_method"),
        sa.CheckConstraint("method = 'quintiles' OR cutoffs IS NOT NULL", name="ck_marketing_rfm_cutoffs"),
    )

    currency: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    method: Mapped[str] = mapped_column(sa.String(9))
    # {"recency_days": [4 ints], "frequency_orders": [4 ints], "monetary_minor": [4 ints]}, each increasing
    cutoffs: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    # The last run's quintile boundaries: per measure, the (value, customer id) ending quintiles 1 to 4
    bounds: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    scored_customers: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    scored_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(default=1)
