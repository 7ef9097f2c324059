"""Through a real server: each request writes one short structured access line (never its query string), and
errors provoked with card numbers in the input leave no card number in the log."""

from __future__ import annotations

from pathlib import Path

import httpx

from ordersmith.kernel.cards import contains_card_number
from ordersmith.platform.db import UnitOfWork
from tests.builders import make_api_key
from tests.support.server import running_server


def _access_lines(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if " ordersmith.access " in line]


def test_a_request_writes_one_short_access_line_and_no_logging_error(
    db_url: str, uow: UnitOfWork, tmp_path: Path
):
    # given a server logging at info, and an integration's key
    key = make_api_key(uow, scopes=["catalog:read"], name="shop").secret
    log = tmp_path / "server.log"
    with running_server(db_url, log, log_level="info") as server:
        # when an anonymous call with a secret in its query string and a keyed call are made
        health = httpx.get(
            f"{server.url}/api/v1/health?token=hunter2-secret", headers={"X-Request-ID": "req-42"}
        )
        items = httpx.get(f"{server.url}/api/v1/items", headers={"Authorization": f"Bearer {key}"})
    # then each wrote exactly one access line with what happened and who asked, and nothing else went wrong
    assert (health.status_code, items.status_code, health.headers["X-Request-ID"]) == (200, 200, "req-42")
    written = log.read_text()
    assert "Logging error" not in written and "Traceback" not in written
    # (the start-up's own health checks come first and may reach the file late: count from this call's line)
    every = _access_lines(log)
    start = next(n for n, line in enumerate(every) if "request_id=req-42" in line)
    lines = every[start:]
    assert len(lines) == 2, written[-3000:]
    first, second = (line.split(" ordersmith.access ", 1)[1] for line in lines)
    assert first.startswith("method=GET path=/api/v1/health status=200 duration_ms=")
    assert first.endswith(" request_id=req-42 caller=anonymous")
    assert second.startswith("method=GET path=/api/v1/items status=200 duration_ms=")
    assert second.endswith(f" request_id={items.headers['X-Request-ID']} caller=api-key:shop")
    assert all(len(line) < 250 for line in lines)
    assert "hunter2-secret" not in written


def test_errors_provoked_with_card_numbers_leave_no_card_number_in_the_log(
    db_url: str, uow: UnitOfWork, tmp_path: Path
):
    # given a server logging at debug, and a key that may write customers and items
    key = make_api_key(uow, scopes=["customers:write", "catalog:write", "catalog:read"], name="shop").secret
    auth = {"Authorization": f"Bearer {key}"}
    log = tmp_path / "server.log"
    card = "4242 4242 4242 4242"
    with running_server(db_url, log, log_level="debug") as server:
        # when card numbers arrive where they do not belong: with a NUL byte (PostgreSQL refuses those), in a path,
        # a query string, a malformed body and a refused field
        for body in (
            {"first_name": f"Ann\x00{card}", "last_name": "5555-5555-5555-4444"},
            {"first_name": "Ann", "last_name": card, "emails": [{"email": "not an e-mail 4000056655665556"}]},
        ):
            httpx.post(f"{server.url}/api/v1/customers", headers=auth, json=body)
        httpx.post(
            f"{server.url}/api/v1/items", headers=auth, json={"sku": "4242424242424242\x00", "name": card}
        )
        httpx.get(f"{server.url}/api/v1/items/4242424242424242?card=5555555555554444", headers=auth)
        httpx.post(
            f"{server.url}/api/v1/customers",
            headers={**auth, "Content-Type": "application/json"},
            content=b'{"first_name": "4242424242424242", ',
        )
    # then the log shows the requests, and no card number
    written = log.read_text()
    assert len(_access_lines(log)) >= 5
    assert not contains_card_number(written), [
        line for line in written.splitlines() if contains_card_number(line)
    ]
