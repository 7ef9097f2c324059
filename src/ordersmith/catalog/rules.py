"""Pure catalog rules: SKU normalisation, item kinds and statuses, merchandise category codes and their paths, and
personalization templates (validation and surcharge)."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from ordersmith.kernel.errors import FieldError, ValidationFailed
from ordersmith.kernel.money import Money

ITEM_KINDS = ("stocked", "kit", "non_inventory", "drop_ship", "gift_card")
ITEM_STATUSES = ("active", "discontinued", "inactive")
STOCK_KEEPING_KINDS = frozenset({"stocked"})  # kinds whose units sit in stock_levels

_SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")


def sku_key(sku: str) -> str:
    """The case-insensitive identity of a SKU: `ab-100` and `AB-100` are the same item."""
    return sku.strip().upper()


def is_valid_sku(sku: str) -> bool:
    return bool(_SKU.match(sku.strip()))


# --- categories ---------------------------------------------------------------------------------------------

CATEGORY_DEPTH = (
    6  # levels of the tree (department > class > subclass … ): a path of six 40-character codes fits
)
_CATEGORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")


def category_code(text: str) -> str:
    """A category code as stored: 1-40 letters, digits, '_' or '-' starting with a letter or digit, upper-cased
    (codes are case-insensitive). Raises ValueError saying what a code may be."""
    if not _CATEGORY.match(text):
        raise ValueError("1-40 letters, digits, '_' or '-', starting with a letter or digit")
    return text.upper()


def category_path(parent_path: str | None, code: str) -> str:
    """A category's path: its parent's and its own code, `APPAREL/TOPS`. Raises ValueError past CATEGORY_DEPTH."""
    path = code if parent_path is None else f"{parent_path}/{code}"
    if path.count("/") >= CATEGORY_DEPTH:
        raise ValueError(f"categories nest at most {CATEGORY_DEPTH} levels deep")
    return path


def is_under(path: str, ancestor_path: str) -> bool:
    """`path` is `ancestor_path` itself or a category below it."""
    return path == ancestor_path or path.startswith(ancestor_path + "/")


def moved_path(path: str, old_prefix: str, new_prefix: str) -> str:
    """The path of a category at or below `old_prefix` once that category's path becomes `new_prefix`."""
    assert is_under(path, old_prefix)
    moved = new_prefix + path[len(old_prefix) :]
    if moved.count("/") >= CATEGORY_DEPTH:
        raise ValueError(f"categories nest at most {CATEGORY_DEPTH} levels deep")
    return moved


# --- styles -------------------------------------------------------------------------------------------------

_AXIS_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,19}$")


def check_axes(axes: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    """Axis names unique, each with at least one value, values unique within the axis and SKU-safe."""
    if not axes:
        raise ValueError("a style needs at least one axis (e.g. size)")
    names = [name for name, _ in axes]
    if len(set(names)) != len(names):
        raise ValueError("axis names must be unique")
    for name, values in axes:
        if not values:
            raise ValueError(f"axis {name} needs at least one value")
        if len({v.upper() for v in values}) != len(values):
            raise ValueError(f"axis {name} lists a value twice")
        for value in values:
            if not _AXIS_VALUE.match(value):
                raise ValueError(f"axis {name}: {value!r} must be 1-20 letters, digits, spaces or . _ / -")
    return axes


def variant_sku(style_code: str, variant: dict[str, str], axis_order: list[str]) -> str:
    """The SKU of one variant: the style code and each axis value in axis order, e.g. `OXF-NAVY-M`."""
    parts = [style_code] + ["".join(variant[axis].split()) for axis in axis_order]
    return "-".join(parts).upper()


def variants(axes: list[tuple[str, list[str]]]) -> list[dict[str, str]]:
    """Every combination of axis values (the size x colour matrix), in axis order."""
    combos: list[dict[str, str]] = [{}]
    for name, values in axes:
        combos = [{**combo, name: value} for combo in combos for value in values]
    return combos


# --- personalization ---------------------------------------------------------------------------------------

FIELD_KINDS = ("text", "choice", "font", "thread_colour")
CHARACTER_SETS = {
    "letters": frozenset(string.ascii_letters + " "),
    "letters_digits": frozenset(string.ascii_letters + string.digits + " "),
    "monogram": frozenset(string.ascii_uppercase),
    "printable": frozenset(string.ascii_letters + string.digits + " .,'&-!?#@"),
}


@dataclass(frozen=True)
class TemplateField:
    """One thing a customer chooses or types: a name to embroider, a font, a thread colour."""

    name: str
    kind: str
    label: str
    required: bool = False
    max_length: int | None = None  # text only
    characters: str | None = None  # text only: a key of CHARACTER_SETS
    options: tuple[str, ...] = ()  # choice, font, thread_colour
    surcharge: Money | None = None  # charged when the field is filled in
    per_character: Money | None = None  # text only: charged for each non-space character

    def __post_init__(self) -> None:
        if self.kind not in FIELD_KINDS:
            raise ValueError(f"field {self.name}: kind must be one of {', '.join(FIELD_KINDS)}")
        if self.kind == "text":
            if self.max_length is None or self.max_length < 1:
                raise ValueError(f"field {self.name}: a text field needs max_length >= 1")
            if self.characters is not None and self.characters not in CHARACTER_SETS:
                raise ValueError(f"field {self.name}: characters must be one of {', '.join(CHARACTER_SETS)}")
            if self.options:
                raise ValueError(f"field {self.name}: a text field has no options")
        elif not self.options:
            raise ValueError(f"field {self.name}: a {self.kind} field needs options")
        elif self.per_character is not None:
            raise ValueError(f"field {self.name}: only text fields charge per character")


@dataclass(frozen=True)
class Template:
    code: str
    name: str
    currency: str
    fields: tuple[TemplateField, ...]
    non_returnable: bool = False

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if len(names) != len(set(names)):
            raise ValueError("field names must be unique within a template")
        for f in self.fields:
            for price in (f.surcharge, f.per_character):
                if price is not None and (
                    price.currency != self.currency or price < Money.zero(self.currency)
                ):
                    raise ValueError(f"field {f.name}: surcharges are non-negative {self.currency}")


@dataclass(frozen=True)
class Personalization:
    values: dict[str, str]
    surcharge: Money
    non_returnable: bool


def personalize(template: Template, values: dict[str, str]) -> Personalization:
    """Check values against a template and price them.

    Text is trimmed; empty optional fields are left out; spaces are free. Every problem is reported at once.

    Raises:
        ValidationFailed: with one error per field that is missing, unknown, too long, uses characters the field
            does not allow, or names an option the field does not offer.
    """
    errors: list[FieldError] = []
    by_name = {f.name: f for f in template.fields}
    errors += [
        FieldError(f"values.{name}", "this template has no such field")
        for name in values
        if name not in by_name
    ]
    accepted: dict[str, str] = {}
    total = Money.zero(template.currency)
    for f in template.fields:
        raw = values.get(f.name, "")
        value = " ".join(raw.split()) if f.kind == "text" else raw.strip()
        where = f"values.{f.name}"
        if not value:
            if f.required:
                errors.append(FieldError(where, f"{f.label} is required"))
            continue
        if f.kind == "text":
            assert f.max_length is not None
            if len(value) > f.max_length:
                errors.append(FieldError(where, f"{f.label} is at most {f.max_length} characters"))
                continue
            if f.characters is not None and (bad := sorted(set(value) - CHARACTER_SETS[f.characters])):
                errors.append(FieldError(where, f"{f.label} cannot contain {''.join(bad)!r}"))
                continue
        elif value not in f.options:
            errors.append(FieldError(where, f"{f.label} must be one of {', '.join(f.options)}"))
            continue
        accepted[f.name] = value
        if f.surcharge is not None:
            total += f.surcharge
        if f.per_character is not None:
            total += f.per_character * sum(1 for ch in value if not ch.isspace())
    if errors:
        raise ValidationFailed("; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors)
    return Personalization(values=accepted, surcharge=total, non_returnable=template.non_returnable)
