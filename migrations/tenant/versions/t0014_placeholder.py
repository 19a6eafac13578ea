"""Reserved (tickets).

Placeholder reserved for a parallel workstream; it does nothing until filled in.

Revision ID: t0014
Revises: t0013
Create Date: 2026-11-23
"""

revision = "t0014"
down_revision = "t0013"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
