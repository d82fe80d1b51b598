"""The audit log's one door (app/audit.py): an event lives and dies with its change."""
from __future__ import annotations

from app import audit
from app.extensions import db
from app.models import AuditEvent, Team


def test_an_event_commits_with_its_change_and_a_failed_change_leaves_none(app, make_person):
    admin = make_person("Asha Admin", role="Admin")
    before = db.session.query(AuditEvent).count()
    db.session.add(Team(name="Visa Desk"))
    audit.record("team_created", object_type="team", details={"name": "Visa Desk"}, actor=admin)
    db.session.rollback()
    assert db.session.query(AuditEvent).count() == before
    assert db.session.query(Team).filter_by(name="Visa Desk").count() == 0

    visa = Team(name="Visa Desk")
    db.session.add(visa)
    db.session.flush()
    audit.record("team_created", object_type="team", object_id=visa.id, details={"name": "Visa Desk"}, actor=admin)
    db.session.commit()
    event = db.session.query(AuditEvent).filter_by(kind="team_created", actor_id=admin.id).one()
    assert (event.kind, event.actor_id, event.email, event.object_type, event.object_id) == (
        "team_created", admin.id, admin.email, "team", str(visa.id))
    assert event.details == {"name": "Visa Desk"}
    assert event.address is None  # no request: the scheduler or a command


def test_who_and_where_default_to_the_request(app, make_person):
    admin = make_person("Asha Admin", role="Admin")
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "203.0.113.9"}):
        from flask import g

        g._login_user = g.user = admin  # what Flask-Login and FAB hold for a logged-in request
        audit.record("export", object_type="ticket", details={"rows": 3})
        db.session.commit()
    event = db.session.query(AuditEvent).filter_by(kind="export").one()
    assert (event.actor_id, event.email, event.address) == (admin.id, admin.email, "203.0.113.9")


def test_a_failed_login_names_the_email_tried_and_nobody(app):
    with app.test_request_context("/login/", environ_base={"REMOTE_ADDR": "198.51.100.4"}):
        audit.record("login_failed", actor=None, email="nobody@example.test")
        db.session.commit()
    event = db.session.query(AuditEvent).filter_by(kind="login_failed").one()
    assert (event.actor_id, event.email, event.address) == (None, "nobody@example.test", "198.51.100.4")
