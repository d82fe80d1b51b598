"""Service levels: due times on every path, Waiting, reopen, priority change, and the ladder.

The clock is moved with time-machine (the hooks read the current time) or handed to the
scheduler pass (`run_pass(now=...)`); nothing sleeps. Emails go through the outbox to the
real SMTP test server.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    FIRST_RESPONSE,
    Calendar,
    CalendarWindow,
    Holiday,
    SlaRecompute,
    RESOLUTION,
    Founder,
    Notification,
    SlaPolicy,
    SlaStep,
    TicketEvent,
)
from app.notifications import sender
from app.sla import ladder
from app.sla.defaults import AROUND_THE_CLOCK
from tests.conftest import DOM, INTL, fresh, team
from tests.test_api import api_for, token_for  # noqa: F401 (fixtures)
from tests.test_notifications import add_ticket
from tests.test_validation import field_errors, field_errors_summary, flashes
from tests.test_workflow import post_status

# Thursday 3 December 2026, 10:00 in India (04:30 UTC): inside the Mon–Sat 09:00–19:00 calendar.
T0 = datetime(2026, 12, 3, 4, 30)


def ist(day: int, hour: int, minute: int = 0) -> datetime:
    """December 2026, India time → naive UTC as stored."""
    return datetime(2026, 12, day, hour, minute) - timedelta(hours=5, minutes=30)


def steps_of(ticket) -> list[tuple[str, str, int]]:
    db.session.expire_all()
    return sorted(db.session.execute(
        select(SlaStep.target, SlaStep.step, SlaStep.cycle).where(SlaStep.ticket_id == ticket.id)
    ).all())


def run_ladder(now: datetime) -> int:
    taken = ladder.run_pass(db.session, now=now)
    db.session.expire_all()
    return taken


def sent_to(smtp, subject_part: str) -> list[set[str]]:
    """The recipient sets of the emails whose subject contains `subject_part`."""
    return [
        {a.lower() for a in mail.rcpt_tos} for mail in smtp.messages if subject_part in str(mail.message["Subject"])
    ]


@pytest.fixture
def signed_in(client_for):
    """A client signed in before T0: a session cookie signed "in the future" of a travelled
    clock would be refused, so sign in at the earliest instant a test uses."""

    def _client(person):
        with time_machine.travel(T0 - timedelta(hours=1), tick=False):
            return client_for(person)

    return _client


@pytest.fixture
def floor(make_person):
    """An agent and a lead in International Operations, a lead in Domestic, an outsider agent."""
    return {
        "agent": make_person("Asha Agent", "Agent", (INTL,)),
        "other": make_person("Omar Other", "Agent", (INTL,)),
        "lead": make_person("Lata Lead", "Lead", (INTL,)),
        "dom_lead": make_person("Dev Domestic", "Lead", (DOM,)),
    }


# --- due times ---------------------------------------------------------------------------------
def test_a_new_ticket_gets_its_due_times_from_the_default_policy(floor, signed_in):
    with time_machine.travel(T0, tick=False):
        ticket = add_ticket(signed_in(floor["agent"]), priority="High")
    # High: first response 2 h, resolution 8 h, on business hours (Mon–Sat 09–19 IST).
    assert ticket.first_response_due_at == ist(3, 12)
    assert ticket.resolve_due_at == ist(3, 18)
    assert ticket.sla_state == "on_track"
    assert ticket.escalation_at == ist(3, 11, 30)  # 75% of the first-response target
    assert ticket.escalation_level == 0


def test_business_hours_carry_over_the_evening_and_sunday(floor, make_ticket):
    # Saturday 5 December, 18:30 IST: 30 min left that day, Sunday off, Monday from 09:00.
    with time_machine.travel(ist(5, 18, 30), tick=False):
        ticket = make_ticket(floor["agent"], priority="High")
    assert fresh(ticket).first_response_due_at == ist(7, 10, 30)


def test_urgent_runs_around_the_clock(floor, make_ticket):
    with time_machine.travel(ist(5, 23, 50), tick=False):
        ticket = make_ticket(floor["agent"], priority="Urgent")
    ticket = fresh(ticket)
    assert ticket.first_response_due_at == ist(6, 0, 20)
    assert ticket.resolve_due_at == ist(6, 3, 50)


def test_a_team_policy_wins_over_the_default(floor, make_ticket):
    calendar = db.session.scalars(select(SlaPolicy).where(SlaPolicy.priority == "Urgent")).one().calendar
    db.session.add(SlaPolicy(team=team(DOM), priority="Urgent", first_response_minutes=5,
                             resolution_minutes=60, calendar=calendar))
    db.session.commit()
    with time_machine.travel(T0, tick=False):
        domestic = make_ticket(floor["dom_lead"], team_name=DOM, priority="Urgent")
        international = make_ticket(floor["agent"], priority="Urgent")
    assert fresh(domestic).first_response_due_at == T0 + timedelta(minutes=5)
    assert fresh(international).first_response_due_at == T0 + timedelta(minutes=30)


# --- first response ----------------------------------------------------------------------------
def test_the_creators_own_comment_is_no_first_response_but_a_colleagues_is(floor, make_ticket, signed_in):
    with time_machine.travel(T0, tick=False):
        ticket = make_ticket(floor["agent"], priority="High")
    version = fresh(ticket).version
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        signed_in(floor["agent"]).post(f"/tickets/comment/{ticket.id}", data={"body": "Looking into it."})
    assert fresh(ticket).first_responded_at is None
    with time_machine.travel(T0 + timedelta(minutes=40), tick=False):
        signed_in(floor["lead"]).post(f"/tickets/comment/{ticket.id}", data={"body": "Called the hotel."})
    ticket = fresh(ticket)
    assert ticket.first_responded_at == T0 + timedelta(minutes=40)
    assert ticket.first_response_minutes == 40
    # A comment leaves the ticket's version alone: an edit form opened before it still saves.
    assert ticket.version == version
    # The first-response clock is done: the next step is the resolution's warning (75% of 8 h).
    assert ticket.escalation_at == ist(3, 16)


def test_the_creator_counts_when_assigned(floor, make_ticket, signed_in):
    with time_machine.travel(T0, tick=False):
        ticket = make_ticket(floor["agent"], assignees=[floor["agent"]], priority="High")
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        post_status(signed_in(floor["agent"]), ticket, "In Progress")
    assert fresh(ticket).first_responded_at == T0 + timedelta(minutes=5)


# --- Waiting, reopen, priority change ------------------------------------------------------------
def test_waiting_pauses_the_resolution_clock_and_resuming_keeps_the_time_left(floor, make_ticket, signed_in):
    lead = signed_in(floor["lead"])
    with time_machine.travel(T0, tick=False):
        ticket = make_ticket(floor["agent"], priority="High")
    with time_machine.travel(ist(3, 11), tick=False):
        post_status(lead, ticket, "Waiting")
    waiting = fresh(ticket)
    assert waiting.status == "Waiting" and waiting.sla_state == "paused"
    assert waiting.first_responded_at == ist(3, 11)  # the lead's status change answered
    assert waiting.escalation_at is None  # no step runs while paused (first response is done)
    with time_machine.travel(ist(3, 14), tick=False):  # three working hours later
        post_status(lead, ticket, "In Progress")
    resumed = fresh(ticket)
    # Due 18:00 Thursday, plus the 3 h spent waiting: 1 h Thursday evening, 2 h Friday morning.
    assert resumed.resolve_due_at == ist(4, 11)
    assert resumed.sla_state == "on_track" and resumed.waiting_since is None


def test_reopening_starts_a_new_resolution_clock(floor, make_ticket, signed_in):
    lead = signed_in(floor["lead"])
    with time_machine.travel(T0, tick=False):
        ticket = make_ticket(floor["agent"], priority="Urgent")
    with time_machine.travel(T0 + timedelta(minutes=20), tick=False):
        post_status(lead, ticket, "Resolved", notes="Refunded.")
    resolved = fresh(ticket)
    assert resolved.sla_state == "met" and resolved.escalation_at is None
    assert resolved.resolution_minutes == 20
    with time_machine.travel(T0 + timedelta(hours=10), tick=False):
        post_status(lead, ticket, "Open", reopen_reason="Refund bounced")
    reopened = fresh(ticket)
    assert reopened.sla_cycle == 2
    assert reopened.resolve_due_at == T0 + timedelta(hours=14)
    assert reopened.resolution_minutes is None and reopened.sla_state == "on_track"


def test_a_priority_change_recomputes_from_the_start(floor, make_ticket, signed_in):
    with time_machine.travel(T0, tick=False):
        ticket = make_ticket(floor["agent"], priority="Low")
    assert fresh(ticket).first_response_due_at == ist(3, 18)  # 8 working hours
    with time_machine.travel(T0 + timedelta(minutes=45), tick=False):
        ticket = fresh(ticket)
        ticket.priority = "Urgent"
        db.session.commit()
    ticket = fresh(ticket)
    assert ticket.first_response_due_at == T0 + timedelta(minutes=30)  # from creation, now behind
    assert ticket.escalation_at <= T0 + timedelta(minutes=45)  # the scheduler's next pass takes it


# --- the ladder ----------------------------------------------------------------------------------
def test_the_ladder_warns_escalates_to_leads_then_founders_each_once(app, floor, make_ticket, mail_to_smtp):
    db.session.add(Founder(name="Fatima Founder", email="fatima@deyor.test", active=True))
    db.session.commit()
    with time_machine.travel(T0, tick=False):
        ticket = make_ticket(floor["agent"], assignees=[floor["other"]], priority="Urgent")
    sender.flush()
    mail_to_smtp.clear()

    assert run_ladder(T0 + timedelta(minutes=10)) == 0
    assert run_ladder(T0 + timedelta(minutes=23)) == 1  # 75% of 30 min
    assert run_ladder(T0 + timedelta(minutes=23)) == 0
    assert steps_of(ticket) == [(FIRST_RESPONSE, "due_soon", 1)]
    assert fresh(ticket).sla_state == "due_soon"

    assert run_ladder(T0 + timedelta(minutes=31)) == 1  # breached: leads and assignees
    ticket = fresh(ticket)
    assert ticket.sla_state == "breached" and ticket.escalation_level == 1
    assert run_ladder(T0 + timedelta(minutes=61)) == 1  # breached as long again: founders
    assert fresh(ticket).escalation_level == 2
    # Resolution (4 h): its warning and breach came later, each once as well.
    assert run_ladder(T0 + timedelta(hours=9)) == 3
    assert run_ladder(T0 + timedelta(hours=9)) == 0
    assert steps_of(ticket) == sorted(
        [(FIRST_RESPONSE, s, 1) for s in ("due_soon", "overdue", "founders")]
        + [(RESOLUTION, s, 1) for s in ("due_soon", "overdue", "founders")]
    )

    sender.flush()
    lead, agent, other = (floor[k].email.lower() for k in ("lead", "agent", "other"))
    assert sent_to(mail_to_smtp, "DUE SOON") == [{other}, {other}]
    assert sent_to(mail_to_smtp, "] OVERDUE Refund") == [{lead, other}, {lead, other}]
    assert sent_to(mail_to_smtp, "OVERDUE · FOUNDERS") == [{"fatima@deyor.test", lead}] * 2
    assert agent not in set().union(*(m.rcpt_tos for m in mail_to_smtp.messages))
    overdue = next(m.message for m in mail_to_smtp.messages if "] OVERDUE Refund" in str(m.message["Subject"]))
    assert str(overdue["Subject"]).startswith(f"[ESC-{ticket.id}][Urgent] OVERDUE ")
    assert overdue["In-Reply-To"]  # threaded under the creation email
    assert "Escalated to the team leads (level 1)" in overdue.get_body(("plain",)).get_content()
    history = db.session.scalars(select(TicketEvent.new_value).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.field == "sla")).all()
    assert sorted(history) == sorted(["due_soon", "overdue", "founders"] * 2)


def test_waiting_stops_the_resolution_ladder(floor, make_ticket, signed_in):
    with time_machine.travel(T0, tick=False):
        ticket = make_ticket(floor["agent"], priority="Urgent")
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        post_status(signed_in(floor["lead"]), ticket, "Waiting")
    assert run_ladder(T0 + timedelta(days=2)) == 0
    assert steps_of(ticket) == []


def test_a_deactivated_lead_gets_nothing_and_no_lead_means_notify_emails(
    app, floor, make_person, make_ticket, mail_to_smtp, monkeypatch
):
    monkeypatch.setitem(app.config, "NOTIFY_EMAILS", "duty@deyor.test")
    floor["lead"].active = False
    db.session.commit()
    with time_machine.travel(T0, tick=False):
        ticket = make_ticket(floor["agent"], priority="Urgent")
    run_ladder(T0 + timedelta(minutes=31))
    sender.flush()
    # No active lead in the team: the overdue email goes to NOTIFY_EMAILS; the due-soon warning
    # of an unassigned ticket goes to the leads, or the same fallback.
    assert sent_to(mail_to_smtp, "] OVERDUE Refund") == [{"duty@deyor.test"}]
    assert sent_to(mail_to_smtp, "DUE SOON") == [{"duty@deyor.test"}]
    assert floor["lead"].email.lower() not in set().union(*(m.rcpt_tos for m in mail_to_smtp.messages))
    assert fresh(ticket).escalation_level == 1


def test_the_ladder_leaves_version_and_updated_at_alone(floor, make_ticket):
    with time_machine.travel(T0, tick=False):
        ticket = make_ticket(floor["agent"], priority="Urgent")
    before = fresh(ticket)
    version, updated = before.version, before.updated_at
    run_ladder(T0 + timedelta(minutes=31))
    after = fresh(ticket)
    assert after.escalation_level == 1
    assert (after.version, after.updated_at) == (version, updated)


def test_two_schedulers_at_once_take_each_step_once(app, floor, make_ticket):
    with time_machine.travel(T0, tick=False):
        tickets = [make_ticket(floor["agent"], priority="Urgent", booking_id=f"DEY-{n:04d}") for n in range(40)]
    barrier = threading.Barrier(2)
    results, errors = [], []

    def scheduler():
        try:
            with app.app_context():
                barrier.wait()
                results.append(ladder.run_pass(db.session, now=T0 + timedelta(minutes=31), batch=7))
                db.session.remove()
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    # Each ticket: first-response warning and breach, nothing twice.
    assert sum(results) == 2 * len(tickets)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(SlaStep)) == 2 * len(tickets)
    assert db.session.scalar(
        select(func.count()).select_from(Notification).where(Notification.event.like("sla_%"))
    ) == 2 * len(tickets)
    assert {fresh(t).escalation_level for t in tickets} == {1}


# --- screens -----------------------------------------------------------------------------------
def test_the_list_shows_due_badges_in_words_and_the_page_shows_the_targets(floor, make_ticket, signed_in):
    with time_machine.travel(T0, tick=False):
        overdue = make_ticket(floor["agent"], priority="Urgent", subject="Lost luggage")
        calm = make_ticket(floor["agent"], priority="Low", subject="Seat upgrade")
    run_ladder(T0 + timedelta(minutes=31))
    client = signed_in(floor["lead"])
    with time_machine.travel(T0 + timedelta(minutes=35), tick=False):
        page = client.get("/tickets/list/").get_data(as_text=True)
        assert "overdue 5 min" in page
        assert "due in 7 h 25 min" in page  # Low: first response in 8 working hours
        only_overdue = client.get("/tickets/list/?_flt_0_sla_state=breached").get_data(as_text=True)
        assert "Lost luggage" in only_overdue and "Seat upgrade" not in only_overdue
        show = client.get(f"/tickets/show/{overdue.id}").get_data(as_text=True)
    assert 'id="ticket-sla"' in show and "Escalation level 1" in show
    assert "overdue: leads emailed (level 1)" in show
    assert AROUND_THE_CLOCK in show
    assert calm.id != overdue.id


# --- admin: policies and calendars ------------------------------------------------------------
def _calendar(name: str) -> Calendar:
    return db.session.scalars(select(Calendar).where(Calendar.name == name)).one()


def _counts() -> tuple[int, int, int, int]:
    db.session.expire_all()
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (SlaPolicy, Calendar, CalendarWindow, Holiday))


@pytest.fixture
def admin_client(make_person, signed_in):
    return signed_in(make_person("Ada Admin", "Admin"))


@pytest.mark.parametrize("form, field, message", [
    ({"priority": "Urgent", "first_response_minutes": "0", "resolution_minutes": "60"},
     "first_response_minutes", "must be more than 0 minutes"),
    ({"priority": "Urgent", "first_response_minutes": "10", "resolution_minutes": "-5"},
     "resolution_minutes", "must be more than 0 minutes"),
    ({"priority": "Urgent", "first_response_minutes": "10", "resolution_minutes": "99999999"},
     "resolution_minutes", "at most"),
])
def test_a_policy_with_a_bad_target_is_refused_naming_the_field(admin_client, form, field, message):
    before = _counts()
    data = {**form, "team": str(team(DOM).id), "calendar": str(_calendar(AROUND_THE_CLOCK).id)}
    response = admin_client.post("/sla-policies/add", data=data)
    assert any(message in error for error in field_errors(response, field)), response.get_data(as_text=True)[:3000]
    assert _counts() == before


def test_a_second_policy_for_the_same_team_and_priority_is_refused(admin_client):
    before = _counts()
    response = admin_client.post("/sla-policies/add", data={
        "priority": "High", "first_response_minutes": "10", "resolution_minutes": "60",
        "calendar": str(_calendar(AROUND_THE_CLOCK).id),
    }, follow_redirects=True)
    assert any("Priority: there is already a policy" in m for m in flashes(response)), flashes(response)
    assert _counts() == before


def test_a_policy_on_a_calendar_without_working_time_is_refused(admin_client):
    db.session.add(Calendar(name="Empty", timezone="Asia/Kolkata", around_the_clock=False))
    db.session.commit()
    before = _counts()
    response = admin_client.post("/sla-policies/add", data={
        "team": str(team(DOM).id), "priority": "High", "first_response_minutes": "10", "resolution_minutes": "60",
        "calendar": str(_calendar("Empty").id),
    }, follow_redirects=True)
    assert any("Calendar has no working time at all" in m for m in flashes(response)), flashes(response)
    assert _counts() == before


def test_an_unknown_time_zone_is_refused(admin_client):
    before = _counts()
    response = admin_client.post("/calendars/add", data={"name": "Mars", "timezone": "Mars/Olympus_Mons"})
    assert any("unknown time zone" in e for e in field_errors(response, "timezone"))
    assert _counts() == before


@pytest.mark.parametrize("start, end, message", [
    ("19:00", "09:00", "ends before it starts"),
    ("10:00", "10:00", "ends before it starts"),
    ("12:00", "14:00", "overlaps the window 09:00–19:00"),
])
def test_a_bad_window_is_refused(admin_client, start, end, message):
    calendar = _calendar("Business hours (IST)")
    before = _counts()
    response = admin_client.post(f"/calendar-windows/add?_flt_0_calendar={calendar.id}", data={
        "calendar": str(calendar.id), "weekday": "0", "start": start, "end": end,
    }, follow_redirects=True)
    assert any(message in m for m in flashes(response)), flashes(response)
    assert _counts() == before


def test_a_window_up_to_midnight_is_accepted(admin_client):
    calendar = _calendar("Business hours (IST)")
    response = admin_client.post(f"/calendar-windows/add?_flt_0_calendar={calendar.id}", data={
        "calendar": str(calendar.id), "weekday": "6", "start": "20:00", "end": "00:00",
    }, follow_redirects=True)
    assert response.status_code == 200
    assert _counts()[2] == 7


def test_a_holiday_far_outside_the_years_in_use_is_refused(admin_client):
    calendar = _calendar("Business hours (IST)")
    before = _counts()
    response = admin_client.post("/holidays/add", data={
        "calendar": str(calendar.id), "day": "1999-01-26", "name": "Long ago",
    }, follow_redirects=True)
    assert any("Date must be in the years" in m for m in flashes(response)), flashes(response)
    assert _counts() == before


def test_agents_and_leads_cannot_open_the_sla_admin(floor, signed_in):
    for who in ("agent", "lead"):
        client = signed_in(floor[who])
        for path in ("/sla-policies/list/", "/calendars/list/", "/holidays/list/"):
            response = client.get(path)
            assert response.status_code in (302, 403, 404), (who, path, response.status_code)
            assert "Business hours" not in response.get_data(as_text=True)


def test_a_policy_change_recomputes_open_tickets(floor, make_ticket, admin_client):
    with time_machine.travel(T0, tick=False):
        open_ticket = make_ticket(floor["agent"], priority="Urgent")
        done = make_ticket(floor["agent"], priority="Urgent", booking_id="DEY-7777")
        done.status, done.resolution_notes = "Resolved", "Done."
        db.session.commit()
    resolved_due = fresh(done).resolve_due_at
    policy = db.session.scalars(select(SlaPolicy).where(SlaPolicy.priority == "Urgent")).one()
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        response = admin_client.post(f"/sla-policies/edit/{policy.id}", data={
            "priority": "Urgent", "first_response_minutes": "1", "resolution_minutes": "60",
            "calendar": str(policy.calendar_id),
        })
    assert response.status_code == 302, field_errors_summary(response)
    assert fresh(open_ticket).first_response_due_at == T0 + timedelta(minutes=1)
    assert fresh(open_ticket).resolve_due_at == T0 + timedelta(minutes=60)
    assert fresh(done).resolve_due_at == resolved_due  # resolved tickets keep their record


def test_a_big_change_is_queued_for_the_worker_and_done_in_batches(app, floor, make_ticket, monkeypatch):
    from app.sla import recompute

    with time_machine.travel(T0, tick=False):
        tickets = [make_ticket(floor["agent"], priority="Medium", booking_id=f"DEY-{n:04d}") for n in range(7)]
    policy = db.session.scalars(select(SlaPolicy).where(SlaPolicy.priority == "Medium")).one()
    policy.calendar = _calendar(AROUND_THE_CLOCK)
    db.session.commit()
    monkeypatch.setattr(recompute, "INLINE_LIMIT", 3)
    monkeypatch.setattr(recompute, "BATCH", 3)
    assert recompute.request(None, "Medium") == 0  # queued, nothing done in the request
    assert {fresh(t).resolve_due_at for t in tickets} != {T0 + timedelta(hours=24)}
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        assert recompute.run_pending(db.session, batches=1) == 3
        assert recompute.run_pending(db.session) == 4
    assert {fresh(t).resolve_due_at for t in tickets} == {T0 + timedelta(hours=24)}
    assert db.session.scalar(select(func.count()).select_from(SlaRecompute).where(SlaRecompute.done_at.is_(None))) == 0


# --- the API ----------------------------------------------------------------------------------
def test_the_api_shows_the_sla_fields_with_offsets_and_never_takes_them(floor, make_ticket, api_for):
    with time_machine.travel(T0, tick=False):
        ticket = make_ticket(floor["agent"], priority="Urgent")
    run_ladder(T0 + timedelta(minutes=31))
    api = api_for(floor["lead"])
    shown = api.get(f"/api/v1/ticket/{ticket.id}").json["result"]
    assert shown["first_response_due_at"] == "2026-12-03T05:00:00+00:00"
    assert shown["sla_state"] == "breached" and shown["escalation_level"] == 1
    assert shown["first_responded_at"] is None
    listed = api.get("/api/v1/ticket/", q={"filters": [{"col": "sla_state", "opr": "eq", "value": "breached"}]})
    assert listed.status_code == 200, listed.json
    assert [row["id"] for row in listed.json["result"]] == [ticket.id]
    refused = api.put(f"/api/v1/ticket/{ticket.id}", {"escalation_level": 0, "version": shown["version"]})
    assert refused.status_code in (400, 422), refused.json
    assert fresh(ticket).escalation_level == 1


def test_clocks_reaching_a_rung_together_make_one_email(floor, make_ticket, mail_to_smtp):
    with time_machine.travel(T0, tick=False):
        ticket = make_ticket(floor["agent"], assignees=[floor["other"]], priority="Urgent")
    sender.flush()
    mail_to_smtp.clear()
    # Nobody looked for nine hours (the worker was down): every step of both clocks is due.
    assert run_ladder(T0 + timedelta(hours=9)) == 6
    sender.flush()
    subjects = sorted(str(m.message["Subject"]).split("]")[2].split(" Refund")[0].strip() for m in mail_to_smtp.messages)
    assert subjects == ["DUE SOON", "OVERDUE", "OVERDUE · FOUNDERS"]
    overdue = next(m.message for m in mail_to_smtp.messages if "] OVERDUE Refund" in str(m.message["Subject"]))
    text = overdue.get_body(("plain",)).get_content()
    assert "First response: due at 03 Dec 2026 10:30 IST" in text
    assert "Resolution: due at 03 Dec 2026 14:00 IST" in text
    assert fresh(ticket).escalation_level == 2


def test_the_sla_api_reads_for_staff_and_writes_for_admins(floor, make_person, api_for, make_ticket):
    admin = api_for(make_person("Ada Admin", "Admin"))
    agent = api_for(floor["agent"])
    calendars = agent.get("/api/v1/calendar/").json["result"]
    business = next(c for c in calendars if c["name"] == "Business hours (IST)")
    assert business["windows"][0] == {"weekday": 0, "start": "09:00", "end": "19:00"}
    assert {"date": "2026-11-08", "name": "Diwali"} in business["holidays"]
    policies = agent.get("/api/v1/sla_policy/").json["result"]
    urgent = next(p for p in policies if p["priority"] == "Urgent")
    assert urgent["team"] is None and urgent["first_response_minutes"] == 30
    assert agent.post("/api/v1/sla_policy/", {"priority": "Low"}).status_code in (401, 403)

    # An admin adds a night-desk calendar and gives Domestic's Urgent tickets a 5-minute target.
    created = admin.post("/api/v1/calendar/", {
        "name": "Night desk", "timezone": "Asia/Kolkata",
        "windows": [{"weekday": d, "start": "20:00", "end": "00:00"} for d in range(7)],
        "holidays": [{"date": "2026-12-25", "name": "Christmas"}],
    })
    assert created.status_code == 201, created.json
    night = created.json["result"]
    assert night["windows"][0] == {"weekday": 0, "start": "20:00", "end": "00:00"}
    with time_machine.travel(T0, tick=False):
        ticket = make_ticket(floor["dom_lead"], team_name=DOM, priority="Urgent")
    policy = admin.post("/api/v1/sla_policy/", {
        "team": team(DOM).id, "priority": "Urgent", "first_response_minutes": 5, "resolution_minutes": 60,
        "calendar": night["id"],
    })
    assert policy.status_code == 201, policy.json
    assert policy.json["result"]["team"] == team(DOM).id
    # The open Domestic ticket now runs on the night desk: 20:00 IST + 5 min.
    assert fresh(ticket).first_response_due_at == ist(3, 20, 5)


@pytest.mark.parametrize("body, field, words", [
    ({"name": "X", "timezone": "Mars/Base"}, "timezone", "unknown time zone"),
    ({"name": "X", "windows": [{"weekday": 0, "start": "19:00", "end": "09:00"}]}, "windows", "ends before"),
    ({"name": "X", "windows": [{"weekday": 0, "start": "09:00", "end": "13:00"},
                               {"weekday": 0, "start": "12:00", "end": "14:00"}]}, "windows", "overlaps"),
    ({"name": "X", "windows": [{"weekday": 0, "start": "9am", "end": "13:00"}]}, "windows", "HH:MM"),
    ({"name": "X"}, "windows", "no working time"),
    ({"name": "X", "around_the_clock": True, "holidays": [{"date": "1990-01-01", "name": "Old"}]},
     "holidays", "must be in the years"),
])
def test_a_bad_calendar_is_refused_by_field(make_person, api_for, body, field, words):
    admin = api_for(make_person("Ada Admin", "Admin"))
    before = _counts()
    response = admin.post("/api/v1/calendar/", body)
    assert response.status_code == 422, response.json
    assert field in response.json["message"] and words in str(response.json["message"][field]), response.json
    assert _counts() == before


@pytest.mark.parametrize("body, field", [
    ({"priority": "Urgent", "first_response_minutes": 0, "resolution_minutes": 5}, "first_response_minutes"),
    ({"priority": "Urgent", "first_response_minutes": 5, "resolution_minutes": -1}, "resolution_minutes"),
    ({"priority": "Soon", "first_response_minutes": 5, "resolution_minutes": 5}, "priority"),
    ({"team": 999999, "priority": "Urgent", "first_response_minutes": 5, "resolution_minutes": 5}, "team"),
    ({"team": None, "priority": "Urgent", "first_response_minutes": 5, "resolution_minutes": 5}, "priority"),
])
def test_a_bad_policy_is_refused_by_field(make_person, api_for, body, field):
    admin = api_for(make_person("Ada Admin", "Admin"))
    body = {"calendar": _calendar(AROUND_THE_CLOCK).id, **body}
    before = _counts()
    response = admin.post("/api/v1/sla_policy/", body)
    assert response.status_code == 422, response.json
    assert field in response.json["message"], response.json
    assert _counts() == before


def test_the_sla_screens_speak_hindi(floor, make_ticket, signed_in):
    from tests.test_i18n import switch_to

    with time_machine.travel(T0, tick=False):
        ticket = make_ticket(floor["agent"], priority="Urgent")
    run_ladder(T0 + timedelta(minutes=31))
    client = signed_in(floor["lead"])
    with time_machine.travel(T0 - timedelta(minutes=30), tick=False):  # the cookie is signed at this time
        switch_to(client, "hi")
    with time_machine.travel(T0 + timedelta(minutes=35), tick=False):
        listed = client.get("/tickets/list/").get_data(as_text=True)
        shown = client.get(f"/tickets/show/{ticket.id}").get_data(as_text=True)
    assert "5 मिनट से अतिदेय" in listed  # "overdue 5 min"
    assert "सेवा स्तर" in shown and "एस्केलेशन स्तर 1" in shown and "अतिदेय: लीड को ईमेल भेजा (स्तर 1)" in shown
    assert "प्रतीक्षा करें" in shown  # the Wait button
