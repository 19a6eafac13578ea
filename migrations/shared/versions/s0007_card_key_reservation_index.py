"""Card keys: index (sku_id, status, id) so reserving the oldest available keys of a SKU reads
them straight off the index instead of walking the primary key.

Revision ID: s0007
Revises: s0006
Create Date: 2026-11-23
"""

from alembic import op

revision = "s0007"
down_revision = "s0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_card_keys_sku_id_status_id", "card_keys", ["sku_id", "status", "id"], schema="shared"
    )
    op.drop_index("ix_card_keys_sku_id_status", table_name="card_keys", schema="shared")


def downgrade():
    op.create_index(
        "ix_card_keys_sku_id_status", "card_keys", ["sku_id", "status"], schema="shared"
    )
    op.drop_index("ix_card_keys_sku_id_status_id", table_name="card_keys", schema="shared")
