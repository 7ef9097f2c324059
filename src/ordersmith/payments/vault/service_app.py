"""The vault as its own service (`ordersmith vault serve`): the only process that holds the vault's keys and its
database. Ordersmith's API and worker processes reach it over HTTP (TLS in production), every request signed with
`ORDERSMITH_VAULT_SERVICE_SECRET` (`signing`); anything unsigned, altered or stale is 401 and changes nothing.

    POST /vault/v1/cards            {number, exp_month, exp_year, holder, cvc}  -> {token, brand, last_four, …}
    GET  /vault/v1/cards/{token}                                                -> {token, brand, last_four, …}
    POST /vault/v1/reveal           {token, purpose}                            -> {number, exp_month, exp_year, cvc}

`X-Vault-Actor` names who asks (written to the vault's access log with every tokenization and reveal).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ordersmith.kernel.clock import utcnow
from ordersmith.payments import rules
from ordersmith.payments.vault import signing
from ordersmith.payments.vault.store import Vault
from ordersmith.platform.logs import install_card_redaction
from ordersmith.platform.settings import Settings, get_settings


def create_vault_app(settings: Settings | None = None, vault: Vault | None = None) -> FastAPI:
    from ordersmith.payments.vault import keys_from

    settings = settings or get_settings()
    install_card_redaction()
    secret = settings.vault_service_secret.get_secret_value()
    store = vault or Vault(settings.vault_database_url, keys_from(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        store.dispose()

    app = FastAPI(
        title="Ordersmith vault", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.vault = store

    def problem(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
        return JSONResponse({"type": "about:blank", "title": detail, "status": status, "code": code,
                             "detail": detail, **extra}, status_code=status,
                            media_type="application/problem+json")  # fmt: skip

    @app.middleware("http")
    async def signed_only(request: Request, call_next: Any) -> Any:
        if request.url.path == "/health":
            return await call_next(request)
        body = await request.body()
        header = request.headers.get(signing.HEADER, "")
        if not signing.verify(secret, header, request.method, request.url.path, body, utcnow().timestamp()):
            return problem(401, "not_authenticated", "unsigned or stale request")
        return await call_next(request)

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/vault/v1/cards", status_code=201)
    async def tokenize(request: Request) -> Any:
        body = await request.json()
        try:
            card = store.tokenize(number=str(body["number"]), exp_month=int(body["exp_month"]),
                                  exp_year=int(body["exp_year"]), holder=str(body.get("holder", "")),
                                  actor=request.headers.get("X-Vault-Actor", "unknown"))  # fmt: skip
        except rules.CardInvalid as refused:
            return problem(422, "card_invalid", "card refused", reason=refused.reason)
        except (KeyError, ValueError, TypeError):
            return problem(422, "validation_failed", "number, exp_month and exp_year are required")
        if body.get("cvc"):
            store.hold_cvc(card.token, str(body["cvc"]))
        return JSONResponse(card.__dict__, status_code=201)

    @app.get("/vault/v1/cards/{token}")
    def card(token: str) -> Any:
        found = store.card(token)
        return JSONResponse(found.__dict__) if found else problem(404, "not_found", "no such card token")

    @app.post("/vault/v1/reveal")
    async def reveal(request: Request) -> Any:
        body = await request.json()
        try:
            revealed = store.reveal_card(str(body["token"]), actor=request.headers.get("X-Vault-Actor", "unknown"),
                                         purpose=str(body.get("purpose", "")))  # fmt: skip
        except LookupError:
            return problem(404, "not_found", "no such card token")
        return {"number": revealed.number, "exp_month": revealed.exp_month, "exp_year": revealed.exp_year,
                "cvc": revealed.cvc}  # fmt: skip

    return app
