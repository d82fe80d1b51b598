"""Inbound mail: what became of each message read from the mailbox, the quarantine, and the
whole text of a comment that came by email

inbound_message: one row per Message-ID (unique), so a message read again is never posted twice.
quarantined_message: messages held for an admin (accept or discard), kept whole.
comment.original_text: the email's whole text behind the comment's "show original".
notification: indexes on message_id and in_reply_to, by which a reply finds its ticket.

Revision ID: 0014_inbound_mail
Revises: 0017_followers
"""
import sqlalchemy as sa
from alembic import op

revision = "0014_inbound_mail"
down_revision = "0017_followers"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "inbound_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.String(length=400), nullable=True),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("comment_id", sa.Integer(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("outcome IN ('posted', 'quarantined', 'ignored')", name="ck_inbound_message_outcome"),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["person_id"], ["ab_user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["comment_id"], ["comment.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id", name="uq_inbound_message_message_id"),
    )
    op.create_index("ix_inbound_message_received_at", "inbound_message", ["received_at"])
    op.create_table(
        "quarantined_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inbound_id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.String(length=400), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("original", sa.Text(), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("comment_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("state IN ('held', 'accepted', 'discarded')", name="ck_quarantined_message_state"),
        sa.ForeignKeyConstraint(["inbound_id"], ["inbound_message.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["person_id"], ["ab_user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["decided_by_id"], ["ab_user.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["comment_id"], ["comment.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("inbound_id", name="uq_quarantined_message_inbound_id"),
    )
    op.create_index(
        "ix_quarantined_message_state_received", "quarantined_message", ["state", "received_at"]
    )
    with op.batch_alter_table("comment") as batch:
        batch.add_column(sa.Column("original_text", sa.Text(), nullable=True))
    op.create_index("ix_notification_message_id", "notification", ["message_id"])
    op.create_index("ix_notification_in_reply_to", "notification", ["in_reply_to"])


def downgrade():
    op.drop_index("ix_notification_in_reply_to", table_name="notification")
    op.drop_index("ix_notification_message_id", table_name="notification")
    with op.batch_alter_table("comment") as batch:
        batch.drop_column("original_text")
    op.drop_table("quarantined_message")
    op.drop_table("inbound_message")
