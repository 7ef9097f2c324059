"""The export jobs: one row per export asked for (kind, format, filters, who asked), its status, how many rows it
wrote and where its file is (under the exports folder, 0600)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ordersmith.platform.db import Base


class ExportRow(Base):
    __tablename__ = "exports"
    __table_args__ = (
        sa.CheckConstraint("rows >= 0", name="ck_exports_rows"),
        sa.Index("ix_exports_created", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    format: Mapped[str] = mapped_column(sa.String(10))  # csv | xlsx | parquet
    filters: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    status: Mapped[str] = mapped_column(sa.String(20))  # queued | running | done | failed
    rows: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    size_bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    file_path: Mapped[str] = mapped_column(sa.String(500))
    error: Mapped[str] = mapped_column(sa.String(500), default="")
    actor: Mapped[str] = mapped_column(sa.String(320))  # who asked (the audit log has the rest)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
