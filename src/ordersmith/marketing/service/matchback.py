"""Mail files as sent and matchback: each mailed name and address with its key code; orders that arrive without a
code, placed within the mailing's in-home window, are attributed to the key code mailed to their customer or, failing
that, to their (first ship-to) address; the results report keyed and matched-back orders apart.

Invariants: an order that carries a source code — on its header or on any of its lines — is never attributed (it
is keyed: results count it under its codes); an order is attributed at most once, to the first mail file whose
matchback reaches it; the order itself is never changed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.money import Money
from ordersmith.marketing import lists
from ordersmith.marketing.list_tables import (
    ExtractionNameRow,
    ExtractionRow,
    MailFileNameRow,
    MailFileRow,
    MatchbackRow,
)
from ordersmith.marketing.service._reads import customers, order_lines, orders
from ordersmith.marketing.tables import SourceCodeRow
from ordersmith.platform.db import UnitOfWork, use_case

MAX_NAMES = 2_000_000
_CHUNK = 1000


@dataclass(frozen=True)
class MailedName:
    key_code: str
    line1: str
    postal_code: str
    country: str
    name: str = ""
    customer_number: str = ""


@dataclass(frozen=True)
class MailFile:
    code: str
    in_home_on: date
    window_days: int
    currency: str
    names: int
    matched_at: datetime | None


@dataclass(frozen=True)
class Matchback:
    mail_file: str
    looked_at: int  # orders of the window without a code and not attributed yet
    by_customer: int
    by_address: int


@dataclass(frozen=True)
class KeyCodeResult:
    key_code: str
    mailed: int
    keyed_orders: int
    keyed_demand: Money
    matched_orders: int
    matched_demand: Money
    response_pct: str  # (keyed + matched) / mailed x 100, to 0.01


def _to_mail_file(row: MailFileRow) -> MailFile:
    return MailFile(row.code, row.in_home_on, row.window_days, row.currency, row.names, row.matched_at)


def _window(row: MailFileRow) -> tuple[datetime, datetime]:
    start = datetime.combine(row.in_home_on, time(), tzinfo=UTC)
    return start, start + timedelta(days=row.window_days)


def _check_header(code: str, window_days: int, currency: str) -> None:
    lists.check_code(code, "code")
    if not 1 <= window_days <= 366:
        raise ValidationFailed.on("window_days", "must be 1 to 366 days")
    if len(currency) != 3 or not currency.isalpha():
        raise ValidationFailed.on("currency", "must be a three-letter ISO 4217 code")


def _known_codes(uow: UnitOfWork, codes: set[str]) -> set[str]:
    return set(
        uow.session.scalars(sa.select(SourceCodeRow.code).where(SourceCodeRow.code.in_(sorted(codes))))
    )


def _customer_ids(uow: UnitOfWork, numbers: set[str]) -> dict[str, uuid.UUID]:
    found: dict[str, uuid.UUID] = {}
    listed = sorted(numbers)
    for start in range(0, len(listed), _CHUNK):
        query = sa.select(customers.c.number, customers.c.id).where(
            customers.c.number.in_(listed[start : start + _CHUNK])
        )
        found.update({number: id_ for number, id_ in uow.session.execute(query)})
    return found


def _store(
    uow: UnitOfWork, header: MailFileRow, rows: list[dict[str, Any]], origin: dict[str, Any]
) -> MailFile:
    header.names = len(rows)
    uow.insert_unique(MailFileRow, header, f"mail file {header.code!r} exists")
    for start in range(0, len(rows), _CHUNK):
        uow.execute_core(sa.insert(MailFileNameRow.__table__), rows[start : start + _CHUNK])  # type: ignore[arg-type]
    uow.audit(
        "mail_file.imported",
        object_type="mail_file",
        object_id=header.code,
        after={"names": len(rows), "in_home_on": header.in_home_on.isoformat(), **origin},
    )
    return _to_mail_file(header)


def _header(uow: UnitOfWork, code: str, in_home_on: date, window_days: int, currency: str) -> MailFileRow:
    _check_header(code, window_days, currency)
    return MailFileRow(
        code=code.upper(),
        in_home_on=in_home_on,
        window_days=window_days,
        currency=currency.upper(),
        names=0,
        created_at=uow.now(),
        matched_at=None,
    )


@use_case
def import_mail_file(
    uow: UnitOfWork,
    *,
    code: str,
    in_home_on: date,
    window_days: int,
    names: Sequence[MailedName],
    currency: str = "USD",
) -> MailFile:
    """Import a mail file as it was sent: every name and address with its key code (and the customer number, for
    the house file's names).

    Raises:
        ValidationFailed: a key code not in the master list, a customer number that is no customer's, a name without
            line1, postal code and country, no names — naming `names.N.field`; nothing is stored.
        AlreadyExists: a mail file of that code exists (409).
    """
    header = _header(uow, code, in_home_on, window_days, currency)
    if not names or len(names) > MAX_NAMES:
        raise ValidationFailed.on("names", f"must hold 1 to {MAX_NAMES} names")
    for n, name in enumerate(names):
        if "\x00" in name.customer_number + name.key_code:
            raise ValidationFailed.on(f"names.{n}", "must not contain NUL")
    known = _known_codes(uow, {n.key_code.upper() for n in names})
    ids = _customer_ids(uow, {n.customer_number for n in names if n.customer_number})
    rows = []
    for n, name in enumerate(names):
        if name.key_code.upper() not in known:
            raise ValidationFailed.on(f"names.{n}.key_code", f"{name.key_code!r} is not a source code")
        if name.customer_number and name.customer_number not in ids:
            raise ValidationFailed.on(f"names.{n}.customer_number", f"no customer {name.customer_number!r}")
        for field in ("line1", "postal_code", "country"):
            if not getattr(name, field).strip():
                raise ValidationFailed.on(f"names.{n}.{field}", "is required")

        rows.append(
            {
                "mail_file": header.code,
                "seq": n + 1,
                "key_code": name.key_code.upper(),
                "customer_id": ids.get(name.customer_number),
                "address_key": lists.address_key(
                    country=name.country, postal_code=name.postal_code, line1=name.line1
                ),
            }
        )
    return _store(uow, header, rows, {"from": "file"})


@use_case
def mail_file_from_extraction(
    uow: UnitOfWork,
    *,
    code: str,
    extraction_id: uuid.UUID,
    in_home_on: date,
    window_days: int,
    currency: str = "USD",
) -> MailFile:
    """Record a pull, as exported, as the mail file sent.

    Raises:
        NotFound: no such pull.
        ValidationFailed, AlreadyExists: as `import_mail_file`.
    """
    header = _header(uow, code, in_home_on, window_days, currency)
    if uow.session.get(ExtractionRow, extraction_id) is None:
        raise NotFound(f"no extraction {extraction_id}")
    pulled = ExtractionNameRow.__table__
    query = (
        sa.select(
            pulled.c.key_code, pulled.c.customer_id, pulled.c.line1, pulled.c.postal_code, pulled.c.country
        )
        .where(pulled.c.extraction_id == extraction_id)
        .order_by(pulled.c.seq)
    )
    rows = [
        {
            "mail_file": header.code,
            "seq": n,
            "key_code": r.key_code,
            "customer_id": r.customer_id,
            "address_key": lists.address_key(country=r.country, postal_code=r.postal_code, line1=r.line1),
        }
        for n, r in enumerate(uow.session.execute(query), start=1)
    ]
    return _store(uow, header, rows, {"from": str(extraction_id)})


def _file(uow: UnitOfWork, code: str, *, lock: bool = False) -> MailFileRow:
    if "\x00" in code:
        raise NotFound(f"no mail file {code!r}")
    row = uow.session.get(MailFileRow, code.upper(), with_for_update=lock)
    if row is None:
        raise NotFound(f"no mail file {code!r}")
    return row


@use_case(readonly=True)
def get_mail_file(uow: UnitOfWork, *, code: str) -> MailFile:
    """One mail file. Raises NotFound."""
    return _to_mail_file(_file(uow, code))


@use_case(readonly=True)
def list_mail_files(uow: UnitOfWork) -> list[MailFile]:
    """Mail files, the latest in-home date first."""
    query = sa.select(MailFileRow).order_by(MailFileRow.in_home_on.desc(), MailFileRow.code)
    return [_to_mail_file(r) for r in uow.session.scalars(query)]


def _lookup(uow: UnitOfWork, file: str, column: Any, values: list[Any]) -> dict[Any, str]:
    """The key code mailed per customer id / address key of the file (the first name mailed wins)."""
    found: dict[Any, str] = {}
    names = MailFileNameRow.__table__
    for start in range(0, len(values), _CHUNK):
        query = (
            sa.select(column, names.c.key_code)
            .where(names.c.mail_file == file, column.in_(values[start : start + _CHUNK]))
            .order_by(names.c.seq)
        )
        for value, key_code in uow.session.execute(query):
            found.setdefault(value, key_code)
    return found


@use_case
def run_matchback(uow: UnitOfWork, *, code: str) -> Matchback:
    """Attribute the window's orders placed without a code (on the order or any line) to the key code mailed to
    their customer or, failing that, to their address. Reads only the orders of the window (by the placed-at
    index); running it again attributes only orders not attributed yet.

    Raises:
        NotFound: no such mail file.
    """
    header = _file(uow, code, lock=True)
    start, end = _window(header)
    done = MatchbackRow.__table__
    query = sa.select(orders.c.id, orders.c.customer_id, orders.c.address_key).where(
        orders.c.placed_at >= start,
        orders.c.placed_at < end,
        sa.or_(orders.c.source_code.is_(None), orders.c.source_code == ""),
        orders.c.status != "cancelled",
        ~sa.exists(sa.select(sa.literal(1)).where(done.c.order_id == orders.c.id)),
        # a line keyed with a code of its own makes the order keyed too (its lines are read by its key)
        ~sa.exists(
            sa.select(sa.literal(1)).where(
                order_lines.c.order_id == orders.c.id, order_lines.c.source_code.is_not(None)
            )
        ),
    )
    waiting = list(uow.session.execute(query))
    names = MailFileNameRow.__table__
    by_customer = _lookup(
        uow, header.code, names.c.customer_id, sorted({o.customer_id for o in waiting if o.customer_id})
    )
    by_address = _lookup(
        uow, header.code, names.c.address_key, sorted({o.address_key for o in waiting if o.address_key})
    )
    now = uow.now()
    matched = []
    for order in waiting:
        if order.customer_id in by_customer:
            matched.append((order.id, by_customer[order.customer_id], "customer"))
        elif order.address_key in by_address:
            matched.append((order.id, by_address[order.address_key], "address"))
    rows = [
        {"order_id": o, "mail_file": header.code, "key_code": k, "matched_by": by, "matched_at": now}
        for o, k, by in matched
    ]
    table: Any = done
    insert = (postgresql.insert if uow.dialect == "postgresql" else sqlite.insert)(table)
    for first in range(0, len(rows), _CHUNK):
        # Another file's matchback may have taken an order meanwhile: the first attribution stands.
        uow.execute_core(
            insert.on_conflict_do_nothing(index_elements=["order_id"]), rows[first : first + _CHUNK]
        )
    header.matched_at = now
    uow.session.flush()
    result = Matchback(
        mail_file=header.code,
        looked_at=len(waiting),
        by_customer=sum(1 for m in matched if m[2] == "customer"),
        by_address=sum(1 for m in matched if m[2] == "address"),
    )
    uow.audit("mail_file.matched_back", object_type="mail_file", object_id=header.code, after=result.__dict__)
    return result


@use_case(readonly=True)
def mail_file_results(uow: UnitOfWork, *, code: str) -> list[KeyCodeResult]:
    """Per key code of the file: names mailed, orders keyed with it and orders matched back to it (placed within
    the window), with their demand (goods after discounts, in the file's currency), apart.

    Raises:
        NotFound: no such mail file.
    """
    header = _file(uow, code)
    start, end = _window(header)
    names = MailFileNameRow.__table__
    mailed: dict[str, int] = dict(
        uow.session.execute(  # type: ignore[arg-type]
            sa.select(names.c.key_code, sa.func.count())
            .where(names.c.mail_file == header.code)
            .group_by(names.c.key_code)
        ).all()
    )
    goods = orders.c.merchandise_minor + orders.c.surcharges_minor - orders.c.discounts_minor
    in_window = sa.and_(
        orders.c.placed_at >= start,
        orders.c.placed_at < end,
        orders.c.status != "cancelled",
        orders.c.currency == header.currency,
    )
    keyed = {
        k: (int(n), int(d or 0))
        for k, n, d in uow.session.execute(
            sa.select(orders.c.source_code, sa.func.count(), sa.func.sum(goods))
            .where(orders.c.source_code.in_(sorted(mailed)), in_window)
            .group_by(orders.c.source_code)
        )
    }
    done = MatchbackRow.__table__
    matched = {
        k: (int(n), int(d or 0))
        for k, n, d in uow.session.execute(
            sa.select(done.c.key_code, sa.func.count(), sa.func.sum(goods))
            .select_from(done.join(orders, orders.c.id == done.c.order_id))
            .where(done.c.mail_file == header.code, in_window)
            .group_by(done.c.key_code)
        )
    }
    out = []
    for key_code in sorted(mailed):
        kn, kd = keyed.get(key_code, (0, 0))
        mn, md = matched.get(key_code, (0, 0))
        total = int(mailed[key_code])
        pct = Decimal(kn + mn) * 100 / total if total else Decimal(0)
        out.append(
            KeyCodeResult(
                key_code=key_code,
                mailed=total,
                keyed_orders=kn,
                keyed_demand=Money.from_minor(kd, header.currency),
                matched_orders=mn,
                matched_demand=Money.from_minor(md, header.currency),
                response_pct=str(pct.quantize(Decimal("0.01"), ROUND_HALF_UP)),
            )
        )
    return out
