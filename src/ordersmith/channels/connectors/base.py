"""What every connector offers: read a channel's order into `rules.ChannelOrder`, check a pushed delivery's
signature, and (where the channel takes them) send available-to-sell quantities and shipment confirmations.

Invariant: a connector is called with no transaction open; it never touches the database. Its calls say whether a
failure is worth retrying (`CallFailed.permanent`) and what the channel said about its rate limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

import httpx

from ordersmith.channels import rules
from ordersmith.kernel.errors import OrdersmithError


class SignatureInvalid(OrdersmithError):
    """A pushed delivery whose signature is missing, malformed or does not match: nothing is recorded."""

    code = "channel_signature_invalid"
    status = 401
    title = "Channel signature invalid"


class CallFailed(Exception):
    """A call to the channel failed. `permanent`: the channel refused what was sent (a retry fails the same way)."""

    def __init__(self, message: str, *, permanent: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.status = status


class RateLimited(CallFailed):
    """The channel asked us to wait (HTTP 429 with Retry-After, or a throttled GraphQL answer)."""

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(message, permanent=False, status=429)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Access:
    """Where and as whom to call the channel: from the connector's config and its unsealed credentials."""

    config: Mapping[str, Any]
    credentials: Mapping[str, str]
    timeout_s: float = 10.0
    transport: httpx.BaseTransport | None = None  # tests and benchmarks only; None: the network


@dataclass(frozen=True)
class StockUpdate:
    channel_sku: str
    listing_id: str  # the channel's id for what carries the quantity (Shopify: the inventory item's gid)
    quantity: int


@dataclass(frozen=True)
class PriceUpdate:
    channel_sku: str
    listing_id: str  # the channel's id for what carries the price (as for stock)
    price: str  # a decimal string in the currency's exponent, e.g. "19.99"
    currency: str


@dataclass(frozen=True)
class ShipmentNotice:
    external_id: str  # the channel's order id
    carrier: str
    tracking_number: str
    tracking_url: str = ""
    shipped_at: datetime | None = None  # when it left (the shipped event's time); None: unknown


@dataclass(frozen=True)
class CancellationNotice:
    """We cancelled a channel's order (not the channel: its own cancellations are never sent back)."""

    external_id: str  # the channel's order id
    reason: str  # why, in our words (a staff note on the channel's side)


@dataclass(frozen=True)
class LineUnits:
    """Units of one line of a channel's order: cancelled (`LineCancellationNotice`), or returned and refunded
    (`RefundNotice.lines`)."""

    line_no: int  # our line number
    line_id: str  # the channel's id of the line, kept when the order was imported ("" when not known)
    quantity: int  # units (more than zero)


CancelledLine = LineUnits


@dataclass(frozen=True)
class LineCancellationNotice:
    """We cancelled some units of a channel's order and the rest goes on (a line out of stock, the customer's call),
    so the channel stops expecting them; no money moves with it (a refund of it is its own notice). `key` is ours,
    the same on every attempt."""

    external_id: str
    reason: str
    key: str
    lines: tuple[CancelledLine, ...]


@dataclass(frozen=True)
class RefundNotice:
    """We gave back money the channel collected for one of its orders (a return, a cancelled line, a goodwill
    refund), to be refunded to the buyer by the channel. `key` is ours, the same on every attempt."""

    external_id: str
    amount: Decimal  # in `currency`, more than zero
    currency: str
    reason: str
    key: str
    # The channel's refunds of the order read before our first attempt (`RefundsByBaseline`): a channel that keeps
    # no reference of ours finds the refund a lost answer made among the ones that appeared since.
    baseline: tuple[str, ...] | None = None
    # What the refunds of this order sent to the channel before this one came to: a channel that refunds by item
    # (Amazon) takes this one's share after theirs.
    before: Decimal = Decimal(0)
    # The units this refund gives back the money of (a return's received lines; empty for a goodwill refund or
    # cancelled lines): a channel that refunds by item (Amazon) takes it from those items first.
    lines: tuple[LineUnits, ...] = ()
    # The refunds of this order sent to the channel before this one, in the order they were queued (their amounts
    # sum to `before`): a channel that refunds by item replays them to know what each item has left.
    earlier: tuple[EarlierRefund, ...] = ()


@dataclass(frozen=True)
class EarlierRefund:
    """A refund of the order owed to the channel before the one being sent: its amount and returned units."""

    amount: Decimal
    lines: tuple[LineUnits, ...] = ()


@dataclass
class CallReport:
    """What a push cost: calls made, the channel's last word on its rate limit (for the health read), the
    listings the channel refused one by one while taking the others (listing id -> the channel's reason), and the
    listings left for later when its rate ran out part-way."""

    calls: int = 0
    rate_limit: dict[str, Any] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    # Listings not sent because the channel's rate ran out part-way (the ones before them went out): they stay
    # pending and the next push, from the first of them, comes after `retry_after_s`.
    deferred: list[str] = field(default_factory=list)
    retry_after_s: float = 0.0


@dataclass
class PollPage:
    """One page of a channel's orders read by polling, and where the next read starts.

    `orders` are the channel's orders as they will be kept in the inbox (an Amazon order with its items);
    `cursor` is stored only once these orders are committed; `done`: the window is read to its end (the next poll
    opens a new window from `cursor`)."""

    orders: list[dict[str, Any]]
    cursor: dict[str, Any]
    done: bool
    report: CallReport = field(default_factory=CallReport)
    settle: list[str] = field(default_factory=list)  # what `Settles.settle` tells the channel once committed


@runtime_checkable  # plugins' adapters are checked when loaded (docs/guides/plugins.md)
class Connector(Protocol):
    kind: str
    pushes_stock: bool
    pushes_shipments: bool
    signed_webhooks: bool
    polls_orders: bool
    stock_batch_size: int

    def parse_order(self, payload: Mapping[str, Any]) -> rules.ChannelOrder:
        """The channel's order in our terms. Raises ValidationFailed naming the payload's field."""
        ...

    def wanted(self, payload: Mapping[str, Any]) -> bool:
        """Whether a readable order is one to import now (WooCommerce: paid, `processing`); one that is not is
        acknowledged and not recorded — the channel sends it again when it changes."""
        ...

    def takes_topic(self, headers: Mapping[str, str]) -> bool:
        """Whether a signed delivery carries an order to import (other topics are acknowledged and ignored)."""
        ...

    def verify_webhook(self, access: Access, headers: Mapping[str, str], body: bytes) -> None:
        """Raises SignatureInvalid unless the channel signed `body`."""
        ...

    def push_stock(self, access: Access, updates: Sequence[StockUpdate]) -> CallReport:
        """Set the channel's sellable quantities. Raises CallFailed or RateLimited."""
        ...

    def push_shipment(self, access: Access, notice: ShipmentNotice) -> CallReport:
        """Tell the channel an order shipped, with carrier and tracking. Raises CallFailed or RateLimited."""
        ...

    def poll_orders(self, access: Access, cursor: Mapping[str, Any], now: datetime) -> PollPage:
        """Read the next page of orders changed since `cursor` (empty: the first poll). Raises CallFailed or
        RateLimited; never touches the database."""
        ...


@runtime_checkable
class Settles(Protocol):
    """A polled connector that tells the channel a page is taken once its orders are committed (the CSV/SFTP feed
    moves the page's file to its done folder). A failure is retried like a failed poll; the page read again makes
    no second order."""

    def settle(self, access: Access, page: PollPage) -> CallReport: ...


@runtime_checkable
class PushesPrices(Protocol):
    """A connector that takes our prices (`pushes_prices`), batched like stock."""

    pushes_prices: bool
    price_batch_size: int

    def push_prices(self, access: Access, updates: Sequence[PriceUpdate]) -> CallReport:
        """Set the channel's prices. Raises CallFailed or RateLimited."""
        ...


@runtime_checkable
class PushesOrderChanges(Protocol):
    """A connector that tells the channel what we cancelled or refunded of its orders (`pushes_cancellations`,
    `pushes_refunds`). A kind it does not take is flagged for a person instead (dead-lettered with the reason)."""

    pushes_cancellations: bool
    pushes_refunds: bool

    def push_cancellation(self, access: Access, notice: CancellationNotice) -> CallReport:
        """Cancel the order on the channel (no refund and no restock there: money goes by its own refund notice,
        stock by our stock pushes); an order the channel has cancelled already is done. Raises CallFailed or
        RateLimited."""
        ...

    def push_refund(self, access: Access, notice: RefundNotice) -> CallReport:
        """Refund `amount` to the buyer through the channel. Raises CallFailed or RateLimited."""
        ...


@runtime_checkable
class PushesLineCancellations(Protocol):
    """A connector that tells the channel which units of an order we cancelled while the rest goes on, by the
    channel's own line ids; a cancellation already on the channel under our key is not made again."""

    pushes_line_cancellations: bool

    def push_line_cancellation(self, access: Access, notice: LineCancellationNotice) -> CallReport:
        """Raises CallFailed (permanent when the channel cannot take it this way) or RateLimited."""
        ...


@dataclass
class FeedStep:
    """Where a cancellation or refund sent as a feed stands (`PushesOrderChangesByFeed`). `handle` is kept with
    the job between steps (the uploaded document, then the feed's id); `done`: the channel processed it cleanly;
    otherwise the job comes back after `wait_s`."""

    handle: dict[str, Any]
    report: CallReport
    done: bool = False
    wait_s: float = 0.0


class AnswerLost(CallFailed):
    """A call that must not be made twice may have reached the channel with its answer lost (a refund feed
    submitted, no feed id back): never retried by itself; a person checks on the channel and replays."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


@runtime_checkable
class PushesOrderChangesByFeed(Protocol):
    """A connector whose channel takes our cancellations and refunds as documents it processes later (Amazon's
    order feeds), in three steps, each a call with no transaction open: `prepare_change` builds the document and
    uploads it (safe to repeat); `submit_change` submits it — the one step that must not be repeated blindly (the
    job marks the push `submitting` first, so a worker dying in the call leaves it for a person, not for a second
    refund); `change_outcome` reads the channel's processing result until it is done. Its channel's cancellation
    gives the buyer's money back by itself when `cancellation_refunds` (Amazon charges at shipment)."""

    pushes_cancellations: bool
    pushes_refunds: bool
    cancellation_refunds: bool

    def prepare_change(
        self, access: Access, notice: CancellationNotice | LineCancellationNotice | RefundNotice
    ) -> FeedStep:
        """Read what the document needs (the order's items), build it and upload it; `done` when nothing is left
        to send (every item cancelled already). Raises CallFailed or RateLimited."""
        ...

    def submit_change(self, access: Access, step: FeedStep) -> FeedStep:
        """Submit the uploaded document. Raises AnswerLost when a refund may have been submitted with its answer
        lost, CallFailed or RateLimited when it certainly was not."""
        ...

    def change_outcome(self, access: Access, step: FeedStep) -> FeedStep:
        """The channel's processing of the submitted document: `done`, or not yet (come back after `wait_s`).
        Raises CallFailed (permanent) naming the channel's errors when it refused the change."""
        ...


@runtime_checkable
class RefundsByBaseline(Protocol):
    """A connector whose channel keeps no reference of ours on a refund (eBay): before the first attempt the
    order's refunds are read and kept with the job, so a retry after a lost answer finds its refund among the ones
    that appeared since."""

    def refund_baseline(self, access: Access, notice: RefundNotice) -> tuple[str, ...]:
        """The ids of the channel's refunds of the order now. Raises CallFailed or RateLimited."""
        ...


@runtime_checkable
class ReportsChanges(Protocol):
    """A connector that reads the channel's cancellations and refunds of orders it sent before."""

    def change_topic(self, headers: Mapping[str, str]) -> bool:
        """Whether a signed delivery may report changes (Shopify's `orders/cancelled`, `refunds/create`)."""
        ...

    def changes(
        self, headers: Mapping[str, str] | None, payload: Mapping[str, Any]
    ) -> list[rules.ChannelChange]:
        """The cancellations and refunds a delivery reports (`headers` None: an order read by polling). Raises
        ValidationFailed naming the payload's field."""
        ...
