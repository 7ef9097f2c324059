"""Text as the documents print it: Latin-1 for the PDF core fonts, amounts, dates and addresses.

Invariant: `printable` returns a string that encodes as Latin-1 for any input, so no name, gift message or emoji
can stop a document from rendering. Latin-1 letters (Zoë, Müller, García) pass through unchanged; other letters
lose their accents (Łukasiewicz → Lukasiewicz, Dvořák → Dvorak); typographic punctuation becomes its ASCII
equivalent; pictographs (emoji) and invisible joiners are dropped; anything else becomes "?".
"""

from __future__ import annotations

import unicodedata
from datetime import date
from functools import lru_cache

from ordersmith.kernel.money import Money

from .model import Party

# Letters and signs that have no decomposition into a Latin-1 base letter plus marks.
_REPLACEMENTS: dict[str, str] = {
    "Ł": "L",
    "ł": "l",
    "Đ": "D",
    "đ": "d",
    "Ħ": "H",
    "ħ": "h",
    "\N{LATIN SMALL LETTER DOTLESS I}": "i",
    "Œ": "OE",
    "œ": "oe",
    "Ŋ": "N",
    "ŋ": "n",
    "Ə": "E",
    "ə": "e",
    "ƒ": "f",
    "\N{LEFT SINGLE QUOTATION MARK}": "'",
    "\N{RIGHT SINGLE QUOTATION MARK}": "'",
    "\N{SINGLE LOW-9 QUOTATION MARK}": ",",
    "\N{SINGLE HIGH-REVERSED-9 QUOTATION MARK}": "'",
    "\N{LEFT DOUBLE QUOTATION MARK}": '"',
    "\N{RIGHT DOUBLE QUOTATION MARK}": '"',
    "\N{DOUBLE LOW-9 QUOTATION MARK}": '"',
    "\N{SINGLE LEFT-POINTING ANGLE QUOTATION MARK}": "<",
    "\N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK}": ">",
    "\N{EN DASH}": "-",
    "\N{EM DASH}": "-",
    "\N{FIGURE DASH}": "-",
    "\N{MINUS SIGN}": "-",
    "\N{HYPHEN}": "-",
    "\N{NON-BREAKING HYPHEN}": "-",
    "•": "*",
    "…": "...",
    "€": "EUR",
    "₹": "INR",
    "₽": "RUB",
    "₺": "TRY",
    "₩": "KRW",
    "№": "No.",
    "→": "->",
    "←": "<-",
    "\u00a0": " ",
    "\u2009": " ",
    "\u202f": " ",
    "\t": " ",
    "\r": "",
}

# Unicode categories printed as nothing: marks left over, format characters (zero-width joiner, variation
# selectors, direction marks), pictographic symbols (emoji), surrogates and private-use code points.
_DROPPED_CATEGORIES = frozenset({"Mn", "Me", "Cf", "So", "Sk", "Cs", "Co"})


@lru_cache(maxsize=4096)
def _character(char: str) -> str:
    if char in _REPLACEMENTS:
        return _REPLACEMENTS[char]
    if ord(char) < 256:
        return char if char == "\n" or unicodedata.category(char) != "Cc" else ""
    if unicodedata.category(char) in _DROPPED_CATEGORIES:
        return ""
    decomposed = unicodedata.normalize("NFKD", char)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    if kept and all(ord(c) < 256 for c in kept):
        return kept
    return "?"


def printable(text: str) -> str:
    """Return `text` in Latin-1, the only characters the PDF core fonts (Helvetica, Courier) can show."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(_character(char) for char in text)


def money_text(money: Money) -> str:
    """Money as printed on a document: `USD 1,234.50`, `JPY 1,200`, `USD -5.00`."""
    return f"{money.currency} {money.amount:,}"


def date_text(day: date) -> str:
    """A date as printed: ISO 8601, which no reader in any country misreads (2026-03-04)."""
    return day.isoformat()


def address_lines(party: Party) -> list[str]:
    """A party's address as lines, top to bottom, without empty lines."""
    lines = [party.name]
    if party.company:
        lines.append(party.company)
    lines.extend(line for line in party.lines if line.strip())
    locality = " ".join(
        part for part in (party.city + ("," if party.region else ""), party.region or "") if part
    )
    lines.append(f"{locality} {party.postal_code}".strip())
    lines.append(party.country)
    lines.extend(contact for contact in (party.phone, party.email) if contact)
    return lines
