"""Bulk import API models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from ordersmith.data.imports.service import Import
from ordersmith.platform.schemas import Input

Mode = Literal["all_or_nothing", "apply_valid"]


class Progress(BaseModel):
    rows_done: int
    total_rows: int = Field(
        description="the rows under the header (known once the dry run has read them all)"
    )
    rows_per_s: float | None
    eta_s: float | None


class ImportOut(BaseModel):
    id: uuid.UUID
    kind: str
    file_name: str
    sha256: str
    size_bytes: int
    format: str
    encoding: str | None
    columns: list[str]
    status: Literal["uploaded", "validating", "validated", "applying", "applied", "failed", "cancelled"]
    mode: Mode
    total_rows: int
    valid_rows: int
    invalid_rows: int
    to_create: int = Field(description="the dry run's diff: rows that would create a record")
    to_update: int
    to_leave: int = Field(description="rows that match their record already")
    created_count: int
    updated_count: int
    unchanged_count: int
    progress: Progress
    actor_label: str
    error_summary: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, found: Import, now: datetime) -> ImportOut:
        fields = {name: getattr(found, name) for name in cls.model_fields if name != "progress"}
        return cls(**fields, progress=progress_of(found, now))


def progress_of(found: Import, now: datetime) -> Progress:
    """Rows done of the running phase, the rate since it started and the time left at that rate."""
    rate = eta = None
    if found.started_at is not None and found.status in ("validating", "applying") and found.rows_done:
        elapsed = max((now - found.started_at).total_seconds(), 0.001)
        rate = round(found.rows_done / elapsed, 1)
        if found.status == "applying" and found.total_rows:
            eta = round(max(found.total_rows - found.rows_done, 0) / rate, 1)
    return Progress(rows_done=found.rows_done, total_rows=found.total_rows, rows_per_s=rate, eta_s=eta)


class ApplyIn(Input):
    mode: Mode | None = Field(
        default=None, description="apply_valid: write the valid rows and skip the others"
    )


class AbandonIn(Input):
    reason: Annotated[str, Field(max_length=500)] = ""


class RowErrorOut(BaseModel):
    row_number: int = Field(description="the row in the file (the header is row 1)")
    column: str | None
    reason: str
