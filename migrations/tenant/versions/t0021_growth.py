"""Growth: scheduled announcements, recommendations (co-purchase pairs, best sellers, a
customer's frequent SKUs), marketing settings, marketing e-mail campaigns and their recipients,
and the customer's marketing opt-in.

Revision ID: t0021
Revises: t0020
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

from app.db.types import BigId, UtcDateTime

revision = "t0021"
down_revision = "t0020"
branch_labels = None
depends_on = None


def upgrade():
    schema = op.get_context().version_table_schema
    op.create_table(
        "announcements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(300), nullable=False),
        sa.Column("image", sa.String(200), nullable=False),
        sa.Column("starts_at", UtcDateTime(), nullable=True),
        sa.Column("ends_at", UtcDateTime(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
        schema=schema,
    )
    op.create_index(op.f("ix_announcements_ends_at"), "announcements", ["ends_at"], schema=schema)
    op.create_table(
        "recommendation_pairs",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("other_product_id", sa.Integer(), nullable=False),
        sa.Column("buyers", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "product_id", "other_product_id", name=op.f("pk_recommendation_pairs")
        ),
        schema=schema,
    )
    op.create_table(
        "recommendation_popular",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("buyers", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("product_id", name=op.f("pk_recommendation_popular")),
        schema=schema,
    )
    op.create_table(
        "customer_favourites",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("orders_count", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("last_unit_price_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("last_ordered_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "sku_id", name=op.f("pk_customer_favourites")),
        schema=schema,
    )
    op.create_table(
        "marketing_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("poster_template", sa.String(40), nullable=False),
        sa.Column("poster_headline", sa.String(60), nullable=False),
        sa.Column("recommendations_on", sa.Boolean(), nullable=False),
        sa.Column("recommendations_at", UtcDateTime(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_settings")),
        schema=schema,
    )
    op.create_table(
        "marketing_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(150), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_by", sa.String(254), nullable=False),
        sa.Column("recipients_total", sa.Integer(), nullable=False),
        sa.Column("sent_count", sa.Integer(), nullable=False),
        sa.Column("skipped_count", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=True),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketing_campaigns")),
        schema=schema,
    )
    op.create_index(
        op.f("ix_marketing_campaigns_status"), "marketing_campaigns", ["status"], schema=schema
    )
    op.create_table(
        "campaign_recipients",
        sa.Column("id", BigId, nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["marketing_campaigns.id"],
            name=op.f("fk_campaign_recipients_campaign_id_marketing_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_recipients")),
        schema=schema,
    )
    op.create_index(
        "uq_campaign_recipients_customer",
        "campaign_recipients",
        ["campaign_id", "customer_id"],
        unique=True,
        schema=schema,
    )
    op.create_index(
        "ix_campaign_recipients_sent",
        "campaign_recipients",
        ["status", "sent_at"],
        schema=schema,
    )
    with op.batch_alter_table("customers", schema=schema) as batch:
        batch.add_column(
            sa.Column("marketing_opt_in", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("marketing_opt_in_at", UtcDateTime(), nullable=True))


def downgrade():
    schema = op.get_context().version_table_schema
    with op.batch_alter_table("customers", schema=schema) as batch:
        batch.drop_column("marketing_opt_in_at")
        batch.drop_column("marketing_opt_in")
    for table in (
        "campaign_recipients",
        "marketing_campaigns",
        "marketing_settings",
        "customer_favourites",
        "recommendation_popular",
        "recommendation_pairs",
        "announcements",
    ):
        op.drop_table(table, schema=schema)
