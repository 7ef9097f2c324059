"""Customers with their consent flags: an anonymized customer's personal fields are always empty; `contactable`
keeps only those who agreed to be contacted one way."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ordersmith.customers.tables import CustomerEmailRow, CustomerPhoneRow, CustomerRow
from ordersmith.data.exports.kinds._base import ExportColumn, ExportKind, placed_between, texts

customers = CustomerRow.__table__


def _customers(filters: dict[str, Any]) -> sa.Select[Any]:
    emails, phones = CustomerEmailRow.__table__, CustomerPhoneRow.__table__
    email = (
        sa.select(emails.c.customer_id, sa.func.min(emails.c.email).label("email"))
        .where(emails.c.is_primary.is_(True))
        .group_by(emails.c.customer_id)
        .subquery("primary_email")
    )
    phone = (
        sa.select(phones.c.customer_id, sa.func.min(phones.c.phone).label("phone"))
        .where(phones.c.is_primary.is_(True))
        .group_by(phones.c.customer_id)
        .subquery("primary_phone")
    )
    present = customers.c.anonymized_at.is_(None)

    def personal(column: Any, name: str) -> Any:
        return sa.case((present, sa.func.coalesce(column, "")), else_="").label(name)

    where: list[sa.ColumnElement[bool]] = [customers.c.merged_into_id.is_(None)]
    where += placed_between(customers.c.created_at, filters.get("from"), filters.get("to"))
    contactable = filters.get("contactable")
    if contactable:
        flag = {
            "email": customers.c.do_not_email,
            "mail": customers.c.do_not_mail,
            "phone": customers.c.do_not_call,
        }
        where += [present, flag[contactable].is_(False)]
    return (
        sa.select(
            customers.c.number,
            customers.c.kind,
            customers.c.status,
            customers.c.customer_group,
            personal(customers.c.first_name, "first_name"),
            personal(customers.c.last_name, "last_name"),
            personal(customers.c.company, "company"),
            personal(customers.c.display_name, "display_name"),
            personal(email.c.email, "email"),
            personal(phone.c.phone, "phone"),
            customers.c.default_country,
            customers.c.do_not_mail,
            customers.c.do_not_email,
            customers.c.do_not_call,
            customers.c.created_channel,
            customers.c.source_code,
            customers.c.last_source_code,
            customers.c.created_at,
            sa.not_(present).label("anonymized"),
        )
        .select_from(
            customers.outerjoin(email, email.c.customer_id == customers.c.id).outerjoin(
                phone, phone.c.customer_id == customers.c.id
            )
        )
        .where(*where)
        .order_by(customers.c.created_at, customers.c.id)
    )


CUSTOMERS = ExportKind(
    "customers",
    "Customers (merged duplicates left out) with their consent flags; an anonymized customer's personal fields "
    "are empty",
    ("from", "to", "contactable"),
    (
        *texts(
            "number",
            "kind",
            "status",
            "customer_group",
            "first_name",
            "last_name",
            "company",
            "display_name",
            "email",
            "phone",
            "country",
        ),
        ExportColumn("do_not_mail", "bool"),
        ExportColumn("do_not_email", "bool"),
        ExportColumn("do_not_call", "bool"),
        *texts("created_channel", "source_code", "last_source_code"),
        ExportColumn("created_at", "datetime"),
        ExportColumn("anonymized", "bool"),
    ),
    _customers,
    custom_kind="customer",
    record_id=customers.c.id,
)
