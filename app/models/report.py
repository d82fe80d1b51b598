"""The dashboard's figures over all tickets, as computed by the scheduler (app/reports/snapshots.py)."""
from __future__ import annotations

from flask_appbuilder import Model
from sqlalchemy import Column, DateTime, String, Text


class ReportSnapshot(Model):
    """One summary (app/reports/figures.py) over every ticket: all teams (`all`) or one (`team:<id>`)."""

    __tablename__ = "report_snapshot"
    key = Column(String(40), primary_key=True)
    computed_at = Column(DateTime, nullable=False)  # naive UTC, when its statements ran
    body = Column(Text, nullable=False)  # the summary as JSON

    def __repr__(self) -> str:
        return f"Report snapshot {self.key} at {self.computed_at}"
