"""Alembic environment for one store schema; run through tenants.migrations.upgrade_tenant.

The connection arrives already mapped to the store (schema_translate_map on PostgreSQL, the
store's file on SQLite). Migration scripts must name the schema explicitly in every operation:
`schema = op.get_context().version_table_schema` (None on SQLite), and `referent_schema=schema`
on foreign keys, because Alembic's ALTER statements do not apply the translate map.
"""

from alembic import context

import app.models  # noqa: F401  (registers every model on the metadata)
from app.db import tenant_metadata

config = context.config
connection = config.attributes["connection"]

context.configure(
    connection=connection,
    target_metadata=tenant_metadata,
    version_table_schema=config.attributes.get("version_table_schema"),
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
