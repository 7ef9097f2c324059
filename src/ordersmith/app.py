"""FastAPI assembly: mounts every context's routes under /api/v1 and the console at /.

`create_app()` is what `ordersmith serve` runs. On start it opens the database, starts the live event hub and,
unless disabled, the outbox relay and the job runner in-process (the embedded default; production can run them
in `ordersmith worker` processes instead).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi

from ordersmith import __version__, plugin_host
from ordersmith.catalog import routes as catalog_routes
from ordersmith.channels import routes as channel_routes
from ordersmith.channels import service as channels
from ordersmith.channels.crm import routes as crm_routes
from ordersmith.channels.crm import service as crm
from ordersmith.channels.pos import routes as pos_routes
from ordersmith.checkout import routes as checkout_routes
from ordersmith.checkout import service as checkout
from ordersmith.console import routes as console_routes
from ordersmith.continuity import routes as continuity_routes
from ordersmith.continuity import service as continuity
from ordersmith.customers import jobs as customer_jobs
from ordersmith.customers import routes as customer_routes
from ordersmith.data.exports import routes as export_routes
from ordersmith.data.exports import service as exports
from ordersmith.data.imports import routes as import_routes
from ordersmith.data.imports import service as imports
from ordersmith.finance import (
    costing_routes,
    dispute_routes,
    dunning_routes,
    payables_routes,
    year_end_routes,
)
from ordersmith.finance import routes as finance_routes
from ordersmith.finance import service as finance
from ordersmith.fulfillment import routes as fulfillment_routes
from ordersmith.fulfillment import service as fulfillment
from ordersmith.inventory import jobs as inventory_jobs
from ordersmith.inventory import routes as inventory_routes
from ordersmith.marketing import list_routes as marketing_list_routes
from ordersmith.marketing import routes as marketing_routes
from ordersmith.marketing import service as marketing
from ordersmith.orders import jobs as order_jobs
from ordersmith.orders import routes as order_routes
from ordersmith.payments import routes as payment_routes
from ordersmith.payments import service as payments
from ordersmith.payments.vault import routes as vault_routes
from ordersmith.platform import (
    custom_field_routes,
    heap,
    housekeeping,
    identity,
    mail,
    policy_routes,
    secrets,
)
from ordersmith.platform import routes as platform_routes
from ordersmith.platform.access import PUBLIC
from ordersmith.platform.db import Database
from ordersmith.platform.event_stream import EventHub
from ordersmith.platform.http import (
    SCOPE_KEY,
    SESSION_COOKIE,
    BodySizeLimit,
    SecurityHeaders,
    authorize,
    install_error_handlers,
    refuse_unknown_query,
)
from ordersmith.platform.input_guard import RefuseUnsafeText
from ordersmith.platform.jobs import JobRunner
from ordersmith.platform.logs import AccessLog, install_access_log, install_card_redaction
from ordersmith.platform.openapi import describe_problems
from ordersmith.platform.outbox import Relay
from ordersmith.platform.settings import Settings, get_settings
from ordersmith.pricing import routes as pricing_routes
from ordersmith.purchasing import routes as purchasing_routes
from ordersmith.reporting import routes as reporting_routes
from ordersmith.reporting import service as reporting

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


def _openapi_with_security(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with the two ways to authenticate, per operation the scope it requires, and the
    problems (RFC 9457) each operation can answer."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schema.setdefault("components", {})["securitySchemes"] = {
        "apiKey": {"type": "http", "scheme": "bearer", "description": "An Ordersmith API key: `osk_…`"},
        "session": {
            "type": "apiKey",
            "in": "cookie",
            "name": SESSION_COOKIE,
            "description": "Console session from POST /api/v1/auth/login; writes also need X-CSRF-Token",
        },
    }
    for item in schema.get("paths", {}).values():
        for operation in item.values():
            scope = operation.get(SCOPE_KEY)
            if scope and scope != PUBLIC:
                operation["security"] = [{"apiKey": []}, {"session": []}]
                operation["description"] = (
                    operation.get("description", "") + f"\n\nRequires scope `{scope}`."
                ).strip()
    describe_problems(schema)
    app.openapi_schema = schema
    return schema


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    install_card_redaction()
    install_access_log()
    housekeeping.register()
    customer_jobs.register()
    inventory_jobs.register()
    order_jobs.register()
    payments.register()
    checkout.register()
    continuity.register(lease_s=settings.job_lease_s)
    fulfillment.register()
    imports.register()
    exports.register()
    reporting.register(mail.smtp_mailer(settings))
    finance.register()
    marketing.register(scoring_every_s=settings.rfm_scoring_every_s)
    channels.register()
    crm.register()
    plugin_host.start(settings)  # once per process: nothing is discovered per request
    identity.api_key_cache.ttl_s = settings.api_key_cache_s
    secrets.use_argon2_cost(settings.argon2_cost)
    db = Database(
        settings.database_url,
        pool_size=settings.db_pool_size,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
    )
    db.use_replica(settings.reports_database_url, pool_size=settings.db_pool_size)
    if clock := settings.test_clock():
        db.set_clock(clock)
    wired = payments.setup_payments(db, settings)
    fulfillment.setup_fulfillment(db, settings)
    channels.setup_channels(db, settings)
    finance.setup_ledgers(db, settings)  # API exports push to QuickBooks Online and Business Central
    hub = EventHub(db, poll_interval_s=settings.relay_poll_interval_ms / 1000)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        heap.settle()  # what start-up built lives as long as the process: out of the collector's sweeps
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
        relay = Relay(db, settings) if settings.relay_enabled else None
        runner = (
            JobRunner(db, lease_s=settings.job_lease_s, threads=settings.job_threads)
            if settings.jobs_enabled
            else None
        )
        await hub.start()
        if relay:
            relay.start()
        if runner:
            runner.start()
        try:
            yield
        finally:
            if runner:
                runner.stop()
            if relay:
                relay.stop()
            await hub.stop()
            db.dispose()
            wired.vault.dispose()

    app = FastAPI(
        title="Ordersmith",
        version=__version__,
        description="Order management for retailers who sell through many channels at once.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served by the console from the installed swagger-ui-bundle-v2, no CDN
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.hub = hub
    app.state.source_code_check = marketing.code_for_customer  # customers are below marketing: handed in
    app.state.vault = wired.vault
    install_error_handlers(app)

    # Authorized first (an unknown caller learns nothing about parameters), then no unknown query parameter.
    guarded = {"prefix": API_PREFIX, "dependencies": [Depends(authorize), Depends(refuse_unknown_query)]}
    # Routes are matched in order, one regular expression at a time: the busiest (order intake, checkout's) first.
    # Each context's router is included in the app itself, not through one `/api/v1` router: FastAPI checks an
    # included router's whole subtree for changes on every request, so one router holding them all cost every
    # call a walk over every route (about 5 ms of CPU for a path near the end of the list).
    for router in (
        checkout_routes.router,
        payment_routes.router,
        order_routes.router,
        platform_routes.router,
        custom_field_routes.router,
        policy_routes.router,
        catalog_routes.router,
        customer_routes.router,
        pricing_routes.router,
        inventory_routes.router,
        purchasing_routes.router,
        fulfillment_routes.router,
        import_routes.router,
        reporting_routes.router,
        export_routes.router,
        finance_routes.router,
        payables_routes.router,
        year_end_routes.router,
        dispute_routes.router,
        dunning_routes.router,
        costing_routes.router,
        marketing_routes.router,
        continuity_routes.router,
        marketing_list_routes.router,
        channel_routes.router,
        crm_routes.router,
        pos_routes.router,
    ):
        app.include_router(router, **guarded)  # type: ignore[arg-type]
    app.include_router(vault_routes.router)
    console_routes.mount(app)
    app.openapi = lambda: _openapi_with_security(app)  # type: ignore[method-assign]

    # Inside the size limit, so it never buffers more than it allows: NUL characters and card numbers in any field
    uploads = {
        f"{API_PREFIX}/imports": settings.import_max_bytes + 65_536,
        "/imports": settings.import_max_bytes + 65_536,
    }
    app.add_middleware(RefuseUnsafeText, file_uploads=frozenset(uploads))
    app.add_middleware(SecurityHeaders, hsts=settings.is_production)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, larger=uploads)
    app.add_middleware(AccessLog)  # outermost: every request, refused ones too, writes its one line
    return app
