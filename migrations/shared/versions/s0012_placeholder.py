"""Store back-office (shared side): custom domain verification.

Placeholder reserved for a parallel workstream; it does nothing until filled in.

Revision ID: s0012
Revises: s0011
Create Date: 2026-11-23
"""

revision = "s0012"
down_revision = "s0011"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
