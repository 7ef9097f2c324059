"""The ledger's dimensions (ADR 0039): a journal line's division and sales channel — the order's, for a line an
order's event posted; the accountant's choice, for a manual entry — by which the trial balance and the statements
are filtered.

Invariant: a dimension named in a filter or on a manual entry exists (a division of the catalog, a sales channel),
so a typo is a refusal naming the field, never an empty statement that looks right.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from ordersmith.catalog import service as catalog
from ordersmith.kernel.errors import FieldError, ValidationFailed
from ordersmith.orders import service as orders
from ordersmith.platform.db import UnitOfWork
from ordersmith.platform.sales_channels import find_channel

_CODE = re.compile(r"^[A-Za-z0-9._-]{1,40}$")

# Events about one order whose entries carry the order's division and channel: the order's own (shipments,
# returns) and its money (captures, refunds, bounced checks, its invoice's payments and write-offs, a gift card it
# sold). Purchasing, payables, stock, settlements and customers' unapplied cash belong to no order.
ORDER_EVENTS = frozenset(
    {
        "order.shipped",
        "order.shipped_in_part",
        "return.received",
        "payment.captured",
        "payment.refunded",
        "payment.failed",
        "invoice.payment_applied",
        "invoice.written_off",
        "gift_card.activated",
    }
)


@dataclass(frozen=True)
class Dimensions:
    """A division and a sales channel: "" for none (on a line) or any (in a filter)."""

    division: str = ""
    channel: str = ""

    def __bool__(self) -> bool:
        return bool(self.division or self.channel)


NONE = Dimensions()


def check_dimensions(uow: UnitOfWork, *, division: str | None, channel: str | None) -> Dimensions:
    """The dimensions asked for, each checked to exist.

    Raises:
        ValidationFailed: a malformed or unknown division or channel (naming `division` or `channel`).
    """
    errors: list[FieldError] = []
    division, channel = (division or "").strip(), (channel or "").strip()
    if division and (
        not _CODE.match(division) or division not in {d.code for d in catalog.list_divisions(uow)}
    ):
        errors.append(FieldError("division", f"no division {division[:40]!r}"))
    if channel and (not _CODE.match(channel) or find_channel(uow, code=channel) is None):
        errors.append(FieldError("channel", f"no sales channel {channel[:40]!r}"))
    if errors:
        raise ValidationFailed("; ".join(e.message for e in errors), errors=errors)
    return Dimensions(division, channel)


def order_dimensions(uow: UnitOfWork, order_ids: Iterable[object]) -> dict[str, Dimensions]:
    """Each order's division and channel by its id's text (one read for them all; ids that are no order's are
    left out)."""
    ids: set[uuid.UUID] = set()
    for value in order_ids:
        try:
            ids.add(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
        except ValueError:
            continue
    found = orders.order_dimensions(uow, ids=list(ids))
    return {str(order_id): Dimensions(division, channel) for order_id, (division, channel) in found.items()}
