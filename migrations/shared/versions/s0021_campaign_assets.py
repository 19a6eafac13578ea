"""Growth: the platform's campaign assets library, the queue of stores' campaigns being sent,
and marketing e-mails per day on the seeded Pro (500) and Business (5,000) plans (Free stays
at 0: no marketing e-mail).

Revision ID: s0021
Revises: s0020
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

import app.db.types

revision = "s0021"
down_revision = "s0020"
branch_labels = None
depends_on = None

WHEN = app.db.types.UtcDateTime(timezone=True)
EMAILS_PER_DAY = {"pro": 500, "business": 5000}


def upgrade():
    op.create_table(
        "campaign_assets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("image", sa.String(length=200), nullable=False),
        sa.Column("layout", sa.String(length=20), nullable=False),
        sa.Column("text_colour", sa.String(length=7), nullable=False),
        sa.Column("is_published", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=254), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_assets")),
        schema="shared",
    )
    op.create_index(op.f("ix_campaign_assets_kind"), "campaign_assets", ["kind"], schema="shared")
    op.create_table(
        "campaign_queue",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("next_run_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "campaign_id", name=op.f("pk_campaign_queue")),
        schema="shared",
    )
    op.create_index(
        op.f("ix_campaign_queue_next_run_at"), "campaign_queue", ["next_run_at"], schema="shared"
    )
    plans = sa.table(
        "plans", sa.column("code", sa.String), sa.column("entitlements", sa.JSON), schema="shared"
    )
    bind = op.get_bind()
    for code, values in bind.execute(sa.select(plans.c.code, plans.c.entitlements)).all():
        if (
            code in EMAILS_PER_DAY
            and isinstance(values, dict)
            and "marketing_email_daily" not in values
        ):
            updated = dict(values, marketing_email_daily=EMAILS_PER_DAY[code])
            bind.execute(plans.update().where(plans.c.code == code).values(entitlements=updated))


def downgrade():
    op.drop_table("campaign_queue", schema="shared")
    op.drop_table("campaign_assets", schema="shared")
