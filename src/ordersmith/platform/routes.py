"""The platform's API: health, login, users, API keys, sales channels, audit log, events, webhooks, jobs."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from ordersmith import __version__
from ordersmith.kernel.errors import EventIdTooOld, Forbidden
from ordersmith.kernel.pagination import Page
from ordersmith.platform import audit, identity, jobs, plugin_deliveries, plugins, sales_channels, webhooks
from ordersmith.platform.access import AUTHENTICATED, PUBLIC, Principal
from ordersmith.platform.db import Actor, UnitOfWork
from ordersmith.platform.event_stream import EventHub
from ordersmith.platform.http import (
    SESSION_COOKIE,
    authorize,
    client_origin,
    created,
    etag,
    get_db,
    get_settings,
    if_match_version,
    parse_uuid,
    requires,
    unit_of_work,
)
from ordersmith.platform.schemas import (
    ApiKeyIn,
    ApiKeyOut,
    AttemptOut,
    AuditOut,
    DeliveryOut,
    Health,
    JobOut,
    LoginIn,
    LoginOut,
    MeOut,
    NewApiKeyOut,
    NewWebhookOut,
    PageOut,
    PluginDeliveryOut,
    PluginListOut,
    SalesChannelIn,
    SalesChannelOut,
    SalesChannelPatch,
    TotpConfirmIn,
    TotpOut,
    UserIn,
    UserOut,
    UserPatch,
    WebhookIn,
    WebhookOut,
)

router = APIRouter()

Auth = Annotated[Principal, Depends(authorize)]
Limit = Annotated[int, Query(ge=1, le=500)]


def _page(page: Page[Any], model: type[BaseModel]) -> dict[str, object]:
    return {"items": [model.model_validate(item) for item in page.items], "next_cursor": page.next_cursor}


@router.get("/health", response_model=Health, tags=["platform"], openapi_extra=requires(PUBLIC))
def health(request: Request) -> Health:
    return Health(
        status="ok",
        database="postgresql" if get_db(request).dialect == "postgresql" else "sqlite",
        version=__version__,
    )


# --- sessions ------------------------------------------------------------------------------------------------


@router.post(
    "/auth/login",
    response_model=LoginOut,
    tags=["auth"],
    openapi_extra=requires(PUBLIC),
    responses={423: {"description": "account_locked: too many failed sign-ins"}},
)
def login(body: LoginIn, request: Request, response: Response) -> LoginOut:
    """Open a console session: sets an HttpOnly cookie and returns the CSRF token for writes."""
    settings = get_settings(request)
    uow = get_db(request).unit_of_work(identity_actor(request, body.email))
    new = identity.sign_in(
        uow, email=body.email, password=body.password, totp_code=body.totp_code, settings=settings
    )
    set_session_cookie(response, new.token, settings.cookie_secure, settings.session_idle_minutes)
    return LoginOut(
        user=UserOut.model_validate(new.user), csrf_token=new.csrf_token, expires_at=new.expires_at
    )


def identity_actor(request: Request, email: str) -> Actor:
    return Actor(kind="anonymous", id=None, label=email.strip().lower()[:320], origin=client_origin(request))


def set_session_cookie(response: Response, token: str, secure: bool, idle_minutes: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        secure=secure,
        samesite="lax",
        path="/",
        max_age=idle_minutes * 60 * 16,
    )


@router.post("/auth/logout", status_code=204, tags=["auth"], openapi_extra=requires(AUTHENTICATED))
def logout(principal: Auth, request: Request) -> Response:
    if principal.session_id is not None:
        identity.logout(unit_of_work(request), session_id=principal.session_id)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me", response_model=MeOut, tags=["auth"], openapi_extra=requires(AUTHENTICATED))
def me(principal: Auth) -> MeOut:
    return MeOut(
        kind=principal.kind,
        id=principal.id,
        label=principal.label,
        role=principal.role,
        scopes=sorted(principal.scopes),
        channel_id=principal.channel_id,
        csrf_token=principal.csrf_token,
    )


def _own_user_id(principal: Principal) -> uuid.UUID:
    if principal.kind != "user" or principal.id is None:
        raise Forbidden("only console users have a second factor")
    return principal.id


@router.post("/me/totp", response_model=TotpOut, tags=["auth"], openapi_extra=requires(AUTHENTICATED))
def start_totp(principal: Auth, request: Request) -> TotpOut:
    """Start TOTP enrolment: returns a new secret and `otpauth://` URI to scan; confirm with a code."""
    enrolment = identity.start_totp_enrolment(
        unit_of_work(request), user_id=_own_user_id(principal), settings=get_settings(request)
    )
    return TotpOut(secret=enrolment.secret, uri=enrolment.uri)


@router.post("/me/totp/confirm", response_model=UserOut, tags=["auth"], openapi_extra=requires(AUTHENTICATED))
def confirm_totp(body: TotpConfirmIn, principal: Auth, request: Request) -> UserOut:
    user = identity.confirm_totp(
        unit_of_work(request), user_id=_own_user_id(principal), code=body.code, settings=get_settings(request)
    )
    return UserOut.model_validate(user)


# --- users -----------------------------------------------------------------------------------------------------


@router.get("/users", response_model=PageOut[UserOut], tags=["users"], openapi_extra=requires("users:read"))
def list_users(
    principal: Auth, request: Request, limit: Limit = 50, cursor: str | None = None
) -> dict[str, object]:
    return _page(identity.list_users(unit_of_work(request), limit=limit, cursor=cursor), UserOut)


@router.post(
    "/users", status_code=201, response_model=UserOut, tags=["users"], openapi_extra=requires("users:write")
)
def create_user(body: UserIn, principal: Auth, request: Request) -> Response:
    return created(
        request,
        principal,
        body.model_dump(),
        lambda uow: UserOut.model_validate(
            identity.create_user(
                uow, email=body.email, name=body.name, role=body.role, password=body.password
            )
        ),
    )


@router.get("/users/{user_id}", response_model=UserOut, tags=["users"], openapi_extra=requires("users:read"))
def get_user(user_id: str, principal: Auth, request: Request) -> UserOut:
    user = identity.get_user(unit_of_work(request), user_id=parse_uuid(user_id, "user_id"))
    return UserOut.model_validate(user)


@router.patch(
    "/users/{user_id}", response_model=UserOut, tags=["users"], openapi_extra=requires("users:write")
)
def update_user(user_id: str, body: UserPatch, principal: Auth, request: Request) -> UserOut:
    user = identity.update_user(
        unit_of_work(request),
        user_id=parse_uuid(user_id, "user_id"),
        role=body.role,
        name=body.name,
        active=body.active,
        unlock=body.unlock,
    )
    return UserOut.model_validate(user)


# --- API keys ----------------------------------------------------------------------------------------------------


@router.get(
    "/api-keys", response_model=PageOut[ApiKeyOut], tags=["api keys"], openapi_extra=requires("api_keys:read")
)
def list_api_keys(
    principal: Auth, request: Request, limit: Limit = 50, cursor: str | None = None
) -> dict[str, object]:
    return _page(identity.list_api_keys(unit_of_work(request), limit=limit, cursor=cursor), ApiKeyOut)


@router.post(
    "/api-keys",
    status_code=201,
    response_model=NewApiKeyOut,
    tags=["api keys"],
    openapi_extra=requires("api_keys:write"),
)
def create_api_key(body: ApiKeyIn, principal: Auth, request: Request) -> Response:
    def execute(uow: UnitOfWork) -> NewApiKeyOut:
        new = identity.create_api_key(uow, name=body.name, scopes=body.scopes, channel_code=body.channel)
        return NewApiKeyOut(key=ApiKeyOut.model_validate(new.key), secret=new.secret)

    return created(request, principal, body.model_dump(), execute)


@router.post(
    "/api-keys/{key_id}/revoke",
    response_model=ApiKeyOut,
    tags=["api keys"],
    openapi_extra=requires("api_keys:write"),
)
def revoke_api_key(key_id: str, principal: Auth, request: Request) -> ApiKeyOut:
    key = identity.revoke_api_key(unit_of_work(request), key_id=parse_uuid(key_id, "key_id"))
    return ApiKeyOut.model_validate(key)


# --- sales channels ------------------------------------------------------------------------------------------------


@router.get(
    "/sales-channels",
    response_model=PageOut[SalesChannelOut],
    tags=["sales channels"],
    openapi_extra=requires("sales_channels:read"),
)
def list_channels(
    principal: Auth, request: Request, limit: Limit = 50, cursor: str | None = None
) -> dict[str, object]:
    page = sales_channels.list_sales_channels(
        unit_of_work(request), principal=principal, limit=limit, cursor=cursor
    )
    return _page(page, SalesChannelOut)


@router.post(
    "/sales-channels",
    status_code=201,
    response_model=SalesChannelOut,
    tags=["sales channels"],
    openapi_extra=requires("sales_channels:write"),
)
def create_channel(body: SalesChannelIn, principal: Auth, request: Request) -> Response:
    """Create a sales channel. `bills_later` (orders released without a tender) also needs
    `sales_channels:billing`."""
    if body.bills_later:
        principal.require(sales_channels.BILLING_SCOPE)
    return created(
        request,
        principal,
        body.model_dump(),
        lambda uow: SalesChannelOut.model_validate(
            sales_channels.create_sales_channel(
                uow,
                code=body.code,
                name=body.name,
                kind=body.kind,
                division=body.division,
                currency=body.currency,
                bills_later=body.bills_later,
                release_after_s=body.release_after_s,
            )
        ),
    )


@router.get(
    "/sales-channels/{channel_id}",
    response_model=SalesChannelOut,
    tags=["sales channels"],
    openapi_extra=requires("sales_channels:read"),
)
def get_channel(channel_id: str, principal: Auth, request: Request, response: Response) -> SalesChannelOut:
    channel = sales_channels.get_sales_channel(
        unit_of_work(request), principal=principal, channel_id=parse_uuid(channel_id, "channel_id")
    )
    response.headers["ETag"] = etag(channel.version)
    return SalesChannelOut.model_validate(channel)


@router.patch(
    "/sales-channels/{channel_id}",
    response_model=SalesChannelOut,
    tags=["sales channels"],
    openapi_extra=requires("sales_channels:write"),
)
def update_channel(
    channel_id: str, body: SalesChannelPatch, principal: Auth, request: Request, response: Response
) -> SalesChannelOut:
    """Change a channel. Send `If-Match` with the ETag you read to refuse (412) a change made since."""
    channel = sales_channels.update_sales_channel(
        unit_of_work(request),
        principal=principal,
        channel_id=parse_uuid(channel_id, "channel_id"),
        expected_version=if_match_version(request),
        name=body.name,
        active=body.active,
        bills_later=body.bills_later,
        release_after_s=body.release_after_s,
    )
    response.headers["ETag"] = etag(channel.version)
    return SalesChannelOut.model_validate(channel)


# --- audit, events, jobs ---------------------------------------------------------------------------------------------


@router.get("/audit", response_model=PageOut[AuditOut], tags=["audit"], openapi_extra=requires("audit:read"))
def list_audit(
    principal: Auth,
    request: Request,
    object_type: str | None = None,
    object_id: str | None = None,
    action: str | None = None,
    actor_id: str | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> dict[str, object]:
    page = audit.list_audit(
        unit_of_work(request),
        object_type=object_type,
        object_id=object_id,
        action=action,
        actor_id=actor_id,
        limit=limit,
        cursor=cursor,
    )
    return _page(page, AuditOut)


@router.get(
    "/events",
    tags=["events"],
    openapi_extra=requires("events:read"),
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "Server-sent events"},
        410: {"description": "event_id_too_old: Last-Event-ID is older than the outbox keeps"},
    },
)
async def stream_events(
    principal: Auth,
    request: Request,
    type: Annotated[
        list[str] | None, Query(description="event types to follow: `order.placed`, `order.*`")
    ] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Live events as server-sent events; reconnect with `Last-Event-ID` to get every matching event missed since,
    oldest first, then the live ones. An id older than the outbox still holds → 410 `event_id_too_old`. A channel
    key gets its own channel's events (its orders, their payments, invoices and gift cards, customers it created)
    and the shared stock (`stock.*`) and catalogue (`item.*`) events, nothing of another channel's."""
    hub: EventHub = request.app.state.hub
    after = parse_uuid(last_event_id, "Last-Event-ID") if last_event_id else None
    if after is not None and not await anyio.to_thread.run_sync(hub.resumable, after):
        raise EventIdTooOld(
            "the events after this Last-Event-ID are no longer kept; reconnect without it and resynchronise"
        )
    channel = await anyio.to_thread.run_sync(sales_channels.bound_channel, unit_of_work(request), principal)
    frames = hub.stream(type or ["*"], after, get_settings(request).sse_keepalive_s, channel=channel)
    return StreamingResponse(
        frames,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/jobs", response_model=PageOut[JobOut], tags=["jobs"], openapi_extra=requires("jobs:read"))
def list_jobs(
    principal: Auth, request: Request, status: str | None = None, limit: Limit = 50, cursor: str | None = None
) -> dict[str, object]:
    return _page(jobs.list_jobs(unit_of_work(request), status=status, limit=limit, cursor=cursor), JobOut)


# --- plugins -----------------------------------------------------------------------------------------


@router.get(
    "/plugins", response_model=PluginListOut, tags=["plugins"], openapi_extra=requires("plugins:read")
)
def list_plugins(principal: Auth) -> dict[str, object]:
    """The plugins this process found, whether each loaded (or why not), what each contributes, and how often each
    contribution failed here (docs/guides/plugins.md)."""
    return {"items": plugins.summary(plugins.loaded().plugins)}


@router.get(
    "/plugins/deliveries",
    response_model=PageOut[PluginDeliveryOut],
    tags=["plugins"],
    openapi_extra=requires("plugins:read"),
)
def list_plugin_deliveries(
    principal: Auth, request: Request, status: str | None = None, limit: Limit = 50, cursor: str | None = None
) -> dict[str, object]:
    """Events a plugin's subscriber failed on: pending (retried with back-off), delivered later, or dead."""
    page = plugin_deliveries.list_deliveries(unit_of_work(request), status=status, limit=limit, cursor=cursor)
    return _page(page, PluginDeliveryOut)


# --- webhooks ----------------------------------------------------------------------------------------


@router.get(
    "/webhooks",
    response_model=PageOut[WebhookOut],
    tags=["webhooks"],
    openapi_extra=requires("webhooks:read"),
)
def list_webhooks(
    principal: Auth, request: Request, limit: Limit = 50, cursor: str | None = None
) -> dict[str, object]:
    """Webhook subscriptions (a channel key: its channel's only)."""
    uow = unit_of_work(request)
    own = sales_channels.bound_channel(uow, principal)
    return _page(webhooks.list_subscriptions(uow, limit=limit, cursor=cursor, channel=own), WebhookOut)


@router.post(
    "/webhooks",
    status_code=201,
    response_model=NewWebhookOut,
    tags=["webhooks"],
    openapi_extra=requires("webhooks:write"),
)
def create_webhook(body: WebhookIn, principal: Auth, request: Request) -> Response:
    """Subscribe a URL to events. A channel key's subscription is its channel's: it receives that channel's
    events and the shared stock and catalogue ones, nothing of another channel's."""

    def execute(uow: UnitOfWork) -> NewWebhookOut:
        new = webhooks.create_subscription(
            uow,
            url=body.url,
            event_types=body.event_types,
            description=body.description,
            settings=get_settings(request),
            channel=sales_channels.bound_channel(uow, principal),
        )
        return NewWebhookOut(subscription=WebhookOut.model_validate(new.subscription), secret=new.secret)

    return created(request, principal, body.model_dump(), execute)


@router.get(
    "/webhooks/{subscription_id}",
    response_model=WebhookOut,
    tags=["webhooks"],
    openapi_extra=requires("webhooks:read"),
)
def get_webhook(subscription_id: str, principal: Auth, request: Request) -> WebhookOut:
    uow = unit_of_work(request)
    sub = webhooks.get_subscription(uow, subscription_id=parse_uuid(subscription_id, "id"),
                                    channel=sales_channels.bound_channel(uow, principal))  # fmt: skip
    return WebhookOut.model_validate(sub)


@router.delete(
    "/webhooks/{subscription_id}",
    status_code=204,
    tags=["webhooks"],
    openapi_extra=requires("webhooks:write"),
)
def delete_webhook(subscription_id: str, principal: Auth, request: Request) -> Response:
    uow = unit_of_work(request)
    webhooks.delete_subscription(uow, subscription_id=parse_uuid(subscription_id, "id"),
                                 channel=sales_channels.bound_channel(uow, principal))  # fmt: skip
    return Response(status_code=204)


@router.get(
    "/webhooks/{subscription_id}/deliveries",
    response_model=PageOut[DeliveryOut],
    tags=["webhooks"],
    openapi_extra=requires("webhooks:read"),
)
def list_deliveries(
    subscription_id: str,
    principal: Auth,
    request: Request,
    status: str | None = None,
    limit: Limit = 50,
    cursor: str | None = None,
) -> dict[str, object]:
    uow = unit_of_work(request)
    page = webhooks.list_deliveries(
        uow,
        subscription_id=parse_uuid(subscription_id, "id"),
        status=status,
        limit=limit,
        cursor=cursor,
        channel=sales_channels.bound_channel(uow, principal),
    )
    return _page(page, DeliveryOut)


@router.get(
    "/webhooks/{subscription_id}/deliveries/{delivery_id}/attempts",
    response_model=list[AttemptOut],
    tags=["webhooks"],
    openapi_extra=requires("webhooks:read"),
)
def list_attempts(
    subscription_id: str, delivery_id: str, principal: Auth, request: Request
) -> list[AttemptOut]:
    uow = unit_of_work(request)
    rows = webhooks.list_attempts(
        uow,
        subscription_id=parse_uuid(subscription_id, "id"),
        delivery_id=parse_uuid(delivery_id, "delivery_id"),
        channel=sales_channels.bound_channel(uow, principal),
    )
    return [AttemptOut.model_validate(r) for r in rows]
