"""Pydantic request and response models for the platform's API. Inputs refuse unknown fields."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ordersmith.kernel.errors import FieldError, ValidationFailed
from ordersmith.kernel.money import Money, exact_money

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

# Money crosses the API as a string, never a JSON number: "19.99" with its currency beside it.
# [0-9], not \d: \d also matches other scripts' digits (Arabic-Indic, Devanagari …), which Decimal() accepts.
MoneyAmount = Annotated[str, Field(pattern=r"^-?[0-9]{1,15}(\.[0-9]{1,4})?$", examples=["19.99"])]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["USD"])]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def validated(model: type[M], data: dict[str, Any]) -> M:
    """`data` checked by the same model the API checks it with (for a form, a CLI row …): the API's refusals.

    Raises:
        ValidationFailed: one error per field, named as the API names it (`lines.0.quantity`).
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            FieldError(".".join(str(p) for p in e["loc"]) or "body", str(e["msg"])) for e in exc.errors()
        ]
        raise ValidationFailed("; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors) from None


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class MoneyIn(Input):
    amount: MoneyAmount
    currency: CurrencyCode

    @model_validator(mode="after")
    def _exact(self) -> MoneyIn:
        exact_money(self.amount, self.currency)  # a ValueError names this field in the 422
        return self

    def to_money(self) -> Money:
        return exact_money(self.amount, self.currency)


def money_in(amount: str, currency: str, *, field: str = "amount") -> Money:
    """An amount from the API in `currency` (which the caller knows: the order's, the card's …).

    Raises:
        ValidationFailed: naming `field`, when it is not ASCII digits or is finer than the currency's minor unit.
    """
    try:
        return exact_money(amount, currency)
    except ValueError as exc:
        raise ValidationFailed.on(field, str(exc)) from None


class MoneyOut(Output):
    amount: MoneyAmount
    currency: CurrencyCode

    @model_validator(mode="before")
    @classmethod
    def _from_money(cls, value: Any) -> Any:
        """Let response models built `from_attributes` take a `Money` field as it is."""
        if isinstance(value, Money):
            return {"amount": str(value.amount), "currency": value.currency}
        return value

    @classmethod
    def of(cls, money: Money) -> MoneyOut:
        return cls(amount=str(money.amount), currency=money.currency)


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["sqlite", "postgresql"]
    version: str


class LoginIn(Input):
    email: Annotated[str, Field(max_length=320)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]
    totp_code: Annotated[str | None, Field(default=None, max_length=10)] = None


class UserOut(Output):
    id: uuid.UUID
    email: str
    name: str
    role: str
    active: bool
    totp_enabled: bool
    locked_until: datetime | None
    created_at: datetime
    last_login_at: datetime | None


class LoginOut(BaseModel):
    user: UserOut
    csrf_token: str
    expires_at: datetime


class MeOut(BaseModel):
    kind: str
    id: uuid.UUID | None
    label: str
    role: str | None
    scopes: list[str]
    channel_id: uuid.UUID | None
    csrf_token: str | None


Role = Literal["admin", "manager", "agent", "warehouse", "accountant", "marketing", "readonly", "store"]


class UserIn(Input):
    email: Annotated[str, Field(max_length=320)]
    name: Annotated[str, Field(max_length=200)] = ""
    role: Role
    password: Annotated[str, Field(min_length=10, max_length=1024)]


class UserPatch(Input):
    name: Annotated[str | None, Field(max_length=200)] = None
    role: Role | None = None
    active: bool | None = None
    unlock: bool = False


class TotpOut(BaseModel):
    secret: str
    uri: str


class TotpConfirmIn(Input):
    code: Annotated[str, Field(pattern=r"^\d{6}$")]


class ApiKeyIn(Input):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    scopes: Annotated[list[str], Field(min_length=1)]
    channel: Annotated[str | None, Field(max_length=40)] = None


class ApiKeyOut(Output):
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    channel_id: uuid.UUID | None
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewApiKeyOut(BaseModel):
    key: ApiKeyOut
    secret: str = Field(description="The API key. It is shown only this once.")


ChannelKind = Literal["web", "call_center", "catalog", "marketplace", "pos", "wholesale"]


_RELEASE_AFTER = (
    "the edit window: orders stay pending (editable) this many seconds after placement, then the release job "
    "releases them; 0 releases at once"
)


class SalesChannelIn(Input):
    code: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,39}$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    kind: ChannelKind
    division: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{1,39}$")]
    currency: CurrencyCode = "USD"
    bills_later: bool = Field(
        default=False, description="orders without a tender are released (the channel bills later)"
    )
    release_after_s: int = Field(default=0, ge=0, le=86_400, description=_RELEASE_AFTER)


class SalesChannelPatch(Input):
    name: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    active: bool | None = None
    bills_later: bool | None = None
    release_after_s: int | None = Field(default=None, ge=0, le=86_400, description=_RELEASE_AFTER)


class SalesChannelOut(Output):
    id: uuid.UUID
    code: str
    name: str
    kind: str
    division: str
    currency: str
    active: bool
    bills_later: bool
    release_after_s: int = Field(description=_RELEASE_AFTER)
    created_at: datetime
    version: int


class AuditOut(Output):
    id: uuid.UUID
    actor_kind: str
    actor_id: str | None
    actor_label: str
    action: str
    object_type: str
    object_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    at: datetime
    origin: str


class WebhookIn(Input):
    url: Annotated[str, Field(min_length=8, max_length=2000)]
    event_types: Annotated[
        list[Annotated[str, Field(pattern=r"^(\*|[a-z][a-z0-9_]*(\.([a-z][a-z0-9_]*|\*))*)$")]],
        Field(min_length=1),
    ]
    description: Annotated[str, Field(max_length=500)] = ""


class WebhookOut(Output):
    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str
    active: bool
    created_at: datetime


class NewWebhookOut(BaseModel):
    subscription: WebhookOut
    secret: str = Field(description="The signing secret. It is shown only this once.")


class DeliveryOut(Output):
    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class AttemptOut(BaseModel):
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class PluginContributionOut(Output):
    kind: str
    name: str
    calls: int = Field(description="calls in this process since it started")
    failures: int = Field(description="of which raised, answered nonsense or ran late (skipped)")
    timeouts: int = Field(description="of which ran past the time budget (hold rules)")
    last_error: str | None


class PluginOut(Output):
    name: str
    source: str = Field(description="entry_point (an installed package) or setting (ORDERSMITH_PLUGINS)")
    reference: str
    status: str = Field(description="loaded, or failed (then nothing of it runs)")
    error: str | None
    contributions: list[PluginContributionOut]


class PluginListOut(Output):
    items: list[PluginOut]


class PluginDeliveryOut(Output):
    id: uuid.UUID
    plugin: str
    subscriber: str
    event_id: uuid.UUID
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


class JobOut(Output):
    id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    status: str
    run_at: datetime
    attempts: int
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


CustomFieldKind = Literal["item", "customer", "order"]
CustomFieldType = Literal["text", "number", "decimal", "date", "boolean", "choice"]
# A record's custom values as sent: checked by the field's definition (`platform.custom_fields`), each refusal
# named `custom_fields.<name>`. Decimals as strings ("12.50"), dates as YYYY-MM-DD, null clears a value.
CustomValues = Annotated[
    dict[Annotated[str, Field(max_length=40)], Any],
    Field(max_length=100, description="custom field values by field name (see /api/v1/custom-fields)"),
]


class CustomFieldIn(Input):
    kind: CustomFieldKind
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="the key in `custom_fields`")]
    label: Annotated[str, Field(min_length=1, max_length=100)]
    type: CustomFieldType
    required: bool = Field(default=False, description="records created from now on must have a value")
    choices: list[Annotated[str, Field(min_length=1, max_length=500)]] = Field(default=[], max_length=200)
    max_length: Annotated[int | None, Field(ge=1, le=500, description="text fields: 255 unless set")] = None
    position: Annotated[int, Field(ge=0, le=10_000)] = 0


class CustomFieldPatch(Input):
    label: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    required: bool | None = None
    choices: list[Annotated[str, Field(min_length=1, max_length=500)]] | None = Field(
        default=None, max_length=200
    )
    max_length: Annotated[int | None, Field(ge=1, le=500)] = None
    position: Annotated[int | None, Field(ge=0, le=10_000)] = None


class CustomFieldOut(Output):
    id: uuid.UUID
    kind: str
    name: str
    label: str
    type: str
    required: bool
    choices: list[str]
    max_length: int | None
    position: int
    version: int
    created_at: datetime
    updated_at: datetime


class CustomValuesIn(Input):
    custom_fields: CustomValues


class CustomValuesOut(Output):
    custom_fields: dict[str, Any]


class PolicyIn(Input):
    value: dict[Annotated[str, Field(max_length=60)], Any] = Field(
        description="the policy's value, as GET shows it"
    )


class PolicyOut(Output):
    key: str
    label: str
    description: str
    value: dict[str, Any]
    default: dict[str, Any]
    changed: bool = Field(description="set in the console (else the built-in default)")
    version: int = Field(description="0 until first set; send as If-Match to guard a change")
