"""Staff and platform console (shared side): platform roles, two-factor, sessions, store suspension.

Placeholder reserved for a parallel workstream; it does nothing until filled in.

Revision ID: s0013
Revises: s0012
Create Date: 2026-11-23
"""

revision = "s0013"
down_revision = "s0012"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
