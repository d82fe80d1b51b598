"""Followers: people who get an email for each new comment on a ticket

ticket_follower: one row per (ticket, person), removed with either; indexed by person too.

Revision ID: 0017_followers
Revises: 0015_weekly_digest
"""
import sqlalchemy as sa
from alembic import op

revision = "0017_followers"
down_revision = "0015_weekly_digest"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ticket_follower",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["ab_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("ticket_id", "user_id"),
    )
    op.create_index("ix_ticket_follower_user_ticket", "ticket_follower", ["user_id", "ticket_id"])


def downgrade():
    op.drop_index("ix_ticket_follower_user_ticket", table_name="ticket_follower")
    op.drop_table("ticket_follower")
