"""Two `ordersmith finance push` processes on one QuickBooks Online export at the same moment, on SQLite and
PostgreSQL: one holds the export's push lease and delivers every entry, the other is refused, and QuickBooks
(a loopback stub of its API) holds each entry once, balanced."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from ordersmith.finance import service as finance
from ordersmith.platform.db import UnitOfWork
from tests.integration.test_finance_exports import post_november
from tests.support.cli import environment
from tests.support.http_stub import serving
from tests.support.ledger_stubs import Qbo

ACCOUNTS = ["1000", "1010", "1100", "1300", "2100", "3000", "4020", "5000", "6100"]


def test_two_push_processes_at_once_deliver_each_entry_once(uow: UnitOfWork, db_url: str):
    stub = Qbo(accounts={number: str(n) for n, number in enumerate(ACCOUNTS, start=1)}, delay_s=0.75)
    post_november(uow)
    export = finance.create_export(uow, period="2026-11", format="qbo", currency="USD")
    with serving(stub.api):
        env = environment(
            db_url,
            ORDERSMITH_QBO_CLIENT_ID=stub.client_id,
            ORDERSMITH_QBO_CLIENT_SECRET=stub.client_secret,
            ORDERSMITH_QBO_REFRESH_TOKEN="RT-first",
            ORDERSMITH_QBO_REALM_ID=stub.realm,
            ORDERSMITH_QBO_BASE_URL=stub.api.url(),
            ORDERSMITH_QBO_TOKEN_URL=f"{stub.api.url()}/oauth2/v1/tokens/bearer",
        )

        def push() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "ordersmith", "finance", "push", str(export.id)],
                capture_output=True, text=True, timeout=120, check=False, env={**os.environ, **env},
            )  # fmt: skip

        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda _: push(), range(2)))
    ok = [r for r in results if r.returncode == 0]
    refused = [r for r in results if r.returncode != 0]
    assert len(ok) == 1 and "4 of 4 entries pushed" in ok[0].stdout, [r.stderr for r in results]
    assert len(refused) == 1 and "being pushed" in refused[0].stderr
    assert len(stub.created) == 4 and not stub.replays
    assert all(sum(a for _n, a in amounts) == 0 for _d, amounts in stub.entries())
    done = finance.get_export(uow, export_id=export.id)
    assert (done.pushed, done.failed) == (4, 0)
