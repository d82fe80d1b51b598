"""Retention: the scheduler deletes audit events older than AUDIT_RETENTION_DAYS, in batches,
and nothing younger; the clock is injected."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import select

from app import audit, worker
from app.extensions import db
from app.models import AuditEvent, utcnow

NOW = datetime(2027, 3, 1, 12, 0)


def kinds() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent.kind).where(AuditEvent.kind.like("x_%")).order_by(AuditEvent.id)))


def add(kind: str, at: datetime) -> None:
    db.session.add(AuditEvent(kind=kind, created_at=at))


def test_prune_deletes_only_what_is_past_retention_in_batches(app, monkeypatch):
    assert app.config["AUDIT_RETENTION_DAYS"] == 400  # the default
    for n in range(5):
        add(f"x_too_old_{n}", NOW - timedelta(days=400, seconds=1 + n))
    add("x_the_last_day", NOW - timedelta(days=399, hours=23))
    add("x_today", NOW)
    db.session.commit()
    batches = []
    real_commit = db.session.commit
    monkeypatch.setattr(db.session, "commit", lambda: (batches.append(1), real_commit())[1])
    assert audit.prune(db.session, now=NOW, batch=2) == 5
    assert len(batches) == 3, "2 + 2 + 1 rows, one transaction each"
    assert kinds() == ["x_the_last_day", "x_today"]
    assert audit.prune(db.session, now=NOW, batch=2) == 0


def test_the_retention_is_configurable_and_a_stop_ends_between_batches(app, monkeypatch):
    monkeypatch.setitem(app.config, "AUDIT_RETENTION_DAYS", 30)
    now = utcnow()  # (the fixtures' own events are from now: kept)
    for n in range(4):
        add(f"x_old_{n}", now - timedelta(days=31))
    add("x_recent", now - timedelta(days=29))
    db.session.commit()
    stop = threading.Event()
    stop.set()
    assert audit.prune(db.session, now=now, batch=1, stop=stop) == 0, "a stopping worker claims nothing more"
    assert audit.prune(db.session, now=now, batch=3) == 4
    assert kinds() == ["x_recent"]


def test_the_worker_turn_prunes_when_due(app):
    add("x_ancient", utcnow() - timedelta(days=401))
    add("x_fresh", utcnow() - timedelta(days=1))
    db.session.commit()
    worker.turn(app, ladder_due=False)
    assert kinds() == ["x_ancient", "x_fresh"], "not due: left alone"
    worker.turn(app, ladder_due=False, prune_due=True)
    assert kinds() == ["x_fresh"]
