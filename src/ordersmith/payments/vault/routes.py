"""`POST /vault/v1/cards`: the one endpoint a card number is ever sent to (the console's card form posts here
directly, never to an order endpoint). It answers with a token and what may be shown; a refused card is a 422
that names the field and the reason, never the number."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from ordersmith.kernel.errors import FieldError, ValidationFailed
from ordersmith.payments import rules
from ordersmith.payments.vault import CardVault
from ordersmith.platform.access import Principal
from ordersmith.platform.http import authorize, requires
from ordersmith.platform.schemas import Input, Output

router = APIRouter(prefix="/vault/v1", tags=["vault"], dependencies=[Depends(authorize)])
Auth = Annotated[Principal, Depends(authorize)]


class CardIn(Input):
    number: Annotated[
        str, Field(min_length=1, max_length=40, description="the card number, spaces or dashes allowed")
    ]
    exp_month: Annotated[int, Field(ge=1, le=12)]
    exp_year: Annotated[int, Field(ge=2000, le=2100)]
    holder: Annotated[str, Field(max_length=200)] = ""
    cvc: Annotated[
        str, Field(pattern=r"^\d{3,4}$", description="passed to the gateway once; never stored")
    ] = ""


class CardOut(Output):
    token: str
    brand: str
    last_four: str
    exp_month: int
    exp_year: int


class CardRefused(ValidationFailed):
    code = "card_number_invalid"
    title = "Card refused"


class CardExpiryRefused(ValidationFailed):
    code = "card_expiry_invalid"
    title = "Card refused"


def _vault(request: Request) -> CardVault:
    """The vault this process talks to (in-process, or the vault service): opened with the app."""
    return request.app.state.vault  # type: ignore[no-any-return]


@router.post("/cards", status_code=201, response_model=CardOut, openapi_extra=requires("vault:tokenize"))
def tokenize_card(body: CardIn, principal: Auth, request: Request) -> CardOut:
    """Store a card; the answer is its token, brand, last four digits and expiry. The same card again → the same
    token. A number that fails the Luhn check or fits no brand → 422 `card_number_invalid`; a past or impossible
    expiry → 422 `card_expiry_invalid`. The number is never echoed, logged or returned."""
    try:
        card = _vault(request).tokenize(
            number=body.number,
            exp_month=body.exp_month,
            exp_year=body.exp_year,
            holder=body.holder,
            actor=principal.label,
            cvc=body.cvc,
        )
    except rules.CardInvalid as refused:
        if refused.reason in ("expired", "expiry_invalid"):
            raise CardExpiryRefused(
                "the card's expiry is past or impossible", errors=[FieldError("exp_month", refused.reason)]
            ) from None
        raise CardRefused(
            "this is not a valid card number", errors=[FieldError("number", refused.reason)]
        ) from None
    return CardOut.model_validate(card)
