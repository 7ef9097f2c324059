"""Scratch PostgreSQL databases (the Makefile's `migrations-check`): unique per run, derived from the test URL,
dropped afterwards — so two runs on one shared server never break each other or touch the test database."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest

from tests.support import pg_reset


def _databases() -> set[str]:
    with psycopg.connect(pg_reset._dsn(pg_reset.base_url()), autocommit=True) as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


def test_a_scratch_url_replaces_only_the_database_name_of_any_test_url():
    # given a test server URL whose database is not called "test" and that carries options
    url = "postgresql+psycopg://ci:secret@db.internal:6543/ordersmith_ci?sslmode=require"
    # when a scratch database's URL is derived from it
    derived = pg_reset.with_database(url, "alembic_check_42_ab12cd34")
    # then host, port, credentials and options stay, and only the name changes
    assert (
        derived == "postgresql+psycopg://ci:secret@db.internal:6543/alembic_check_42_ab12cd34?sslmode=require"
    )


def test_two_scratch_databases_made_at_once_get_different_names():
    # when two runs ask for a scratch database with the same prefix
    names = {pg_reset.unique_name("alembic_check") for _ in range(2)}
    # then each gets its own, carrying the process id
    assert len(names) == 2 and all(n.startswith(f"alembic_check_{os.getpid()}_") for n in names)


def test_a_scratch_database_is_created_beside_the_test_one_and_dropped_afterwards(postgres_ready: None):
    # given a server other runs share (their databases come and go: only ours is looked at)
    # when the Makefile's steps create a scratch database and drop it again
    created = subprocess.run(
        [sys.executable, "-m", "tests.support.pg_reset", "create", "alembic_check"],
        capture_output=True,
        text=True,
        check=True,
    )
    url = created.stdout.strip()
    name = url.rsplit("/", 1)[1]
    during = _databases()
    subprocess.run([sys.executable, "-m", "tests.support.pg_reset", "drop", url], check=True)
    # then it existed under a unique name on the test server, and is gone afterwards
    assert name in during and name.startswith("alembic_check_")
    assert url == pg_reset.with_database(pg_reset.base_url(), name)
    assert name not in _databases()


def test_the_test_servers_own_database_is_never_dropped(postgres_ready: None):
    # when asked to drop the test database itself
    with pytest.raises(ValueError, match="refusing to drop"):
        pg_reset.drop(pg_reset.base_url())
    # then it is still there
    assert pg_reset.base_url().rsplit("/", 1)[1] in _databases()
