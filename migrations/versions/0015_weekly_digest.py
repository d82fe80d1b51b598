"""The weekly digest's claims

digest_sent: one row per recipient and week, unique, inserted with the digest's outbox email in
one transaction: with several schedulers each person gets one digest a week.

Revision ID: 0015_weekly_digest
Revises: 0013_attachments
"""
import sqlalchemy as sa
from alembic import op

revision = "0015_weekly_digest"
down_revision = "0013_attachments"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "digest_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("recipient", "week", name="uq_digest_sent_recipient_week"),
    )


def downgrade():
    op.drop_table("digest_sent")
