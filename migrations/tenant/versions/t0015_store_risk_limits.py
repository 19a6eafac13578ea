"""Store settings: the store's own (stricter) risk limits, its review threshold and when
to ask for a captcha.

Revision ID: t0015
Revises: t0014
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "t0015"
down_revision = "t0014"
branch_labels = None
depends_on = None

COLUMNS = (
    ("risk_order_max_cents", sa.BigInteger()),
    ("risk_daily_max_cents", sa.BigInteger()),
    ("risk_per_minute", sa.Integer()),
    ("risk_per_hour", sa.Integer()),
    ("risk_review_over_cents", sa.BigInteger()),
    ("risk_challenge_per_minute", sa.Integer()),
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
