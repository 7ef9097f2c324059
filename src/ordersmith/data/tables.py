"""Bulk import tables: an import, its uploaded file (in chunks, so any worker on any host can read it) and the
errors its rows met.

Invariants: at most one import per kind is uploaded, validating or applying at a time (a unique partial index);
`rows_done` only grows, in the same transaction as the rows it counts (a resumed apply starts there).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ordersmith.platform.db import Base

# The statuses during which an import holds its kind (one at a time per kind).
BUSY_STATUSES = ("uploaded", "validating", "applying")
_BUSY = sa.text("status IN ('uploaded', 'validating', 'applying')")


class ImportRow(Base):
    __tablename__ = "imports"
    __table_args__ = (
        sa.Index(
            "ux_imports_one_busy_per_kind", "kind", unique=True, sqlite_where=_BUSY, postgresql_where=_BUSY
        ),
        sa.Index("ix_imports_kind_sha256", "kind", "sha256"),
        sa.CheckConstraint("rows_done >= 0", name="ck_imports_rows_done"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    file_name: Mapped[str] = mapped_column(sa.String(255))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    format: Mapped[str] = mapped_column(sa.String(10))  # csv | xlsx
    encoding: Mapped[str | None] = mapped_column(sa.String(20))  # csv: as detected on upload
    columns: Mapped[list[str]] = mapped_column(sa.JSON)  # the file's header, as column names
    chunk_rows: Mapped[int] = mapped_column(default=1000)  # rows per transaction when applied
    # uploaded → validating → validated → applying → applied | failed | cancelled
    status: Mapped[str] = mapped_column(sa.String(20))
    mode: Mapped[str] = mapped_column(sa.String(20))  # all_or_nothing | apply_valid
    apply_requested: Mapped[bool] = mapped_column(default=False)  # apply as soon as validation ends
    total_rows: Mapped[int] = mapped_column(default=0)
    valid_rows: Mapped[int] = mapped_column(default=0)
    invalid_rows: Mapped[int] = mapped_column(default=0)
    to_create: Mapped[int] = mapped_column(default=0)  # the dry run's diff
    to_update: Mapped[int] = mapped_column(default=0)
    to_leave: Mapped[int] = mapped_column(default=0)
    created_count: Mapped[int] = mapped_column(default=0)  # what the apply did
    updated_count: Mapped[int] = mapped_column(default=0)
    unchanged_count: Mapped[int] = mapped_column(default=0)
    rows_done: Mapped[int] = mapped_column(default=0)  # rows of the file the current phase has finished
    actor_kind: Mapped[str] = mapped_column(sa.String(20))
    actor_id: Mapped[str | None] = mapped_column(sa.String(64))
    actor_label: Mapped[str] = mapped_column(sa.String(200))
    # The scopes of whoever uploaded it: money-bearing columns are checked against them when the job applies.
    granted: Mapped[list[str] | None] = mapped_column(sa.JSON)
    error_summary: Mapped[str | None] = mapped_column(sa.Text)
    # The dry run's fencing token: a run records its chunks only while it holds it (a stalled run taken over stops).
    runner: Mapped[str | None] = mapped_column(sa.String(36))
    heartbeat_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)


class ImportChunkRow(Base):
    """The uploaded file, in pieces of at most CHUNK_BYTES; deleted when the import ends."""

    __tablename__ = "import_file_chunks"

    import_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("imports.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)


class ImportErrorRow(Base):
    """One problem of one row (row 0: the file itself), with the row's cells as read, for the error file."""

    __tablename__ = "import_errors"

    import_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("imports.id", ondelete="CASCADE"), primary_key=True
    )
    row_number: Mapped[int] = mapped_column(primary_key=True)  # the file's line (the header is row 1)
    seq: Mapped[int] = mapped_column(primary_key=True)  # several problems of one row
    column: Mapped[str | None] = mapped_column(sa.String(100))
    reason: Mapped[str] = mapped_column(sa.Text)
    cells: Mapped[list[str] | None] = mapped_column(sa.JSON)
