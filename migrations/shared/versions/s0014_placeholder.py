"""Reserved (coupons and tickets, shared side).

Placeholder reserved for a parallel workstream; it does nothing until filled in.

Revision ID: s0014
Revises: s0013
Create Date: 2026-11-23
"""

revision = "s0014"
down_revision = "s0013"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
