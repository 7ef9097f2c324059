"""The README's health path is the app's real one, public as the README says."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient


def test_the_health_path_in_the_readme_answers(client: TestClient) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    paths = set(re.findall(r"`GET (/\S*health)`", readme))
    assert paths == {"/api/v1/health"}
    for path in paths:
        response = client.get(path)  # no credentials: public
        assert response.status_code == 200 and response.json()["status"] == "ok", response.text
