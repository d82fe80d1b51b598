"""Covering indexes for the visibility rule

An agent's tickets are the ids they created UNION ALL the ids assigned to them
(app/tickets/visibility.py). With (created_by_id, id) and (user_id, ticket_id) both
branches are index-only scans instead of a heap visit per ticket; each replaces the
single-column index it starts with.

Revision ID: 0005_visibility_covering_indexes
Revises: 0004_search_document_index
"""
from alembic import op

revision = "0005_visibility_covering_indexes"
down_revision = "0004_search_document_index"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_creator_id", ["created_by_id", "id"], unique=False)
        batch_op.drop_index("ix_ticket_created_by_id")
    with op.batch_alter_table("ticket_assignee", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_assignee_user_ticket", ["user_id", "ticket_id"], unique=False)
        batch_op.drop_index("ix_ticket_assignee_user_id")


def downgrade():
    with op.batch_alter_table("ticket_assignee", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_assignee_user_id", ["user_id"], unique=False)
        batch_op.drop_index("ix_ticket_assignee_user_ticket")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_created_by_id", ["created_by_id"], unique=False)
        batch_op.drop_index("ix_ticket_creator_id")
