"""Exports' API shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field

from ordersmith.platform.schemas import Input, Output


class ExportFilters(Input):
    from_: str | None = Field(
        default=None, alias="from", max_length=10, description="YYYY-MM-DD (UTC), inclusive"
    )
    to: str | None = Field(default=None, max_length=10, description="YYYY-MM-DD (UTC), inclusive")
    channel: str | None = Field(default=None, max_length=60)
    status: str | None = Field(default=None, max_length=60)
    location: str | None = Field(default=None, max_length=60)
    contactable: Literal["email", "mail", "phone"] | None = Field(
        default=None, description="customers: only those who agreed to be contacted this way"
    )

    model_config = Input.model_config | {"populate_by_name": True}


class ExportIn(Input):
    kind: Literal[
        "orders",
        "order_lines",
        "customers",
        "inventory",
        "stock_movements",
        "purchase_orders",
        "invoices",
        "payments",
        "returns",
    ]
    format: Literal["csv", "xlsx", "parquet"] = "csv"
    filters: ExportFilters = Field(default_factory=ExportFilters)


class ExportOut(Output):
    id: uuid.UUID
    kind: str
    format: str
    filters: dict[str, str]
    status: str = Field(description="queued | running | done | failed")
    rows: int
    size_bytes: int | None
    error: str
    actor: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
