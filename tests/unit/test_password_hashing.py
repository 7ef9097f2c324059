"""Password hashing: Argon2id at the standard cost outside tests, the test cost refused in production, and a hash
made at either cost verified whatever the current cost is."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from ordersmith.platform import secrets
from ordersmith.platform.settings import ProductionMisconfigured, Settings


def test_the_standard_cost_is_argon2id_at_64_mib_and_three_passes() -> None:
    # given the standard cost (what every deployment runs)
    secrets.use_argon2_cost("standard")
    try:
        # when a password is hashed
        hashed = secrets.hash_password("correct horse")
    finally:
        secrets.use_argon2_cost("test")
    # then the hash says Argon2id with 64 MiB, 3 passes and 4 lanes, and it verifies
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert secrets.verify_password(hashed, "correct horse")
    assert not secrets.verify_password(hashed, "wrong horse")


def test_a_hash_made_at_one_cost_verifies_at_the_other() -> None:
    strong = PasswordHasher().hash("pw-1")
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("pw-2")
    for cost in ("standard", "test"):
        secrets.use_argon2_cost(cost)
        assert secrets.verify_password(strong, "pw-1") and secrets.verify_password(cheap, "pw-2")
    secrets.use_argon2_cost("test")


def test_production_refuses_the_test_cost() -> None:
    with pytest.raises(ProductionMisconfigured, match="ORDERSMITH_ARGON2_COST"):
        Settings(env="production", argon2_cost="test")


def test_the_default_cost_is_standard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORDERSMITH_ARGON2_COST", raising=False)
    assert Settings().argon2_cost == "standard"
