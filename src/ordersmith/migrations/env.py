"""Alembic environment: every context's tables register on one metadata; the URL comes from settings."""

from __future__ import annotations

from alembic import context

import ordersmith.catalog.tables
import ordersmith.channels.crm.tables
import ordersmith.channels.pos.tables
import ordersmith.channels.tables
import ordersmith.continuity.tables
import ordersmith.customers.tables
import ordersmith.data.export_tables
import ordersmith.data.tables
import ordersmith.finance.dispute_tables
import ordersmith.finance.dunning_tables
import ordersmith.finance.tables
import ordersmith.fulfillment.tables
import ordersmith.inventory.tables
import ordersmith.marketing.tables
import ordersmith.orders.tables
import ordersmith.payments.tables
import ordersmith.platform.tables
import ordersmith.pricing.tables
import ordersmith.purchasing.tables
import ordersmith.reporting.tables  # noqa: F401 - each import registers a context's tables
from ordersmith.platform.db import Base, make_engine
from ordersmith.platform.settings import get_settings

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return config.attributes.get("database_url") or get_settings().database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url(), pool_size=1)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
