"""The dashboard's figures over all tickets, kept by the scheduler

report_snapshot: one row per summary over every ticket (all teams, and each team), recomputed by
the worker every REPORT_SNAPSHOT_SECONDS; an admin's dashboard reads it instead of aggregating
the whole ticket table on each request (app/reports/snapshots.py).

Revision ID: 0016_report_rollups
Revises: 0014_inbound_mail
"""
import sqlalchemy as sa
from alembic import op

revision = "0016_report_rollups"
down_revision = "0014_inbound_mail"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "report_snapshot",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade():
    op.drop_table("report_snapshot")
