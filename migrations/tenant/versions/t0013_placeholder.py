"""Reserved (coupons).

Placeholder reserved for a parallel workstream; it does nothing until filled in.

Revision ID: t0013
Revises: t0012
Create Date: 2026-11-23
"""

revision = "t0013"
down_revision = "t0012"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
