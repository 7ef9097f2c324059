"""Pure customer rules: normalising e-mails, phones and postal codes; search keys (name tokens, phonetic codes,
phone digits); ranking; and the duplicate tests.

Invariants: a stored e-mail is normalised (lower-case domain and local part, IDNA domain); a stored phone is
E.164; a stored postal code matches its country's format (where the country has postal codes).
"""

from __future__ import annotations

import contextlib
import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from postal_codes_tools.postal_codes import (  # type: ignore[import-untyped]
    has_postal_code,
    verify_postal_code_format,
)
from rapidfuzz import fuzz

CUSTOMER_TYPES = ("consumer", "business")
STATUSES = ("prospect", "buyer")
ADDRESS_KINDS = ("bill_to", "ship_to")
NUMBER_PREFIX = "C-"
FIRST_NUMBER = 100_001
# Search key kinds held in the search index: what was typed is turned into the same keys.
KEY_KINDS = ("name", "sound", "full", "sounds", "phone", "email", "postal", "number")
# Fields that are money: credit on account, payment terms, tax exemption and the price group (trade prices). Each
# needs its own scope on top of `customers:write`, on create and on edit.
GUARDED_FIELDS: dict[str, str] = {
    "credit_limit": "customers:credit",
    "payment_terms": "customers:credit",
    "tax_exempt": "customers:tax",
    "tax_certificate": "customers:tax",
    "tax_exempt_until": "customers:tax",
    "customer_group": "customers:pricing",
}


def missing_scope(changed: Iterable[str], granted: frozenset[str]) -> tuple[str, str] | None:
    """The first changed money field the caller may not set, with the scope it needs (None: all allowed)."""
    for name in sorted(changed):
        scope = GUARDED_FIELDS.get(name)
        if scope is not None and scope not in granted:
            return name, scope
    return None


class Invalid(ValueError):
    """A value that cannot be stored; the message says why, in words an agent can act on."""


# A local part of plain ASCII dot-atoms: valid on its own whatever the domain (up to 64 characters).
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*")


@functools.lru_cache(maxsize=4096)
def normalize_email(raw: str) -> str:
    """The address as stored: checked (syntax only) and lower-cased. Cached: a bulk import checks each row's
    address in the schema, the plan and the write (the check is a few hundred microseconds).

    An address whose local part is plain ASCII dot-atoms has only its domain checked by email-validator (cached
    by domain: the costly part, and a file's addresses share a few domains); the answer is the one checking the
    whole address gives (tests/unit/test_customer_rules.py compares both)."""
    text = raw.strip()
    local, at, domain = text.rpartition("@")
    if at and len(local) <= 64 and len(text) <= 254 and domain.isascii() and _PLAIN_LOCAL.fullmatch(local):
        try:
            return f"{local.lower()}@{_normal_domain(domain)}"
        except Invalid:
            pass  # the whole address's check words the refusal
    return _normalize_whole(text)


@functools.lru_cache(maxsize=1024)
def _normal_domain(domain: str) -> str:
    return _normalize_whole(f"x@{domain}").partition("@")[2]


def _normalize_whole(text: str) -> str:
    try:
        email = validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise Invalid(str(exc)) from None
    return email.lower()


def normalize_phone(raw: str, default_country: str) -> str:
    """E.164 (`+14155550132`) from what was typed, in any common format; a national number takes the default
    country (the customer's, else the retailer's)."""
    try:
        number = phonenumbers.parse(raw, default_country.upper())
    except phonenumbers.NumberParseException:
        raise Invalid(f"{raw!r} is not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise Invalid(f"{raw!r} is not a valid phone number for {default_country.upper()}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str, home_country: str = "US") -> str:
    """A stored (E.164) phone as people read it: the national format for a number of the home country
    (`(303) 555-0167`), the international one otherwise (`+44 20 7946 0958`); anything unparsable as it is."""
    try:
        number = phonenumbers.parse(e164, home_country.upper())
    except phonenumbers.NumberParseException:
        return e164
    same = phonenumbers.region_code_for_number(number) == home_country.upper()
    style = phonenumbers.PhoneNumberFormat.NATIONAL if same else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, style)


@functools.lru_cache(maxsize=4096)
def normalize_postal_code(country: str, raw: str) -> str:
    """Upper-case with single spaces, checked against the country's format (offline rules). Cached: an import's
    rows repeat a town's few codes."""
    code = " ".join(raw.upper().split())
    country = country.upper()
    if not has_postal_code(country):
        if code:
            raise Invalid(f"{country} has no postal codes")
        return ""
    if not verify_postal_code_format(code, country):
        raise Invalid(f"{raw!r} is not a valid postal code for {country}")
    return code


_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Lower-case, accents removed, anything but letters and digits turned into single spaces."""
    if text.isascii():  # nothing to decompose: ASCII case-folds to lower case
        plain = text.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", text.casefold())
        plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NOT_ALPHANUMERIC.sub(" ", plain).split())


_SOUNDEX = {**dict.fromkeys("bfpv", "1"), **dict.fromkeys("cgjkqsxz", "2"), **dict.fromkeys("dt", "3"),
            "l": "4", **dict.fromkeys("mn", "5"), "r": "6"}  # fmt: skip


@functools.lru_cache(maxsize=4096)
def soundex(word: str) -> str:
    """American Soundex (`Smith`, `Smyth` → `s530`): misspelt names still find each other."""
    letters = [ch for ch in fold(word) if ch.isalpha()]
    if not letters:
        return ""
    code, last = letters[0], _SOUNDEX.get(letters[0], "")
    for ch in letters[1:]:
        digit = _SOUNDEX.get(ch, "")
        if digit and digit != last:
            code += digit
        if ch not in "hw":
            last = digit
    return (code + "000")[:4]


@dataclass(frozen=True)
class Searchable:
    """What a customer is found by."""

    number: str
    names: list[str]  # person and company names
    emails: list[str]
    phones: list[str]  # E.164
    postal_codes: list[str]


def search_keys(customer: Searchable) -> set[tuple[str, str]]:
    """(kind, key) pairs for the search index: name tokens and their Soundex codes, phone digits (whole and the
    last 7), e-mails, postal codes without spaces, and the number."""
    keys: set[tuple[str, str]] = {("number", customer.number.upper())}
    for name in customer.names:
        for token in fold(name).split():
            keys.add(("name", token))
            if token.isalpha():
                keys.add(("sound", soundex(token)))
    # The whole person, both ways round ("jane smith", "smith jane"), and its sounds: a two-word query is one
    # index range instead of two large ones intersected.
    person = [t for name in customer.names[:2] for t in fold(name).split()]
    if len(person) >= 2:
        for order in (person, person[::-1]):
            keys.add(("full", " ".join(order)))
            if all(t.isalpha() for t in order):
                keys.add(("sounds", " ".join(soundex(t) for t in order)))
    for phone in customer.phones:
        digits = phone.lstrip("+")
        keys |= {("phone", digits), ("phone", digits[-7:])}
    keys |= {("email", email) for email in customer.emails}
    keys |= {("postal", code.replace(" ", "")) for code in customer.postal_codes}
    return {(kind, key[:120]) for kind, key in keys if key}


@dataclass(frozen=True)
class Query:
    """What was typed, read as every kind of key it could be."""

    text: str
    exact: list[tuple[str, str]]  # keys to match exactly
    prefixes: list[tuple[str, str]]  # keys to match by prefix (name tokens, e-mail, number)
    name_tokens: list[str]
    whole_phone: str | None = None  # the phone key of the whole number typed (E.164 digits), if it is one


def parse_query(text: str, default_country: str) -> Query:
    raw = text.strip()
    exact: list[tuple[str, str]] = []
    prefixes: list[tuple[str, str]] = []
    tokens = fold(raw).split()
    if "@" in raw:  # an e-mail is looked up as an e-mail only (its words are not names)
        return Query(text=raw, exact=[], prefixes=[("email", raw.lower())], name_tokens=[])
    digits = re.sub(r"\D", "", raw)
    whole_phone = None
    if len(digits) >= 7 and len(digits) >= len(re.sub(r"[\s().+-]", "", raw)) - 1:
        with contextlib.suppress(Invalid):
            whole_phone = normalize_phone(raw, default_country).lstrip("+")
            exact.append(("phone", whole_phone))
        exact.append(("phone", digits[-7:]))
    if raw.upper().startswith(NUMBER_PREFIX):
        return Query(text=raw, exact=[], prefixes=[("number", raw.upper())], name_tokens=[])
    if digits and digits == raw:
        prefixes.append(("number", NUMBER_PREFIX + raw))
    compact = raw.upper().replace(" ", "")
    if 3 <= len(compact) <= 10 and any(ch.isdigit() for ch in compact):
        exact.append(("postal", compact))
    words = [t for t in tokens if t.isalpha()]
    if len(words) >= 2:  # a person: first and last name (either order), typed in part or misspelt
        prefixes.append(("full", " ".join(words)))
        if len(words[-1]) >= 3:
            exact.append(("sounds", " ".join(soundex(t) for t in words)))
    else:
        for token in words:
            prefixes.append(("name", token))
            if len(token) >= 3:
                exact.append(("sound", soundex(token)))
    return Query(
        text=raw,
        exact=exact,
        prefixes=prefixes,
        name_tokens=[t for t in tokens if t.isalpha()],
        whole_phone=whole_phone,
    )


def rank(query: Query, display_name: str, matched_kinds: set[str], *, whole_phone: bool = False) -> float:
    """Higher is better: exact contact matches first — the whole phone number typed above a number that only
    shares its last seven digits — then how closely the name matches what was typed."""
    score = 0.0
    if matched_kinds & {"phone", "email", "number"}:
        score += 200
    if whole_phone:
        score += 150
    if "postal" in matched_kinds:
        score += 50
    if query.name_tokens:
        score += fuzz.token_set_ratio(" ".join(query.name_tokens), fold(display_name))
    return score


def likely_duplicate_reasons(a: Searchable, b: Searchable, a_name: str, b_name: str) -> list[str]:
    """Why two customers look like the same person: same e-mail, same phone, or the same name at one postal code."""
    reasons: list[str] = []
    if set(a.emails) & set(b.emails):
        reasons.append("same e-mail")
    if set(a.phones) & set(b.phones):
        reasons.append("same phone")
    if fold(a_name) and fold(a_name) == fold(b_name) and set(a.postal_codes) & set(b.postal_codes):
        reasons.append("same name and postal code")
    return reasons
