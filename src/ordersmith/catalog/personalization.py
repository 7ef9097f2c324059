"""Personalization templates: stored definitions of what a customer may have embroidered or engraved, and the
use case that checks a customer's values and prices them (the rules themselves are in `catalog.rules`)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ordersmith.catalog import rules
from ordersmith.catalog.tables import PersonalizationTemplateRow
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.money import Money
from ordersmith.platform.db import UnitOfWork, use_case


def _to_template(row: PersonalizationTemplateRow) -> rules.Template:
    def money(minor: int | None) -> Money | None:
        return None if minor is None else Money.from_minor(minor, row.currency)

    fields = tuple(
        rules.TemplateField(
            name=f["name"], kind=f["kind"], label=f["label"], required=f["required"], max_length=f["max_length"],
            characters=f["characters"], options=tuple(f["options"]), surcharge=money(f["surcharge_minor"]),
            per_character=money(f["per_character_minor"]),
        )
        for f in row.fields
    )  # fmt: skip
    return rules.Template(code=row.code, name=row.name, currency=row.currency, fields=fields,
                          non_returnable=row.non_returnable)  # fmt: skip


def _stored_fields(template: rules.Template) -> list[dict[str, Any]]:
    return [
        {"name": f.name, "kind": f.kind, "label": f.label, "required": f.required, "max_length": f.max_length,
         "characters": f.characters, "options": list(f.options),
         "surcharge_minor": f.surcharge.minor if f.surcharge else None,
         "per_character_minor": f.per_character.minor if f.per_character else None}
        for f in template.fields
    ]  # fmt: skip


@use_case
def create_template(
    uow: UnitOfWork,
    *,
    code: str,
    name: str,
    currency: str,
    fields: list[dict[str, Any]],
    non_returnable: bool,
) -> rules.Template:
    """Store a template after checking that it makes sense (kinds, lengths, options, surcharges).

    `fields` items: name, kind, label, required, max_length, characters, options, surcharge and per_character
    (Decimal strings in `currency`, or None).

    Raises:
        ValidationFailed: a field that makes no sense, naming it.
        AlreadyExists: the code is taken.
    """
    try:
        template = rules.Template(
            code=code, name=name, currency=currency, non_returnable=non_returnable,
            fields=tuple(
                rules.TemplateField(
                    name=f["name"], kind=f["kind"], label=f["label"], required=f["required"],
                    max_length=f["max_length"], characters=f["characters"], options=tuple(f["options"]),
                    surcharge=Money(f["surcharge"], currency) if f["surcharge"] is not None else None,
                    per_character=Money(f["per_character"], currency) if f["per_character"] is not None else None,
                )
                for f in fields
            ),
        )  # fmt: skip
    except ValueError as exc:
        raise ValidationFailed.on("fields", str(exc)) from exc
    row = PersonalizationTemplateRow(id=new_id(), code=code, name=name, currency=currency,
                                     non_returnable=non_returnable, fields=_stored_fields(template),
                                     created_at=uow.now(), version=1)  # fmt: skip
    uow.insert_unique(PersonalizationTemplateRow, row, f"template {code!r} exists")
    uow.audit("personalization_template.created", object_type="personalization_template", object_id=code,
              after={"name": name, "fields": row.fields, "non_returnable": non_returnable})  # fmt: skip
    return template


def _row(uow: UnitOfWork, code: str) -> PersonalizationTemplateRow:
    row = uow.session.scalar(
        sa.select(PersonalizationTemplateRow).where(PersonalizationTemplateRow.code == code)
    )
    if row is None:
        raise NotFound(f"no personalization template {code!r}")
    return row


@use_case(readonly=True)
def get_template(uow: UnitOfWork, *, code: str) -> rules.Template:
    return _to_template(_row(uow, code))


@use_case(readonly=True)
def quote(uow: UnitOfWork, *, code: str, values: dict[str, str]) -> rules.Personalization:
    """Check a customer's values against the template and return the accepted values and the surcharge."""
    return rules.personalize(_to_template(_row(uow, code)), values)
