"""Console pages: login (with TOTP), the shell, users and API-key administration, the live event feed.

Handlers are thin: they check the session, call one service function and render. Writes need the session's
CSRF token in the form.
"""

from __future__ import annotations

from typing import Annotated, Any

import swagger_ui_bundle  # type: ignore[import-untyped]
from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from ordersmith.console import (
    admin,
    bills,
    campaign_results,
    campaigns,
    cash,
    categories,
    continuity,
    costing,
    crm,
    custom_fields,
    dashboard,
    disputes,
    drop_ship,
    dunning,
    extractions,
    homes,
    journal_entry,
    ledger,
    ledger_exports,
    mail_files,
    marketing,
    packing,
    payables,
    periods,
    phone_orders,
    pos,
    pos_setup,
    receivables,
    returns,
    search,
    segments,
    settlements,
    source_codes,
    statements,
    stock,
    warehouse,
)
from ordersmith.console import customers as customers_pages
from ordersmith.console import imports as import_pages
from ordersmith.console import orders as orders_pages
from ordersmith.console import reports as report_pages
from ordersmith.console import settings as settings_pages
from ordersmith.console._pages import (
    HERE,
    LoginRequired,
    PageForbidden,
    check_form_csrf,
    principal_for,
    render,
    user_id_of,
)
from ordersmith.kernel.errors import AccountLocked, Forbidden, NotAuthenticated, OrdersmithError
from ordersmith.platform import identity
from ordersmith.platform.access import ROLES, SCOPES, Principal
from ordersmith.platform.db import Actor
from ordersmith.platform.http import (
    SESSION_COOKIE,
    client_origin,
    get_db,
    get_settings,
    parse_uuid,
    unit_of_work,
)
from ordersmith.platform.sales_channels import list_sales_channels

router = APIRouter(include_in_schema=False)
_principal, _user_id, _check_form_csrf, _render = principal_for, user_id_of, check_form_csrf, render


@router.get("/login")
def login_page(request: Request) -> Response:
    return _render(request, "login.html", None, next=request.query_params.get("next", "/"))


@router.post("/login")
def login_submit(
    request: Request,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    totp_code: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    settings = get_settings(request)
    uow = get_db(request).unit_of_work(
        Actor(kind="anonymous", id=None, label=email.strip().lower()[:320], origin=client_origin(request))
    )
    try:
        new = identity.sign_in(
            uow, email=email, password=password, totp_code=totp_code or None, settings=settings
        )
    except (NotAuthenticated, AccountLocked, Forbidden) as exc:
        needs_code = bool(exc.extra.get("totp_required"))
        return _render(
            request,
            "login.html",
            None,
            status=exc.status,
            error=exc.detail,
            email=email,
            needs_code=needs_code,
            next=next,
        )
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        new.token,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
        max_age=settings.session_idle_minutes * 60 * 16,
    )
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    principal = _principal(request)
    _check_form_csrf(principal, csrf_token)
    if principal.session_id is not None:
        identity.logout(unit_of_work(request), session_id=principal.session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/events")
def events_page(request: Request) -> Response:
    principal = _principal(request, "events:read")
    return _render(request, "events.html", principal)


@router.get("/account/security")
def security_page(request: Request) -> Response:
    principal = _principal(request)
    user = identity.get_user(unit_of_work(request), user_id=_user_id(principal))
    return _render(request, "security.html", principal, user=user)


@router.post("/account/security/totp")
def start_totp(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    principal = _principal(request)
    _check_form_csrf(principal, csrf_token)
    enrolment = identity.start_totp_enrolment(
        unit_of_work(request),
        user_id=_user_id(principal),
        settings=get_settings(request),
    )
    user = identity.get_user(unit_of_work(request), user_id=_user_id(principal))
    return _render(request, "security.html", principal, user=user, enrolment=enrolment)


@router.post("/account/security/totp/confirm")
def confirm_totp(
    request: Request, code: Annotated[str, Form()], csrf_token: Annotated[str, Form()] = ""
) -> Response:
    principal = _principal(request)
    _check_form_csrf(principal, csrf_token)
    uow = unit_of_work(request)
    try:
        identity.confirm_totp(uow, user_id=_user_id(principal), code=code, settings=get_settings(request))
    except OrdersmithError as exc:
        user = identity.get_user(uow, user_id=_user_id(principal))
        return _render(request, "security.html", principal, status=exc.status, user=user, error=exc.detail)
    return RedirectResponse("/account/security", status_code=303)


@router.get("/admin/users")
def users_page(request: Request) -> Response:
    principal = _principal(request, "users:read")
    users = identity.list_users(unit_of_work(request), limit=500).items
    return _render(request, "users.html", principal, users=users, roles=ROLES)


@router.post("/admin/users")
def create_user(
    request: Request,
    email: Annotated[str, Form()],
    role: Annotated[str, Form()],
    password: Annotated[str, Form()],
    name: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    principal = _principal(request, "users:write")
    _check_form_csrf(principal, csrf_token)
    uow = unit_of_work(request)
    try:
        identity.create_user(uow, email=email, name=name, role=role, password=password)
    except OrdersmithError as exc:
        users = identity.list_users(uow, limit=500).items
        return _render(
            request, "users.html", principal, status=exc.status, users=users, roles=ROLES, error=exc.detail
        )
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/unlock")
def unlock_user(request: Request, user_id: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    principal = _principal(request, "users:write")
    _check_form_csrf(principal, csrf_token)
    identity.update_user(unit_of_work(request), user_id=parse_uuid(user_id, "user_id"), unlock=True)
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/admin/api-keys")
def api_keys_page(request: Request) -> Response:
    principal = _principal(request, "api_keys:read")
    return _render(request, "api_keys.html", principal, **_api_key_listing(request, principal))


def _api_key_listing(request: Request, principal: Principal) -> dict[str, Any]:
    uow = unit_of_work(request)
    channels = list_sales_channels(uow, principal=principal, limit=500).items
    return {
        "keys": identity.list_api_keys(uow, limit=500).items,
        "scopes": SCOPES,
        "channel_codes": {c.id: c.code for c in channels},
    }


@router.post("/admin/api-keys")
def create_api_key(
    request: Request,
    name: Annotated[str, Form()],
    scopes: Annotated[list[str], Form()],
    channel: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    principal = _principal(request, "api_keys:write")
    _check_form_csrf(principal, csrf_token)
    uow = unit_of_work(request)
    try:
        new = identity.create_api_key(uow, name=name, scopes=scopes, channel_code=channel or None)
    except OrdersmithError as exc:
        listing = _api_key_listing(request, principal)
        return _render(request, "api_keys.html", principal, status=exc.status, error=exc.detail, **listing)
    return _render(
        request, "api_keys.html", principal, status=201, new_key=new, **_api_key_listing(request, principal)
    )


@router.post("/admin/api-keys/{key_id}/revoke")
def revoke_api_key(request: Request, key_id: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    principal = _principal(request, "api_keys:write")
    _check_form_csrf(principal, csrf_token)
    identity.revoke_api_key(unit_of_work(request), key_id=parse_uuid(key_id, "key_id"))
    return RedirectResponse("/admin/api-keys", status_code=303)


@router.get("/api/docs")
def api_docs() -> HTMLResponse:
    """Interactive API docs, served from the installed swagger-ui-bundle-v2 package (no CDN)."""
    return HTMLResponse((HERE / "templates" / "api_docs.html").read_text())


def mount(app: FastAPI) -> None:
    async def login_required(request: Request, exc: Exception) -> Response:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    async def forbidden_page(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageForbidden)
        principal = getattr(request.state, "principal", None)
        return _render(request, "error.html", principal, status=403, title="Not allowed", detail=exc.detail)

    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(PageForbidden, forbidden_page)
    app.mount(
        "/static/swagger-ui", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger-ui"
    )
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(router)
    for screens in (
        homes,
        dashboard,
        orders_pages,
        customers_pages,
        search,
        phone_orders,
        pos,
        pos_setup,
        returns,
        stock,
        categories,
        admin,
        crm,
        custom_fields,
        settings_pages,
        warehouse,
        packing,
        drop_ship,
        payables,
        bills,
        receivables,
        cash,
        disputes,
        dunning,
        journal_entry,  # before ledger: /finance/journal/new is not an entry's id
        ledger,
        statements,
        settlements,
        ledger_exports,
        costing,
        periods,
        marketing,
        continuity,
        segments,
        campaigns,
        source_codes,
        campaign_results,
        extractions,
        mail_files,
        import_pages,
        report_pages,
    ):
        app.include_router(screens.router)
