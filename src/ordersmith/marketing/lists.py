"""Pure rules of segments and list pulls: the rule tree a segment is stored as (its fields, operators and values,
checked before anything is stored), the normalised keys a name, an address and an e-mail are matched by, the
household de-duplication, the suppression file's matching and the seeded split of a pull into key-coded cells.

Invariants: a validated rule tree names only the fields of `FIELDS` with their operators, so compiling it to SQL
never meets an unknown name; the cells of a split add up to exactly the names split (largest remainder), and the
same seed over the same names gives the same cells.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ordersmith.kernel.errors import FieldError, ValidationFailed

MAX_RULES = 200  # leaves and groups in one tree: a segment is read by people, and its SQL stays small
MAX_DEPTH = 8
MAX_VALUES = 500  # values of one `in` list
MAX_DAYS = 36_500


def _scores(value: Any) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
        return "must be a score from 1 to 5"
    return None


def _days(value: Any) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_DAYS:
        return f"must be a whole number of days from 0 to {MAX_DAYS}"
    return None


def _day(value: Any) -> str | None:
    if isinstance(value, str):
        try:
            date.fromisoformat(value)
            return None
        except ValueError:
            pass
    return "must be a date (YYYY-MM-DD)"


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _texts(check: Callable[[str], bool], what: str) -> Callable[[Any], str | None]:
    def validate(value: Any) -> str | None:
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_VALUES:
            return f"must be a list of 1 to {MAX_VALUES} {what}"
        for item in value:
            if not isinstance(item, str) or not check(item):
                return f"{item!r} is not {what}"
        return None

    return validate


def _score_list(value: Any) -> str | None:
    if not isinstance(value, list) or not 1 <= len(value) <= 5:
        return "must be a list of scores from 1 to 5"
    return next((problem for item in value if (problem := _scores(item))), None)


def _code(text: str) -> bool:
    return 1 <= len(text) <= 64 and "\x00" not in text and text.strip() == text and bool(text)


_CELL = re.compile(r"[1-5]{3}")
_COUNTRY = re.compile(r"[A-Za-z]{2}")

_IN_CODES = _texts(_code, "codes")
_Validator = Callable[[Any], str | None]

# field -> operator -> how its value is checked. The SQL of each lives in the service (`segments.compile`).
FIELDS: dict[str, dict[str, _Validator]] = {
    "rfm_cell": {"in": _texts(lambda t: bool(_CELL.fullmatch(t)), "RFM cells like '555'")},
    "recency": {"in": _score_list, "gte": _scores, "lte": _scores},
    "frequency": {"in": _score_list, "gte": _scores, "lte": _scores},
    "monetary": {"in": _score_list, "gte": _scores, "lte": _scores},
    "purchased_division": {"in": _IN_CODES},
    "purchased_style": {"in": _IN_CODES},
    "purchased_item": {"in": _IN_CODES},
    "purchased_category": {"in": _IN_CODES},
    "channel": {"in": _IN_CODES},
    "country": {"in": _texts(lambda t: bool(_COUNTRY.fullmatch(t)), "two-letter country codes")},
    "region": {"in": _texts(lambda t: 1 <= len(t) <= 100 and "\x00" not in t, "regions")},
    "postal_prefix": {
        "starts_with": _texts(lambda t: 1 <= len(t) <= 20 and "\x00" not in t, "postal prefixes")
    },
    "last_order": {"within_days": _days, "not_within_days": _days, "on_or_after": _day, "before": _day},
    "do_not_mail": {"is": _boolean},
    "do_not_email": {"is": _boolean},
    "original_source_code": {"in": _IN_CODES, "starts_with": _IN_CODES},
    "last_source_code": {"in": _IN_CODES, "starts_with": _IN_CODES},
}
RFM_FIELDS = frozenset({"rfm_cell", "recency", "frequency", "monetary"})


_CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")


def check_code(text: str, field: str) -> str:
    """A segment's or mail file's code as the API takes it (letters, digits, `_`, `-`; at most 40), upper-cased.
    Raises ValidationFailed naming `field` (the CLI reaches here without the API's schema)."""
    if not _CODE_PATTERN.fullmatch(text):
        raise ValidationFailed.on(
            field, "1 to 40 letters, digits, '_' or '-', starting with a letter or digit"
        )
    return text.upper()


def check_name(text: str, field: str, longest: int = 200) -> str:
    if not text.strip() or len(text) > longest or "\x00" in text:
        raise ValidationFailed.on(field, f"1 to {longest} characters, no NUL")
    return text


def validate_tree(tree: Any, field: str = "rules") -> None:
    """Check a rule tree: groups `{"all": [...]}`, `{"any": [...]}`, `{"not": rule}` and leaves
    `{"field": name, "op": operator, "value": value}`.

    Raises:
        ValidationFailed: naming the first wrong part by its path (`rules.all.2.field`: unknown field 'x').
    """
    count = [0]

    def walk(node: Any, path: str, depth: int) -> None:
        count[0] += 1
        if count[0] > MAX_RULES:
            raise ValidationFailed.on(path, f"a segment has at most {MAX_RULES} rules and groups")
        if depth > MAX_DEPTH:
            raise ValidationFailed.on(path, f"groups nest at most {MAX_DEPTH} deep")
        if not isinstance(node, dict):
            raise ValidationFailed.on(
                path, "must be an object: a group (all, any, not) or a rule (field, op, value)"
            )
        groups = [k for k in ("all", "any", "not") if k in node]
        if groups:
            if len(node) != 1:
                raise ValidationFailed.on(path, "a group has exactly one key: all, any or not")
            key = groups[0]
            if key == "not":
                walk(node[key], f"{path}.not", depth + 1)
                return
            children = node[key]
            if not isinstance(children, list) or not children:
                raise ValidationFailed.on(f"{path}.{key}", "must be a non-empty list of rules")
            for n, child in enumerate(children):
                walk(child, f"{path}.{key}.{n}", depth + 1)
            return
        extra = sorted(set(node) - {"field", "op", "value"})
        if extra:
            raise ValidationFailed.on(f"{path}.{extra[0]}", "unknown key (a rule has field, op and value)")
        name = node.get("field")
        if name not in FIELDS:
            raise ValidationFailed.on(f"{path}.field", f"unknown field {name!r}; known: {', '.join(FIELDS)}")
        operators = FIELDS[name]
        op = node.get("op")
        if op not in operators:
            raise ValidationFailed.on(f"{path}.op", f"{name} takes {', '.join(operators)}, not {op!r}")
        if "value" not in node:
            raise ValidationFailed.on(f"{path}.value", "is required")
        problem = operators[op](node["value"])
        if problem:
            raise ValidationFailed.on(f"{path}.value", problem)

    walk(tree, field, 0)


def fields_of(tree: Any) -> set[str]:
    """The fields a validated tree names."""
    if "field" in tree:
        return {tree["field"]}
    if "not" in tree:
        return fields_of(tree["not"])
    found: set[str] = set()
    for child in tree.get("all", tree.get("any", [])):
        found |= fields_of(child)
    return found


# --- normalised keys ----------------------------------------------------------------------------------------------


_NOT_KEPT = re.compile(r"[^a-z0-9 ]")


def fold(text: str) -> str:
    """Lower case, punctuation to spaces, runs of spaces to one."""
    return " ".join(_NOT_KEPT.sub(" ", text.lower()).split())


def address_key(*, country: str, postal_code: str, line1: str) -> str:
    """A street address's household key: country, postal code without spaces and the folded first line. The same
    key orders keep for their first ship-to (`orders.address_key`), so a mailed address matches an order's."""
    text = f"{country.upper()}|{postal_code.replace(' ', '').upper()}|{fold(line1)}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def name_key(name: str) -> str:
    return fold(name).replace(" ", "")


def email_key(email: str) -> str:
    return email.strip().lower()


# --- the pull -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """One selected customer with the mailing address the pull would use."""

    customer_id: Any
    number: str
    name: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str
    email: str
    last_order_on: date | None

    @property
    def household(self) -> str:
        return address_key(country=self.country, postal_code=self.postal_code, line1=self.line1)


@dataclass(frozen=True)
class SuppressionEntry:
    """One row of an uploaded suppression file: an e-mail, an address, or a name at an address."""

    name: str = ""
    line1: str = ""
    postal_code: str = ""
    country: str = ""
    email: str = ""


@dataclass(frozen=True)
class SuppressionKeys:
    emails: frozenset[str]
    addresses: frozenset[str]  # whole households
    named: frozenset[tuple[str, str]]  # (address key, name key): one person at an address

    def matches(self, c: Candidate) -> bool:
        if c.email and email_key(c.email) in self.emails:
            return True
        household = c.household
        return household in self.addresses or (household, name_key(c.name)) in self.named


def suppression_keys(entries: Iterable[SuppressionEntry], field: str = "suppression_file") -> SuppressionKeys:
    """The keys of a suppression file. Raises ValidationFailed naming a row that has neither an e-mail nor a
    street address with its postal code and country."""
    emails, addresses, named = set(), set(), set()
    for n, entry in enumerate(entries):
        has_address = bool(entry.line1.strip() and entry.postal_code.strip() and entry.country.strip())
        if not entry.email.strip() and not has_address:
            raise ValidationFailed.on(f"{field}.{n}", "needs an email, or line1 with postal_code and country")
        if entry.email.strip():
            emails.add(email_key(entry.email))
        if has_address:
            key = address_key(country=entry.country, postal_code=entry.postal_code, line1=entry.line1)
            if entry.name.strip():
                named.add((key, name_key(entry.name)))
            else:
                addresses.add(key)
    return SuppressionKeys(frozenset(emails), frozenset(addresses), frozenset(named))


def one_per_household(candidates: Sequence[Candidate]) -> list[Candidate]:
    """One name per household: the most recent buyer at an address (then the lowest customer number)."""
    best: dict[str, Candidate] = {}
    for c in candidates:
        household = c.household  # a hash: computed once per candidate
        held = best.get(household)
        if held is None or _rank(c) < _rank(held):
            best[household] = c
    return sorted(best.values(), key=lambda c: c.number)


def _rank(c: Candidate) -> tuple[int, str]:
    ordinal = c.last_order_on.toordinal() if c.last_order_on else 0
    return (-ordinal, c.number)


@dataclass(frozen=True)
class Cell:
    key_code: str
    percent: Decimal


def cell_sizes(total: int, percents: Sequence[Decimal]) -> list[int]:
    """Split `total` names by percentages that add up to 100, by largest remainder (ties to the earlier cell)."""
    assert sum(percents) == 100, "cells' percentages add up to 100"
    exact = [Decimal(total) * p / 100 for p in percents]
    sizes = [int(e) for e in exact]
    order = sorted(range(len(percents)), key=lambda n: (-(exact[n] - sizes[n]), n))
    for n in order[: total - sum(sizes)]:
        sizes[n] += 1
    assert sum(sizes) == total
    return sizes


def split(candidates: Sequence[Candidate], cells: Sequence[Cell], seed: int) -> list[tuple[str, Candidate]]:
    """Deal the names into key-coded cells at random (the seed makes it repeatable), each cell its share."""
    names = sorted(candidates, key=lambda c: c.number)
    random.Random(seed).shuffle(names)
    out: list[tuple[str, Candidate]] = []
    start = 0
    for cell, size in zip(cells, cell_sizes(len(names), [c.percent for c in cells]), strict=True):
        out.extend((cell.key_code, c) for c in names[start : start + size])
        start += size
    return sorted(out, key=lambda pair: (pair[0], pair[1].number))


def check_cells(cells: Sequence[Cell], field: str = "cells") -> None:
    """Raises ValidationFailed unless the cells have distinct key codes and percentages above 0 adding to 100."""
    if not cells:
        raise ValidationFailed.on(field, "needs at least one key-coded cell")
    seen: set[str] = set()
    for n, cell in enumerate(cells):
        if not _CODE_PATTERN.fullmatch(cell.key_code):
            raise ValidationFailed.on(f"{field}.{n}.key_code", f"{cell.key_code!r} is not a source code")
        if cell.key_code.upper() in seen:
            raise ValidationFailed.on(f"{field}.{n}.key_code", f"{cell.key_code} is given twice")
        seen.add(cell.key_code.upper())
        if not 0 < cell.percent <= 100:
            raise ValidationFailed.on(f"{field}.{n}.percent", "must be above 0 and at most 100")
    if sum(c.percent for c in cells) != 100:
        raise ValidationFailed(
            f"{field}: the percentages add up to {sum(c.percent for c in cells)}, not 100",
            errors=[FieldError(field, "the cells' percentages must add up to 100")],
        )
