"""Store back-office: CRM tags and notes, export jobs, store settings.

Placeholder reserved for a parallel workstream; it does nothing until filled in.

Revision ID: t0011
Revises: t0010
Create Date: 2026-11-23
"""

revision = "t0011"
down_revision = "t0010"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
