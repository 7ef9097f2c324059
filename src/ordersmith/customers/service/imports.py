"""One customer from an import row: created, updated in the fields the file sets, or left as it is.

The same rules as the API's create and edit (the same validation, the same money-field scopes, audit and events):
this only decides which of the two applies and skips an edit that would change nothing.
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from ordersmith.customers import rules
from ordersmith.customers.service._common import Address, Details, _checked, _customer
from ordersmith.customers.service.records import _guard, create_customer, update_customer
from ordersmith.customers.tables import CustomerEmailRow, CustomerRow
from ordersmith.kernel.errors import ValidationFailed
from ordersmith.platform.db import UnitOfWork, use_case


def _existing(uow: UnitOfWork, number: str | None, emails: list[str]) -> CustomerRow | None:
    if number:
        row = uow.session.scalar(sa.select(CustomerRow).where(CustomerRow.number == number.strip().upper()))
        if row is None:
            raise ValidationFailed.on(
                "number", f"no customer {number!r} (new customers are numbered by Ordersmith)"
            )
        return row
    if not emails:
        return None
    try:
        email = rules.normalize_email(emails[0])
    except rules.Invalid:
        return None  # the create's own check names the bad e-mail
    return uow.session.scalar(
        sa.select(CustomerRow)
        .join(CustomerEmailRow, CustomerEmailRow.customer_id == CustomerRow.id)
        .where(CustomerEmailRow.email == email, CustomerRow.merged_into_id.is_(None))
        .order_by(CustomerRow.created_at)
        .limit(1)
    )


@use_case
def import_customer(
    uow: UnitOfWork,
    *,
    number: str | None,
    details: Details,
    fields: frozenset[str],
    source_code: str = "",
    granted: frozenset[str] | None = None,
    write: bool = True,
) -> str:
    """Create or update the customer a row names (by `number`, else by its first e-mail); `fields` are the
    Details fields the file sets (an existing customer keeps the others). Returns created | updated | unchanged.
    With `write` False, only the checks of the create or edit run (a dry run): the same validation and scopes.

    Raises:
        ValidationFailed: a bad value (naming the field), an unknown number, an anonymized customer.
        Forbidden: a money field changes without its scope in `granted` (None: a trusted caller).
    """
    row = _existing(uow, number, details.emails)
    if row is None:
        if write:
            create_customer(uow, details=details, source_code=source_code, granted=granted)
        else:
            _guard(granted, Details(), _checked(details))
        return "created"
    if row.anonymized_at is not None:
        raise ValidationFailed.on("number", f"{row.number} was anonymized and cannot be edited")
    customer = _customer(uow, row)
    current = Details(**{f.name: getattr(customer, f.name) for f in dataclasses.fields(Details)})
    current = dataclasses.replace(
        current, addresses=[dataclasses.replace(a, id=None) for a in current.addresses]
    )
    wanted = _checked(dataclasses.replace(current, **{name: getattr(details, name) for name in fields}))
    normal = _checked(current)
    changes = {
        name: getattr(wanted, name) for name in fields if getattr(wanted, name) != getattr(normal, name)
    }
    if not changes:
        return "unchanged"
    if not write:
        _guard(granted, normal, wanted)
        return "updated"
    update_customer(uow, ref=row.number, changes=changes, expected_version=row.version, granted=granted)
    return "updated"


__all__ = ["Address", "import_customer"]
