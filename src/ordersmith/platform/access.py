"""Roles, scopes and the principal behind a request (pure: no I/O).

Invariant: a principal can do exactly what its scopes allow; a user's scopes come from its role, an API key's
are those it was created with, and a channel-bound key acts only for its own sales channel.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from ordersmith.kernel.errors import Forbidden
from ordersmith.kernel.events import matches

ROLES = ("admin", "manager", "agent", "warehouse", "accountant", "marketing", "readonly", "store")

# Every scope an endpoint may require, with what it allows. Later contexts add theirs here.
SCOPES: dict[str, str] = {
    "users:read": "list console users",
    "users:write": "create users, change roles, reset passwords",
    "api_keys:read": "list API keys",
    "api_keys:write": "create and revoke API keys",
    "sales_channels:read": "read sales channels",
    "sales_channels:write": "create and change sales channels",
    "sales_channels:billing": "say that a channel bills later: its orders are released without a tender (admins)",
    "audit:read": "read the audit log",
    "events:read": "follow the live event stream",
    "webhooks:read": "read webhook subscriptions and their delivery log",
    "webhooks:write": "create, change and delete webhook subscriptions",
    "jobs:read": "read background jobs",
    "plugins:read": "list the loaded plugins, their contributions and failures, and their subscribers' failed "
    "deliveries (admins)",
    "custom_fields:read": "read the custom fields defined on items, customers and orders",
    "custom_fields:write": "define, change and remove custom fields on items, customers and orders (admins)",
    "settings:read": "read the policies set in the console (hold thresholds, return window, numbering, …)",
    "settings:write": "change those policies (admins; every change is audited with its before and after)",
    "catalog:read": "read items and divisions",
    "catalog:write": "create and change items and divisions",
    "inventory:read": "read locations, stock, availability and reservations",
    "inventory:write": "create locations and adjust stock",
    "reservations:write": "reserve, release and consume stock",
    "customers:read": "find and read customers, their notes and timeline",
    "customers:write": "create and edit customers, add notes",
    "customers:manage": "merge duplicates, export a customer's data, anonymize a customer",
    "customers:credit": "set a customer's credit limit and payment terms (buying on account)",
    "customers:tax": "set a customer's tax exemption and its certificate",
    "customers:pricing": "set a customer's price group (e.g. wholesale: trade prices)",
    "pricing:quote": "price a cart",
    "pricing:write": "set up price lists, promotions, coupons, shipping methods and tax rates",
    "pricing:redeem": "count a coupon's use (when an order is placed with it)",
    "purchasing:read": "read vendors, purchase orders and replenishment suggestions",
    "purchasing:write": "create vendors and purchase orders, send and receive them, set replenishment rules",
    "purchasing:approve": "approve and cancel purchase orders",
    "orders:read": "read orders, their timeline and the hold queue (a channel key: its own channel's orders)",
    "orders:write": "place, quote, edit and cancel orders (a channel key: its own channel's orders)",
    "orders:import": "place orders as an import or migration: set when they were placed (`placed_at`) and their "
    "priority",
    "orders:priority": "set an order's priority in the backorder queue",
    "orders:hold": "put an order on hold",
    "orders:release": "release or cancel held orders, correct addresses after release",
    "orders:ship": "record shipments against orders",
    "returns:write": "authorize returns (RMAs) and exchanges",
    "returns:receive": "receive returned goods into a location",
    "vault:tokenize": "store a card in the vault and get its token (the number is never returned)",
    "payments:read": "read an order's payments and their transaction log, gift cards and invoices",
    "payments:write": "add a tender to an order (a channel key: its own channel's orders)",
    "payments:cash": "record cash taken at a till as an order's payment (a POS channel may without it)",
    "payments:check": "record a check received as an order's payment on any channel (mail, phone, POS and trade "
    "channels may without it)",
    "payments:capture": "capture and void payments",
    "payments:refund": "refund payments and orders",
    "gift_cards:issue": "issue and reload gift cards and store credit",
    "gift_cards:balance": "check a gift card's balance by its code (rate-limited)",
    "receivables:write": "deposit, clear and bounce checks; apply customers' payments to invoices",
    "receivables:write_off": "write off what a customer will not pay on an invoice as a bad debt",
    "fulfillment:read": "read shipments, their packages, tracking and timeline (a channel key: its own channel's)",
    "warehouse:read": "read waves, pick lists, bins, count tasks and the warehouse's productivity",
    "fulfillment:write": "build and cancel waves; pick, scan, pack, ship and cancel shipments; bins and counts",
    "fulfillment:labels": "buy and void carrier labels (each one is charged by the carrier)",
    "data:import": "upload, dry-run, apply and cancel bulk imports and read their row errors (each kind also needs "
    "the scopes its records need, e.g. catalog:write for items)",
    "reports:read": "run the report catalogue (sales, stock, returns, receivables, tax) as tables, files and charts",
    "reports:schedule": "save reports and e-mail them daily or weekly to the addresses named (reports leave the "
    "building: staff only)",
    "data:export": "export orders, customers, stock, purchasing and payment records in bulk (CSV, XLSX, Parquet)",
    "finance:read": "read the chart of accounts, mapping rules, the journal, periods and the trial balance",
    "finance:write": "edit the chart of accounts and mapping rules, post and reverse manual entries, close periods, "
    "enter landed costs and switch costing per item or per location",
    "finance:export": "export the journal to an accounting package (each entry goes to each package once)",
    "finance:year_end": "close a fiscal year (its closing entry moves revenue and expenses into retained earnings) and "
    "reopen it (reversing that entry)",
    "disputes:decide": "record a card dispute's outcome: won (the amount back) or lost (a loss for the books)",
    "payables:read": "read vendor bills, the three-way-match exception queue, vendor payments and AP aging",
    "payables:write": "enter and import vendor bills, match them again, reject them, set match tolerances",
    "payables:approve": "approve matched vendor bills for payment and pay vendors",
    "payables:override": "accept a vendor bill that failed its three-way match (an override, with a note)",
    "marketing:read": "read campaigns, their drops, the master list of source (key) codes and channels' code policies",
    "marketing:write": "create campaigns, drops and source codes with their offers (which price orders), and set what "
    "a channel does with an unknown code",
    "continuity:read": "read continuity programs (subscriptions / auto-ship): items, rhythm, offer and terms",
    "continuity:write": "create continuity programs, restate their terms, close them to sign-ups",
    "subscriptions:read": "read members' subscriptions and their shipments (a channel key: its own channel's)",
    "subscriptions:write": "sign customers up to a continuity program, skip, pause, resume, cancel, change the card, "
    "ship-to or quantity (a channel key: its own channel's subscriptions)",
    "channels:read": "read channel connectors, their health, SKU mappings, inbox of channel orders and dead letters "
    "(a channel key: its own channel's connector)",
    "channels:write": "map channel SKUs to items (releasing the orders held for them) and replay dead letters",
    "channels:credentials": "connect a channel (create a connector) and set its credentials (they act on the "
    "channel's platform as the retailer: admins)",
    "channels:orders": "send a channel's orders to its connector's inbox (a channel key: its own connector's)",
    "crm:read": "read CRM connections (HubSpot), their health, which customers and orders are which CRM contacts and "
    "deals, and the CRM's dead letters (staff only: never a channel key)",
    "crm:write": "replay the CRM's dead letters (connecting a CRM account takes channels:credentials)",
    "pos:sell": "ring up sales at a store's register: the till's catalog slice, quotes, and sales sent in (placed as "
    "the store's POS orders, cash included; a POS channel's key: its own stores')",
    "pos:shifts": "open and close a register's shift with its float and the cash counted in the drawer",
    "pos:returns": "take returns at a store's till for orders from any channel: the goods received into the store's "
    "stock and the refund given back to the order's tenders (cash from the drawer) or as store credit",
    "pos:manage": "set stores and registers up, and work sales flagged for the store manager: place them again or "
    "resolve them with a note (written off)",
}

# The scope value that marks a route as open to anyone (health, login).
PUBLIC = "public"
# A route open to any authenticated principal (e.g. "who am I").
AUTHENTICATED = "authenticated"

_READ_BASICS = {
    "custom_fields:read",
    "sales_channels:read",
    "events:read",
    "catalog:read",
    "inventory:read",
    "customers:read",
    "pricing:quote",
    "orders:read",
}

# What a channel-bound key may hold: its channel's own business (orders, their payments and returns, its customers,
# its events and webhooks) and the shared reference data needed to sell (catalog, stock, prices). Everything else —
# users, keys, audit, jobs, purchasing, price and catalog set-up, stock adjustments, releasing held orders, merging
# or exporting customers, money fields on customers, issuing gift cards, receivables, reports, bulk exports, the
# ledger — is staff work: such a key cannot be created with it, and a key that holds it anyway (created before this
# rule) acts without it.
CHANNEL_KEY_SCOPES: frozenset[str] = frozenset(
    {
        "custom_fields:read",
        "sales_channels:read",
        "events:read",
        "webhooks:read",
        "webhooks:write",
        "catalog:read",
        "inventory:read",
        "reservations:write",
        "customers:read",
        "customers:write",
        "pricing:quote",
        "pricing:redeem",
        "orders:read",
        "orders:write",
        "orders:import",  # a channel importing its own history (granted explicitly, never by default)
        "orders:hold",
        "orders:ship",
        "returns:write",
        "returns:receive",
        "vault:tokenize",
        "payments:read",
        "payments:write",
        "payments:capture",
        "payments:refund",
        "gift_cards:balance",
        "fulfillment:read",
        "channels:read",
        "channels:orders",
        "continuity:read",
        "subscriptions:read",
        "subscriptions:write",
        "pos:sell",
        "pos:shifts",
    }
)

ROLE_SCOPES: dict[str, frozenset[str]] = {
    "admin": frozenset(SCOPES),
    "manager": frozenset(
        _READ_BASICS
        | {
            "sales_channels:write",
            "settings:read",
            "audit:read",
            "marketing:read",
            "users:read",
            "webhooks:read",
            "jobs:read",
            "catalog:write",
            "inventory:write",
            "reservations:write",
            "purchasing:read",
            "purchasing:write",
            "purchasing:approve",
            "payables:read",
            "payables:override",
            "customers:write",
            "customers:manage",
            "customers:credit",
            "customers:tax",
            "customers:pricing",
            "pricing:write",
            "pricing:redeem",
            "orders:write",
            "orders:priority",
            "orders:hold",
            "orders:release",
            "orders:ship",
            "returns:write",
            "returns:receive",
            "vault:tokenize",
            "payments:read",
            "payments:write",
            "payments:cash",
            "payments:check",
            "payments:capture",
            "payments:refund",
            "gift_cards:issue",
            "gift_cards:balance",
            "receivables:write",
            "fulfillment:read",
            "warehouse:read",
            "fulfillment:write",
            "fulfillment:labels",
            "data:import",
            "reports:read",
            "reports:schedule",
            "data:export",
            "channels:read",
            "channels:write",
            "crm:read",
            "crm:write",
            "continuity:read",
            "continuity:write",
            "subscriptions:read",
            "subscriptions:write",
            "pos:sell",
            "pos:shifts",
            "pos:returns",
            "pos:manage",
        }
    ),
    "agent": frozenset(
        _READ_BASICS
        | {
            "reservations:write",
            "customers:write",
            "pricing:redeem",
            "orders:write",
            "orders:hold",
            "returns:write",
            "vault:tokenize",
            "payments:read",
            "payments:write",
            "payments:check",
            "gift_cards:balance",
            "fulfillment:read",
            "continuity:read",
            "subscriptions:read",
            "subscriptions:write",
        }
    ),
    "warehouse": frozenset(
        _READ_BASICS
        | {
            "inventory:write",
            "reservations:write",
            "purchasing:read",
            "purchasing:write",
            "orders:ship",
            "returns:receive",
            "fulfillment:read",
            "warehouse:read",
            "fulfillment:write",
            "fulfillment:labels",
        }
    ),
    "accountant": frozenset(
        _READ_BASICS
        | {
            "purchasing:read",
            "payments:read",
            "payments:check",
            "payments:capture",
            "payments:refund",
            "receivables:write",
            "receivables:write_off",
            "customers:write",
            "customers:credit",
            "customers:tax",
            "reports:read",
            "reports:schedule",
            "data:export",
            "finance:read",
            "finance:write",
            "finance:export",
            "finance:year_end",
            "disputes:decide",
            "payables:read",
            "payables:write",
            "payables:approve",
        }
    ),
    "marketing": frozenset(
        _READ_BASICS
        | {
            "pricing:write",
            "reports:read",
            "marketing:read",
            "marketing:write",
            "continuity:read",
            "continuity:write",
            "subscriptions:read",
        }
    ),
    "readonly": frozenset(_READ_BASICS | {"reports:read"}),
    # Store staff at a till: ring up sales (cash among them), open and close their register's shift, find and add
    # customers, take returns in the store (received back into the store's stock, refunded to the tenders or as
    # store credit). Setting tills up and working flagged sales is the store manager's (`manager`).
    "store": frozenset(
        _READ_BASICS
        | {
            "pos:sell",
            "pos:shifts",
            "pos:returns",
            "orders:write",
            "customers:write",
            "vault:tokenize",
            "payments:read",
            "payments:cash",
            "gift_cards:balance",
            "returns:write",
            "returns:receive",
            "payments:refund",
        }
    ),
}


# Events about no one channel's records that every channel may follow: stock levels and the catalogue. Any other
# event reaches a channel-bound key only when it is about that channel's records (its orders, their payments,
# invoices and gift cards, the customers it created).
SHARED_EVENT_TYPES = ("stock.*", "item.*")


def event_visible_to(channel: str | None, event_type: str, event_channel: str | None) -> bool:
    """Whether a caller limited to `channel` (None: not limited) may receive this event."""
    if channel is None or event_channel == channel:
        return True
    return event_channel is None and any(matches(event_type, p) for p in SHARED_EVENT_TYPES)


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    return role


def check_scopes(scopes: list[str]) -> list[str]:
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scope(s) {', '.join(unknown)}")
    return sorted(set(scopes))


@dataclass(frozen=True)
class Principal:
    """Who is calling: a console user (session), an integration (API key), or nobody."""

    kind: str  # "user" | "api_key" | "anonymous"
    id: uuid.UUID | None
    label: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    role: str | None = None
    channel_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    csrf_token: str | None = None

    @property
    def authenticated(self) -> bool:
        return self.kind != "anonymous"

    @property
    def caller_key(self) -> str:
        """A stable name for idempotency scoping: keys belong to the caller that used them."""
        return f"{self.kind}:{self.id}"

    def can(self, scope: str) -> bool:
        if scope == PUBLIC:
            return True
        if scope == AUTHENTICATED:
            return self.authenticated
        return scope in self.scopes

    def require(self, scope: str) -> None:
        if not self.can(scope):
            raise Forbidden(f"this call needs the scope {scope!r}", required_scope=scope)

    def require_channel(self, channel_id: uuid.UUID) -> None:
        """Ownership: a channel-bound key may only touch its own channel's records."""
        if self.channel_id is not None and self.channel_id != channel_id:
            raise Forbidden("this API key is bound to another sales channel")


ANONYMOUS = Principal(kind="anonymous", id=None, label="anonymous")
