"""Admin screens: a person's language, founders' emails unique whatever their case, and the
outbox's failing-emails banner read from an index

ab_user.language: the language a person chose on their profile (null: the site's default),
applied when they sign in.
founder: a unique index on lower(email), so "Ravi@x" and "ravi@x" are one founder on both
databases (the column's own unique constraint is case-sensitive).
notification (state, created_at): the banner's one query, the oldest failing email.

Revision ID: 0019_admin
Revises: 0012_audit_and_settings
"""
import sqlalchemy as sa
from alembic import op

revision = "0019_admin"
down_revision = "0012_audit_and_settings"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ab_user") as batch:
        batch.add_column(sa.Column("language", sa.String(length=8), nullable=True))
    op.create_index("uq_founder_email_lower", "founder", [sa.text("lower(email)")], unique=True)
    op.create_index("ix_notification_state_created", "notification", ["state", "created_at"])


def downgrade():
    op.drop_index("ix_notification_state_created", table_name="notification")
    op.drop_index("uq_founder_email_lower", table_name="founder")
    with op.batch_alter_table("ab_user") as batch:
        batch.drop_column("language")
