"""Card numbers as text: the Luhn check, masking, and redaction of anything that looks like a card number. Pure,
so every layer can keep card numbers out of what it writes (logs, stored text, events).

Invariant: `redact` leaves no Luhn-valid 13-19 digit sequence behind, and is idempotent.
"""

from __future__ import annotations

import re


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check every payment card number passes."""
    if not digits.isdigit() or not digits:
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def mask(digits: str) -> str:
    """First six and last four digits, the rest as stars (the most PCI DSS allows to be shown)."""
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:] if len(digits) > 10 else "*" * len(digits)


# A run of digit groups joined by single spaces or dashes, not part of a longer run of digits
_RUN = re.compile(r"(?<!\d)\d+(?:[ -]\d+)*(?!\d)")
_GROUP = re.compile(r"\d+")


def _masked_run(run: str) -> str:
    """Mask every stretch of whole groups in `run` that holds 13-19 digits and passes Luhn (longest first, left to
    right), so digits written before or after a card number ("… 1111 12") do not hide it."""
    groups = [(g.start(), g.end()) for g in _GROUP.finditer(run)]
    out: list[str] = []
    done = 0  # characters of `run` already copied to `out`
    first = 0
    while first < len(groups):
        found = None
        digits = ""
        for last in range(first, len(groups)):
            digits += run[groups[last][0] : groups[last][1]]
            if len(digits) > 19:
                break
            if len(digits) >= 13 and luhn_valid(digits):
                found = (last, digits)
        if found is None:
            first += 1
            continue
        last, digits = found
        out += [run[done : groups[first][0]], mask(digits)]
        done = groups[last][1]
        first = last + 1
    return "".join(out) + run[done:]


def redact(text: str) -> str:
    """Replace every Luhn-valid 13-19 digit sequence in `text` (digits grouped by single spaces or dashes allowed)
    by its masked form, for logs and stored text. Idempotent: a masked number has stars and is not matched again."""
    return _RUN.sub(lambda match: _masked_run(match.group(0)), text)


# 13 digits with at most one space or dash between each: what any card number `redact` masks contains
_THIRTEEN_DIGITS = re.compile(r"\d(?:[ -]?\d){12}")


def may_hold_card_number(text: str) -> bool:
    """Whether `text` has 13 digits in one run: False means no part of it is a card number (a bulk import asks it
    once for a whole row's cells joined by a separator no run crosses, before asking cell by cell)."""
    return len(text) >= 13 and _THIRTEEN_DIGITS.search(text) is not None


def contains_card_number(text: str) -> bool:
    """Whether `text` holds anything that looks like a real card number (the leak scan uses it). Text without 13
    digits in one run is answered by a single regex search (every cell of a bulk import is asked)."""
    if len(text) < 13 or _THIRTEEN_DIGITS.search(text) is None:
        return False
    return redact(text) != text
