"""Customer money: balances, levels, customer referral.

Placeholder reserved for a parallel workstream; it does nothing until filled in.

Revision ID: t0010
Revises: t0009
Create Date: 2026-11-23
"""

revision = "t0010"
down_revision = "t0009"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
