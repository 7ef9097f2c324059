"""Console screen for merchandise categories: the tree (each category under its parent, the inactive ones marked), a
form that adds one, and per category a form that renames or moves it (`/categories?edit=CODE`) and a button that
makes it inactive or active again.

Forms are checked by the API's input models (`CategoryIn`, `CategoryPatch`) and made by the same use cases, so the
console refuses what the API refuses; a refusal shows the page again with the reason beside the input it names,
what was typed kept, its status, nothing written. Reading needs `catalog:read`; changing needs `catalog:write` and
the session's CSRF token.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.catalog import service as catalog
from ordersmith.catalog.schemas import CategoryIn, CategoryPatch
from ordersmith.console._forms import Refusal, posted, refused
from ordersmith.console._pages import principal_for, render
from ordersmith.kernel.errors import OrdersmithError, ValidationFailed
from ordersmith.platform.http import unit_of_work
from ordersmith.platform.schemas import validated

router = APIRouter(include_in_schema=False)
READ, WRITE = "catalog:read", "catalog:write"
ADD_FORM = "add"
BETWEEN = " \N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK} "  # between the names down a trail


def trails(tree: list[catalog.Category]) -> dict[str, str]:
    """Each category's names from the top down as people read them, by code (`Apparel`, `Tops`, `Tees` joined by
    BETWEEN)."""
    names = {c.code: c.name for c in tree}
    return {c.code: BETWEEN.join(names.get(code, code) for code in c.path.split("/")) for c in tree}


def parents(tree: list[catalog.Category], moving: catalog.Category | None = None) -> list[catalog.Category]:
    """The categories a form offers as a parent: the active ones; for a category being moved, none of its own
    subtree (the use case refuses those anyway), and its present parent whatever its state, so that saving a new
    name leaves it where it is."""
    if moving is None:
        return [c for c in tree if c.active]
    below = moving.path + "/"
    return [
        c
        for c in tree
        if (c.active or c.code == moving.parent) and c.path != moving.path and not c.path.startswith(below)
    ]


def _form(code: str, *, state: bool = False) -> str:
    """The id of a category's form on the page: its edit form, or (`state`) its inactive / active button."""
    return f"{'state' if state else 'category'}-{code.upper()}"


def _page(request: Request, *, edit: str = "", refusal: Refusal | None = None, done: str = "") -> Response:
    principal = principal_for(request, READ)
    tree = catalog.list_categories(unit_of_work(request))
    editing = next((c for c in tree if c.code == edit.upper()), None) if edit else None
    shown = {
        ADD_FORM,
        *(_form(c.code, state=True) for c in tree),
        *([_form(editing.code)] if editing else []),
    }
    error = ""
    # a category that is not there has no form to show the reason beside: the page shows it
    if refusal and refusal.form not in shown:
        error = refusal.detail
    elif edit and editing is None:
        error = f"no category {edit!r}"
    return render(
        request,
        "categories.html",
        principal,
        status=refusal.status if refusal else 404 if error else 200,
        tree=tree,
        trails=trails(tree),
        parents=parents(tree),
        editing=editing,
        moves=parents(tree, editing) if editing else [],
        refusal=refusal,
        error=error,
        done=done,
        add_form=ADD_FORM,
        edit_form=_form(editing.code) if editing else "",
        can_write=principal.can(WRITE),
    )


@router.get("/categories")
def categories_page(request: Request, edit: str = "", done: str = "") -> Response:
    return _page(request, edit=edit[:40], done=done[:200])


@router.post("/categories")
async def add(request: Request) -> Response:
    """A new category, at the top level or under the parent chosen (`CategoryIn`, `create_category`)."""
    _, _, typed = await posted(request, WRITE)
    sent = {
        "code": typed.get("code", ""),
        "name": typed.get("name", ""),
        "parent": typed.get("parent") or None,
    }
    try:
        body = validated(CategoryIn, sent)
        made = catalog.create_category(unit_of_work(request), **body.model_dump())
    except OrdersmithError as exc:
        return _page(request, refusal=refused(exc, form=ADD_FORM, typed=typed))
    return RedirectResponse(f"/categories?done={quote(f'Category {made.code} added')}", status_code=303)


def _version(text: str) -> int | None:
    """The version the form was read at (none sent: no check)."""
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) < 12):
        raise ValidationFailed.on("version", "the version the page was read at, a whole number")
    return int(text)


@router.post("/categories/{code}")
async def change(request: Request, code: str) -> Response:
    """Rename a category and move it (`name`, `parent`: empty for the top level), or make it inactive or active
    again (`active`), at the version read (`CategoryPatch`, `update_category`)."""
    _, _, typed = await posted(request, WRITE)
    sent: dict[str, str | None] = {key: typed[key] for key in ("name", "active") if key in typed}
    if "parent" in typed:
        sent["parent"] = typed["parent"] or None
    try:
        version = _version(typed.get("version", ""))
        changes = validated(CategoryPatch, sent).model_dump(exclude_unset=True)
        changed = catalog.update_category(
            unit_of_work(request),
            code=code,
            version=version,
            name=changes.get("name"),
            parent=changes.get("parent", catalog.KEEP),
            active=changes.get("active"),
        )
    except OrdersmithError as exc:
        if "active" in typed:
            return _page(request, refusal=refused(exc, form=_form(code, state=True), typed=typed))
        return _page(request, edit=code[:40], refusal=refused(exc, form=_form(code), typed=typed))
    if "active" in changes:
        done = f"Category {changed.code} {'active again' if changed.active else 'made inactive'}"
    else:
        done = f"Category {changed.code} saved"
    return RedirectResponse(f"/categories?done={quote(done)}", status_code=303)
