"""Indexes for the list's sorts and queues

The workspace's queues and column sorts walk the list in orders other than "last updated":
oldest first (Unassigned: created_at), recently resolved (resolved_at), and priority by
severity (Ticket.priority_rank, a CASE on priority). With (column, id) the admin's walk of a
million tickets finds a page from the index alone, as ix_ticket_updated_id does for the default
order; (priority, status) counts a queue such as Urgent from the index alone. The severity index is on the very expression SQLAlchemy sends (PostgreSQL only; SQLite
sorts the rows it has).

Revision ID: 0010_list_sort_indexes
Revises: 0008_service_levels
"""
from alembic import op

revision = "0010_list_sort_indexes"
down_revision = "0008_service_levels"
branch_labels = None
depends_on = None

PRIORITY_RANK_SQL = "(CASE priority WHEN 'Low' THEN 1 WHEN 'Medium' THEN 2 WHEN 'High' THEN 3 WHEN 'Urgent' THEN 4 END)"


def upgrade():
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_created_id", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_ticket_resolved_id", ["resolved_at", "id"], unique=False)
        batch_op.create_index("ix_ticket_priority_status", ["priority", "status"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX ix_ticket_priority_rank ON ticket ({PRIORITY_RANK_SQL}, id)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_ticket_priority_rank")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_priority_status")
        batch_op.drop_index("ix_ticket_resolved_id")
        batch_op.drop_index("ix_ticket_created_id")
