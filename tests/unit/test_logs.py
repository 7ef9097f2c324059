"""Log records never carry a card number (message, arguments, exception text), and keep their shape so every
formatter still works."""

from __future__ import annotations

import io
import logging
import uuid

import pytest
from uvicorn.logging import AccessFormatter

from ordersmith.kernel.cards import contains_card_number, redact
from ordersmith.platform import logs
from ordersmith.platform.logs import install_card_redaction


def _capture(name: str, formatter: logging.Formatter | None = None) -> tuple[logging.Logger, io.StringIO]:
    install_card_redaction()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter or logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_an_exceptions_text_and_traceback_are_logged_without_card_numbers():
    # given an error whose text carries card numbers, as SQLAlchemy's "[parameters: …]" does
    logger, stream = _capture("test.logs.exception")
    try:
        raise ValueError(
            "(psycopg.DataError) NUL byte [parameters: ('4242 4242 4242 4242\\x00', '5555-5555-5555-4444')]"
        )
    except ValueError:
        # when it is logged with its traceback
        logger.exception("unhandled error on %s %s", "POST", "/api/v1/customers")
    # then the traceback is there, and no card number is
    written = stream.getvalue()
    assert "Traceback (most recent call last)" in written and "ValueError: (psycopg.DataError)" in written
    assert "424242******4242" in written and "555555******4444" in written
    assert not contains_card_number(written)


def test_arguments_keep_their_shape_so_uvicorns_access_formatter_writes_its_line():
    # given uvicorn's access formatter, which reads the record's arguments as a tuple
    logger, stream = _capture(
        "test.logs.access", AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s')
    )
    # when a request line is logged, one with a card number in its path
    logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/api/v1/health", "1.1", 200)
    logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/x/4111111111111111", "1.1", 404)
    # then both lines are written, the second masked, and nothing fails
    assert stream.getvalue().splitlines() == [
        '127.0.0.1:5000 - "GET /api/v1/health HTTP/1.1" 200 OK',
        '127.0.0.1:5000 - "GET /x/411111******1111 HTTP/1.1" 404 Not Found',
    ]


def test_a_number_that_is_not_text_is_masked_when_it_is_a_card_number():
    # given a card number passed as an int and an ordinary count
    logger, stream = _capture("test.logs.numbers")
    # when both are logged
    logger.warning("got %s for %d items", 4111111111111111, 3)
    # then the card number is masked and the count kept
    assert stream.getvalue() == "WARNING got 411111******1111 for 3 items\n"


def test_digits_next_to_a_grouped_card_number_do_not_hide_it():
    # when a card number is followed or preceded by other digit groups
    followed, preceded = redact("card 4111 1111 1111 1111 12"), redact("ref 12 4111-1111-1111-1111")
    # then it is masked all the same, and the other digits kept
    assert (followed, preceded) == ("card 411111******1111 12", "ref 12 411111******1111")


def test_a_new_request_id_never_holds_what_the_log_would_mask_as_a_card_number(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given UUIDs whose hex first holds a Luhn-valid run of sixteen digits (the log would mask it), then does not
    card_like = uuid.UUID("fa3c068e4242424242424242a1b2c3d4")
    plain = uuid.UUID("fa3c068ef6e048a1b0c2d3e4f5a6b7c8")
    handed = iter([card_like, plain])
    monkeypatch.setattr(logs.uuid, "uuid4", lambda: next(handed))
    assert contains_card_number(card_like.hex)
    # then the request id is the one the log leaves whole
    assert logs.new_request_id() == plain.hex
