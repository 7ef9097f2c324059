"""The one check every write request passes before any route sees it: no NUL character and no card number in the
free text it carries. JSON bodies (every string, key and integer, however deeply nested), console form posts
(url-encoded and multipart), the query string and the `Idempotency-Key` header are scanned; a hit is refused with
422 problem+json naming the field, so nothing is written — and events and outbox payloads, which are written from
stored fields, never see it either. New endpoints are covered without doing anything.

Invariant: a Luhn-valid 13-19 digit number (digit groups joined by single spaces or dashes allowed) reaches a
route only through the vault's card endpoint, the one place whose purpose is to receive it, or in a field whose
content is legitimately a long digit string (`EXEMPT_FIELDS`, and phone numbers up to 15 digits). A gateway's
webhook is not refused (the gateway cannot correct it and would lose the notification): the payments context masks
what it keeps of one.

PostgreSQL cannot store NUL in text and would fail the request with a 500 (SQLite would keep it and hand it to every
reader), hence the NUL check in the same pass.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordersmith.kernel.cards import contains_card_number, redact
from ordersmith.platform.http import problem

NUL_REASON = "must not contain NUL (\\u0000) characters"
CARD_REASON = (
    "looks like a card number: card numbers go to the vault (/vault/v1/cards), never into other fields"
)

# Where a card number is the point: the vault's tokenization endpoint.
CARD_PATHS = frozenset({"/vault/v1/cards"})
# External systems that cannot correct what they send: masked where kept instead (see the module docstring).
UNREFUSED_PREFIXES = ("/api/v1/payment-webhooks/",)
# Fields whose content is legitimately a long digit string that passes Luhn about one time in ten by chance:
# SKUs and vendor SKUs (retailers use the item's GTIN as its SKU), barcodes (GTIN-13/14), carriers' tracking
# numbers (FedEx 15 digits, USPS 20-22 in groups) and passwords (hashed with Argon2, never kept as text). Matched
# on the field's name, list indexes aside.
EXEMPT_FIELDS = frozenset({"sku", "vendor_sku", "barcodes", "tracking", "password", "new_password"})
# Phone numbers run to 15 digits (E.164; mainland China's mobiles are 13 with the country code), so in a phone
# field only a number longer than any phone number (16-19 digits: Visa, Mastercard, Discover, …) is refused.
PHONE_FIELDS = (("phone",), ("phones", "number"))
PHONE_MAX_DIGITS = 15
# A UUID in its canonical 8-4-4-4-12 form (an id a client made, such as a till's sale id) is an id, whatever its
# digits: when several of its groups are all digits they join into a dash-separated run that passes Luhn about one
# time in ten, and the client could not correct it (the id is the record's identity).
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
IDEMPOTENCY_HEADER = b"idempotency-key"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def nul_in_url(scope: Scope) -> str | None:
    """The query parameter (or `path`) whose decoded value holds a NUL character, if one does."""
    if "\x00" in scope.get("path", ""):
        return "path"
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True, errors="replace"):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "") or "query"
    return None


def card_like(text: str, path: tuple[str, ...]) -> bool:
    """Whether `text`, the field at `path` (keys and list indexes), holds what must be a card number."""
    names = tuple(part for part in path if not part.isdigit())
    if names and names[-1] in EXEMPT_FIELDS:
        return False
    if _UUID.fullmatch(text):
        return False
    if any(names[-len(phone) :] == phone for phone in PHONE_FIELDS):
        return sum(char.isdigit() for char in text) > PHONE_MAX_DIGITS and contains_card_number(text)
    return contains_card_number(text)


def text_refusal(text: str, path: tuple[str, ...], *, cards: bool = True) -> str | None:
    """Why the string at `path` is refused (a card number only when `cards`), or None."""
    if "\x00" in text:
        return NUL_REASON
    if cards and card_like(text, path):
        return CARD_REASON
    return None


def json_refusal(value: Any, path: tuple[str, ...] = (), *, cards: bool = True) -> tuple[str, str] | None:
    """The dotted path and reason of the first refused string, key or integer in a parsed JSON body."""
    if isinstance(value, str):
        reason = text_refusal(value, path, cards=cards)
        return (".".join(path) or "body", reason) if reason else None
    if isinstance(value, int) and not isinstance(value, bool):
        reason = text_refusal(str(value), path, cards=cards)
        return (".".join(path) or "body", reason) if reason else None
    if isinstance(value, dict):
        for key, item in value.items():
            reason = text_refusal(key, path, cards=cards)
            if reason is not None:
                return ".".join((*path, _shown(key))), reason
            found = json_refusal(item, (*path, key), cards=cards)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = json_refusal(item, (*path, str(index)), cards=cards)
            if found is not None:
                return found
    return None


def _shown(name: str) -> str:
    """A refused field name as it may be echoed: NUL escaped, a card number masked."""
    return redact(name.replace("\x00", "\\u0000"))


def pairs_refusal(pairs: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The first refused name=value pair of a form or query string."""
    for name, value in pairs:
        reason = text_refusal(name, ()) or text_refusal(value, (name,))
        if reason is not None:
            return _shown(name) or "body", reason
    return None


_PART_NAME = re.compile(rb'name="([^"]*)"')


def multipart_refusal(body: bytes, content_type: bytes) -> tuple[str, str] | None:
    """The first refused part of a multipart form (its name), decoded as text."""
    boundary = content_type.partition(b"boundary=")[2].split(b";")[0].strip(b'"')
    if not boundary:
        return None
    pairs = []
    for part in body.split(b"--" + boundary):
        head, _, content = part.partition(b"\r\n\r\n")
        name = _PART_NAME.search(head)
        if name is not None:
            pairs.append((name.group(1).decode("utf-8", "replace"), content.decode("utf-8", "replace")))
    return pairs_refusal(pairs)


def body_refusal(body: bytes, content_type: bytes, *, cards: bool = True) -> tuple[str, str] | None:
    """The field a request body may not carry, by its content type (JSON whatever the type says); card numbers
    are looked for only when `cards` (not on the vault's card endpoint)."""
    if not body:
        return None
    if content_type.startswith(b"application/x-www-form-urlencoded"):
        return pairs_refusal(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
    if content_type.startswith(b"multipart/form-data"):
        return multipart_refusal(body, content_type)
    text = body.decode("utf-8", "replace")
    # The raw text holds every string's digits as they are unless escaped (\u0034), so a body with neither an
    # escape nor a card-like run anywhere is let through without parsing it twice.
    if "\\u" not in text and "\x00" not in text and not (cards and contains_card_number(text)):
        return None
    try:
        return json_refusal(json.loads(body), cards=cards)
    except ValueError:
        return None  # not JSON: the route's own parsing answers (and echoes none of it)


class RefuseUnsafeText:
    """Refuse a write request carrying a NUL character or a card number in any field: 422 naming the field."""

    def __init__(self, app: ASGIApp, *, file_uploads: frozenset[str] = frozenset()) -> None:
        self.app = app
        # Paths that take a whole file (bulk imports): not buffered here; the importer checks every cell of every
        # row with `text_refusal`, naming the row and column.
        self.file_uploads = file_uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        in_url = nul_in_url(scope)  # every method: a NUL in a GET's filter would fail on PostgreSQL too
        if in_url is not None:
            response = problem(422, "Validation failed", f"{in_url}: {NUL_REASON}", "validation_failed",
                               errors=[{"field": in_url, "message": NUL_REASON}])  # fmt: skip
            await response(scope, receive, send)
            return
        if scope.get("method") in _SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path.startswith(UNREFUSED_PREFIXES) or path in self.file_uploads:
            await self.app(scope, receive, send)
            return
        buffered: list[Message] = []
        chunks: list[bytes] = []
        while True:
            message = await receive()
            buffered.append(message)
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        found = self._refusal(scope, b"".join(chunks), card_path=path in CARD_PATHS)
        if found is not None:
            field, reason = found
            response = problem(
                422,
                "Validation failed",
                f"{field}: {reason}",
                "validation_failed",
                errors=[{"field": field, "message": reason}],
            )
            await response(scope, receive, send)
            return

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    def _refusal(scope: Scope, body: bytes, *, card_path: bool) -> tuple[str, str] | None:
        headers = dict(scope.get("headers", []))
        key = headers.get(IDEMPOTENCY_HEADER)
        if key is not None:
            reason = text_refusal(key.decode("latin-1"), ("Idempotency-Key",))
            if reason is not None:
                return "Idempotency-Key", reason
        query: bytes = scope.get("query_string", b"")
        if query:
            found = pairs_refusal(parse_qsl(query.decode("latin-1"), keep_blank_values=True))
            if found is not None:
                return found
        return body_refusal(body, headers.get(b"content-type", b""), cards=not card_path)
