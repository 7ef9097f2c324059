"""Revoking an API key takes effect at once in every server process, though each keeps its short key cache."""

from __future__ import annotations

from pathlib import Path

import httpx

from ordersmith.platform.db import UnitOfWork
from tests.builders import make_api_key
from tests.support.server import running_server


def test_a_key_revoked_through_one_server_is_refused_by_another_at_once(
    db_url: str, uow: UnitOfWork, tmp_path: Path
):
    # given two server processes on one database, each with the integration's key in its cache (5 s)
    admin = make_api_key(uow, name="admin").secret
    shop = make_api_key(uow, scopes=["catalog:read"], name="shop")
    with (
        running_server(db_url, tmp_path / "one.log", api_key_cache_s="5") as one,
        running_server(db_url, tmp_path / "two.log", api_key_cache_s="5") as two,
    ):
        auth = {"Authorization": f"Bearer {shop.secret}"}
        for server in (one, two):
            assert httpx.get(f"{server.url}/api/v1/items", headers=auth).status_code == 200
        # when the key is revoked through the first
        revoked = httpx.post(
            f"{one.url}/api/v1/api-keys/{shop.key.id}/revoke", headers={"Authorization": f"Bearer {admin}"}
        )
        assert revoked.status_code == 200, revoked.text
        # then the second refuses it on the very next call, as does the first
        refused = [httpx.get(f"{server.url}/api/v1/items", headers=auth) for server in (two, one)]
        assert [r.status_code for r in refused] == [401, 401]
        assert refused[0].json()["detail"] == "unknown or revoked API key"
        # and another key, still valid, keeps working in both
        admin_auth = {"Authorization": f"Bearer {admin}"}
        assert [httpx.get(f"{s.url}/api/v1/items", headers=admin_auth).status_code for s in (one, two)] == [
            200,
            200,
        ]


def test_a_revoked_channel_key_places_no_order_though_its_check_runs_inside_the_orders_transaction(
    db_url: str, uow: UnitOfWork, tmp_path: Path
):
    # given two servers, each with a web key in its cache from an order it placed
    from tests.builders import make_order_shop

    make_order_shop(uow)
    admin = make_api_key(uow, name="admin").secret
    web = make_api_key(uow, scopes=["orders:write"], channel="web", name="web")
    address = {"name": "Buyer", "line1": "1 Market St", "city": "San Francisco", "region": "CA",
               "postal_code": "94105", "country": "US", "method": "ground"}  # fmt: skip

    def order(n: int) -> dict[str, object]:
        return {"lines": [{"sku": "MUG", "quantity": 1}], "ship_tos": [address], "external_id": f"rev-{n}"}

    with (
        running_server(db_url, tmp_path / "one.log", api_key_cache_s="5") as one,
        running_server(db_url, tmp_path / "two.log", api_key_cache_s="5") as two,
    ):
        auth = {"Authorization": f"Bearer {web.secret}"}
        for n, server in enumerate((one, two)):
            assert httpx.post(f"{server.url}/api/v1/orders", json=order(n), headers=auth).status_code == 201
        orders_before = _count_orders(uow)
        # when the key is revoked through the first
        revoked = httpx.post(
            f"{one.url}/api/v1/api-keys/{web.key.id}/revoke", headers={"Authorization": f"Bearer {admin}"}
        )
        assert revoked.status_code == 200, revoked.text
        # then the second refuses the next order (and the first), with or without an Idempotency-Key, and a
        # malformed order too is answered 401, not 422: nothing is written
        answers = [
            httpx.post(f"{two.url}/api/v1/orders", json=order(10), headers=auth),
            httpx.post(f"{two.url}/api/v1/orders", json=order(11), headers=auth | {"Idempotency-Key": "k-1"}),
            httpx.post(f"{two.url}/api/v1/orders", json={"lines": "nonsense"}, headers=auth),
            httpx.post(f"{one.url}/api/v1/orders", json=order(12), headers=auth),
        ]
        assert [a.status_code for a in answers] == [401, 401, 401, 401], [a.text for a in answers]
        assert answers[0].json()["detail"] == "unknown or revoked API key"
        assert _count_orders(uow) == orders_before


def _count_orders(uow: UnitOfWork) -> int:
    import sqlalchemy as sa

    from ordersmith.orders.tables import OrderRow

    with uow:
        return int(uow.session.scalar(sa.select(sa.func.count()).select_from(OrderRow)) or 0)
