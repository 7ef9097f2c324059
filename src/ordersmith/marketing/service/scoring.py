"""RFM scores of the stored purchase facts (ADR 0037): how each currency is scored (quintiles, the default, or
configured cut-offs), the periodic scoring run that scores every buyer of a currency in one set-based statement,
and the provisional scores a customer whose facts just changed gets between runs.

Invariants: right after a run, every stored score equals the live definition's (`rfm_cells`: NTILE(5) by value
then customer id, or the cut-offs as of the run); between runs a changed customer is placed among the last run's
quintile boundaries (or scored by the cut-offs at the change), everyone else keeps the run's scores.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa

from ordersmith.kernel.errors import PreconditionFailed, ValidationFailed
from ordersmith.marketing import rules
from ordersmith.marketing.fact_tables import CustomerFactRow, RfmScoringRow
from ordersmith.platform import jobs
from ordersmith.platform.db import UnitOfWork, use_case

FACTS = cast(sa.Table, CustomerFactRow.__table__)
SCORE_JOB = "marketing.score_rfm"
# the stored measure each score ranks
_RANKED = {"recency": "last_order_at", "frequency": "orders", "monetary": "monetary_minor"}


@dataclass(frozen=True)
class RfmScoring:
    """How one currency's buyers are scored, and the last run."""

    currency: str
    method: str  # quintiles | cutoffs
    cutoffs: rules.Cutoffs | None
    scored_customers: int
    scored_at: datetime | None
    version: int


def _scoring(currency: str, row: RfmScoringRow | None) -> RfmScoring:
    if row is None:
        return RfmScoring(currency, "quintiles", None, 0, None, 0)
    cutoffs = rules.Cutoffs.from_json(row.cutoffs) if row.cutoffs else None
    return RfmScoring(row.currency, row.method, cutoffs, row.scored_customers, row.scored_at, row.version)


def _currency(text: str) -> str:
    if len(text) != 3 or not text.isascii() or not text.isalpha():
        raise ValidationFailed.on("currency", "must be a three-letter ISO 4217 code")
    return text.upper()


def check_cutoffs(
    recency_days: Any,
    frequency_orders: Any,
    monetary_minor: Any,
    *,
    fields: tuple[str, str, str] = ("recency_days", "frequency_orders", "monetary_minor"),
) -> rules.Cutoffs:
    """The cut-offs as given, or ValidationFailed naming the first wrong list (by `fields`: the caller's names for
    the three lists, e.g. the API's `cutoffs.monetary`)."""
    for field, values, smallest, largest in (
        (fields[0], recency_days, 1, rules.MAX_CUTOFF_DAYS),
        (fields[1], frequency_orders, 1, 1_000_000_000),
        (fields[2], monetary_minor, 0, rules.MAX_CUTOFF_MINOR),
    ):
        problem = rules.why_not_cutoffs(values, smallest=smallest, largest=largest)
        if problem:
            raise ValidationFailed.on(field, problem)
    return rules.Cutoffs(tuple(recency_days), tuple(frequency_orders), tuple(monetary_minor))


@use_case(readonly=True)
def get_rfm_scoring(uow: UnitOfWork, *, currency: str = "USD") -> RfmScoring:
    """How `currency`'s buyers are scored (quintiles when nobody configured it) and when they last were."""
    currency = _currency(currency)
    return _scoring(currency, uow.session.get(RfmScoringRow, currency))


@use_case
def set_rfm_scoring(
    uow: UnitOfWork,
    *,
    currency: str,
    method: str,
    cutoffs: rules.Cutoffs | None = None,
    version: int | None = None,
) -> RfmScoring:
    """Score `currency`'s buyers by quintiles or by configured cut-offs (checked first); a scoring run is queued at
    once, so stored scores follow within the job runner's next pass.

    Raises:
        ValidationFailed: an unknown method, cut-offs missing for `cutoffs` (or given for quintiles), cut-offs
            that are not four increasing whole numbers — naming the field; nothing changes.
        PreconditionFailed: `version` given and not the currency's current one (0 before anybody set it).
    """
    currency = _currency(currency)
    if method not in rules.RFM_METHODS:
        raise ValidationFailed.on("method", f"must be one of {', '.join(rules.RFM_METHODS)}")
    if (method == "cutoffs") != (cutoffs is not None):
        raise ValidationFailed.on("cutoffs", "are given with method cutoffs, and only then")
    if cutoffs is not None:
        check_cutoffs(cutoffs.recency_days, cutoffs.frequency_orders, cutoffs.monetary_minor)
    now = uow.now()
    row = uow.session.get(RfmScoringRow, currency, with_for_update=True)
    current = 0 if row is None else row.version
    if version is not None and version != current:
        raise PreconditionFailed(f"{currency}'s RFM scoring is at version {current}", version=current)
    before = None if row is None else {"method": row.method, "cutoffs": row.cutoffs}
    if row is None:
        row = RfmScoringRow(currency=currency, scored_customers=0, updated_at=now, version=0)
        uow.session.add(row)
    row.method = method
    row.cutoffs = cutoffs.as_json() if cutoffs is not None else None
    row.updated_at = now
    row.version += 1
    uow.session.flush()
    jobs.enqueue(uow, SCORE_JOB, {"currency": currency})
    uow.audit(
        "rfm_scoring.set",
        object_type="rfm_scoring",
        object_id=currency,
        before=before,
        after={"method": method, "cutoffs": row.cutoffs},
    )
    return _scoring(currency, row)


def use_memory(uow: UnitOfWork, megabytes: int) -> None:
    """PostgreSQL: let this transaction's sorts and hashes hold `megabytes` each before they spill to disk (SET
    LOCAL: this transaction only). The scoring run sorts every buyer three times; a count hashes sets of up to a
    million customer ids."""
    if uow.dialect == "postgresql":
        uow.execute_core(sa.text(f"SET LOCAL work_mem = '{int(megabytes)}MB'"))


# --- cut-offs in SQL (shared with the live definition in segments) --------------------------------------------------


def cutoff_score_columns(
    cutoffs: rules.Cutoffs, *, last_order_at: Any, orders: Any, monetary: Any, now: datetime
) -> tuple[Any, Any, Any]:
    """SQL for `rules.cutoff_scores` over three columns: 1 + how many of each measure's cut-offs are reached."""

    def reached(tests: Iterable[Any]) -> Any:
        total: Any = sa.literal(1)
        for test in tests:
            total = total + sa.case((test, 1), else_=0)
        return total

    return (
        reached(last_order_at >= now - timedelta(days=d) for d in cutoffs.recency_days),
        reached(orders >= n for n in cutoffs.frequency_orders),
        reached(monetary >= m for m in cutoffs.monetary_minor),
    )


# --- the scoring run ------------------------------------------------------------------------------------------------


def _changed(scores: Sequence[Any]) -> Any:
    """Only rows whose scores move are written (a run that changes nothing writes nothing)."""
    return sa.or_(
        FACTS.c.recency_score.is_distinct_from(scores[0]),
        FACTS.c.frequency_score.is_distinct_from(scores[1]),
        FACTS.c.monetary_score.is_distinct_from(scores[2]),
    )


def quintile_update(skip: Sequence[str] = (), only: str | None = None) -> sa.Update:
    """One UPDATE … FROM over the buyers of every quintile-scored currency (less `skip`; only `only` when given):
    NTILE(5) per currency by value then customer id, as `rfm_cells` ranks them; rows whose scores do not move are
    not written."""
    ranked_from = FACTS.alias("ranked_from")

    def quintile(column: str) -> Any:
        return sa.func.ntile(5).over(
            partition_by=ranked_from.c.currency, order_by=(ranked_from.c[column], ranked_from.c.customer_id)
        )

    where: list[sa.ColumnElement[bool]] = [ranked_from.c.currency.not_in(list(skip))] if skip else []
    if only is not None:
        where.append(ranked_from.c.currency == only)
    ranked = (
        sa.select(
            ranked_from.c.customer_id,
            ranked_from.c.currency,
            *(quintile(column).label(measure) for measure, column in _RANKED.items()),
        )
        .where(*where)
        .subquery("ranked")
    )
    scores = (ranked.c.recency, ranked.c.frequency, ranked.c.monetary)
    return (
        sa.update(FACTS)
        .where(
            FACTS.c.customer_id == ranked.c.customer_id,
            FACTS.c.currency == ranked.c.currency,
            _changed(scores),
        )
        .values(recency_score=scores[0], frequency_score=scores[1], monetary_score=scores[2])
    )


def _score_cutoffs(uow: UnitOfWork, currency: str, cutoffs: rules.Cutoffs) -> None:
    scores = cutoff_score_columns(
        cutoffs,
        last_order_at=FACTS.c.last_order_at,
        orders=FACTS.c.orders,
        monetary=FACTS.c.monetary_minor,
        now=uow.now(),
    )
    uow.execute_core(
        sa.update(FACTS)
        .where(FACTS.c.currency == currency, _changed(scores))
        .values(recency_score=scores[0], frequency_score=scores[1], monetary_score=scores[2])
    )


def _key(value: Any) -> str:
    return str(uuid.UUID(str(value)))


def _bounds(uow: UnitOfWork, currencies: list[str]) -> dict[str, dict[str, list[list[Any]]]]:
    """Each currency's buyers and quintile ends (the last (value, customer id) of quintiles 1 to 4 per measure),
    read back from the scores just stored: two aggregating passes, no sort — the highest value of each quintile,
    then the highest customer id holding it."""
    score_of = {"recency": FACTS.c.recency_score, "frequency": FACTS.c.frequency_score,
                "monetary": FACTS.c.monetary_score}  # fmt: skip
    tops = [
        sa.func.max(FACTS.c[column]).filter(score_of[measure] == q).label(f"{measure}{q}")
        for measure, column in _RANKED.items()
        for q in range(1, 5)
    ]
    found: dict[str, dict[str, list[list[Any]]]] = {}
    if not currencies:
        return found
    rows = uow.execute_core(
        sa.select(FACTS.c.currency, *tops).where(FACTS.c.currency.in_(currencies)).group_by(FACTS.c.currency)
    ).mappings()
    as_text = sa.cast(FACTS.c.customer_id, sa.String) if uow.dialect == "postgresql" else FACTS.c.customer_id
    for row in list(rows):
        ends = [
            (measure, q, column, row[f"{measure}{q}"])
            for measure, column in _RANKED.items()
            for q in range(1, 5)
            if row[f"{measure}{q}"] is not None
        ]
        ids = (
            uow.execute_core(
                sa.select(
                    *(
                        sa.func.max(as_text).filter(score_of[m] == q, FACTS.c[c] == value).label(f"{m}{q}")
                        for m, q, c, value in ends
                    )
                ).where(FACTS.c.currency == row["currency"])
            )
            .mappings()
            .one()
            if ends
            else {}
        )
        bounds: dict[str, list[list[Any]]] = {m: [] for m in _RANKED}
        for m, q, _column, value in ends:
            bounds[m].append(
                [value.isoformat() if isinstance(value, datetime) else int(value), _key(ids[f"{m}{q}"])]
            )
        found[row["currency"]] = bounds
    return found


@use_case
def score_rfm(uow: UnitOfWork, *, currency: str | None = None) -> dict[str, int]:
    """Score every buyer of every currency (or of `currency`) as the live definition does now, and keep each
    quintile-scored currency's boundaries for the provisional scores of later changes. Set-based: one UPDATE … FROM
    with window functions for all quintile-scored currencies, one UPDATE per cut-off-scored one; rows whose scores
    do not move are not written. Returns the buyers scored per currency."""
    configured = {
        row.currency: row for row in uow.session.scalars(sa.select(RfmScoringRow).with_for_update())
    }
    by_cutoffs = {
        c: rules.Cutoffs.from_json(r.cutoffs)
        for c, r in configured.items()
        if r.method == "cutoffs" and r.cutoffs
    }
    uow.execute_core(quintile_update(sorted(by_cutoffs), currency))
    for code, cutoffs in sorted(by_cutoffs.items()):
        if currency in (None, code):
            _score_cutoffs(uow, code, cutoffs)
    counted = uow.execute_core(sa.select(FACTS.c.currency, sa.func.count()).group_by(FACTS.c.currency))
    buyers_of = {str(code): int(n) for code, n in counted}
    wanted = sorted(set(buyers_of) | set(configured)) if currency is None else [currency]
    bounds = _bounds(uow, [c for c in wanted if c not in by_cutoffs and c in buyers_of])
    now = uow.now()
    for code in wanted:
        row = configured.get(code)
        if row is None:
            row = RfmScoringRow(currency=code, method="quintiles", cutoffs=None, updated_at=now, version=1)
            uow.session.add(row)
        row.bounds = bounds.get(code) if row.method == "quintiles" else None
        row.scored_customers = int(buyers_of.get(code, 0))
        row.scored_at = now
    uow.session.flush()
    return {code: int(buyers_of.get(code, 0)) for code in wanted}


def _score_job(uow: UnitOfWork, payload: dict[str, Any]) -> None:
    score_rfm(uow, currency=payload.get("currency"))


# The handler is known wherever this module is imported (a CLI process queues a run when it changes a method).
jobs.register(SCORE_JOB, _score_job)


def register(*, every_s: int) -> None:
    """The scoring run: every `every_s` seconds, and whenever a currency's method changes (idempotent)."""
    jobs.register(SCORE_JOB, _score_job)
    jobs.schedule("marketing-score-rfm", kind=SCORE_JOB, every_s=every_s)


# --- provisional scores -----------------------------------------------------------------------------------------------


def provisional_scores(uow: UnitOfWork, facts: list[dict[str, Any]]) -> None:
    """Fill `recency_score`, `frequency_score` and `monetary_score` of freshly computed facts rows: by the
    currency's cut-offs at this moment, or placed among its last run's quintile boundaries (none before a first
    run)."""
    currencies = sorted({f["currency"] for f in facts})
    configured = {
        row.currency: row
        for row in uow.session.scalars(sa.select(RfmScoringRow).where(RfmScoringRow.currency.in_(currencies)))
    }
    now = uow.now()
    for fact in facts:
        row = configured.get(fact["currency"])
        scores: tuple[int | None, ...] = (None, None, None)
        if row is not None and row.method == "cutoffs" and row.cutoffs:
            scores = rules.cutoff_scores(
                rules.Cutoffs.from_json(row.cutoffs),
                last_order_at=fact["last_order_at"],
                now=now,
                orders=fact["orders"],
                monetary_minor=fact["monetary_minor"],
            )
        elif row is not None and row.bounds:
            bounds = row.bounds
            customer = fact["customer_id"]
            scores = (
                rules.place(fact["last_order_at"], customer, _recency_bounds(bounds["recency"])),
                rules.place(fact["orders"], customer, _id_bounds(bounds["frequency"])),
                rules.place(fact["monetary_minor"], customer, _id_bounds(bounds["monetary"])),
            )
        fact["recency_score"], fact["frequency_score"], fact["monetary_score"] = scores


def _recency_bounds(bounds: list[list[Any]]) -> list[tuple[datetime, uuid.UUID]]:
    return [(datetime.fromisoformat(value), uuid.UUID(key)) for value, key in bounds]


def _id_bounds(bounds: list[list[Any]]) -> list[tuple[int, uuid.UUID]]:
    return [(int(value), uuid.UUID(key)) for value, key in bounds]
