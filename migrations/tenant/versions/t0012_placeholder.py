"""Staff: roles, invitations, two-factor, sessions.

Placeholder reserved for a parallel workstream; it does nothing until filled in.

Revision ID: t0012
Revises: t0011
Create Date: 2026-11-23
"""

revision = "t0012"
down_revision = "t0011"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
