"""Store settings: logo, support contacts, SEO title and description, guest checkout and the
query-password policy.

Revision ID: t0011
Revises: t0010
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "t0011"
down_revision = "t0010"
branch_labels = None
depends_on = None

TEXT_COLUMNS = (
    ("logo", 200),
    ("support_qq", 20),
    ("support_wechat", 40),
    ("support_telegram", 40),
    ("support_email", 254),
    ("seo_title", 70),
    ("seo_description", 200),
)


def upgrade():
    schema = op.get_context().version_table_schema
    with op.batch_alter_table("store_settings", schema=schema) as batch:
        for name, length in TEXT_COLUMNS:
            batch.add_column(
                sa.Column(name, sa.String(length=length), nullable=False, server_default="")
            )
        batch.add_column(
            sa.Column("guest_checkout", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(
            sa.Column(
                "query_password_policy",
                sa.String(length=10),
                nullable=False,
                server_default="optional",
            )
        )


def downgrade():
    schema = op.get_context().version_table_schema
    with op.batch_alter_table("store_settings", schema=schema) as batch:
        batch.drop_column("query_password_policy")
        batch.drop_column("guest_checkout")
        for name, _ in reversed(TEXT_COLUMNS):
            batch.drop_column(name)
