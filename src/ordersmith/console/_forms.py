"""What the marketing screens' forms share: a posted form read for a scope (session, role, CSRF token), a refusal
shown inline on the form it came from — its status, its reason, and each field the problem names marked and
explained beside that field, what was typed kept — and an uploaded CSV file read as rows.

A form is checked by the API's own input model (`platform.schemas.validated`) and its use case, so the console
refuses exactly what the API refuses (RFC 9457 problems, one per field, named as the API names them); `names` maps
those API field paths to the form's inputs.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field

from fastapi import Request
from starlette.datastructures import FormData, UploadFile

from ordersmith.console._pages import check_form_csrf, principal_for
from ordersmith.kernel.errors import OrdersmithError, ValidationFailed
from ordersmith.platform.access import Principal

MAX_UPLOAD_BYTES = 1_000_000  # the console's request limit (ORDERSMITH_MAX_BODY_BYTES) bounds it anyway


@dataclass(frozen=True)
class Refusal:
    """A form the page shows again: which form (`form`, its id on the page), the problem's status and reason, the
    inputs it names with what is wrong with each, and what was typed."""

    form: str
    status: int
    detail: str
    fields: dict[str, str] = field(default_factory=dict)
    typed: dict[str, str] = field(default_factory=dict)


def _input_for(path: str, names: Mapping[str, str], typed: Mapping[str, str]) -> str:
    """The form input an API field path names: the longest mapped prefix (`drops.0.cost_per_piece.amount` →
    `cost_per_piece`), else the path itself when the form sent an input of that name, else its first part (an
    input the form has but a hand-made request left out; a name no input has is simply not shown beside one)."""
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in names:
            return names[prefix]
    return path if path in typed else parts[0]


def refused(
    exc: OrdersmithError,
    *,
    form: str,
    typed: Mapping[str, str],
    names: Mapping[str, str] | None = None,
) -> Refusal:
    """The refusal `exc` as form `form` shows it: every field it names placed on its input."""
    fields: dict[str, str] = {}
    for error in exc.errors:
        fields.setdefault(_input_for(error.field, names or {}, typed), error.message)
    return Refusal(form, exc.status, exc.detail, fields, dict(typed))


async def posted(request: Request, scope: str) -> tuple[Principal, FormData, dict[str, str]]:
    """The signed-in user (who must hold `scope`), the form, and its text fields stripped; a form without the
    session's CSRF token is refused (403 page) before anything is read further."""
    principal = principal_for(request, scope)
    form = await request.form()
    check_form_csrf(principal, str(form.get("csrf_token", "")))
    text = {
        key: value.strip() for key, value in form.items() if isinstance(value, str) and key != "csrf_token"
    }
    return principal, form, text


def uploaded(form: FormData, name: str) -> UploadFile | None:
    """The file sent in input `name`, or None when none was chosen."""
    value = form.get(name)
    if isinstance(value, str) or value is None or not value.filename:
        return None
    return value


async def file_text(upload: UploadFile, name: str) -> str:
    """An uploaded text file (UTF-8, a byte-order mark allowed) as text.

    Raises:
        ValidationFailed: naming input `name`: too large, or not UTF-8.
    """
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationFailed.on(name, f"at most {MAX_UPLOAD_BYTES:,} bytes here (the CLI takes any size)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed.on(name, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def text_rows(text: str, name: str) -> list[dict[str, str]]:
    """CSV text (a header row) as rows keyed by the lower-cased header, every value stripped.

    Raises:
        ValidationFailed: naming input `name`: not CSV, or a NUL character in a row.
    """
    try:
        rows = [
            {k.strip().lower(): (v if isinstance(v, str) else "").strip() for k, v in row.items() if k}
            for row in csv.DictReader(io.StringIO(text, newline=""))
        ]
    except csv.Error as exc:
        raise ValidationFailed.on(name, f"not a readable CSV file ({exc})") from None
    for n, row in enumerate(rows, start=2):
        if any("\x00" in value for value in row.values()):
            raise ValidationFailed.on(name, f"line {n} holds a NUL character")
    return rows
