"""API models of fiscal years and the year-end close (ADR 0039)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from ordersmith.finance.schemas import PeriodOut
from ordersmith.finance.service import FiscalYear
from ordersmith.platform.schemas import Input, Output


class FiscalYearOut(Output):
    year: int
    status: Literal["open", "closed"]
    closings: int = Field(
        description="how many times the year was closed (each reopening reversed one close)"
    )
    closed_by: str | None
    closed_at: datetime | None
    reopened_by: str | None
    reopened_at: datetime | None
    note: str = Field(description="why the year was last reopened")
    periods: list[PeriodOut] = Field(
        description="its twelve months (a month never posted in nor closed is open)"
    )
    open_periods: list[str] = Field(description="the months still open: each must be closed before the year")
    closing_entries: list[uuid.UUID] = Field(
        description="its closing entries in force (one per currency, in the closing period YYYY-13)"
    )

    @classmethod
    def of(cls, year: FiscalYear) -> FiscalYearOut:
        return cls(
            year=year.year,
            status="closed" if year.status == "closed" else "open",
            closings=year.closings,
            closed_by=year.closed_by,
            closed_at=year.closed_at,
            reopened_by=year.reopened_by,
            reopened_at=year.reopened_at,
            note=year.note,
            periods=[PeriodOut.model_validate(p) for p in year.periods],
            open_periods=year.open_periods,
            closing_entries=year.closing_entries,
        )


class ReopenYearIn(Input):
    note: Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\x00]+$")]
