"""Store settings: the store's own first-order cap for new customers on high-risk products and
its quantity caps (per order, per buyer per day).

Revision ID: t0018
Revises: t0017
Create Date: 2026-12-09
"""

import sqlalchemy as sa
from alembic import op

revision = "t0018"
down_revision = "t0017"
branch_labels = None
depends_on = None

COLUMNS = (
    ("risk_new_customer_cap_cents", sa.BigInteger()),
    ("risk_quantity_per_order", sa.Integer()),
    ("risk_quantity_per_day", sa.Integer()),
)


def upgrade():
    schema = op.get_context().version_table_schema
    with op.batch_alter_table("store_settings", schema=schema) as batch:
        for name, type_ in COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade():
    schema = op.get_context().version_table_schema
    with op.batch_alter_table("store_settings", schema=schema) as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
