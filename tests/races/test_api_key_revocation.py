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
