"""Continuity programs: what ships (one or more items every time, or a series in order), every how many weeks, with
which offer, and the terms a customer sees and accepts at sign-up.

Invariants: a program's code is unique and upper-case; its items exist in the catalogue; changing its terms text
raises its terms version, so a sign-up always records the exact text it accepted (and a sign-up against an older
version is refused).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from ordersmith.catalog import service as catalog
from ordersmith.continuity import rules
from ordersmith.continuity.service._common import Program, program_row, to_program
from ordersmith.continuity.tables import ProgramRow
from ordersmith.kernel.errors import NotFound, PreconditionFailed, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.pagination import Page
from ordersmith.marketing import service as marketing
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page


def _check_items(uow: UnitOfWork, kind: str, items: Sequence[rules.ProgramItem]) -> list[dict[str, object]]:
    if kind not in rules.KINDS:
        raise ValidationFailed.on("kind", f"must be one of {', '.join(rules.KINDS)}")
    if not items:
        raise ValidationFailed.on("items", "a program ships at least one item")
    checked: list[dict[str, object]] = []
    for n, item in enumerate(items):
        if item.quantity < 1:
            raise ValidationFailed.on(f"items.{n}.quantity", "must be at least 1")
        try:
            ref = catalog.get_item_ref(uow, sku=item.sku)
        except NotFound:
            raise ValidationFailed.on(f"items.{n}.sku", f"no item with SKU {item.sku!r}") from None
        checked.append({"sku": ref.sku, "quantity": item.quantity})
    return checked


def _check_source_code(uow: UnitOfWork, code: str | None) -> str | None:
    if code is None:
        return None
    try:
        return marketing.get_source_code(uow, code=code).code
    except NotFound:
        raise ValidationFailed.on("source_code", f"no source code {code!r} in the master list") from None


@use_case
def create_program(
    uow: UnitOfWork,
    *,
    code: str,
    name: str,
    kind: str,
    items: Sequence[rules.ProgramItem],
    interval_weeks: int,
    terms: str,
    max_shipments: int | None = None,
    source_code: str | None = None,
) -> Program:
    """A continuity program. `replenish`: every item ships each time; `series`: one item per shipment, in order,
    ending with the last. `terms` is the disclosure shown and accepted at sign-up (what ships, how often, what it
    costs, how to cancel).

    Raises:
        ValidationFailed: an unknown kind, SKU or source code, an interval outside 1-52 weeks, empty terms (each
            naming its field).
        AlreadyExists: the code exists (409).
    """
    checked = _check_items(uow, kind, items)
    if not 1 <= interval_weeks <= rules.MAX_INTERVAL_WEEKS:
        raise ValidationFailed.on("interval_weeks", f"must be between 1 and {rules.MAX_INTERVAL_WEEKS}")
    if max_shipments is not None and max_shipments < 1:
        raise ValidationFailed.on("max_shipments", "must be at least 1")
    if not terms.strip():
        raise ValidationFailed.on(
            "terms", "state the terms the customer accepts (what, how often, price, cancel)"
        )
    code_kept = _check_source_code(uow, source_code)
    now = uow.now()
    row = ProgramRow(id=new_id(), code=code.upper(), name=name, kind=kind, items=checked,
                     interval_weeks=interval_weeks, max_shipments=max_shipments, source_code=code_kept,
                     terms=terms.strip(), terms_version=1, active=True, created_at=now, updated_at=now,
                     version=1)  # fmt: skip
    uow.insert_unique(ProgramRow, row, f"continuity program {row.code!r} exists")
    uow.audit("continuity_program.created", object_type="continuity_program", object_id=row.code,
              after={"kind": kind, "items": checked, "interval_weeks": interval_weeks,
                     "max_shipments": max_shipments, "source_code": code_kept, "terms_version": 1})  # fmt: skip
    return to_program(row)


@use_case
def update_program(
    uow: UnitOfWork,
    *,
    code: str,
    version: int | None = None,
    name: str | None = None,
    terms: str | None = None,
    active: bool | None = None,
) -> Program:
    """Rename a program, restate its terms (a new terms version: new sign-ups accept the new text, members keep
    what they accepted), or close it to new sign-ups (`active` false; members go on).

    Raises:
        NotFound: no such program.
        PreconditionFailed: `version` given and not the program's current one.
        ValidationFailed: empty terms.
    """
    row = program_row(uow, code, lock=True)
    if version is not None and version != row.version:
        raise PreconditionFailed(f"program {row.code} is at version {row.version}", version=row.version)
    before = {"name": row.name, "terms_version": row.terms_version, "active": row.active}
    if name is not None:
        row.name = name
    if terms is not None:
        if not terms.strip():
            raise ValidationFailed.on("terms", "must not be empty")
        if terms.strip() != row.terms:
            row.terms = terms.strip()
            row.terms_version += 1
    if active is not None:
        row.active = active
    row.version += 1
    row.updated_at = uow.now()
    uow.session.flush()
    uow.audit("continuity_program.updated", object_type="continuity_program", object_id=row.code, before=before,
              after={"name": row.name, "terms_version": row.terms_version, "active": row.active})  # fmt: skip
    return to_program(row)


@use_case(readonly=True)
def get_program(uow: UnitOfWork, *, code: str) -> Program:
    """One program by code. Raises NotFound."""
    return to_program(program_row(uow, code))


@use_case(readonly=True)
def list_programs(
    uow: UnitOfWork, *, active: bool | None = None, cursor: str | None = None, limit: int = 50
) -> Page[Program]:
    """Programs by code."""
    query = sa.select(ProgramRow)
    if active is not None:
        query = query.where(ProgramRow.active == active)
    return keyset_page(uow, query, keys=[ProgramRow.code], to_item=to_program, cursor=cursor, limit=limit)
