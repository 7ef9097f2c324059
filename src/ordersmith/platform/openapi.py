"""The errors in the OpenAPI document: every operation declares the RFC 9457 problems it can answer, as one
`Problem` schema under `application/problem+json` — the body the error handlers in `platform.http` send.

FastAPI declares its own `HTTPValidationError` (`detail`) for 422; Ordersmith never sends that body, so it is
replaced, and the schemas only it used are removed. A client generated from the document reads every error.
"""

from __future__ import annotations

from typing import Any

PROBLEM_MEDIA_TYPE = "application/problem+json"
_REF = {"$ref": "#/components/schemas/Problem"}
_WRITES = {"post", "put", "patch", "delete"}

PROBLEM_SCHEMAS: dict[str, Any] = {
    "Problem": {
        "title": "Problem",
        "description": "An RFC 9457 problem: every error Ordersmith answers. Some carry more members (for "
        "`insufficient_stock` the units `available`, for `illegal_transition` the current `state` …).",
        "type": "object",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string", "description": "https://ordersmith.dev/problems/<code>"},
            "title": {"type": "string", "description": "the same for every problem of this code"},
            "status": {"type": "integer", "description": "the HTTP status"},
            "detail": {"type": "string", "description": "what went wrong with this request"},
            "code": {"type": "string", "description": "a stable machine code: `validation_failed`, …"},
            "errors": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/ProblemFieldError"},
                "description": "one per refused field (validation)",
            },
        },
        "additionalProperties": True,
    },
    "ProblemFieldError": {
        "title": "ProblemFieldError",
        "type": "object",
        "required": ["field", "message"],
        "properties": {
            "field": {"type": "string", "description": "the field's path in the request: `lines.0.quantity`"},
            "message": {"type": "string"},
        },
    },
}

# What each status means, for every operation that can answer it.
_ALWAYS = {
    "400": "bad_request or malformed_json: the request cannot be read",
    "401": "not_authenticated: no valid API key or session (or, signing in, a wrong password)",
    "403": "forbidden: the caller lacks the scope or the CSRF token, or may not act on this object",
    "404": "not_found: no such resource (or one the caller may not see)",
    "409": "conflict: already_exists, illegal_transition, idempotency_key_reused, insufficient_stock, …",
    "422": "validation_failed: `errors` names each refused field",
}
_WRITING = {
    "402": "payment_declined (operations that take a payment)",
    "412": "precondition_failed: If-Match names a version that is no longer current",
    "413": "payload_too_large",
    "428": "precondition_required: this change needs If-Match (operations on versioned records)",
    "503": "gateway_unavailable, wallet_unavailable or carrier_unavailable: a processor or carrier did not answer "
    "(retry later)",
}


def describe_problems(document: dict[str, Any]) -> None:
    """Declare, on every operation of `document`, the problems it can answer (in place)."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.update(PROBLEM_SCHEMAS)
    for item in document.get("paths", {}).values():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            wanted = _ALWAYS | (_WRITING if method in _WRITES else {})
            for status, description in wanted.items():
                declared = responses.setdefault(status, {})
                if status == "422" or not declared.get("description"):
                    declared["description"] = description  # FastAPI's 422 says "Validation Error"
            for status, declared in responses.items():
                if status[0] in "45":
                    declared["content"] = {PROBLEM_MEDIA_TYPE: {"schema": _REF}}
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
