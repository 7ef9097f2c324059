"""Categories reshaped at once through a real server: crossing moves and children added under a moving subtree
never leave a cycle, nor a path that is not its parent's path and its own code."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from ordersmith.catalog import service as catalog
from ordersmith.platform.db import UnitOfWork
from tests.builders import make_api_key
from tests.support.server import running_server


def _consistent(uow: UnitOfWork) -> dict[str, str]:
    """Every category's path is its parent's path and its own code; returns the paths by code."""
    tree = {c.code: c for c in catalog.list_categories(uow)}
    for category in tree.values():
        expected = (
            category.code if category.parent is None else f"{tree[category.parent].path}/{category.code}"
        )
        assert category.path == expected, (category.code, category.path, expected)
    return {code: c.path for code, c in tree.items()}


def test_crossing_moves_and_children_added_under_a_moving_subtree_keep_the_tree_a_tree(
    db_url: str, uow: UnitOfWork, tmp_path: Path
):
    # given four top-level categories
    for code in ("A", "B", "C", "D"):
        catalog.create_category(uow, code=code, name=code)
    key = make_api_key(uow, scopes=["catalog:write", "catalog:read"]).secret
    headers = {"Authorization": f"Bearer {key}"}
    calls: list[tuple[str, str, dict[str, object]]] = []
    for n in range(6):  # A under B and B under A, C under D and back, and new children under A and C
        calls += [
            ("PATCH", "/api/v1/categories/A", {"parent": "B" if n % 2 == 0 else None}),
            ("PATCH", "/api/v1/categories/B", {"parent": "A" if n % 2 == 0 else None}),
            ("PATCH", "/api/v1/categories/C", {"parent": "D" if n % 2 == 0 else "A"}),
            ("POST", "/api/v1/categories", {"code": f"A{n}", "name": f"Under A {n}", "parent": "A"}),
            ("POST", "/api/v1/categories", {"code": f"C{n}", "name": f"Under C {n}", "parent": "C"}),
        ]
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(calls))

    def call(method: str, path: str, body: dict[str, object]) -> None:
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            response = client.request(method, f"{server.url}{path}", json=body, headers=headers)
        with lock:
            statuses.append(response.status_code)

    # when all of them arrive at once
    with running_server(db_url, tmp_path / "server.log") as server:
        threads = [threading.Thread(target=call, args=c) for c in calls]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    # then each was made or refused as a whole (a move into its own subtree), never a 500
    assert set(statuses) <= {200, 201, 422}, statuses
    assert statuses.count(201) == 12
    # and the tree is still a tree: every path is its parent's path and its own code (no cycle can satisfy that)
    paths = _consistent(uow)
    assert len(paths) == 16
    assert not (paths["A"].startswith("B/") and paths["B"].startswith("A/"))
