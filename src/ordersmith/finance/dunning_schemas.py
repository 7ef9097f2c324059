"""Dunning-run API models: a run's day, the letters it sent and the customers it skipped (dunned already)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from ordersmith.platform.schemas import Input, MoneyOut, Output

Stage = Literal["reminder", "second_notice", "final_notice"]


class DunningRunIn(Input):
    as_of: date | None = None  # default today


class DunningLetterSentOut(Output):
    id: uuid.UUID
    customer_number: str
    as_of: date
    stage: Stage
    subject: str
    total: MoneyOut
    invoices: int
    oldest_days_past_due: int
    sent_by: str
    sent_at: datetime


class DunningRunOut(Output):
    as_of: date
    sent: list[DunningLetterSentOut]
    already: list[str]  # customers who had this day's letter from an earlier run


class DunningDueOut(Output):
    customer_number: str
    stage: Stage
    subject: str
    total: MoneyOut
    invoices: int
    oldest_days_past_due: int
