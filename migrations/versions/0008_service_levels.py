"""Service levels: calendars, policies, the ladder's steps, the ticket's SLA fields, status Waiting

calendar, calendar_window, holiday: working time. sla_policy: targets per team (or default)
and priority. sla_recompute: pending re-computations after a policy or calendar change. sla_step: one row per ladder step taken (unique per ticket, target, step and
resolution clock). ticket: due times, state, escalation level and the ladder's next instant
(escalation_at, a partial index: the scheduler's scan). Status 'Waiting' joins the workflow.

Existing tickets get their due times from `flask sla recompute` (or the scheduler's
recompute of open tickets that have none), not here: the migration stays quick on big tables.

Revision ID: 0008_service_levels
Revises: 0007_login_sessions
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_service_levels"
down_revision = "0007_login_sessions"
branch_labels = None
depends_on = None

OLD_STATUSES = "status IN ('Open', 'In Progress', 'Resolved')"
NEW_STATUSES = "status IN ('Open', 'In Progress', 'Waiting', 'Resolved')"
OPEN_ESCALATION = sa.text("escalation_at IS NOT NULL")


def upgrade():
    op.create_table(
        "calendar",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("around_the_clock", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "calendar_window",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start", sa.Time(), nullable=False),
        sa.Column("end", sa.Time(), nullable=False),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="ck_calendar_window_weekday"),
        sa.ForeignKeyConstraint(["calendar_id"], ["calendar.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_calendar_window_calendar_id", "calendar_window", ["calendar_id"])
    op.create_table(
        "holiday",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(["calendar_id"], ["calendar.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("calendar_id", "day", name="uq_holiday_calendar_day"),
    )
    op.create_table(
        "sla_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("priority IN ('Low', 'Medium', 'High', 'Urgent')", name="ck_sla_policy_priority"),
        sa.CheckConstraint(
            "first_response_minutes > 0 AND resolution_minutes > 0", name="ck_sla_policy_targets"
        ),
        sa.ForeignKeyConstraint(["calendar_id"], ["calendar.id"]),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "uq_sla_policy_team_priority", "sla_policy", [sa.text("coalesce(team_id, 0)"), "priority"], unique=True
    )
    op.create_table(
        "sla_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=20), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("target IN ('first_response', 'resolution')", name="ck_sla_step_target"),
        sa.CheckConstraint("step IN ('due_soon', 'overdue', 'founders')", name="ck_sla_step_step"),
        sa.ForeignKeyConstraint(["ticket_id"], ["ticket.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id", "target", "step", "cycle", name="uq_sla_step_once"),
    )
    op.create_table(
        "sla_recompute",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("priority", sa.String(length=10), nullable=True),
        sa.Column("after_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_response_due_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("first_responded_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("first_response_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("resolve_started_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("resolve_due_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("resolve_paused_minutes", sa.Float(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("waiting_since", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("resolution_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("sla_state", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("escalation_level", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("escalation_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("sla_cycle", sa.Integer(), server_default="1", nullable=False))
        batch_op.drop_constraint("ck_ticket_status", type_="check")
        batch_op.create_check_constraint("ck_ticket_status", sa.text(NEW_STATUSES))
    op.create_index(
        "ix_ticket_escalation_at", "ticket", ["escalation_at"],
        postgresql_where=OPEN_ESCALATION, sqlite_where=OPEN_ESCALATION,
    )
    op.create_index("ix_ticket_resolve_due_at", "ticket", ["resolve_due_at", "id"])


def downgrade():
    op.drop_index("ix_ticket_resolve_due_at", table_name="ticket")
    op.drop_index("ix_ticket_escalation_at", table_name="ticket")
    op.execute("UPDATE ticket SET status = 'In Progress' WHERE status = 'Waiting'")
    with op.batch_alter_table("ticket", schema=None) as batch_op:
        batch_op.drop_constraint("ck_ticket_status", type_="check")
        batch_op.create_check_constraint("ck_ticket_status", sa.text(OLD_STATUSES))
        for column in (
            "sla_cycle", "escalation_at", "escalation_level", "sla_state", "resolution_minutes", "waiting_since",
            "resolve_paused_minutes", "resolve_due_at", "resolve_started_at", "first_response_minutes",
            "first_responded_at", "first_response_due_at",
        ):
            batch_op.drop_column(column)
    op.drop_table("sla_recompute")
    op.drop_table("sla_step")
    op.drop_index("uq_sla_policy_team_priority", table_name="sla_policy")
    op.drop_table("sla_policy")
    op.drop_table("holiday")
    op.drop_index("ix_calendar_window_calendar_id", table_name="calendar_window")
    op.drop_table("calendar_window")
    op.drop_table("calendar")
