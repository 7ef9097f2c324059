"""Scratch PostgreSQL databases beside the test one, named uniquely so runs sharing one server never collide.

`python -m tests.support.pg_reset create PREFIX` creates `PREFIX_<pid>_<random>` and prints its SQLAlchemy URL;
`python -m tests.support.pg_reset drop URL` drops it again. The URL is derived from
`ORDERSMITH_TEST_POSTGRES_URL` by replacing only its database name (host, port, user and query stay).
"""

from __future__ import annotations

import os
import re
import sys
import uuid

import psycopg
from sqlalchemy.engine import make_url

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def base_url() -> str:
    return os.environ.get("ORDERSMITH_TEST_POSTGRES_URL", DEFAULT_URL)


def with_database(url: str, name: str) -> str:
    """`url` naming database `name` instead of its own."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def unique_name(prefix: str) -> str:
    """A database name no other process picks: the prefix, this process's id and a random part."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    if not _NAME.match(name):
        raise ValueError(f"not a plain database name: {name!r}")
    return name


def create(prefix: str) -> str:
    """Create a new, empty database named after `prefix` on the test server; returns its SQLAlchemy URL."""
    name = unique_name(prefix)
    with psycopg.connect(_dsn(base_url()), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(base_url(), name)


def drop(url: str) -> None:
    """Drop the database `url` names (never the test server's own database)."""
    name = make_url(url).database or ""
    if not _NAME.match(name) or name == make_url(base_url()).database:
        raise ValueError(f"refusing to drop {name!r}")
    with psycopg.connect(_dsn(base_url()), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    match sys.argv[1:]:
        case ["create", prefix]:
            print(create(prefix))
        case ["drop", url]:
            drop(url)
        case _:
            sys.exit("usage: python -m tests.support.pg_reset create PREFIX | drop URL")
