"""Administration beyond users and API keys: webhook subscriptions with their delivery log, and sales channels
(create, rename, switch on and off)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from ordersmith.console._pages import check_form_csrf, principal_for, render
from ordersmith.kernel.errors import OrdersmithError, ValidationFailed
from ordersmith.platform import sales_channels, webhooks
from ordersmith.platform.http import get_settings, parse_uuid, unit_of_work

router = APIRouter(include_in_schema=False)


def _webhooks_page(
    request: Request, status: int = 200, error: str = "", secret: str = "", shown: uuid.UUID | None = None
) -> Response:
    principal = principal_for(request, "webhooks:read")
    uow = unit_of_work(request)
    subscriptions = webhooks.list_subscriptions(uow, limit=100).items
    deliveries = webhooks.list_deliveries(uow, subscription_id=shown, limit=50).items if shown else []
    return render(
        request,
        "webhooks.html",
        principal,
        status=status,
        error=error,
        secret=secret,
        subscriptions=subscriptions,
        deliveries=deliveries,
        shown=shown,
    )


@router.get("/admin/webhooks")
def webhooks_page(request: Request, subscription: str = "") -> Response:
    return _webhooks_page(request, shown=parse_uuid(subscription, "subscription") if subscription else None)


@router.post("/admin/webhooks")
def subscribe(
    request: Request,
    url: Annotated[str, Form()],
    event_types: Annotated[str, Form()],
    description: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    principal = principal_for(request, "webhooks:write")
    check_form_csrf(principal, csrf_token)
    try:
        new = webhooks.create_subscription(
            unit_of_work(request),
            url=url.strip(),
            description=description,
            event_types=[t.strip() for t in event_types.split(",") if t.strip()],
            settings=get_settings(request),
        )
    except OrdersmithError as exc:
        return _webhooks_page(request, status=exc.status, error=exc.detail)
    return _webhooks_page(request, status=201, secret=new.secret, shown=new.subscription.id)


@router.post("/admin/webhooks/{subscription_id}/delete")
def unsubscribe(request: Request, subscription_id: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    principal = principal_for(request, "webhooks:write")
    check_form_csrf(principal, csrf_token)
    webhooks.delete_subscription(unit_of_work(request), subscription_id=parse_uuid(subscription_id, "id"))
    return RedirectResponse("/admin/webhooks", status_code=303)


def _channels_page(request: Request, status: int = 200, error: str = "") -> Response:
    principal = principal_for(request, "sales_channels:read")
    found = sales_channels.list_sales_channels(unit_of_work(request), principal=principal, limit=200).items
    return render(
        request,
        "channels.html",
        principal,
        status=status,
        error=error,
        channels=found,
        kinds=sales_channels.CHANNEL_KINDS,
    )


@router.get("/admin/channels")
def channels_page(request: Request) -> Response:
    return _channels_page(request)


def _window_seconds(minutes: str) -> int | None:
    """The edit-window form field (whole minutes) in seconds; blank leaves it as it is.

    Raises:
        ValidationFailed: not a whole number of minutes from 0 to a day.
    """
    text = minutes.strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or int(text) > 1440:
        raise ValidationFailed.on("release_after_min", "whole minutes, 0 to 1440")
    return int(text) * 60


@router.post("/admin/channels")
def create_channel(
    request: Request,
    code: Annotated[str, Form()],
    name: Annotated[str, Form()],
    kind: Annotated[str, Form()],
    division: Annotated[str, Form()],
    currency: Annotated[str, Form()] = "USD",
    release_after_min: Annotated[str, Form()] = "0",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    principal = principal_for(request, "sales_channels:write")
    check_form_csrf(principal, csrf_token)
    try:
        sales_channels.create_sales_channel(
            unit_of_work(request),
            code=code.strip(),
            name=name.strip(),
            kind=kind,
            division=division.strip(),
            currency=currency.strip().upper(),
            release_after_s=_window_seconds(release_after_min) or 0,
        )
    except OrdersmithError as exc:
        return _channels_page(request, status=exc.status, error=exc.detail)
    return RedirectResponse("/admin/channels", status_code=303)


@router.post("/admin/channels/{channel_id}")
def change_channel(
    request: Request,
    channel_id: str,
    name: Annotated[str, Form()] = "",
    active: Annotated[str, Form()] = "",
    release_after_min: Annotated[str, Form()] = "",
    version: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    principal = principal_for(request, "sales_channels:write")
    check_form_csrf(principal, csrf_token)
    try:
        sales_channels.update_sales_channel(
            unit_of_work(request),
            principal=principal,
            channel_id=parse_uuid(channel_id, "id"),
            expected_version=int(version) if version else None,
            name=name.strip() or None,
            active=active == "on",
            release_after_s=_window_seconds(release_after_min),
        )
    except OrdersmithError as exc:
        return _channels_page(request, status=exc.status, error=exc.detail)
    return RedirectResponse("/admin/channels", status_code=303)
