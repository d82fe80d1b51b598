"""The audit log and the person's notification settings

audit_event: append-only (app/audit.py writes it in the change's own transaction), indexed for
the admin screen's newest-first reading, by kind and by person, and for retention pruning.
ab_user.comment_emails / digest_emails: the profile's notification settings, on by default.

Revision ID: 0012_audit_and_settings
Revises: 0011_saved_views
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_audit_and_settings"
down_revision = "0011_saved_views"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("object_type", sa.String(length=40), nullable=True),
        sa.Column("object_id", sa.String(length=64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["actor_id"], ["ab_user.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_event_created_at", "audit_event", ["created_at"])
    op.create_index("ix_audit_event_kind_created_at", "audit_event", ["kind", "created_at"])
    op.create_index("ix_audit_event_actor_created_at", "audit_event", ["actor_id", "created_at"])
    with op.batch_alter_table("ab_user") as batch:
        batch.add_column(sa.Column("comment_emails", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch.add_column(sa.Column("digest_emails", sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade():
    with op.batch_alter_table("ab_user") as batch:
        batch.drop_column("digest_emails")
        batch.drop_column("comment_emails")
    op.drop_table("audit_event")
