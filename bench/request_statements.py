"""SQL statements and transactions for the whole HTTP request of placing an order — authentication, validation,
checkout, the idempotency key, audit and outbox rows — counted on Ordersmith's own engine (the vault's and the
sandbox processor's own books aside), in process through the ASGI app with the relay and jobs switched off.

    python -m bench.request_statements --db sqlite|postgres

Scenarios: a 3-line order paid on account; by card + gift card; by card alone; a 3-line order on account sent with
an Idempotency-Key. Each is warmed up (caches, the API key) and then measured on fresh orders; prints the median per
request, split by kind, one figure per line, and a summary line. Goal (issue 13): <= 15 statements in 1 transaction
for a 3-line order on account and for one paid by card + gift card.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from bench.checkout_payment import ADDRESS, SKUS, _prepare
from bench.common import own_files, pg_database
from ordersmith.app import create_app
from ordersmith.platform.settings import Settings


class Counting:
    """Statements and BEGINs on one engine, by kind."""

    def __init__(self, engine: sa.Engine) -> None:
        self.kinds: Counter[str] = Counter()
        self.begins = 0
        self.read_begins = 0  # read-only transactions (the price read before a card is authorized)
        self.seen: list[str] = []
        sa.event.listen(engine, "before_cursor_execute", self._statement)
        sa.event.listen(engine, "begin", self._begin)

    def _statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.kinds[statement.lstrip().split(None, 1)[0].upper()] += 1
        self.seen.append(" ".join(statement.split())[:150])

    def _begin(self, conn: Any) -> None:
        # Database.read_engine's sessions (use cases marked readonly) carry this option on both databases.
        if conn.get_execution_options().get("sqlite_begin") == "DEFERRED":
            self.read_begins += 1
        else:
            self.begins += 1

    def reset(self) -> None:
        self.kinds.clear()
        self.begins = self.read_begins = 0
        self.seen = []


def _address(n: int) -> dict[str, str]:
    return ADDRESS | {"line1": f"{n} Bench St"}  # a street of its own: no velocity hold


def _lines(n: int) -> list[dict[str, Any]]:
    return [{"sku": f"SKU-{(n * 104_729 + k * 31) % SKUS:04d}", "quantity": 1} for k in range(3)]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--requests", type=int, default=9)
    parser.add_argument("--show", action="store_true", help="print each scenario's last request's statements")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ordersmith-request-statements-"))
    url = (
        f"sqlite:///{folder}/ordersmith.db"
        if args.db == "sqlite"
        else pg_database("ordersmith_request_statements")
    )
    key, accounts, tokens, codes = _prepare(url, folder, gift_cards=200)
    settings = Settings(
        database_url=url, env="test", relay_enabled=False, jobs_enabled=False, _env_file=None,  # type: ignore[call-arg]
        **{k.removeprefix("ORDERSMITH_").lower(): v for k, v in own_files(folder).items()},
    )  # fmt: skip
    app = create_app(settings)
    scenarios: dict[str, Callable[[int], tuple[dict[str, Any], dict[str, str]]]] = {
        "on_account": lambda n: ({"lines": _lines(n), "ship_tos": [_address(n)],
                                  "customer": accounts[n % len(accounts)], "payments": [{"method": "on_account"}]}, {}),
        "card_and_gift_card": lambda n: ({"lines": _lines(n), "ship_tos": [_address(n)], "payments": [
            {"method": "gift_card", "token": codes[n % len(codes)], "amount": "5.00"},
            {"method": "card", "token": tokens[n % len(tokens)]}]}, {}),
        "card": lambda n: ({"lines": _lines(n), "ship_tos": [_address(n)],
                            "payments": [{"method": "card", "token": tokens[n % len(tokens)]}]}, {}),
        "on_account_with_idempotency_key": lambda n: (
            {"lines": _lines(n), "ship_tos": [_address(n)], "customer": accounts[n % len(accounts)],
             "payments": [{"method": "on_account"}]}, {"Idempotency-Key": f"bench-{n}-{secrets.token_urlsafe(12)}"}),
    }  # fmt: skip
    figures: dict[str, tuple[float, float, float]] = {}
    with TestClient(app) as client:
        counting = Counting(app.state.db.engine)
        auth = {"Authorization": f"Bearer {key}"}
        n = 0
        for name, make in scenarios.items():
            statements: list[int] = []
            begins: list[int] = []
            reads: list[int] = []
            kinds: Counter[str] = Counter()
            for attempt in range(3 + args.requests):
                n += 1
                body, headers = make(n)
                counting.reset()
                answer = client.post("/api/v1/orders", json=body, headers=auth | headers)
                if answer.status_code != 201:
                    raise RuntimeError(f"{name}: {answer.status_code} {answer.text[:300]}")
                if attempt >= 3:  # after the warm-up
                    statements.append(sum(counting.kinds.values()))
                    begins.append(counting.begins)
                    reads.append(counting.read_begins)
                    kinds += counting.kinds
            figures[name] = (
                statistics.median(statements),
                statistics.median(begins),
                statistics.median(reads),
            )
            if args.show:
                print("\n".join(f"  {line}" for line in counting.seen))
            print(f"{name}_statements: {figures[name][0]:.0f} statements")
            print(
                f"{name}_transactions: {figures[name][1]:.0f} write transaction(s), "
                f"{figures[name][2]:.0f} read-only"
            )
            by_kind = ", ".join(f"{k} {v / args.requests:.1f}" for k, v in kinds.most_common())
            print(f"{name}_by_kind: {by_kind} per request")
    account, both = figures["on_account"], figures["card_and_gift_card"]
    met = account[0] <= 15 and both[0] <= 15 and account[1] == 1 and both[1] == 1
    print(f"summary: {args.db}: 3-line order on account {account[0]:.0f} statements in {account[1]:.0f} "
          f"write transaction(s) (+{account[2]:.0f} read-only), card + gift card {both[0]:.0f} in {both[1]:.0f} "
          f"(+{both[2]:.0f} read-only: the price read before the card is authorized, which no transaction may "
          f"span) (goal <= 15 in 1) -> {'met' if met else 'NOT met'}")  # fmt: skip


if __name__ == "__main__":
    main()
