"""HTTP plumbing shared by every context's routes: problem+json errors, the body-size limit, authentication and
authorisation (guarded by default), the unit of work per request, and idempotent creating POSTs.

Guarded by default: every API route must declare the scope it needs with `openapi_extra=requires("x:y")`;
a route that declares none refuses every call.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import anyio
from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordersmith.kernel.errors import (
    FieldError,
    Forbidden,
    NotAuthenticated,
    NotFound,
    OrdersmithError,
    PreconditionFailed,
    ValidationFailed,
)
from ordersmith.platform import idempotency, identity
from ordersmith.platform.access import ANONYMOUS, PUBLIC, Principal
from ordersmith.platform.db import Actor, Database, UnitOfWork
from ordersmith.platform.secrets import constant_time_equal
from ordersmith.platform.settings import Settings

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"
SESSION_COOKIE = "ordersmith_session"
CSRF_HEADER = "X-CSRF-Token"
SCOPE_KEY = "x-required-scope"
NO_CHANNEL_KEY = "x-no-channel-records"
# The route opens every transaction through `unit_of_work(request)`, so a cached API key's revocation check can be
# made inside the request's first transaction instead of in a thread hop and a transaction of its own.
IN_TRANSACTION_KEY = "x-revocation-checked-in-transaction"
# The operation filters by custom fields: `custom.<name>=value` query parameters (checked by the custom fields).
CUSTOM_FILTERS_KEY = "x-custom-field-filters"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
}


def requires(
    scope: str, *, no_channel: bool = False, check_in_transaction: bool = False, custom_filters: bool = False
) -> dict[str, Any]:
    """Declare the scope a route needs (use as `openapi_extra=`); it appears in the OpenAPI document.

    `no_channel`: the route's records belong to no sales channel (vendors' bills, say), so to a channel-bound key
    they do not exist: it is answered 404, as for another channel's records, never 403.
    `check_in_transaction`: the route reads and writes only through `unit_of_work(request)`; a cached API key is
    then let in without touching the database, and its revocation check runs first inside the route's first
    transaction (a revoked key is refused there, 401, and that transaction rolled back).
    `custom_filters`: the list takes `custom.<name>=value` query parameters (custom fields), not declared one by
    one."""
    extra: dict[str, Any] = {SCOPE_KEY: scope}
    if custom_filters:
        extra[CUSTOM_FILTERS_KEY] = True
    if no_channel:
        extra[NO_CHANNEL_KEY] = True
    if check_in_transaction:
        extra[IN_TRANSACTION_KEY] = True
    return extra


def problem(
    status: int,
    title: str,
    detail: str,
    code: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://ordersmith.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    body.update(jsonable_encoder(extra))
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


async def _ordersmith_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OrdersmithError)
    if not isinstance(exc, NotAuthenticated) and (revoked := await _revoked(request)) is not None:
        exc = revoked
    headers = {"WWW-Authenticate": 'Bearer realm="ordersmith"'} if isinstance(exc, NotAuthenticated) else None
    return problem(
        exc.status,
        exc.title,
        exc.detail,
        exc.code,
        errors=[{"field": e.field, "message": e.message} for e in exc.errors],
        headers=headers,
        **exc.extra,
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if (revoked := await _revoked(request)) is not None:
        return await _ordersmith_error(request, revoked)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem(400, "Malformed JSON", "the request body is not valid JSON", "malformed_json")
    fields = [
        {"field": _field_path(e.get("loc", ())), "message": str(e.get("msg", "invalid"))} for e in errors
    ]
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return problem(422, "Validation failed", detail, "validation_failed", errors=fields)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if (revoked := await _revoked(request)) is not None:
        return await _ordersmith_error(request, revoked)
    code = _STATUS_CODES.get(exc.status_code, "error")
    detail = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no such resource: {request.url.path}"
    if exc.status_code == 405:
        detail = f"{request.method} is not allowed on {request.url.path}"
    headers = dict(exc.headers) if exc.headers else None
    return problem(exc.status_code, code.replace("_", " ").capitalize(), detail, code, headers=headers)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        500, "Internal error", "something went wrong on our side; it has been logged", "internal_error"
    )


def install_error_handlers(app: Any) -> None:
    app.add_exception_handler(OrdersmithError, _ordersmith_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


class BodySizeLimit:
    """Refuse request bodies over `max_bytes` with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int, *, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = larger or {}  # path → its own limit (file uploads: bulk imports)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope.get("path", ""), self.max_bytes)
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await self._refuse(scope, receive, send, limit)
                return
        received = 0
        refused = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit and not refused:
                    # Answer 413 now; the app sees a disconnect and whatever it sends is dropped.
                    refused = True
                    await self._refuse(scope, receive, send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not refused:
                raise

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem(
            413,
            "Payload too large",
            f"request bodies are limited to {limit} bytes",
            "payload_too_large",
        )
        await response(scope, receive, send)


class SecurityHeaders:
    """Security headers on every response."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                ]
                # A response that sets a stricter policy of its own keeps it (a report's SVG chart: its inline
                # styles and nothing else); a second header would be enforced as well, blocking those styles.
                if not any(name.lower() == b"content-security-policy" for name, _ in headers):
                    headers.append(
                        (
                            b"content-security-policy",
                            b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                            b"frame-ancestors 'none'; form-action 'self'",
                        )
                    )
                if self.hsts:
                    headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, add_headers)


# --- request context ---------------------------------------------------------------------------------------


def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def client_origin(request: Request) -> str:
    return request.client.host if request.client else ""


def actor_for(principal: Principal, origin: str) -> Actor:
    kind = principal.kind if principal.authenticated else "anonymous"
    return Actor(kind=kind, id=principal.id, label=principal.label, origin=origin)


def authenticate(request: Request) -> Principal:
    """Find who is calling from a bearer API key or a session cookie; anonymous when neither is valid."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    db, settings = get_db(request), get_settings(request)
    uow = db.unit_of_work(Actor.system("auth", origin=client_origin(request)))
    principal = ANONYMOUS
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token.startswith(identity.API_KEY_PREFIX):
            raise NotAuthenticated("use `Authorization: Bearer osk_…` with an Ordersmith API key")
        cache = identity.api_key_cache
        known = cache.get(token)
        # A cached key is trusted only while no key was revoked anywhere since it was cached (one PK read).
        version = identity.revocations_version(uow) if cache.ttl_s > 0 else 0
        request_versions(request).update(
            uow.versions
        )  # the configuration's version, read in the same statement
        if known is not None and known[1] == version:
            principal = known[0]
        else:
            if known is not None:
                cache.clear()  # a revocation happened somewhere: every cached key is read again
            resolved = identity.resolve_api_key(uow, clear=token)
            if resolved is None:
                raise NotAuthenticated("unknown or revoked API key")
            principal, stale = resolved
            request.state.api_key_stale = stale
            cache.put(token, principal, version)
    elif (cookie := request.cookies.get(SESSION_COOKIE)) is not None:
        principal = identity.resolve_session(uow, token=cookie, settings=settings) or ANONYMOUS
    request.state.principal = principal
    return principal


def check_csrf(request: Request, principal: Principal) -> None:
    """Cookie-authenticated writes must echo the session's CSRF token (header or form field)."""
    if principal.session_id is None or request.method in _SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not (principal.csrf_token and sent and constant_time_equal(sent, principal.csrf_token)):
        raise Forbidden("missing or wrong CSRF token", header=CSRF_HEADER)


async def authorize(request: Request) -> Principal:
    """The API's guard: authenticate, then check the scope the matched route declares.

    Authentication reads the database (a cached key: only the revocation count), so it runs in a worker thread
    and the loop never waits on I/O.
    """
    route = request.scope.get("route")
    extra = getattr(route, "openapi_extra", None) or {}
    scope = extra.get(SCOPE_KEY)
    if scope is None:
        raise Forbidden("this operation declares no scope, so it is closed")
    if scope == PUBLIC:
        return ANONYMOUS
    if extra.get(IN_TRANSACTION_KEY) and (cached := _cached_key(request, scope)) is not None:
        _hide_from_channels(request, extra)
        return cached
    try:
        principal = await anyio.to_thread.run_sync(_authenticate_and_touch, request, scope)
        _check(request, principal, scope)
    except Forbidden:
        _hide_from_channels(request, extra)
        raise
    _hide_from_channels(request, extra)
    return principal


def _cached_key(request: Request, scope: str) -> Principal | None:
    """The cached API key's principal when it is cached and holds `scope`, with its revocation check left to the
    route's first transaction (`unit_of_work`); None: authenticate the usual way."""
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(identity.API_KEY_PREFIX):
        return None
    known = identity.api_key_cache.get(token)
    if known is None or not known[0].can(scope):
        return None  # unknown here, or refused: the usual path answers (and reads the database)
    request.state.principal = known[0]
    request.state.revocation_check = (token, known[1])
    return known[0]


def _check_revocations(request: Request, uow: UnitOfWork) -> None:
    """A cached key stays good while no key was revoked since it was cached: one read in the caller's
    transaction; when some key was, this one is resolved again there (refused if it was the one revoked)."""
    pending = getattr(request.state, "revocation_check", None)
    if pending is None:
        return  # checked already, in an earlier transaction of this request
    token, version = pending
    current = identity.revocations_version(uow)
    if current != version:
        cache = identity.api_key_cache
        cache.clear()  # a revocation happened somewhere: every cached key is read again
        resolved = identity.resolve_api_key(uow, clear=token)
        if resolved is None:
            raise NotAuthenticated("unknown or revoked API key")
        if resolved[0] != request.state.principal:
            raise NotAuthenticated("this API key changed during the call: send the request again")
        cache.put(token, resolved[0], current)
    request.state.revocation_check = None


def _settle_revocation_check(request: Request) -> None:
    uow = unit_of_work(request)
    uow.readonly = True
    with uow:  # the guard runs first inside: refused (NotAuthenticated) when the key was revoked
        pass


async def _revoked(request: Request) -> NotAuthenticated | None:
    """A call that fails before its first transaction never ran its key's revocation check: run it before
    answering, so a revoked key hears 401 rather than what its request got wrong."""
    if getattr(request.state, "revocation_check", None) is None:
        return None
    try:
        await anyio.to_thread.run_sync(_settle_revocation_check, request)
    except NotAuthenticated as exc:
        return exc
    return None


def _hide_from_channels(request: Request, extra: dict[str, Any]) -> None:
    """A channel-bound key asking for records no channel owns is told they do not exist (`requires(no_channel=)`)."""
    principal = getattr(request.state, "principal", None)
    if extra.get(NO_CHANNEL_KEY) and principal is not None and principal.channel_id is not None:
        raise NotFound("not found")


_QUERY_NAMES: dict[int, frozenset[str]] = {}


def _query_names(dependant: Any) -> set[str]:
    """The query parameters an operation declares, its dependencies' included."""
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def refuse_unknown_query(request: Request) -> None:
    """A query parameter the matched operation does not declare is a 422 naming it, never silently ignored (a
    misspelt filter would otherwise answer with everything). Public operations are left alone: a carrier's or a
    gateway's webhook may carry what its sender pleases. (Pure computation: `async`, so FastAPI runs it on the
    loop instead of sending it to a worker thread and back on every request.)"""
    if not request.query_params:
        return
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or (getattr(route, "openapi_extra", None) or {}).get(SCOPE_KEY) == PUBLIC:
        return
    known = _QUERY_NAMES.get(id(route))
    if known is None:
        known = frozenset(_query_names(dependant))
        _QUERY_NAMES[id(route)] = known
    custom = (getattr(route, "openapi_extra", None) or {}).get(CUSTOM_FILTERS_KEY)
    unknown = sorted({name for name in request.query_params
                      if name not in known and not (custom and name.startswith("custom."))})  # fmt: skip
    if unknown:
        allowed = ", ".join(sorted(known)) or "none"
        raise ValidationFailed(
            f"unknown query parameter {', '.join(unknown)} (this operation takes: {allowed})",
            errors=[FieldError(f"query.{name}", f"not a parameter of this operation (it takes: {allowed})")
                    for name in unknown],
        )  # fmt: skip


def _authenticate_and_touch(request: Request, scope: str) -> Principal:
    principal = authenticate(request)
    _check(request, principal, scope)
    if getattr(request.state, "api_key_stale", False) and principal.id is not None:
        # Last-used time is recorded only for calls that were let through: a refused call writes nothing.
        identity.touch_api_key(unit_of_work(request), key_id=principal.id)
    return principal


def _check(request: Request, principal: Principal, scope: str) -> None:
    if not principal.authenticated:
        raise NotAuthenticated("authentication required: an API key or a console session")
    check_csrf(request, principal)
    principal.require(scope)


def request_versions(request: Request) -> dict[str, int]:
    """The versions of cached configuration this request has seen, shared by all its units of work
    (`platform.config_cache`)."""
    versions: dict[str, int] | None = getattr(request.state, "versions", None)
    if versions is None:
        versions = request.state.versions = {}
    return versions


def unit_of_work(request: Request) -> UnitOfWork:
    principal = getattr(request.state, "principal", None) or ANONYMOUS
    uow = get_db(request).unit_of_work(actor_for(principal, client_origin(request)))
    uow.versions, uow.versions_per_request = request_versions(request), True
    if getattr(request.state, "revocation_check", None) is not None:
        uow.guard = lambda joined: _check_revocations(request, joined)
    return uow


def reports_unit_of_work(request: Request) -> UnitOfWork:
    """A unit of work on the database reports read (the read replica when one is set)."""
    principal = getattr(request.state, "principal", None) or ANONYMOUS
    return get_db(request).for_reports.unit_of_work(actor_for(principal, client_origin(request)))


# --- responses ---------------------------------------------------------------------------------------------


def encode(body: Any) -> str:
    if isinstance(body, BaseModel):
        return body.model_dump_json()  # pydantic's own serializer: much faster than the generic encoder
    return json.dumps(jsonable_encoder(body), separators=(",", ":"))


def created(
    request: Request,
    principal: Principal,
    payload: Any,
    execute: Callable[[UnitOfWork], Any],
    *,
    status_code: int = 201,
) -> Response:
    """Run a creating use case, honouring `Idempotency-Key`: a repeat replays the first response."""
    uow = unit_of_work(request)
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return Response(encode(execute(uow)), status_code=status_code, media_type="application/json")
    settings = get_settings(request)
    stored = idempotency.run_idempotent(
        uow,
        caller=principal.caller_key,
        key=key,
        method=request.method,
        path=request.url.path,
        fingerprint=idempotency.request_fingerprint(request.method, request.url.path, payload),
        ttl=timedelta(hours=settings.idempotency_ttl_hours),
        execute=lambda joined: (status_code, encode(execute(joined))),
    )
    headers = {"Idempotent-Replayed": "true"} if stored.replayed else {}
    return Response(stored.body, status_code=stored.status, media_type="application/json", headers=headers)


def etag(version: int) -> str:
    return f'"{version}"'


def if_match_version(request: Request) -> int | None:
    """The version an `If-Match: "N"` header expects, or None when the header is absent."""
    header = request.headers.get("if-match")
    if header is None:
        return None
    value = header.strip().removeprefix("W/").strip('"')
    if not (value.isascii() and value.isdigit() and len(value) <= 18):  # a version fits a BIGINT
        raise PreconditionFailed('If-Match must be an ETag from a previous response, e.g. "3"')
    return int(value)


def parse_uuid(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise ValidationFailed.on(field, "not a valid id") from exc
