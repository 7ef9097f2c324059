"""Create a fresh scratch PostgreSQL database beside the test one: `python -m tests.support.pg_reset NAME`."""

from __future__ import annotations

import os
import sys

import psycopg

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def admin_dsn() -> str:
    url = os.environ.get("ORDERSMITH_TEST_POSTGRES_URL", DEFAULT_URL)
    return url.replace("postgresql+psycopg://", "postgresql://")


def recreate(name: str) -> str:
    """Drop and create database NAME on the test server; returns its SQLAlchemy URL."""
    dsn = admin_dsn()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    base = os.environ.get("ORDERSMITH_TEST_POSTGRES_URL", DEFAULT_URL)
    return base.rsplit("/", 1)[0] + "/" + name


if __name__ == "__main__":
    recreate(sys.argv[1])
