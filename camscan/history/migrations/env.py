"""Alembic's environment for camscan's history database: always run on a connection camscan opened."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from camscan.history.schema import VERSION_TABLE, metadata


def run_migrations_online() -> None:
    """Migrate on the connection camscan handed over (config.attributes["connection"])."""
    connection: Connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("camscan's history migrations run online only (camscan sweep applies them)")
run_migrations_online()
