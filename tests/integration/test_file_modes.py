"""Everything Ordersmith writes to disk is its owner's alone: files 0600 (SQLite's -wal and -shm too), the
folders it makes 0700 — whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ordersmith.demo import load
from ordersmith.payments.gateways.sandbox import SandboxProcessor
from ordersmith.payments.vault import Vault, keys_from
from ordersmith.platform import migrate
from ordersmith.platform.db import Actor, Database
from ordersmith.platform.settings import Settings
from tests.builders import make_user


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # the usual default: files 0644, folders 0755 unless asked otherwise
    try:
        yield
    finally:
        os.umask(previous)


def _modes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): oct(stat.S_IMODE(p.stat().st_mode)) for p in sorted(root.rglob("*"))}


def test_databases_vault_books_and_credentials_are_created_owner_only(tmp_path: Path, open_umask: None):
    # given a fresh folder and the usual umask
    var = tmp_path / "var"
    settings = Settings(
        database_url=f"sqlite:///{var}/ordersmith.db",
        vault_database_url=f"sqlite:///{var}/vault/vault.db",
        sandbox_gateway_path=str(var / "sandbox" / "sandbox_gateway.db"),
        sandbox_carrier_path=str(var / "sandbox" / "sandbox_carrier.db"),
        env="test",
        demo_orders=0,
        _env_file=None,  # type: ignore[call-arg]
    )
    # when Ordersmith migrates and uses its database, tokenizes a card, books a sale and writes demo credentials
    migrate.upgrade(settings.database_url)
    db = Database(settings.database_url, pool_size=2)
    make_user(db.unit_of_work(Actor.system("test")), email="pat@example.com")
    vault = Vault(settings.vault_database_url, keys_from(settings))
    vault.tokenize(number="4242424242424242", exp_month=11, exp_year=2032, actor="test")
    SandboxProcessor(settings.sandbox_gateway_path)
    load(db, settings, var / "demo-credentials.txt", up_to_stage=10)
    # then every file is 0600 and every folder it made 0700, the -wal and -shm files included
    modes = _modes(var)
    vault.dispose()
    db.dispose()
    assert {"ordersmith.db-wal", "ordersmith.db-shm", "vault/vault.db", "demo-credentials.txt"} <= set(modes)
    assert {name for name, mode in modes.items() if (var / name).is_dir()} == {"vault", "sandbox"}
    assert {
        name: mode for name, mode in modes.items() if mode != ("0o700" if (var / name).is_dir() else "0o600")
    } == {}
    assert oct(stat.S_IMODE(var.stat().st_mode)) == "0o700"
