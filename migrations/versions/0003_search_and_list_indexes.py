"""Indexes for the list page and the five-field search

The list's visibility rule and default order want (team_id, updated_at) and
(created_by_id, updated_at). On PostgreSQL the case-insensitive substring search
(ILIKE '%term%') is served by pg_trgm GIN indexes; SQLite has no equivalent and
scans (fine at its scale).

Revision ID: 0003_search_and_list_indexes
Revises: 0002_notification_outbox
"""
from alembic import op

revision = "0003_search_and_list_indexes"
down_revision = "0002_notification_outbox"
branch_labels = None
depends_on = None

TRIGRAM_COLUMNS = ("subject", "description", "customer_name", "customer_contact", "booking_id")


def upgrade():
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.create_index("ix_ticket_team_updated", ["team_id", "updated_at"], unique=False)
        batch_op.create_index("ix_ticket_creator_updated", ["created_by_id", "updated_at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for column in TRIGRAM_COLUMNS:
            op.execute(f"CREATE INDEX IF NOT EXISTS ix_trgm_ticket_{column} ON ticket USING gin ({column} gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for column in TRIGRAM_COLUMNS:
            op.execute(f"DROP INDEX IF EXISTS ix_trgm_ticket_{column}")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_creator_updated")
        batch_op.drop_index("ix_ticket_team_updated")
