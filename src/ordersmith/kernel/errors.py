"""The typed error tree. Each error has a stable machine `code` and the HTTP status the API maps it to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class OrdersmithError(Exception):
    """Base of every expected failure. Anything that is not one of these is a bug."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 400
    title: ClassVar[str] = "Request failed"

    def __init__(self, detail: str, *, errors: list[FieldError] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra


class ValidationFailed(OrdersmithError):
    code = "validation_failed"
    status = 422
    title = "Validation failed"

    @classmethod
    def on(cls, field_name: str, message: str) -> ValidationFailed:
        return cls(f"{field_name}: {message}", errors=[FieldError(field_name, message)])


class BadRequest(OrdersmithError):
    code = "bad_request"
    status = 400
    title = "Bad request"


class NotAuthenticated(OrdersmithError):
    code = "not_authenticated"
    status = 401
    title = "Authentication required"


class Forbidden(OrdersmithError):
    code = "forbidden"
    status = 403
    title = "Forbidden"


class NotFound(OrdersmithError):
    code = "not_found"
    status = 404
    title = "Not found"


class Conflict(OrdersmithError):
    code = "conflict"
    status = 409
    title = "Conflict"


class AlreadyExists(Conflict):
    code = "already_exists"
    title = "Already exists"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    title = "Idempotency key reused with a different request"


class IdempotencyInProgress(Conflict):
    code = "idempotency_in_progress"
    title = "A request with this idempotency key is still being processed"


class InsufficientStock(Conflict):
    code = "insufficient_stock"
    title = "Insufficient stock"


class NegativeStock(Conflict):
    code = "negative_stock"
    title = "Stock would go below zero"


class IllegalTransition(Conflict):
    """The document is in a state that does not allow this action; `state` (extra) says which state."""

    code = "illegal_transition"
    title = "Not allowed in the current state"


class OverReceipt(Conflict):
    code = "over_receipt"
    title = "More received than ordered plus tolerance"


class Gone(OrdersmithError):
    code = "gone"
    status = 410
    title = "No longer available"


class EventIdTooOld(Gone):
    code = "event_id_too_old"
    title = "Cannot resume from that event"


class PreconditionFailed(OrdersmithError):
    code = "precondition_failed"
    status = 412
    title = "Precondition failed"


class PreconditionRequired(OrdersmithError):
    code = "precondition_required"
    status = 428
    title = "If-Match required"


class AccountLocked(OrdersmithError):
    code = "account_locked"
    status = 423
    title = "Account locked"


class PayloadTooLarge(OrdersmithError):
    code = "payload_too_large"
    status = 413
    title = "Payload too large"


def all_error_classes() -> list[type[OrdersmithError]]:
    seen: list[type[OrdersmithError]] = []
    stack: list[type[OrdersmithError]] = [OrdersmithError]
    while stack:
        cls = stack.pop()
        seen.append(cls)
        stack.extend(cls.__subclasses__())
    return seen
