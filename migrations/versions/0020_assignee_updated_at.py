"""A person's tickets newest first from indexes alone: the ticket's updated_at and status beside each assignment

An agent's list (the tickets they created or are assigned to, by last update) and anyone's My
open tickets sorted a person's thousands of tickets by probing the ticket table once per ticket
for its updated_at (and status): most of the list's time at a million tickets.
ticket_assignee.ticket_updated_at and ticket_status are copies of the ticket's, kept by the
database itself (triggers, so that no write path can forget them): set when a row is inserted,
rewritten when the ticket's updated_at or status changes. With (user_id, ticket_updated_at,
ticket_id, ticket_status) and (created_by_id, updated_at, id) a person's tickets come ordered from
index-only scans (app/tickets/visibility.py: personal_tickets_by_update, assigned_by_update).

Revision ID: 0020_assignee_updated_at
Revises: 0016_report_rollups
"""
import sqlalchemy as sa
from alembic import op

revision = "0020_assignee_updated_at"
down_revision = "0016_report_rollups"
branch_labels = None
depends_on = None

POSTGRESQL_TRIGGERS = (
    """
    CREATE FUNCTION ticket_assignee_copy_ticket() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        SELECT updated_at, status INTO NEW.ticket_updated_at, NEW.ticket_status FROM ticket WHERE id = NEW.ticket_id;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER ticket_assignee_copy_ticket BEFORE INSERT OR UPDATE OF ticket_id ON ticket_assignee
    FOR EACH ROW EXECUTE FUNCTION ticket_assignee_copy_ticket()
    """,
    """
    CREATE FUNCTION ticket_copy_to_assignees() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE ticket_assignee SET ticket_updated_at = NEW.updated_at, ticket_status = NEW.status
        WHERE ticket_id = NEW.id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER ticket_copy_to_assignees AFTER UPDATE OF updated_at, status ON ticket
    FOR EACH ROW WHEN (OLD.updated_at IS DISTINCT FROM NEW.updated_at OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION ticket_copy_to_assignees()
    """,
)

SQLITE_TRIGGERS = (
    """
    CREATE TRIGGER ticket_assignee_copy_ticket AFTER INSERT ON ticket_assignee
    BEGIN
        UPDATE ticket_assignee SET
            ticket_updated_at = (SELECT updated_at FROM ticket WHERE id = NEW.ticket_id),
            ticket_status = (SELECT status FROM ticket WHERE id = NEW.ticket_id)
        WHERE ticket_id = NEW.ticket_id AND user_id = NEW.user_id;
    END
    """,
    """
    CREATE TRIGGER ticket_copy_to_assignees AFTER UPDATE OF updated_at, status ON ticket
    WHEN OLD.updated_at IS NOT NEW.updated_at OR OLD.status IS NOT NEW.status
    BEGIN
        UPDATE ticket_assignee SET ticket_updated_at = NEW.updated_at, ticket_status = NEW.status
        WHERE ticket_id = NEW.id;
    END
    """,
)


def upgrade():
    with op.batch_alter_table("ticket_assignee") as batch_op:
        batch_op.add_column(sa.Column("ticket_updated_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("ticket_status", sa.String(length=20), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE ticket_assignee SET ticket_updated_at = ticket.updated_at, ticket_status = ticket.status "
                   "FROM ticket WHERE ticket.id = ticket_assignee.ticket_id")
    else:
        op.execute("UPDATE ticket_assignee SET "
                   "ticket_updated_at = (SELECT updated_at FROM ticket WHERE ticket.id = ticket_assignee.ticket_id), "
                   "ticket_status = (SELECT status FROM ticket WHERE ticket.id = ticket_assignee.ticket_id)")
    op.create_index("ix_ticket_assignee_user_updated", "ticket_assignee",
                    ["user_id", "ticket_updated_at", "ticket_id", "ticket_status"])
    op.drop_index("ix_ticket_creator_updated", table_name="ticket")
    op.create_index("ix_ticket_creator_updated", "ticket", ["created_by_id", "updated_at", "id"])
    # (A later migration that makes SQLite rebuild either table must create these again:
    # tests/test_list_page.py checks they exist at head.)
    triggers = POSTGRESQL_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ticket_copy_to_assignees ON ticket")
        op.execute("DROP FUNCTION ticket_copy_to_assignees()")
        op.execute("DROP TRIGGER ticket_assignee_copy_ticket ON ticket_assignee")
        op.execute("DROP FUNCTION ticket_assignee_copy_ticket()")
    else:
        op.execute("DROP TRIGGER ticket_copy_to_assignees")
        op.execute("DROP TRIGGER ticket_assignee_copy_ticket")
    op.drop_index("ix_ticket_creator_updated", table_name="ticket")
    op.create_index("ix_ticket_creator_updated", "ticket", ["created_by_id", "updated_at"])
    op.drop_index("ix_ticket_assignee_user_updated", table_name="ticket_assignee")
    with op.batch_alter_table("ticket_assignee") as batch_op:
        batch_op.drop_column("ticket_status")
        batch_op.drop_column("ticket_updated_at")
