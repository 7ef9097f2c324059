"""Logging: no card number in any log record, and one short structured access line per request.

Invariant: once `install_card_redaction()` ran, no log record of this process carries a Luhn-valid 13-19 digit
sequence (it is masked to first six / last four) — in its message, its arguments, its exception text or its stack
— whatever logger or handler writes it. Arguments keep their shape, so formatters that read `record.args` (as
uvicorn's do) keep working. Access lines never carry query strings (they may hold secrets).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordersmith.kernel.cards import contains_card_number, redact

ACCESS_LOGGER = "ordersmith.access"
REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_installed = False
_exceptions = logging.Formatter()


def _clean(value: Any) -> Any:
    """`value` with any card number masked; a non-text value only becomes text when it held one."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | float):
        return value
    text = str(value)
    cleaned = redact(text)
    return value if cleaned == text else cleaned


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Mask card numbers everywhere in `record`: message, arguments, exception text (formatted now) and stack."""
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    else:
        record.msg = _clean(record.msg)
    if isinstance(record.args, Mapping):
        record.args = {key: _clean(value) for key, value in record.args.items()}
    elif record.args:
        record.args = tuple(_clean(value) for value in record.args)
    if record.exc_info and record.exc_info[0] is not None:
        # Formatted here, redacted, and the raw exception dropped: no handler can format it again unredacted
        # (SQLAlchemy's "[parameters: …]" is part of an exception's text).
        record.exc_text = redact(_exceptions.formatException(record.exc_info))
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


def install_card_redaction() -> None:
    """Wrap the log record factory so each record is redacted as it is made. Idempotent."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed = True


def install_access_log() -> None:
    """Log requests through `AccessLog` (INFO on `ordersmith.access`) instead of uvicorn's access log (which
    writes query strings). Without any logging configured, the lines go to stderr."""
    logging.getLogger("uvicorn.access").disabled = True
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.setLevel(logging.INFO)
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False


def _printable(text: str, limit: int = 200) -> str:
    """Control characters escaped (no forged log lines), and at most `limit` characters."""
    safe = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text[:limit])
    return safe + ("…" if len(text) > limit else "")


def _field(value: str) -> str:
    return value if value and re.fullmatch(r"[^\s\"=]+", value) else json.dumps(value, ensure_ascii=False)


def new_request_id() -> str:
    """A fresh request id that the card-number scrubber leaves whole: a hex UUID can hold a run of thirteen or more
    digits that passes the Luhn check (about one in a few thousand), which the log would then mask."""
    while contains_card_number(found := uuid.uuid4().hex):
        pass
    return found


class AccessLog:
    """One line per HTTP request, after it ends: method, path (never the query string), status, duration,
    request id (the caller's `X-Request-ID` when it is sane, else a new one; echoed in the response) and caller."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = logging.getLogger(ACCESS_LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        sent = dict(scope.get("headers") or []).get(REQUEST_ID_HEADER.lower().encode(), b"").decode("latin-1")
        request_id = sent if _REQUEST_ID.match(sent) and not contains_card_number(sent) else new_request_id()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.lower().encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            principal = (scope.get("state") or {}).get("principal")
            caller = principal.label if principal is not None and principal.authenticated else "anonymous"
            duration_ms = (time.perf_counter() - started) * 1000
            self.log.info(
                "method=%s path=%s status=%d duration_ms=%.1f request_id=%s caller=%s",
                _field(_printable(scope.get("method", ""), 16)),
                _field(_printable(scope.get("path", ""))),
                status,
                duration_ms,
                request_id,
                _field(_printable(caller, 100)),
                extra={
                    "http_method": scope.get("method", ""),
                    "http_path": scope.get("path", ""),
                    "http_status": status,
                    "duration_ms": round(duration_ms, 1),
                    "request_id": request_id,
                    "caller": caller,
                },
            )
