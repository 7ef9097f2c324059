"""Address checks the sandbox carrier makes, the clean-up every adapter shares, and the street-address form
(`street1`, `state`, `zip`) EasyPost and Shippo both read and answer in.

A US address is valid when its ZIP code has 5 or 9 digits (`12345`, `12345-6789`, `123456789`) and its region
is a US state, district or territory code. Invariant: when an address is valid but differs from its cleaned form
only by case and spacing, the check returns the cleaned form as `corrected` (never a different place).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ordersmith.fulfillment.carriers.base import Address, AddressCheck

US_REGIONS = frozenset(
    {
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "DC",
        "PR",
        "VI",
        "GU",
        "AS",
        "MP",
        "AA",
        "AE",
        "AP",
    }
)
_SPACES = re.compile(r"\s+")
_ZIP = re.compile(r"([0-9]{5})(?:-?([0-9]{4}))?")


def digits(postal_code: str) -> str:
    """The digits of a postal code (`12345-6789` -> `123456789`)."""
    return "".join(ch for ch in postal_code if ch.isdigit())


def _tidy(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def cleaned(address: Address) -> Address:
    """Spacing collapsed, region, country and postal code upper-case, a US ZIP+4 written `12345-6789`."""
    tidy = replace(
        address,
        name=_tidy(address.name),
        company=_tidy(address.company),
        line1=_tidy(address.line1),
        line2=_tidy(address.line2),
        city=_tidy(address.city),
        region=_tidy(address.region).upper(),
        postal_code=_tidy(address.postal_code).upper(),
        country=_tidy(address.country).upper(),
        phone=_tidy(address.phone),
    )
    match = _ZIP.fullmatch(tidy.postal_code.replace(" ", ""))
    if tidy.country == "US" and match:
        zip5, plus4 = match.groups()
        tidy = replace(tidy, postal_code=f"{zip5}-{plus4}" if plus4 else zip5)
    return tidy


def check_us_address(address: Address) -> AddressCheck:
    """Valid when the shape is right (see the module docstring); outside the US only the country code and a
    postal code are required."""
    tidy = cleaned(address)
    messages = []
    if len(tidy.country) != 2 or not tidy.country.isalpha():
        messages.append("country must be a two-letter ISO code")
    elif tidy.country == "US":
        if not _ZIP.fullmatch(tidy.postal_code):
            messages.append("a US ZIP code has 5 or 9 digits")
        if tidy.region not in US_REGIONS:
            messages.append(f"{tidy.region or 'an empty region'} is not a US state code")
    if not tidy.line1 or not tidy.city:
        messages.append("street and city are required")
    if not tidy.postal_code:
        messages.append("a postal code is required")
    if messages:
        return AddressCheck(valid=False, corrected=None, messages=messages)
    return AddressCheck(valid=True, corrected=None if tidy == address else tidy, messages=[])


def street_form(address: Address) -> dict[str, str]:
    """The address as EasyPost and Shippo take it (`street1`, `street2`, `state`, `zip`)."""
    return {
        "name": address.name,
        "company": address.company,
        "street1": address.line1,
        "street2": address.line2,
        "city": address.city,
        "state": address.region,
        "zip": address.postal_code,
        "country": address.country,
        "phone": address.phone,
    }


def street_check(
    answer: Mapping[str, Any], asked: Address, *, valid: bool, messages: list[str]
) -> AddressCheck:
    """A carrier's verified address (in the street form) as a check of `asked`: `corrected` only when the
    carrier's form differs (the name, country and phone asked for stand where the carrier leaves them out)."""
    if not valid:
        return AddressCheck(valid=False, corrected=None, messages=messages)
    corrected = Address(
        name=str(answer.get("name") or asked.name),
        company=str(answer.get("company") or ""),
        line1=str(answer.get("street1") or ""),
        line2=str(answer.get("street2") or ""),
        city=str(answer.get("city") or ""),
        region=str(answer.get("state") or ""),
        postal_code=str(answer.get("zip") or ""),
        country=str(answer.get("country") or asked.country),
        phone=asked.phone,
    )
    return AddressCheck(valid=True, corrected=None if corrected == asked else corrected, messages=messages)
