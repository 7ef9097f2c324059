"""Merchandise categories: the tree, created or updated by code through catalog's use cases (`create_category`,
`update_category`). A parent must be in the catalog already or come earlier in the file (a file in tree order — as
the categories export writes it — always imports); a row of an existing category renames it, moves it when the file
has a `parent` column (blank: to the top level) and makes it inactive or active again when it has `active`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from ordersmith.catalog import rules as catalog_rules
from ordersmith.catalog import service as catalog
from ordersmith.catalog.schemas import CategoryIn
from ordersmith.data.imports.kinds._common import (
    Kind,
    Outcome,
    Row,
    _schema_errors,
    _typed,
    in_savepoint,
    refusal,
)
from ordersmith.data.imports.rules import Column, Spec
from ordersmith.kernel.errors import NotFound, OrdersmithError, ValidationFailed
from ordersmith.platform.db import UnitOfWork

CATEGORY_SPEC = Spec(
    kind="categories",
    title="Categories",
    key="code",
    scope="catalog:write",
    columns=(
        Column(
            "code",
            "the category's code (any letter case); an existing code is updated",
            "KITCHEN",
            required=True,
        ),
        Column("name", "the category's name", "Kitchen", required=True),
        Column(
            "parent",
            "the code of the category it sits under (in the catalog or earlier in the file); blank: top level",
            "",
        ),
        Column(
            "active",
            "false: given to no more items (those that have it keep it); default true",
            "true",
            format="boolean",
        ),
    ),
)


def _key(cells: dict[str, str]) -> tuple[str, str] | None:
    code = cells.get("code", "").strip()
    return ("code", code.upper()) if code else None


def _column(loc: tuple[Any, ...]) -> str:
    name = str(loc[0]) if loc else "code"
    return name if name in CATEGORY_SPEC.names else "code"


def _check(
    uow: UnitOfWork, rows: list[Row], write: bool, granted: frozenset[str] | None, memo: dict[str, Any]
) -> list[Outcome]:
    # The categories a dry run's earlier chunks created (rolled back since), code -> parent: a later row may name
    # one as its parent
    pending: dict[str, str | None] = memo.setdefault("new_categories", {})
    outcomes = []
    for _, cells in rows:
        outcome = Outcome("invalid")
        outcomes.append(outcome)
        data = _typed(CATEGORY_SPEC, cells, outcome.errors)
        if outcome.errors:
            continue
        try:
            body = CategoryIn.model_validate(
                {"code": data.get("code", ""), "name": data.get("name", ""), "parent": data.get("parent")}
            )
        except ValidationError as exc:
            outcome.errors += _schema_errors(exc, _column)
            continue
        sets = {name for name in ("parent", "active") if name in cells}
        active = bool(data.get("active", True))  # a blank cell: the default, active

        def run(body: CategoryIn = body, sets: set[str] = sets, active: bool = active) -> str:
            return _write(uow, body, sets, active, pending, write)

        try:
            outcome.action = in_savepoint(uow, run)
        except OrdersmithError as exc:
            outcome.action = "invalid"
            outcome.errors.append(refusal(exc, {}, lambda detail: "code"))
    return outcomes


def _write(
    uow: UnitOfWork,
    body: CategoryIn,
    sets: set[str],
    active: bool,
    pending: dict[str, str | None],
    write: bool,
) -> str:
    """Create the category or bring it to the row; created | updated | unchanged."""
    code, parent = body.code.upper(), body.parent.upper() if body.parent else None
    try:
        existing = catalog.get_category(uow, code=code)
    except NotFound:
        existing = None
    # a parent an earlier chunk of this dry run made (rolled back since): the apply makes both, so the row stands
    stand_in = not write and parent is not None and parent in pending and not _exists(uow, parent)
    if existing is None:
        if stand_in:
            assert parent is not None
            _nests(lambda: catalog_rules.category_path(_pending_path(uow, parent, pending), code))
            pending[code] = parent
            return "created"
        catalog.create_category(uow, code=code, name=body.name, parent=parent)
        if "active" in sets and not active:
            catalog.update_category(uow, code=code, active=False)
        if not write:
            pending[code] = parent
        return "created"
    moves = "parent" in sets and parent != existing.parent
    changes_state = "active" in sets and active != existing.active
    if body.name.strip() == existing.name and not moves and not changes_state:
        return "unchanged"
    if moves and stand_in:
        assert parent is not None
        if _pending_under(uow, parent, code, pending):
            raise ValidationFailed.on("parent", f"{parent} is {code} itself or below it")
        new_path = _nests(lambda: catalog_rules.category_path(_pending_path(uow, parent, pending), code))
        # the moved subtree keeps within the depth, as the apply checks
        old_path = existing.path
        below = [c.path for c in catalog.list_categories(uow) if catalog_rules.is_under(c.path, old_path)]
        for path in below:
            _nests(functools.partial(catalog_rules.moved_path, path, old_path, new_path))
        return "updated"
    catalog.update_category(
        uow,
        code=code,
        name=body.name,
        parent=parent if moves else catalog.KEEP,
        active=active if changes_state else None,
    )
    return "updated"


def _pending_under(uow: UnitOfWork, parent: str, code: str, pending: dict[str, str | None]) -> bool:
    """A parent the dry run made earlier is `code` or below it: up its pending ancestors, then the catalog's path."""
    seen: str | None = parent
    while seen is not None and seen in pending:
        if seen == code:
            return True
        seen = pending[seen]
    if seen is None:
        return False
    return code in catalog.get_category(uow, code=seen).path.split("/")


def _pending_path(uow: UnitOfWork, code: str, pending: dict[str, str | None]) -> str:
    """The path a category this dry run made earlier (`code`) will have once applied: its pending parents' codes
    below the path of the first one the catalog has."""
    chain: list[str] = []
    seen: str | None = code
    while seen is not None and seen in pending:
        chain.append(seen)
        seen = pending[seen]
    path = catalog.get_category(uow, code=seen).path if seen is not None else None
    for below in reversed(chain):
        path = catalog_rules.category_path(path, below)
    assert path is not None
    return path


def _nests(place: Callable[[], str]) -> str:
    """`place()`'s path, or the catalog's refusal of a tree too deep, naming the parent (as the apply refuses)."""
    try:
        return place()
    except ValueError as exc:
        raise ValidationFailed.on("parent", str(exc)) from exc


def _exists(uow: UnitOfWork, code: str | None) -> bool:
    try:
        return code is not None and bool(catalog.get_category(uow, code=code))
    except NotFound:
        return False


KIND = Kind(spec=CATEGORY_SPEC, key=_key, check=_check)
