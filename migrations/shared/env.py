"""Alembic environment for the shared schema; run through tenants.migrations.upgrade_shared."""

from alembic import context

import app.models  # noqa: F401  (registers every model on the metadata)
from app.db import shared_metadata

config = context.config
connection = config.attributes["connection"]

context.configure(
    connection=connection,
    target_metadata=shared_metadata,
    version_table_schema=config.attributes.get("version_table_schema", "shared"),
    include_schemas=True,
    include_name=lambda name, type_, parent: type_ != "schema" or name == "shared",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
