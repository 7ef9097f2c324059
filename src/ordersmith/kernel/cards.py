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


# 13-19 digits, optionally grouped by single spaces or dashes, not part of a longer run of digits
_CANDIDATE = re.compile(r"(?<![\d])(?:\d[ -]?){12,18}\d(?![\d])")


def redact(text: str) -> str:
    """Replace every Luhn-valid 13-19 digit sequence in `text` by its masked form (for logs and stored text).
    Idempotent: a masked number has stars and is not matched again."""

    def masked(match: re.Match[str]) -> str:
        digits = re.sub(r"[ -]", "", match.group(0))
        return mask(digits) if 13 <= len(digits) <= 19 and luhn_valid(digits) else match.group(0)

    return _CANDIDATE.sub(masked, text)


def contains_card_number(text: str) -> bool:
    """Whether `text` holds anything that looks like a real card number (the leak scan uses it)."""
    return redact(text) != text
