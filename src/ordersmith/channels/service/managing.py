"""Setting up connectors: create one for a sales channel (its credentials sealed), rotate its credentials, read
it and its health."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from ordersmith.channels import connectors
from ordersmith.channels.connectors import amazon_feeds, ebay_post_order, ebay_signing, sftp
from ordersmith.channels.service import custom_values, polling
from ordersmith.channels.service._common import (
    Connector,
    Loaded,
    load,
    seal_credentials,
    to_connector,
)
from ordersmith.channels.tables import ChannelOrderRow, ConnectorRow, PollStateRow
from ordersmith.kernel.errors import NotFound, ValidationFailed
from ordersmith.kernel.ids import new_id
from ordersmith.kernel.pagination import Page
from ordersmith.platform import custom_fields
from ordersmith.platform.access import Principal
from ordersmith.platform.db import UnitOfWork, use_case
from ordersmith.platform.paging import keyset_page
from ordersmith.platform.tables import SalesChannelRow

_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,39}$")
# What each kind's config may hold, and the credentials it needs.
_CONFIG: dict[str, dict[str, type]] = {
    "generic": {"shipping_method": str, "shipping_methods": dict, "stock_buffer": int, "custom_fields": dict},
    "shopify": {
        "shipping_method": str,
        "shipping_methods": dict,
        "custom_fields": dict,
        "stock_buffer": int,
        "stock_window_s": int,
        "shop_url": str,
        "api_version": str,
        "location_id": str,
        "price_list": str,
        "price_window_s": int,
    },
    "woocommerce": {
        "shipping_method": str,
        "shipping_methods": dict,
        "custom_fields": dict,
        "stock_buffer": int,
        "stock_window_s": int,
        "store_url": str,
        "price_list": str,
        "price_window_s": int,
        "poll_interval_s": int,
        "shipped_status": str,
        "page_size": int,
    },
    "amazon": {
        "shipping_method": str,
        "shipping_methods": dict,
        "custom_fields": dict,
        "stock_buffer": int,
        "stock_window_s": int,
        "endpoint": str,
        "token_url": str,
        "marketplace_id": str,
        "seller_id": str,
        "product_type": str,
        "poll_interval_s": int,
        "price_list": str,
        "price_window_s": int,
        "cancel_reason": str,
        "refund_reason": str,
        "feed_check_s": int,
    },
    "ebay": {
        "shipping_method": str,
        "shipping_methods": dict,
        "custom_fields": dict,
        "stock_buffer": int,
        "stock_window_s": int,
        "endpoint": str,
        "poll_interval_s": int,
        "page_size": int,
        "max_calls_per_s": int,
        "marketplace_id": str,
        "price_list": str,
        "price_window_s": int,
        "cancel_reason": str,
    },
    "csv_sftp": {
        "shipping_method": str,
        "shipping_methods": dict,
        "custom_fields": dict,
        "stock_buffer": int,
        "stock_window_s": int,
        "poll_interval_s": int,
        "host": str,
        "port": int,
        "username": str,
        "host_key": str,
        "inbox_dir": str,
        "done_dir": str,
        "outbox_dir": str,
        "price_list": str,
        "price_window_s": int,
    },
}
_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "generic": (),
    "shopify": ("access_token", "webhook_secret"),
    "woocommerce": ("consumer_key", "consumer_secret", "webhook_secret"),
    "amazon": ("client_id", "client_secret", "refresh_token"),
    "ebay": ("client_id", "client_secret", "refresh_token"),
    "csv_sftp": (),  # a password or a private key: one of `_EITHER`
}
# Credentials a kind takes of which it needs at least one, and the longest each may be.
_EITHER: dict[str, dict[str, int]] = {"csv_sftp": {"password": 500, "private_key": 8000}}
# Credentials a kind may hold, both or neither, and the longest each may be: eBay's signing keypair (EU and UK
# sellers' money-moving calls must be signed).
_PAIRED: dict[str, dict[str, int]] = {
    "ebay": {ebay_signing.JWE_FIELD: 4000, ebay_signing.KEY_FIELD: 8000},
}
# Absolute URLs each kind needs (or may override), checked as such.
_URLS: dict[str, dict[str, bool]] = {
    "shopify": {"shop_url": True},
    "woocommerce": {"store_url": True},
    "amazon": {"endpoint": True, "token_url": False},
    "ebay": {"endpoint": False},
}
MIN_POLL_S, MAX_POLL_S = 60, 86_400
MAX_PAGE_SIZE = 100
MAX_CALLS_PER_S = 100
_API_VERSION = re.compile(r"^\d{4}-\d{2}$|^unstable$")
MAX_WINDOW_S = 3600
MAX_BUFFER = 1_000_000


def _config_fields(kind: str) -> dict[str, type]:
    """The settings a connector of `kind` takes: a plugin's connector takes the generic ones plus what its
    `config_fields` names (docs/guides/plugins.md)."""
    if kind in _CONFIG:
        return _CONFIG[kind]
    return {**_CONFIG["generic"], **dict(getattr(connectors.for_kind(kind), "config_fields", {}))}


def _credential_fields(kind: str) -> tuple[str, ...]:
    if kind in _CREDENTIALS:
        return _CREDENTIALS[kind] + tuple(_EITHER.get(kind, {})) + tuple(_PAIRED.get(kind, {}))
    return tuple(getattr(connectors.for_kind(kind), "credential_fields", ()))


def _check_config(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    allowed = _config_fields(kind)
    for key, value in config.items():
        if key not in allowed:
            raise ValidationFailed.on(f"config.{key}", f"not a setting of a {kind} connector")
        if not isinstance(value, allowed[key]) or isinstance(value, bool):
            raise ValidationFailed.on(f"config.{key}", f"must be a {allowed[key].__name__}")
        longest = 2000 if key == "host_key" else 300
        if isinstance(value, str) and (len(value) > longest or "\x00" in value):
            raise ValidationFailed.on(f"config.{key}", f"at most {longest} characters, no NUL")
    if not config.get("shipping_method"):
        raise ValidationFailed.on("config.shipping_method", "the shipping method code channel orders ship by")
    methods = config.get("shipping_methods", {})
    if any(
        not isinstance(k, str) or not isinstance(v, str) or len(k) > 100 or len(v) > 40
        for k, v in methods.items()
    ):
        raise ValidationFailed.on(
            "config.shipping_methods", "maps the channel's shipping codes to ours (strings)"
        )
    if not 0 <= config.get("stock_buffer", 0) <= MAX_BUFFER:
        raise ValidationFailed.on("config.stock_buffer", f"0 to {MAX_BUFFER} units")
    for window in ("stock_window_s", "price_window_s"):
        if not 0 <= config.get(window, 5) <= MAX_WINDOW_S:
            raise ValidationFailed.on(f"config.{window}", f"0 to {MAX_WINDOW_S} seconds")
    for key, required in _URLS.get(kind, {}).items():
        url = urlsplit(str(config.get(key, "")))
        if (required or key in config) and (url.scheme not in ("http", "https") or not url.netloc):
            raise ValidationFailed.on(f"config.{key}", "an absolute URL, e.g. https://shop.example.com")
    if not MIN_POLL_S <= config.get("poll_interval_s", MIN_POLL_S) <= MAX_POLL_S:
        raise ValidationFailed.on("config.poll_interval_s", f"{MIN_POLL_S} to {MAX_POLL_S} seconds")
    if not 1 <= config.get("page_size", 1) <= MAX_PAGE_SIZE:
        raise ValidationFailed.on("config.page_size", f"1 to {MAX_PAGE_SIZE} orders a page")
    if not 1 <= config.get("max_calls_per_s", 1) <= MAX_CALLS_PER_S:
        raise ValidationFailed.on("config.max_calls_per_s", f"1 to {MAX_CALLS_PER_S} calls a second")
    _check_custom_map(config)
    if kind == "amazon":
        _check_amazon(config)
    if (
        kind == "ebay"
        and "cancel_reason" in config
        and config["cancel_reason"] not in ebay_post_order.SELLER_REASONS
    ):
        raise ValidationFailed.on(
            "config.cancel_reason",
            f"one of eBay's seller reasons: {', '.join(ebay_post_order.SELLER_REASONS)}",
        )
    if kind == "csv_sftp":
        _check_sftp(config)
    if kind == "shopify" and not _API_VERSION.match(str(config.get("api_version", "2024-10"))):
        raise ValidationFailed.on("config.api_version", "a Shopify API version such as 2024-10")
    return config


def _check_custom_map(config: dict[str, Any]) -> None:
    """`custom_fields`: the channel's attribute name -> our order custom field (the field must exist: checked with
    the definitions by `create_connector`)."""
    mapped = config.get("custom_fields", {})
    if len(mapped) > custom_values.MAX_MAPPED:
        raise ValidationFailed.on("config.custom_fields", f"at most {custom_values.MAX_MAPPED} attributes")
    for attribute, name in mapped.items():
        if not isinstance(attribute, str) or not 0 < len(attribute) <= 100 or "\x00" in attribute:
            raise ValidationFailed.on(
                "config.custom_fields", "attribute names of 1 to 100 characters, no NUL"
            )
        if not isinstance(name, str) or not re.fullmatch(custom_fields.NAME_PATTERN, name):
            raise ValidationFailed.on(f"config.custom_fields.{attribute}", "an order custom field's name")


def _check_custom_fields_exist(uow: UnitOfWork, config: dict[str, Any]) -> None:
    known = {d.name for d in custom_fields.definitions(uow, "order")}
    for attribute, name in dict(config.get("custom_fields") or {}).items():
        if name not in known:
            raise ValidationFailed.on(f"config.custom_fields.{attribute}", f"no order custom field {name!r}")


def _check_amazon(config: dict[str, Any]) -> None:
    for key, what in (("marketplace_id", "the marketplace's id"), ("seller_id", "your merchant token")):
        if not config.get(key):
            raise ValidationFailed.on(f"config.{key}", f"is required: {what}")
    for key, known in (
        ("cancel_reason", amazon_feeds.CANCEL_REASONS),
        ("refund_reason", amazon_feeds.ADJUSTMENT_REASONS),
    ):
        if key in config and config[key] not in known:
            raise ValidationFailed.on(f"config.{key}", f"one of Amazon's reasons: {', '.join(known)}")
    low, high = amazon_feeds.FEED_CHECK_RANGE_S
    if not low <= config.get("feed_check_s", low) <= high:
        raise ValidationFailed.on("config.feed_check_s", f"{low} to {high} seconds")


def _check_sftp(config: dict[str, Any]) -> None:
    for key in ("host", "username", "host_key"):
        if not str(config.get(key, "")).strip():
            raise ValidationFailed.on(f"config.{key}", "is required")
    if not 1 <= config.get("port", 22) <= 65_535:
        raise ValidationFailed.on("config.port", "1 to 65535")
    try:
        sftp.host_key(str(config["host_key"]))
    except ValueError as exc:
        raise ValidationFailed.on("config.host_key", str(exc)) from None
    folders = [str(config.get(k) or sftp.DEFAULT_FOLDERS[k]).rstrip("/") for k in sftp.DEFAULT_FOLDERS]
    for key, path in zip(sftp.DEFAULT_FOLDERS, folders, strict=True):
        if not path.startswith("/") or "/../" in f"{path}/":
            raise ValidationFailed.on(f"config.{key}", "an absolute folder on the server, e.g. /orders/inbox")
    if len(set(folders)) != len(folders):
        raise ValidationFailed.on("config.done_dir", "inbox, done and outbox must be three different folders")


def _check_credentials(kind: str, credentials: dict[str, str]) -> dict[str, str]:
    either, paired = _EITHER.get(kind, {}), _PAIRED.get(kind, {})
    for key, value in credentials.items():
        if key not in _credential_fields(kind):
            raise ValidationFailed.on(f"credentials.{key}", f"not a credential of a {kind} connector")
        longest = either.get(key) or paired.get(key) or 500
        if not isinstance(value, str) or not value or len(value) > longest or "\x00" in value:
            raise ValidationFailed.on(f"credentials.{key}", f"1 to {longest} characters, no NUL")
    for key in _credential_fields(kind):
        if key not in credentials and key not in either and key not in paired:
            raise ValidationFailed.on(f"credentials.{key}", "is required")
    if either and not any(key in credentials for key in either):
        raise ValidationFailed.on(
            f"credentials.{next(iter(either))}", f"one of {', '.join(either)} is required"
        )
    held = [key for key in paired if key in credentials]
    if held and len(held) < len(paired):
        missing = next(key for key in paired if key not in credentials)
        raise ValidationFailed.on(f"credentials.{missing}", f"is required with {', '.join(held)}")
    if "private_key" in credentials and kind == "csv_sftp":
        try:
            sftp.private_key(credentials["private_key"])
        except ValueError as exc:
            raise ValidationFailed.on("credentials.private_key", str(exc)) from None
    if ebay_signing.KEY_FIELD in credentials and kind == "ebay":
        try:
            ebay_signing.private_key(credentials[ebay_signing.KEY_FIELD])
        except ValueError as exc:
            raise ValidationFailed.on(f"credentials.{ebay_signing.KEY_FIELD}", str(exc)) from None
    return credentials


@use_case
def create_connector(
    uow: UnitOfWork,
    *,
    code: str,
    kind: str,
    sales_channel: str,
    name: str,
    config: dict[str, Any],
    credentials: dict[str, str],
) -> Connector:
    """Connect a sales channel to its platform: one connector per channel instance, its credentials sealed.

    Raises:
        ValidationFailed: a malformed code, an unknown kind or sales channel, config or credentials it does not
            take or lacks (each naming its field).
        AlreadyExists: the code is taken.
    """
    if not _CODE.match(code):
        raise ValidationFailed.on("code", "2-40 lower-case letters, digits, '-' or '_'")
    if kind not in connectors.kinds():  # the built-in kinds (rules.CONNECTOR_KINDS) and plugins' kinds
        raise ValidationFailed.on("kind", f"must be one of {', '.join(connectors.kinds())}")
    if not name.strip() or len(name) > 200:
        raise ValidationFailed.on("name", "1 to 200 characters")
    channel = uow.session.scalar(sa.select(SalesChannelRow).where(SalesChannelRow.code == sales_channel))
    if channel is None:
        raise ValidationFailed.on("sales_channel", f"no sales channel {sales_channel!r}")
    checked = _check_config(kind, dict(config))
    _check_custom_fields_exist(uow, checked)
    row = ConnectorRow(
        id=new_id(),
        code=code,
        kind=kind,
        sales_channel_id=channel.id,
        name=name.strip(),
        config=checked,
        credentials=seal_credentials(uow, _check_credentials(kind, dict(credentials))),
        active=True,
        dead_letters_open=0,
        rate_limit={},
        created_at=uow.now(),
        version=1,
    )
    uow.insert_unique(ConnectorRow, row, f"channel connector {code!r} exists")
    polling.start_polling(uow, row)
    after = {
        "kind": kind,
        "sales_channel": sales_channel,
        "name": row.name,
        "config": row.config,
        "credentials": sorted(credentials),
    }
    uow.audit(
        "channel_connector.created", object_type="channel_connector", object_id=str(row.id), after=after
    )
    return to_connector(uow, Loaded(row, channel.code, channel.kind, channel.division))


@use_case
def set_credentials(uow: UnitOfWork, *, code: str, credentials: dict[str, str]) -> Connector:
    """Replace a connector's credentials (rotation), sealed; audited by name only."""
    loaded = load(uow, code=code)
    loaded.row.credentials = seal_credentials(uow, _check_credentials(loaded.row.kind, dict(credentials)))
    loaded.row.version += 1
    uow.audit(
        "channel_connector.credentials_set",
        object_type="channel_connector",
        object_id=str(loaded.row.id),
        after={"credentials": sorted(credentials)},
    )
    return to_connector(uow, loaded)


@use_case(readonly=True)
def get_connector(uow: UnitOfWork, *, code: str, principal: Principal | None = None) -> Connector:
    return to_connector(uow, load(uow, code=code, principal=principal))


@use_case(readonly=True)
def list_connectors(
    uow: UnitOfWork, *, principal: Principal | None = None, limit: int = 50, cursor: str | None = None
) -> Page[Connector]:
    query = sa.select(ConnectorRow)
    if principal is not None and principal.channel_id is not None:
        query = query.where(ConnectorRow.sales_channel_id == principal.channel_id)
    page = keyset_page(uow, query, keys=[ConnectorRow.code], to_item=lambda r: r, cursor=cursor, limit=limit)
    codes = {
        c.id: c.code
        for c in uow.session.scalars(
            sa.select(SalesChannelRow).where(SalesChannelRow.id.in_({r.sales_channel_id for r in page.items}))
        )
    }
    return Page(
        [to_connector(uow, Loaded(r, codes[r.sales_channel_id], "", "")) for r in page.items],
        page.next_cursor,
    )


@dataclass(frozen=True)
class Polling:
    cursor: dict[str, Any]  # where the next poll reads from (the channel's terms)
    next_poll_at: datetime
    last_polled_at: datetime | None
    failures: int
    paused: bool  # the channel refused the poll for good: replay its dead letter (or poll now) to resume
    polling_now: bool


@dataclass(frozen=True)
class Health:
    connector: str
    kind: str
    active: bool
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None
    dead_letters_open: int
    oldest_waiting_at: datetime | None  # the oldest channel order received and not yet imported
    lag_s: float  # how long it has waited (0: none waiting)
    oldest_held_at: datetime | None  # the oldest order held for an unmapped SKU
    stock_push_due_at: datetime | None
    rate_limit: dict[str, Any]
    polling: Polling | None  # None: the connector is not polled


def _oldest(uow: UnitOfWork, connector_id: Any, status: str) -> datetime | None:
    return uow.session.scalar(
        sa.select(ChannelOrderRow.received_at)
        .where(ChannelOrderRow.connector_id == connector_id, ChannelOrderRow.status == status)
        .order_by(ChannelOrderRow.received_at)
        .limit(1)
    )


@use_case(readonly=True)
def connector_health(uow: UnitOfWork, *, code: str, principal: Principal | None = None) -> Health:
    """A connector's health: last success and failure, open dead letters, the import lag, the channel's last
    word on its rate limit, and a polled connector's poll state. Four indexed reads, whatever the history."""
    row = load(uow, code=code, principal=principal).row
    waiting = _oldest(uow, row.id, "received")
    state = uow.session.get(PollStateRow, row.id)
    now = uow.now()
    return Health(
        connector=row.code,
        kind=row.kind,
        active=row.active,
        last_success_at=row.last_success_at,
        last_failure_at=row.last_failure_at,
        last_error=row.last_error,
        dead_letters_open=row.dead_letters_open,
        oldest_waiting_at=waiting,
        lag_s=(now - waiting).total_seconds() if waiting else 0.0,
        oldest_held_at=_oldest(uow, row.id, "held"),
        stock_push_due_at=row.stock_push_due_at,
        rate_limit=dict(row.rate_limit or {}),
        polling=None
        if state is None
        else Polling(
            cursor=dict(state.cursor or {}),
            next_poll_at=state.next_poll_at,
            last_polled_at=state.last_polled_at,
            failures=state.failures,
            paused=state.paused,
            polling_now=state.claimed_until is not None and state.claimed_until >= now,
        ),
    )


def find_connector_for_channel(uow: UnitOfWork, *, channel_code: str) -> Loaded | None:
    """The active connector of a sales channel (by its code), if it has one."""
    found = uow.session.execute(
        sa.select(ConnectorRow.code)
        .join(SalesChannelRow, SalesChannelRow.id == ConnectorRow.sales_channel_id)
        .where(SalesChannelRow.code == channel_code, ConnectorRow.active.is_(True))
        .limit(1)
    ).first()
    if found is None:
        return None
    try:
        return load(uow, code=found[0])
    except NotFound:
        return None
