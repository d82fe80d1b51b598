"""Covering indexes for the list's page of ids

The ticket list first selects the ids of one page (filtered, ordered by updated_at and id,
paginated), then the full rows of those ids (app/views/base.py, _page_rows). With
(updated_at, id) the admin's newest-first walk, deep pages included, and with
(id, updated_at) the sort of a person's tickets read indexes only. (updated_at, id)
replaces the single-column updated_at index.

Revision ID: 0006_list_page_covering_indexes
Revises: 0005_visibility_covering_indexes
"""
from alembic import op

revision = "0006_list_page_covering_indexes"
down_revision = "0005_visibility_covering_indexes"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_updated_id", ["updated_at", "id"], unique=False)
        batch_op.create_index("ix_ticket_id_updated", ["id", "updated_at"], unique=False)
        batch_op.drop_index("ix_ticket_updated_at")


def downgrade():
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_updated_at", ["updated_at"], unique=False)
        batch_op.drop_index("ix_ticket_id_updated")
        batch_op.drop_index("ix_ticket_updated_id")
