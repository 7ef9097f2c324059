"""Loopback stubs of QuickBooks Online's Accounting API (with Intuit's OAuth 2.0 token endpoint) and Business
Central's API v2.0 journal lines (with Microsoft Entra's token endpoint), answering as their documentation says:

- Intuit: `POST /oauth2/v1/tokens/bearer` (Basic client credentials, `grant_type=refresh_token`) rotates the
  refresh token — the old one stops working — and issues an access token; API calls without a live access token
  get 401 with an `AuthenticationFault` (code 3200). `GET /v3/company/{realm}/query` answers `QueryResponse`;
  `POST /v3/company/{realm}/journalentry?requestid=…` validates the entry (accounts exist and are active, DocNumber
  ≤ 21, debits equal credits) and answers `{"JournalEntry": {…, "Id"}}` or a 400 `ValidationFault`; a repeated
  requestid gets the first answer again, nothing created. `POST /v3/company/{realm}/customer?requestid=…` creates a
  Customer from its `DisplayName` (unique across customers and vendors: a duplicate is a 400 `Duplicate Name Exists
  Error`, code 6240; a colon is refused) and replays a repeated requestid likewise. Errors are
  `{"Fault": {"Error": [{Message, Detail, code, element}], "type"}, "time"}`.
- Entra: `POST /{tenant}/oauth2/v2.0/token` with `grant_type=client_credentials`, client id and secret, `scope`.
- Business Central: `…/api/v2.0/companies({id})/journals({id})/journalLines` — GET with an OData `$filter` on
  `externalDocumentNumber` (`eq '…'`, quotes doubled), POST one line (201, the line), DELETE `journalLines({id})`
  (204); errors are `{"error": {"code", "message"}}`; lengths as documented (document numbers 20, description 50).

Every entry a stub keeps must balance: `balanced()` checks it for the test.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from tests.support.http_stub import Answer, Seen, StubApi

TIME = "2026-12-06T09:00:00.000-08:00"


def _fault(status: int, kind: str, code: str, message: str, detail: str = "", element: str = "") -> Answer:
    error = {"Message": message, "Detail": detail, "code": code, "element": element}
    return Answer(status, {"Fault": {"Error": [error], "type": kind}, "time": TIME})


def _form(seen: Seen) -> dict[str, str]:
    assert seen.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
    return dict(parse_qsl(seen.body.decode()))


def _decimal_json(seen: Seen) -> Any:
    return json.loads(seen.body, parse_float=Decimal, parse_int=Decimal)


@dataclass
class Qbo:
    """QuickBooks Online for one company (realm)."""

    realm: str = "9130357766900456"
    client_id: str = "qbo-client"
    client_secret: str = "qbo-secret"
    refresh_token: str = "RT-first"
    accounts: dict[str, str] = field(default_factory=dict)  # AcctNum -> Id
    types: dict[str, str] = field(
        default_factory=dict
    )  # AcctNum -> AccountType (default "Other Current Asset")
    customers: dict[str, str] = field(default_factory=dict)  # DisplayName -> Id
    vendors: dict[str, str] = field(default_factory=dict)
    inactive: set[str] = field(default_factory=set)  # account Ids made inactive
    access: set[str] = field(default_factory=set)
    created: dict[str, dict[str, Any]] = field(default_factory=dict)  # Id -> JournalEntry
    answers: dict[str, Answer] = field(default_factory=dict)  # requestid -> first answer
    replays: list[str] = field(default_factory=list)
    refreshes: int = 0
    throttle: int = 0  # the next N API calls answer 429
    lose_answers: int = 0  # the next N creates are made, but answered 503 (the answer lost on the way)
    delay_s: float = 0.0
    api: StubApi = field(default_factory=StubApi)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.api.route("POST", r"/oauth2/v1/tokens/bearer", self._token)
        self.api.route("GET", rf"/v3/company/{self.realm}/query", self._query)
        self.api.route("POST", rf"/v3/company/{self.realm}/journalentry", self._journal_entry)
        self.api.route("POST", rf"/v3/company/{self.realm}/customer", self._customer)

    def expire_access(self) -> None:
        self.access.clear()

    def _token(self, seen: Seen) -> Answer:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if seen.headers.get("authorization") != f"Basic {expected}":
            return Answer(401, {"error": "invalid_client"})
        form = _form(seen)
        with self._lock:
            if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != self.refresh_token:
                return Answer(400, {"error": "invalid_grant"})
            self.refreshes += 1
            self.refresh_token = f"RT-{uuid.uuid4().hex}"  # rotated: the old one is dead
            access = f"AT-{uuid.uuid4().hex}"
            self.access.add(access)
        return Answer(200, {"token_type": "bearer", "access_token": access, "expires_in": 3600,
                            "refresh_token": self.refresh_token, "x_refresh_token_expires_in": 8726400})  # fmt: skip

    def _guard(self, seen: Seen) -> Answer | None:
        if self.throttle:
            self.throttle -= 1
            return Answer(429, {"Fault": {"Error": [{"Message": "ThrottleExceeded", "code": "003001"}]}},
                          headers={"Retry-After": "0"})  # fmt: skip
        token = seen.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.access:
            return _fault(401, "AUTHENTICATION", "3200", "message=AuthenticationFailed; errorCode=003200")
        if not seen.query.get("minorversion", "").isdigit():
            return _fault(400, "ValidationFault", "4001", "Invalid minor version")
        return None

    def _query(self, seen: Seen) -> Answer:
        if refused := self._guard(seen):
            return refused
        literal = r"'((?:[^'\\]|\\.)*)'"
        statement = seen.query.get("query", "")
        if match := re.fullmatch(
            rf"select Id, AcctNum, AccountType from Account where AcctNum = {literal}", statement
        ):
            number = re.sub(r"\\(.)", r"\1", match.group(1))
            found = [{"Id": i, "AcctNum": n, "AccountType": self.types.get(n, "Other Current Asset")}
                     for n, i in self.accounts.items() if n == number]  # fmt: skip
            entity = "Account"
        elif match := re.fullmatch(rf"select Id, DisplayName from (Customer|Vendor) where DisplayName = {literal}",
                                   statement):  # fmt: skip
            entity, name = match.group(1), re.sub(r"\\(.)", r"\1", match.group(2))
            names = self.customers if entity == "Customer" else self.vendors
            found = [{"Id": i, "DisplayName": n} for n, i in names.items() if n == name]
        else:
            return _fault(
                400, "ValidationFault", "4000", "Error parsing query", f"QueryParserError: {statement}"
            )
        body: dict[str, Any] = {"startPosition": 1, "maxResults": len(found), entity: found} if found else {}
        return Answer(200, {"QueryResponse": body, "time": TIME})

    def _journal_entry(self, seen: Seen) -> Answer:
        if refused := self._guard(seen):
            return refused
        request_id = seen.query.get("requestid", "")
        assert 0 < len(request_id) <= 50, "every create carries a requestid of at most 50 characters"
        with self._lock:
            if request_id in self.answers:
                self.replays.append(request_id)
                return self.answers[request_id]
            answer = self._create(_decimal_json(seen))
            self.answers[request_id] = answer
            if self.lose_answers:
                self.lose_answers -= 1
                return Answer(503, b"<html>Service Unavailable</html>", content_type="text/html")
        return Answer(answer.status, answer.body, delay_s=self.delay_s)

    def _customer(self, seen: Seen) -> Answer:
        if refused := self._guard(seen):
            return refused
        request_id = seen.query.get("requestid", "")
        assert 0 < len(request_id) <= 50, "every create carries a requestid of at most 50 characters"
        name = str(json.loads(seen.body).get("DisplayName", ""))
        with self._lock:
            if request_id in self.answers:
                self.replays.append(request_id)
                return self.answers[request_id]
            if not name or len(name) > 500 or ":" in name:
                answer = _fault(400, "ValidationFault", "6000", "A business validation error has occurred",
                                "Display name is required and cannot contain a colon (:)", "DisplayName")  # fmt: skip
            elif name in self.customers or name in self.vendors:
                answer = _fault(400, "ValidationFault", "6240", "Duplicate Name Exists Error",
                                "The name supplied already exists. : Another customer, vendor or employee is "
                                "already using this name. Please use a different name.")  # fmt: skip
            else:
                customer_id = str(next(self._ids))
                self.customers[name] = customer_id
                answer = Answer(200, {"Customer": {"Id": customer_id, "DisplayName": name, "SyncToken": "0",
                                                   "Active": True}, "time": TIME})  # fmt: skip
            self.answers[request_id] = answer
        return answer

    def _create(self, body: dict[str, Any]) -> Answer:
        if len(body.get("DocNumber", "")) > 21:
            return _fault(400, "ValidationFault", "6000", "A business validation error has occurred",
                          "String length is either shorter or longer than supported by specification. "
                          "Min:0 Max:21 supported.", "DocNumber")  # fmt: skip
        sides: dict[str, Decimal] = defaultdict(Decimal)
        for line in body["Line"]:
            assert line["DetailType"] == "JournalEntryLineDetail" and line["Amount"] > 0
            detail = line["JournalEntryLineDetail"]
            account = detail["AccountRef"]["value"]
            if account not in self.accounts.values():
                return _fault(400, "ValidationFault", "2500", "Invalid Reference Id",
                              f"Invalid Reference Id : Accounts element id {account} not found")  # fmt: skip
            if account in self.inactive:
                return _fault(400, "ValidationFault", "610", "Object Not Found",
                              "Object Not Found : Something you're trying to use has been made inactive. "
                              "Check the fields with accounts.")  # fmt: skip
            kind = self.types.get(next(n for n, i in self.accounts.items() if i == account), "")
            wanted = {
                "Accounts Receivable": ("Customer", self.customers),
                "Accounts Payable": ("Vendor", self.vendors),
            }
            if kind in wanted:
                entity_type, names = wanted[kind]
                entity = detail.get("Entity") or {}
                if (
                    entity.get("Type") != entity_type
                    or entity.get("EntityRef", {}).get("value") not in names.values()
                ):
                    return _fault(400, "ValidationFault", "6000", "A business validation error has occurred",
                                  f"Business Validation Error: When you use {kind}, you must choose a "
                                  f"{entity_type.lower()} in the Name field.")  # fmt: skip
            sides[detail["PostingType"]] += line["Amount"]
        if sides["Debit"] != sides["Credit"]:
            return _fault(400, "ValidationFault", "6000", "A business validation error has occurred",
                          "Business Validation Error: Transaction is not balanced")  # fmt: skip
        entry_id = str(next(self._ids))
        entry = {**body, "Id": entry_id, "SyncToken": "0", "Adjustment": False}
        self.created[entry_id] = entry
        return Answer(200, {"JournalEntry": json.loads(json.dumps(entry, default=float)), "time": TIME})

    def entries(self) -> list[tuple[str, list[tuple[str, Decimal]]]]:
        """(TxnDate, [(account number, debit - credit)]) per created entry, each checked to balance."""
        numbers = {i: n for n, i in self.accounts.items()}
        found = []
        for entry in self.created.values():
            amounts = [
                (
                    numbers[line["JournalEntryLineDetail"]["AccountRef"]["value"]],
                    line["Amount"]
                    if line["JournalEntryLineDetail"]["PostingType"] == "Debit"
                    else -line["Amount"],
                )
                for line in entry["Line"]
            ]
            assert sum(a for _n, a in amounts) == 0, "QuickBooks received an entry that does not balance"
            found.append((entry["TxnDate"], amounts))
        return found


@dataclass
class BusinessCentral:
    tenant: str = "contoso.onmicrosoft.com"
    environment: str = "production"
    company: str = "f03f6225-081c-ec11-86bc-000d3a2a7d92"
    journal: str = "c2d43fd4-a3e3-ea11-bb43-000d3a2feca1"
    client_id: str = "bc-client"
    client_secret: str = "bc-secret"
    accounts: set[str] = field(default_factory=set)  # G/L account numbers
    lines: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> journal line
    access: set[str] = field(default_factory=set)
    fail_after_storing: set[int] = field(
        default_factory=set
    )  # POST numbers (1, 2, …) stored but answered 500
    posts: int = 0
    deletes: int = 0
    tokens: int = 0
    api: StubApi = field(default_factory=StubApi)
    _line_no: itertools.count[int] = field(default_factory=lambda: itertools.count(10000, 10000))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        base = (
            rf"/v2\.0/{re.escape(self.tenant)}/{self.environment}/api/v2\.0/companies\({self.company}\)"
            rf"/journals\({self.journal}\)/journalLines"
        )
        self.api.route("POST", rf"/{re.escape(self.tenant)}/oauth2/v2\.0/token", self._token)
        self.api.route("GET", base, self._list)
        self.api.route("POST", base, self._post)
        self.api.route("DELETE", base + r"\(([0-9a-f-]{36})\)", self._delete)

    @property
    def base_url(self) -> str:
        return f"{self.api.url()}/v2.0/{self.tenant}/{self.environment}"

    @property
    def token_url(self) -> str:
        return f"{self.api.url()}/{self.tenant}/oauth2/v2.0/token"

    def _token(self, seen: Seen) -> Answer:
        form = _form(seen)
        if (form.get("client_id"), form.get("client_secret")) != (self.client_id, self.client_secret):
            return Answer(401, {"error": "invalid_client",
                                "error_description": "AADSTS7000215: Invalid client secret provided."})  # fmt: skip
        if form.get("grant_type") != "client_credentials" or form.get("scope") != (
            "https://api.businesscentral.dynamics.com/.default"
        ):
            return Answer(400, {"error": "invalid_request", "error_description": "AADSTS90014: scope"})
        self.tokens += 1
        token = f"eyJ-{uuid.uuid4().hex}"
        self.access.add(token)
        return Answer(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                            "access_token": token})  # fmt: skip

    def _guard(self, seen: Seen) -> Answer | None:
        if seen.headers.get("authorization", "").removeprefix("Bearer ") not in self.access:
            return Answer(401, {"error": {"code": "Authentication_InvalidCredentials",
                                          "message": "The server has rejected the client credentials."}})  # fmt: skip
        return None

    def _list(self, seen: Seen) -> Answer:
        if refused := self._guard(seen):
            return refused
        match = re.fullmatch(r"externalDocumentNumber eq '((?:[^']|'')*)'", seen.query.get("$filter", ""))
        if not match:
            return Answer(400, {"error": {"code": "BadRequest", "message": "Invalid filter expression"}})
        wanted = match.group(1).replace("''", "'")
        with self._lock:
            value = [line for line in self.lines.values() if line["externalDocumentNumber"] == wanted]
        value = json.loads(json.dumps(value, default=float))  # amounts are JSON numbers
        return Answer(200, {"@odata.context": "…/$metadata#companies/journals/journalLines", "value": value})

    def _post(self, seen: Seen) -> Answer:
        if refused := self._guard(seen):
            return refused
        body = _decimal_json(seen)
        if body.get("accountType") != "G/L Account" or body.get("accountNumber") not in self.accounts:
            return Answer(400, {"error": {"code": "Internal_RecordNotFound", "message": (
                "The G/L Account does not exist. Identification fields and values: "
                f"No.='{body.get('accountNumber')}'")}})  # fmt: skip
        for name, most in (("documentNumber", 20), ("externalDocumentNumber", 20), ("description", 50)):
            if len(body.get(name, "")) > most:
                return Answer(400, {"error": {"code": "BadRequest_InvalidParameter",
                                              "message": f"{name} is longer than {most}"}})  # fmt: skip
        with self._lock:
            self.posts += 1
            line_id = str(uuid.uuid4())
            line = {"@odata.etag": f'W/"{uuid.uuid4().hex}"', "id": line_id, "journalId": self.journal,
                    "journalDisplayName": "DEFAULT", "lineNumber": next(self._line_no), **body,
                    "amount": body["amount"]}  # fmt: skip
            self.lines[line_id] = line
            if self.posts in self.fail_after_storing:
                return Answer(
                    500, {"error": {"code": "InternalServerError", "message": "Something went wrong"}}
                )
        return Answer(201, json.loads(json.dumps(line, default=float)))

    def _delete(self, seen: Seen) -> Answer:
        if refused := self._guard(seen):
            return refused
        assert seen.headers.get("if-match"), "a delete names the line's eTag"
        line_id = seen.path.rsplit("(", 1)[1].rstrip(")")
        with self._lock:
            self.deletes += 1
            if self.lines.pop(line_id, None) is None:
                return Answer(404, {"error": {"code": "Internal_EntityNotFound", "message": "not found"}})
        return Answer(204, b"")

    def documents(self) -> dict[str, tuple[str, list[tuple[str, Decimal]]]]:
        """externalDocumentNumber -> (postingDate, [(account, amount)]), each checked to balance."""
        found: dict[str, tuple[str, list[tuple[str, Decimal]]]] = {}
        for line in sorted(self.lines.values(), key=lambda line: line["lineNumber"]):
            day, amounts = found.setdefault(line["externalDocumentNumber"], (line["postingDate"], []))
            assert line["postingDate"] == day
            amounts.append((line["accountNumber"], Decimal(str(line["amount"]))))
        for _day, amounts in found.values():
            assert sum(a for _n, a in amounts) == 0, (
                "Business Central received an entry that does not balance"
            )
        return found
