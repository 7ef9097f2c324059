"""Logging that never writes a card number: every log record's message is redacted when it is made.

Invariant: once `install_card_redaction()` ran, no log record of this process carries a Luhn-valid 13-19 digit
sequence (it is masked to first six / last four), whatever logger or handler writes it.
"""

from __future__ import annotations

import logging
from typing import Any

from ordersmith.kernel.cards import redact

_installed = False


def install_card_redaction() -> None:
    """Wrap the log record factory so each record's message (with its arguments) is redacted. Idempotent."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed format: leave the record for logging to report
            return record
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, ()
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
