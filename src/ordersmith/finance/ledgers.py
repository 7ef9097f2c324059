"""Adapters to accounting packages that take journal entries through an API: QuickBooks Online and Dynamics 365
Business Central. Each pushes one balanced `formats.ExportEntry` at a time and answers the package's id for it;
neither touches the database (the caller records results, and keeps QuickBooks' rotating refresh token through a
`TokenStore`).

**QuickBooks Online** (Accounting API v3, JSON): OAuth 2.0 — the access token (an hour) comes from Intuit's token
endpoint for the latest refresh token (`grant_type=refresh_token`, the app's client id and secret as HTTP Basic
credentials); Intuit answers with a new refresh token, which replaces the old one at once. Accounts are found by
number through the query endpoint (`select Id, AcctNum, AccountType from Account where AcctNum = '…'`), once per
account per push; a line on an Accounts Receivable account names the customer its invoice is for (found by
DisplayName, created when missing, remembered), else the customer the settings give; one on Accounts Payable the
vendor the settings give, as QuickBooks requires (`Entity` of `Type` Customer / Vendor with its `EntityRef`).
An entry is `POST /v3/company/{realmId}/journalentry?requestid=…&minorversion=…` with `TxnDate`,
`DocNumber` (≤ 21), `PrivateNote`, `CurrencyRef` and one `JournalEntryLineDetail` line per journal line
(`PostingType` Debit or Credit, `AccountRef`, a positive `Amount`). Intuit answers a repeated `requestid` with its
first answer instead of acting again, so resending an entry whose answer was lost cannot create it twice. A 401
refreshes the access token once and retries; 429 and 5xx are retried after a back-off; a `Fault` (a 400, or a 200
carrying one) refuses the entry with Intuit's message.

**Business Central** (API v2.0): OAuth 2.0 client credentials from Microsoft Entra ID (`scope` the API's
`.default`). Each journal line is `POST …/companies({id})/journals({id})/journalLines` (`accountType`
"G/L Account", `accountNumber`, `postingDate`, `documentNumber` ≤ 20, `externalDocumentNumber` ≤ 20 — the entry's
short key — signed `amount`, `description` ≤ 50). Business Central has no idempotency key, so an entry is pushed
exactly once by looking first: `GET journalLines?$filter=externalDocumentNumber eq '…'`; all its lines there →
done; some → they are deleted and every line is posted again; none → posted. Errors come as
`{"error": {"code", "message"}}`: a 400 refuses the entry (its lines already posted are deleted again).
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import httpx

from ordersmith.finance.formats import ExportEntry
from ordersmith.kernel.money import Money

QBO_DOC_NUMBER = 21
QBO_NOTE = 4000
QBO_DESCRIPTION = 4000
BC_DOCUMENT_NUMBER = 20
BC_DESCRIPTION = 50
RETRIES = 4  # attempts after a 429, a 5xx or a dropped connection, waiting backoff_s, twice that, … between


class EntryRefused(Exception):
    """The package refused this entry (its message says why): the entry fails, the push goes on."""


class LedgerUnavailable(Exception):
    """The package cannot be reached or will not let us in (after retries): the push stops, nothing is lost."""


class _Ambiguous(Exception):
    """A write whose outcome is unknown (a 5xx or a dropped connection): look before writing again."""


class TokenStore(Protocol):
    def load(self) -> str | None: ...

    def save(self, token: str) -> None: ...


def short_key(entry_key: str) -> str:
    """A 20-character key for an entry, where the package takes no more (Business Central's external document
    number): 100 bits of the entry id's SHA-256 in base32, so distinct entries never share one in practice."""
    digest = hashlib.sha256(entry_key.encode()).digest()
    return "OS" + base64.b32encode(digest).decode()[:18]


def _number(minor: int, currency: str) -> float:
    """An amount as a JSON number: a float whose shortest text is exactly the decimal amount."""
    amount = Money.from_minor(minor, currency).amount
    value: float = float(amount)
    if Decimal(repr(value)) != amount:
        raise EntryRefused(f"{amount} {currency} cannot be sent exactly as a JSON number")
    return value


def _text(value: str, length: int) -> str:
    return " ".join(value.split())[:length]


@dataclass
class _Http:
    client: httpx.Client
    backoff_s: float
    sleep: Callable[[float], None] = time.sleep

    def send(
        self, method: str, url: str, *, ambiguous_is_final: bool = False, **kwargs: Any
    ) -> httpx.Response:
        """Send, retrying a 429 (never acted on), and — unless `ambiguous_is_final` — a 5xx or a dropped
        connection; an answer still refused after the retries raises LedgerUnavailable."""
        last = ""
        for attempt in range(RETRIES + 1):
            if attempt:
                self.sleep(self._wait(attempt, last))
            try:
                response = self.client.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                if ambiguous_is_final:
                    raise _Ambiguous(str(exc)) from exc
                last = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code == 429:
                last = f"429:{response.headers.get('Retry-After', '')}"
                continue
            if response.status_code >= 500:
                if ambiguous_is_final:
                    raise _Ambiguous(f"HTTP {response.status_code}")
                last = f"HTTP {response.status_code}"
                continue
            return response
        raise LedgerUnavailable(f"{method} {url.split('?')[0]} failed after {RETRIES + 1} tries ({last})")

    def _wait(self, attempt: int, last: str) -> float:
        wait: float = self.backoff_s * 2.0 ** (attempt - 1)
        if last.startswith("429:") and last[4:].isdigit():
            wait = max(wait, min(float(last[4:]), 60.0))
        return wait


# --- QuickBooks Online -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QboConfig:
    client_id: str
    client_secret: str
    refresh_token: str  # the first connection's; the latest is in the TokenStore once used
    realm_id: str
    base_url: str
    token_url: str
    minor_version: int
    customer: str = ""  # the display name of the customer every accounts receivable line names
    vendor: str = ""  # … and of the vendor every accounts payable line names


# QuickBooks wants a name on every line of these account types: (entity type, the config field naming it).
ENTITY_FOR = {"Accounts Receivable": ("Customer", "customer"), "Accounts Payable": ("Vendor", "vendor")}
QBO_DISPLAY_NAME = 500


@dataclass(frozen=True)
class QboCustomer:
    """One of our customers, as the receivable lines of an entry name them in QuickBooks (ADR 0040)."""

    number: str
    name: str

    @property
    def display_name(self) -> str:
        """`Name (C-000123)`: unique in QuickBooks (DisplayName is unique across customers, vendors and employees,
        and our number keeps two customers of one name apart), without the colon QuickBooks refuses."""
        suffix = f" ({self.number})"
        name = " ".join("".join(ch if ch.isprintable() and ch != ":" else " " for ch in self.name).split())
        return name[: QBO_DISPLAY_NAME - len(suffix)] + suffix


def _quoted(value: str) -> str:
    """A string literal of Intuit's query language."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fault(body: Any) -> str | None:
    """Intuit's `Fault` as one line (every error's Message and Detail), or None when the body has none."""
    if not isinstance(body, dict) or "Fault" not in body:
        return None
    errors = body["Fault"].get("Error") or [{}]
    parts = []
    for error in errors:
        message, detail = error.get("Message", ""), error.get("Detail", "")
        code = error.get("code", "")
        parts.append(f"{message}: {detail} (code {code})" if detail else f"{message} (code {code})")
    return "; ".join(parts)[:480]


@dataclass
class QuickBooksOnline:
    config: QboConfig
    tokens: TokenStore
    http: _Http
    access_token: str | None = None
    accounts: dict[str, tuple[str, str]] = field(default_factory=dict)  # number -> (Account Id, AccountType)
    entities: dict[str, str] = field(default_factory=dict)  # entity type -> its Id (the configured name's)
    customers: dict[str, str] = field(default_factory=dict)  # our customer number -> QuickBooks Customer Id
    remember: Callable[[QboCustomer, str], None] | None = (
        None  # keeps a customer found or made (no transaction)
    )

    def _refresh(self) -> None:
        refresh = self.tokens.load() or self.config.refresh_token
        if not (self.config.client_id and self.config.realm_id and refresh):
            raise LedgerUnavailable(
                "QuickBooks Online is not connected: set ORDERSMITH_QBO_CLIENT_ID, _CLIENT_SECRET, _REALM_ID "
                "and _REFRESH_TOKEN"
            )
        response = self.http.send(
            "POST",
            self.config.token_url,
            data={"grant_type": "refresh_token", "refresh_token": refresh},
            auth=(self.config.client_id, self.config.client_secret),
            headers={"Accept": "application/json"},
        )
        body = _json(response)
        if response.status_code != 200 or "access_token" not in body:
            error = body.get("error", f"HTTP {response.status_code}") if isinstance(body, dict) else "?"
            raise LedgerUnavailable(f"Intuit refused the refresh token ({error}): connect the app again")
        self.access_token = str(body["access_token"])
        if body.get("refresh_token"):
            self.tokens.save(str(body["refresh_token"]))  # Intuit rotates them: the old one may stop working

    def _call(self, method: str, path: str, *, params: dict[str, str], json: Any = None) -> httpx.Response:
        if self.access_token is None:
            self._refresh()
        url = f"{self.config.base_url}/v3/company/{self.config.realm_id}/{path}"
        params = {**params, "minorversion": str(self.config.minor_version)}
        for refreshed in (False, True):
            response = self.http.send(
                method, url, params=params, json=json,
                headers={"Authorization": f"Bearer {self.access_token}", "Accept": "application/json"},
            )  # fmt: skip
            if response.status_code != 401 or refreshed:
                break
            self._refresh()  # the access token expired (an hour) or was revoked: once
        if response.status_code == 401:
            raise LedgerUnavailable(f"QuickBooks Online refused the access token: {_fault(_json(response))}")
        if response.status_code == 403:
            raise LedgerUnavailable(f"QuickBooks Online forbids this: {_fault(_json(response))}")
        return response

    def _query(self, statement: str, entity: str, what: str) -> list[dict[str, Any]]:
        response = self._call("GET", "query", params={"query": statement})
        body = _json(response)
        if (fault := _fault(body)) is not None or response.status_code != 200:
            raise EntryRefused(f"looking up {what}: {fault or response.status_code}")
        found: list[dict[str, Any]] = body.get("QueryResponse", {}).get(entity, [])
        return found

    def account(self, number: str) -> tuple[str, str]:
        """QuickBooks' (Id, AccountType) of the account numbered `number` (looked up once per push)."""
        if number not in self.accounts:
            statement = f"select Id, AcctNum, AccountType from Account where AcctNum = {_quoted(number)}"  # noqa: S608
            found = [
                a
                for a in self._query(statement, "Account", f"account {number}")
                if a.get("AcctNum") == number
            ]
            if not found:
                raise EntryRefused(f"QuickBooks Online has no account numbered {number}")
            self.accounts[number] = (str(found[0]["Id"]), str(found[0].get("AccountType", "")))
        return self.accounts[number]

    def customer(self, customer: QboCustomer) -> str:
        """QuickBooks' Customer Id for one of ours: remembered, else found by DisplayName, else created (under a
        requestid of our number, so a create whose answer was lost is answered again, not made twice)."""
        if customer.number in self.customers:
            return self.customers[customer.number]
        name = customer.display_name
        statement = f"select Id, DisplayName from Customer where DisplayName = {_quoted(name)}"  # noqa: S608
        found = [
            c
            for c in self._query(statement, "Customer", f"customer {name!r}")
            if c.get("DisplayName") == name
        ]
        if found:
            remote = str(found[0]["Id"])
        else:
            response = self._call("POST", "customer", params={"requestid": f"customer-{customer.number}"[:50]},
                                  json={"DisplayName": name})  # fmt: skip
            answer = _json(response)
            if (fault := _fault(answer)) is not None:
                raise EntryRefused(f"creating customer {name!r}: {fault}")
            if response.status_code != 200 or "Customer" not in answer:
                raise EntryRefused(
                    f"creating customer {name!r}: QuickBooks Online answered {response.status_code}"
                )
            remote = str(answer["Customer"]["Id"])
        self.customers[customer.number] = remote
        if self.remember is not None:
            self.remember(customer, remote)
        return remote

    def entity(
        self, account_type: str, number: str, customer: QboCustomer | None = None
    ) -> dict[str, Any] | None:
        """The `Entity` a line on an account of `account_type` needs (receivable: the entry's customer, else the
        configured stand-in; payable: the configured vendor)."""
        if account_type not in ENTITY_FOR:
            return None
        if customer is not None and account_type == "Accounts Receivable":
            ref = {"value": self.customer(customer), "name": customer.display_name}
            return {"Type": "Customer", "EntityRef": ref}
        kind, setting = ENTITY_FOR[account_type]
        if kind not in self.entities:
            name: str = getattr(self.config, setting)
            if not name:
                raise EntryRefused(
                    f"account {number} is {account_type} in QuickBooks, which needs a {kind.lower()} on the line: "
                    f"set ORDERSMITH_QBO_{setting.upper()} to a {kind.lower()}'s display name"
                )
            statement = f"select Id, DisplayName from {kind} where DisplayName = {_quoted(name)}"  # noqa: S608
            found = self._query(statement, kind, f"{kind.lower()} {name!r}")
            if not found:
                raise EntryRefused(f"QuickBooks Online has no {kind.lower()} named {name!r}")
            self.entities[kind] = str(found[0]["Id"])
        return {"Type": kind, "EntityRef": {"value": self.entities[kind]}}

    def push(self, entry: ExportEntry, *, request_id: str, customer: QboCustomer | None = None) -> str:
        """Create `entry` as a journal entry; answers its Id. `request_id` (≤ 50) is the same for every resend.
        Its receivable lines name `customer` (the customer its invoice is for), or the configured stand-in."""
        lines = []
        for line in entry.lines:
            if not (line.debit_minor or line.credit_minor):
                continue
            debit = line.debit_minor > 0
            account_id, account_type = self.account(line.account_code)
            detail: dict[str, Any] = {
                "PostingType": "Debit" if debit else "Credit",
                "AccountRef": {"value": account_id},
            }
            if (entity := self.entity(account_type, line.account_code, customer)) is not None:
                detail["Entity"] = entity
            lines.append({
                "Description": _text(line.memo or entry.memo, QBO_DESCRIPTION),
                "Amount": _number(line.debit_minor if debit else line.credit_minor, entry.currency),
                "DetailType": "JournalEntryLineDetail",
                "JournalEntryLineDetail": detail,
            })  # fmt: skip
        body = {
            "TxnDate": entry.posted_on.isoformat(),
            "DocNumber": _text(entry.reference or short_key(entry.key), QBO_DOC_NUMBER),
            "PrivateNote": _text(f"{entry.memo} [Ordersmith {entry.key}]", QBO_NOTE),
            "CurrencyRef": {"value": entry.currency},
            "Line": lines,
        }
        response = self._call("POST", "journalentry", params={"requestid": request_id}, json=body)
        answer = _json(response)
        if (fault := _fault(answer)) is not None:
            raise EntryRefused(fault)
        if response.status_code != 200 or "JournalEntry" not in answer:
            raise EntryRefused(f"QuickBooks Online answered HTTP {response.status_code}")
        return str(answer["JournalEntry"]["Id"])


# --- Business Central --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BcConfig:
    token_url: str
    client_id: str
    client_secret: str
    scope: str
    base_url: str  # …/v2.0/{tenant}/{environment}
    company_id: str
    journal_id: str


def _bc_error(response: httpx.Response) -> str:
    body = _json(response)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return f"{error.get('message', '')} ({error.get('code', '')})"[:480]
    return f"HTTP {response.status_code}"


@dataclass
class BusinessCentral:
    config: BcConfig
    http: _Http
    access_token: str | None = None
    expires_at: float = 0.0
    tries: int = 3  # looks-then-writes of one entry before giving up when writes keep ending unknown

    def _token(self) -> None:
        if not (self.config.client_id and self.config.company_id and self.config.journal_id):
            raise LedgerUnavailable(
                "Business Central is not connected: set ORDERSMITH_BC_TENANT_ID, _CLIENT_ID, _CLIENT_SECRET, "
                "_COMPANY_ID and _JOURNAL_ID"
            )
        response = self.http.send(
            "POST",
            self.config.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": self.config.client_id,
                "client_secret": self.config.client_secret,
                "scope": self.config.scope,
            },
        )
        body = _json(response)
        if response.status_code != 200 or "access_token" not in body:
            error = body.get("error_description") or body.get("error") if isinstance(body, dict) else None
            raise LedgerUnavailable(
                f"Microsoft Entra refused the client credentials ({error or response.status_code})"
            )
        self.access_token = str(body["access_token"])
        self.expires_at = time.monotonic() + float(body.get("expires_in", 3599)) - 60

    @property
    def lines_url(self) -> str:
        c = self.config
        return f"{c.base_url}/api/v2.0/companies({c.company_id})/journals({c.journal_id})/journalLines"

    def _call(
        self, method: str, url: str, *, ambiguous_is_final: bool = False, **kwargs: Any
    ) -> httpx.Response:
        if self.access_token is None or time.monotonic() >= self.expires_at:
            self._token()
        headers = kwargs.pop("headers", {})
        for renewed in (False, True):
            response = self.http.send(
                method, url, ambiguous_is_final=ambiguous_is_final,
                headers={**headers, "Authorization": f"Bearer {self.access_token}", "Accept": "application/json"},
                **kwargs,
            )  # fmt: skip
            if response.status_code != 401 or renewed:
                break
            self._token()
        if response.status_code in (401, 403):
            raise LedgerUnavailable(f"Business Central refused us: {_bc_error(response)}")
        return response

    def _existing(self, key: str) -> list[dict[str, Any]]:
        literal = key.replace("'", "''")
        response = self._call(
            "GET", self.lines_url, params={"$filter": f"externalDocumentNumber eq '{literal}'"}
        )
        if response.status_code != 200:
            raise LedgerUnavailable(f"Business Central: reading journal lines: {_bc_error(response)}")
        value: list[dict[str, Any]] = _json(response).get("value", [])
        return value

    def _delete(self, lines: list[dict[str, Any]]) -> None:
        for line in lines:
            response = self._call(
                "DELETE",
                f"{self.lines_url}({line['id']})",
                headers={"If-Match": line.get("@odata.etag", "*")},
            )
            if response.status_code not in (204, 404):
                raise LedgerUnavailable(f"Business Central: deleting a journal line: {_bc_error(response)}")

    def push(self, entry: ExportEntry) -> str:
        """Post `entry`'s lines to the journal exactly once; answers its external document number."""
        key = short_key(entry.key)
        bodies = [
            {
                "accountType": "G/L Account",
                "accountNumber": line.account_code,
                "postingDate": entry.posted_on.isoformat(),
                "documentNumber": _text(entry.reference or key, BC_DOCUMENT_NUMBER),
                "externalDocumentNumber": key,
                "amount": _number(line.debit_minor - line.credit_minor, entry.currency),
                "description": _text(line.memo or entry.memo or entry.reference, BC_DESCRIPTION),
            }
            for line in entry.lines
            if line.debit_minor or line.credit_minor
        ]
        for _ in range(self.tries):
            existing = self._existing(key)
            if len(existing) == len(bodies):
                return key  # an earlier push posted all of it (its answer was lost)
            self._delete(existing)  # an earlier push posted part of it
            posted: list[dict[str, Any]] = []
            try:
                for body in bodies:
                    response = self._call("POST", self.lines_url, json=body, ambiguous_is_final=True)
                    if response.status_code != 201:
                        self._delete(posted)
                        raise EntryRefused(_bc_error(response))
                    posted.append(_json(response))
            except _Ambiguous:
                continue  # look again: what reached the journal decides
            return key
        raise LedgerUnavailable("Business Central: writes to the journal keep failing (5xx or dropped)")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}
