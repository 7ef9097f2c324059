"""What the fork server imports once, before any test server is forked from it: Ordersmith's app and commands, with
SQLAlchemy's mappers configured (configuring them is lazy, at the first ORM query: each forked server otherwise
configured every mapper again, with its relay and job threads waiting on the configure lock at start)."""

from __future__ import annotations

import sqlalchemy.orm

import ordersmith.app
import ordersmith.cli

__all__ = ["ordersmith"]

sqlalchemy.orm.configure_mappers()
