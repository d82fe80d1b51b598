"""Bad input through the real forms: tickets (add and edit), team members, founders, teams.

FAB answers 302 on add/edit whether or not the save worked and 200 with the form
re-rendered when a field is invalid, so every test checks the database and, for
refused input, the error shown next to the field.
"""
from __future__ import annotations

import html
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from app.extensions import db
from app.models import Founder, Person, Team, Ticket, TicketEvent, utcnow
from tests.conftest import DOM, INTL, PASSWORD, fresh, login, team

# --- page helpers -------------------------------------------------------------------


def _clean(fragment: str) -> str:
    fragment = re.sub(r"<button.*?</button>", "", fragment, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def field_errors(response, field: str, missing_ok: bool = False) -> list[str]:
    """The error messages rendered next to a form field."""
    page = response.get_data(as_text=True)
    match = re.search(rf'<(?:input|select|textarea)\b[^>]*\bname="{re.escape(field)}"', page)
    if match is None and missing_ok:
        return []
    assert match, f"field {field!r} is not in the page"
    cell = page[match.end(): page.find("</td>", match.end())]
    return [_clean(e) for e in re.findall(r'<div class="alert alert-danger">(.*?)</div>', cell, re.S)]


def flashes(response, category: str = r"[\w-]+") -> list[str]:
    """Alert boxes on the page (flashed messages), of one category or any."""
    page = response.get_data(as_text=True)
    return [_clean(m) for m in re.findall(rf'<div class="alert alert-{category}">(.*?)</div>', page, re.S)]


class _FormParser(HTMLParser):
    """What a browser would submit for the (first) form with the given id or action."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None
        self._in_form = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        # The page's form: the first POST form that is not the menu's sign-out button.
        if tag == "form" and a.get("method", "").lower() == "post" and not self.data \
                and not a.get("action", "").endswith("/logout/"):
            self._in_form = True
        if not self._in_form:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.data.setdefault(name, []).append(a.get("value") or "")
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select].append(a.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea][0] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            # Browsers drop the one newline that follows <textarea>.
            value = self.data[self._textarea][0]
            self.data[self._textarea][0] = value[1:] if value.startswith("\n") else value
            self._textarea = None
        elif tag == "form" and self._in_form:
            self._in_form = False


def form_values(page: str) -> dict[str, list[str]]:
    parser = _FormParser()
    parser.feed(page)
    parser.data.pop("csrf_token", None)
    return parser.data


def edit_form(client, ticket_id: int) -> dict[str, list[str]]:
    response = client.get(f"/tickets/edit/{ticket_id}")
    assert response.status_code == 200
    values = form_values(response.get_data(as_text=True))
    assert values.get("expected_version"), "the edit form carries the ticket's version"
    return values


def ticket_count() -> int:
    db.session.expire_all()
    return db.session.query(Ticket).count()


def snapshot(ticket_id: int) -> dict:
    """Every stored column of a ticket, its assignees and its history."""
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket_id)
    row = {column.key: getattr(ticket, column.key) for column in Ticket.__table__.columns}
    row["assignees"] = sorted(p.id for p in ticket.assignees)
    row["events"] = db.session.query(TicketEvent).filter_by(ticket_id=ticket_id).count()
    return row


def new_ticket_form(**overrides) -> dict:
    data = {
        "subject": "Visa appointment missed",
        "booking_id": "DEY-2001",
        "team": str(team(INTL).id),
        "priority": "High",
        "customer_name": "Ravi Menon",
        "customer_contact": "ravi@example.com",
        "description": "The agency booked the wrong date.",
        "notify_emails": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


# --- tickets: refused input -----------------------------------------------------------

# (field, bad value, fragment the field's error message must contain, case-insensitive)
BAD_TICKET_INPUT = [
    pytest.param("booking_id", "", "required", id="booking_id-missing"),
    pytest.param("booking_id", "   ", "required", id="booking_id-blank"),
    pytest.param("booking_id", "AB", "3–40", id="booking_id-too-short"),
    pytest.param("booking_id", "A" * 41, "40", id="booking_id-too-long"),
    pytest.param("booking_id", "AB#12", "letters, digits", id="booking_id-hash"),
    pytest.param("booking_id", "AB 12", "letters, digits", id="booking_id-space"),
    pytest.param("booking_id", "DEY\x00123", "Booking ID must be one line", id="booking_id-nul"),
    pytest.param("subject", "", "required", id="subject-missing"),
    pytest.param("subject", "  \t ", "required", id="subject-blank"),
    pytest.param("subject", "s" * 201, "200", id="subject-too-long"),
    pytest.param("subject", "Refund\x00 pending", "Subject must be one line", id="subject-nul"),
    # A CR/LF in a subject made every email of the ticket an invalid header (sent 8 times, then failed).
    pytest.param("subject", "Refund\r\nBcc: all@deyor.test", "Subject must be one line", id="subject-crlf"),
    pytest.param("subject", "Refund\u2028pending", "Subject must be one line", id="subject-line-separator"),
    pytest.param("subject", "Refund\x1b[31m", "Subject must be one line", id="subject-escape"),
    pytest.param("customer_name", "Priya\nNair", "Customer name must be one line", id="customer_name-newline"),
    pytest.param("customer_name", "n" * 121, "120", id="customer_name-too-long"),
    pytest.param("customer_contact", "call me", "email address or a phone number", id="contact-words"),
    pytest.param("customer_contact", "12", "email address or a phone number", id="contact-short-number"),
    pytest.param("customer_contact", "priya@", "priya@", id="contact-broken-email"),
    pytest.param("notify_emails", "ok@x.com, not-an-email", "not-an-email", id="notify-one-bad"),
    pytest.param("notify_emails", "ok@x.com; also bad, b@y.com", "also bad", id="notify-bad-in-middle"),
    pytest.param("description", "d" * 5001, "5000", id="description-too-long"),
    pytest.param("description", "line\x00two", "Description must not contain control characters", id="description-nul"),
    pytest.param("description", "bell\x07", "Description must not contain control characters", id="description-bell"),
    pytest.param("priority", "Critical", "not a valid choice", id="priority-unknown"),
    pytest.param("priority", "", "required", id="priority-missing"),
    pytest.param("team", "", "required", id="team-missing"),
    pytest.param("team", "999999", "", id="team-unknown"),
]


def _assert_refused(response, field: str, fragment: str) -> None:
    assert response.status_code == 200, f"expected the form again, got {response.status_code}"
    errors = field_errors(response, field)
    assert errors, f"no error shown for {field}; page flashes: {flashes(response)}"
    assert any(fragment.lower() in e.lower() for e in errors), errors


@pytest.mark.parametrize("field, value, message", BAD_TICKET_INPUT)
def test_add_ticket_refuses_bad_input(cast, client_for, field, value, message):
    people, _ = cast
    before = ticket_count()
    response = client_for(people["agent_creator"]).post("/tickets/add", data=new_ticket_form(**{field: value}))
    assert ticket_count() == before
    _assert_refused(response, field, message)


@pytest.mark.parametrize("field, value, message", BAD_TICKET_INPUT)
def test_edit_ticket_refuses_bad_input(cast, client_for, field, value, message):
    people, ticket = cast
    client = client_for(people["agent_creator"])
    before = snapshot(ticket.id)
    data = edit_form(client, ticket.id)
    data[field] = [value]
    response = client.post(f"/tickets/edit/{ticket.id}", data=data)
    assert snapshot(ticket.id) == before
    _assert_refused(response, field, message)


def test_team_field_left_out_entirely_is_refused(cast, client_for):
    people, _ = cast
    before = ticket_count()
    response = client_for(people["agent_creator"]).post("/tickets/add", data=new_ticket_form(team=None))
    assert ticket_count() == before
    _assert_refused(response, "team", "required")


def test_several_bad_fields_are_all_reported(cast, client_for):
    people, _ = cast
    before = ticket_count()
    response = client_for(people["agent_creator"]).post(
        "/tickets/add", data=new_ticket_form(booking_id="AB", subject="", customer_contact="call me")
    )
    assert response.status_code == 200
    assert field_errors(response, "booking_id")
    assert field_errors(response, "subject")
    assert field_errors(response, "customer_contact")
    assert ticket_count() == before


# --- tickets: accepted and normalised input -------------------------------------------


def _added(client, **fields) -> Ticket:
    before = ticket_count()
    response = client.post("/tickets/add", data=new_ticket_form(**fields))
    assert response.status_code == 302, field_errors_summary(response)
    assert ticket_count() == before + 1
    return db.session.query(Ticket).order_by(Ticket.id.desc()).first()


def field_errors_summary(response) -> str:
    return "; ".join(flashes(response)) or response.get_data(as_text=True)[:2000]


def test_booking_id_is_trimmed_and_upper_cased(cast, client_for):
    people, _ = cast
    ticket = _added(client_for(people["agent_creator"]), booking_id=" dey-22/a ")
    assert ticket.booking_id == "DEY-22/A"


def test_booking_id_limits_are_inclusive(cast, client_for):
    people, _ = cast
    client = client_for(people["agent_creator"])
    assert _added(client, booking_id="a1/").booking_id == "A1/"
    assert _added(client, booking_id="b" * 40).booking_id == "B" * 40


def test_edit_normalises_booking_id_too(cast, client_for):
    people, ticket = cast
    client = client_for(people["agent_creator"])
    data = edit_form(client, ticket.id)
    data["booking_id"] = ["  goa-7781/b "]
    assert client.post(f"/tickets/edit/{ticket.id}", data=data).status_code == 302
    assert fresh(ticket).booking_id == "GOA-7781/B"


@pytest.mark.parametrize(
    "contact, stored",
    [
        ("+91 98765 43210", "+91 98765 43210"),
        (" priya.nair@example.com ", "priya.nair@example.com"),
        ("(022) 2345-6789", "(022) 2345-6789"),
    ],
)
def test_customer_contact_accepts_phone_or_email(cast, client_for, contact, stored):
    people, _ = cast
    ticket = _added(client_for(people["agent_creator"]), customer_contact=contact)
    assert ticket.customer_contact == stored


def test_notify_emails_are_validated_and_deduplicated(cast, client_for):
    people, _ = cast
    ticket = _added(
        client_for(people["agent_creator"]),
        notify_emails="ops@example.com, Sales@Example.com,ops@example.com; sales@example.com",
    )
    stored = [part.strip() for part in ticket.notify_emails.split(",")]
    assert len(stored) == 2
    assert {s.lower() for s in stored} == {"ops@example.com", "sales@example.com"}


def test_notify_emails_error_names_only_the_bad_address(cast, client_for):
    people, _ = cast
    response = client_for(people["agent_creator"]).post(
        "/tickets/add", data=new_ticket_form(notify_emails="ok@x.com, not-an-email")
    )
    errors = " ".join(field_errors(response, "notify_emails"))
    assert "not-an-email" in errors
    assert "ok@x.com" not in errors


def test_every_priority_is_accepted(cast, client_for):
    people, _ = cast
    client = client_for(people["agent_creator"])
    for priority in ("Low", "Medium", "High", "Urgent"):
        assert _added(client, priority=priority).priority == priority


def test_long_but_allowed_values_are_stored_whole(cast, client_for):
    people, _ = cast
    ticket = _added(client_for(people["agent_creator"]), subject="s" * 200, description="d" * 5000)
    assert ticket.subject == "s" * 200
    assert ticket.description == "d" * 5000


# --- tickets: server-set fields ----------------------------------------------------------

SERVER_FIELDS = {
    "id": "4242",
    "status": "Resolved",
    "version": "77",
    "expected_version": "77",
    "created_at": "2001-01-01 00:00:00",
    "updated_at": "2001-01-01 00:00:00",
    "resolved_at": "2001-01-01 00:00:00",
    "resolution_notes": "Closed by the client",
}


def test_add_ignores_server_set_fields(cast, client_for):
    people, _ = cast
    poster, other = people["agent_creator"], people["admin"]
    data = new_ticket_form(**SERVER_FIELDS)
    data.update(created_by=str(other.id), created_by_id=str(other.id), resolved_by=str(other.id),
                resolved_by_id=str(other.id))
    ticket = _added(client_for(poster), **data)
    assert ticket.id != 4242
    assert ticket.created_by_id == poster.id
    assert ticket.status == "Open"
    assert ticket.version == 1
    assert ticket.resolved_at is None and ticket.resolved_by_id is None and ticket.resolution_notes is None
    assert abs(ticket.created_at - utcnow()) < timedelta(minutes=2)
    assert abs(ticket.updated_at - utcnow()) < timedelta(minutes=2)


def test_edit_ignores_server_set_fields(cast, client_for):
    people, ticket = cast
    editor, other = people["agent_creator"], people["admin"]
    client = client_for(editor)
    before = snapshot(ticket.id)
    data = edit_form(client, ticket.id)
    data.update({key: [value] for key, value in SERVER_FIELDS.items() if key != "expected_version"})
    data.update(created_by=[str(other.id)], resolved_by=[str(other.id)], subject=["Hotel overbooked in Goa (2)"])
    assert client.post(f"/tickets/edit/{ticket.id}", data=data).status_code == 302
    after = snapshot(ticket.id)
    assert after["subject"] == "Hotel overbooked in Goa (2)"
    for key in ("id", "status", "created_by_id", "created_at", "resolved_at", "resolved_by_id", "resolution_notes"):
        assert after[key] == before[key], key
    assert after["version"] == before["version"] + 1


# --- people (Team Members) ---------------------------------------------------------------


def person_form(app, **overrides) -> dict:
    sm = app.appbuilder.sm
    data = {
        "first_name": "Neha",
        "last_name": "Kapoor",
        "email": "Neha.Kapoor@Deyor-Travel.com",
        "phone": "+91 98765 43210",
        "teams": [str(team(INTL).id), str(team(DOM).id)],
        "roles": [str(sm.find_role("Lead").id)],
        "active": "y",
        "password": "Another-horse-43",
        "conf_password": "Another-horse-43",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def person_count() -> int:
    db.session.expire_all()
    return db.session.query(Person).count()


@pytest.fixture
def admin_client(make_person, client_for):
    return client_for(make_person("Ada Admin", "Admin"))


@pytest.mark.parametrize(
    "field, value, message",
    [
        pytest.param("email", "not-an-email", "not-an-email", id="email-invalid"),
        pytest.param("email", "neha@", "neha@", id="email-no-domain"),
        pytest.param("email", "", "required", id="email-missing"),
        # valid as an address, longer than the login name column (128)
        pytest.param("email", "n" * 60 + "@" + "d" * 60 + ".example.com", "at most 128", id="email-too-long"),
        pytest.param("phone", "abc", "phone", id="phone-letters"),
        pytest.param("phone", "12", "phone", id="phone-too-short"),
        pytest.param("conf_password", "Another-horse-44", "match", id="password-mismatch"),
        pytest.param("first_name", "", "required", id="first-name-missing"),
        pytest.param("first_name", "Ne\x00ha", "First Name must be one line", id="first-name-nul"),
        pytest.param("first_name", "Neha\r\nX", "First Name must be one line", id="first-name-crlf"),
        pytest.param("last_name", "Kap\x00oor", "Last Name must be one line", id="last-name-nul"),
    ],
)
def test_add_person_refuses_bad_input(app, admin_client, field, value, message):
    before = person_count()
    response = admin_client.post("/users/add", data=person_form(app, **{field: value}))
    assert person_count() == before
    assert db.session.query(Person).filter(Person.last_name == "Kapoor").count() == 0
    _assert_refused(response, field, message)


def test_add_person_stores_everything_and_they_can_log_in(app, admin_client):
    before = person_count()
    response = admin_client.post("/users/add", data=person_form(app))
    assert response.status_code == 302, field_errors_summary(response)
    assert person_count() == before + 1
    person = db.session.query(Person).filter_by(last_name="Kapoor").one()
    assert person.email == "neha.kapoor@deyor-travel.com"
    assert person.username == person.email
    assert person.phone == "+91 98765 43210"
    assert sorted(t.name for t in person.teams) == sorted([INTL, DOM])
    assert [r.name for r in person.roles] == ["Lead"]
    assert person.active
    assert person.password != "Another-horse-43", "the password is stored hashed"

    client = app.test_client()
    response = login(client, "neha.kapoor@deyor-travel.com", "Another-horse-43")
    assert response.status_code == 302 and "/login" not in response.headers["Location"]
    assert client.get("/tickets/list/").status_code == 200
    # The address as typed (mixed case) works too.
    other = app.test_client()
    response = login(other, "Neha.Kapoor@Deyor-Travel.com", "Another-horse-43")
    assert response.status_code == 302 and "/login" not in response.headers["Location"]


def test_add_person_with_wrong_password_cannot_log_in(app, admin_client):
    assert admin_client.post("/users/add", data=person_form(app)).status_code == 302
    response = login(app.test_client(), "neha.kapoor@deyor-travel.com", PASSWORD)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("email", ["neha.kapoor@deyor-travel.com", "NEHA.KAPOOR@deyor-travel.com"])
def test_add_person_with_existing_email_is_refused_with_a_clear_message(app, admin_client, email):
    assert admin_client.post("/users/add", data=person_form(app)).status_code == 302
    admin_client.get("/users/list/")  # consume the "added" flash
    before = person_count()
    response = admin_client.post(
        "/users/add", data=person_form(app, first_name="Second", email=email), follow_redirects=True
    )
    assert response.status_code == 200
    assert person_count() == before
    assert db.session.query(Person).filter_by(first_name="Second").count() == 0
    page = html.unescape(response.get_data(as_text=True))
    shown = " ".join(flashes(response) + field_errors(response, "email", missing_ok=True))
    assert "already" in shown.lower(), shown
    for leak in ("IntegrityError", "INSERT INTO", "pbkdf2", "scrypt"):
        assert leak not in page, f"the page shows raw database output ({leak})"


def test_add_person_without_role_is_refused(app, admin_client):
    """A person is added with their role(s) (SPEC); FAB's own form requires one."""
    before = person_count()
    response = admin_client.post("/users/add", data=person_form(app, roles=None))
    assert person_count() == before, "a person without any role was stored"
    assert response.status_code == 200, "the form is shown again"
    assert field_errors(response, "roles"), "the roles field says why"


def test_edit_person_refuses_bad_phone_and_keeps_row(app, make_person, admin_client):
    person = make_person("Asha Agent", "Agent", (INTL,))
    person.phone = "+91 90000 00000"
    db.session.commit()
    response = admin_client.get(f"/users/edit/{person.id}")
    assert response.status_code == 200
    data = form_values(response.get_data(as_text=True))
    data["phone"] = ["abc"]
    response = admin_client.post(f"/users/edit/{person.id}", data=data)
    assert fresh(person).phone == "+91 90000 00000"
    _assert_refused(response, "phone", "phone")


@pytest.mark.parametrize("email", ["asha.agent@deyor.test", "admin@deyor.local"])
def test_edit_person_on_internal_domain(app, make_person, admin_client, email):
    """People on internal domains (the default bootstrap admin is admin@deyor.local)
    must stay editable: changing their phone must not fail on the email the admin
    did not touch."""
    person = make_person("Asha Agent", "Agent", (INTL,))
    person.email = person.username = email
    db.session.commit()
    response = admin_client.get(f"/users/edit/{person.id}")
    data = form_values(response.get_data(as_text=True))
    data["phone"] = ["+91 98111 22233"]
    response = admin_client.post(f"/users/edit/{person.id}", data=data)
    assert response.status_code == 302, field_errors(response, "email")
    assert fresh(person).phone == "+91 98111 22233"


# --- founders and teams -------------------------------------------------------------------


@pytest.mark.parametrize("email", ["not-an-email", "founder@", "two@x.com, three@y.com", ""])
def test_add_founder_refuses_invalid_email(admin_client, email):
    response = admin_client.post("/founders/add", data={"name": "Dev Founder", "email": email, "active": "y"})
    assert response.status_code == 200
    assert field_errors(response, "email")
    db.session.expire_all()
    assert db.session.query(Founder).count() == 0


def test_add_founder_valid(admin_client):
    response = admin_client.post(
        "/founders/add", data={"name": "Dev Founder", "email": " dev@example.com ", "active": "y"}
    )
    assert response.status_code == 302
    founder = db.session.query(Founder).one()
    assert founder.email == "dev@example.com" and founder.active


def test_add_team_refuses_invalid_default_emails(admin_client):
    before = db.session.query(Team).count()
    response = admin_client.post(
        "/teams/add", data={"name": "Visa Desk", "default_emails": "visa@example.com, visa desk"}
    )
    assert response.status_code == 200
    assert any("visa desk" in e for e in field_errors(response, "default_emails"))
    db.session.expire_all()
    assert db.session.query(Team).count() == before
    assert db.session.query(Team).filter_by(name="Visa Desk").count() == 0


def test_edit_team_refuses_invalid_default_emails(admin_client):
    intl = team(INTL)
    intl.default_emails = "intl@example.com"
    db.session.commit()
    response = admin_client.post(
        f"/teams/edit/{intl.id}", data={"name": INTL, "default_emails": "intl@example.com, @nope"}
    )
    assert response.status_code == 200
    assert field_errors(response, "default_emails")
    db.session.expire_all()
    assert team(INTL).default_emails == "intl@example.com"


def test_add_team_deduplicates_default_emails(admin_client):
    response = admin_client.post(
        "/teams/add", data={"name": "Visa Desk", "default_emails": "visa@example.com, VISA@example.com"}
    )
    assert response.status_code == 302
    assert team("Visa Desk").default_emails == "visa@example.com"


def test_add_team_refuses_blank_name(admin_client):
    before = db.session.query(Team).count()
    response = admin_client.post("/teams/add", data={"name": "   ", "default_emails": ""})
    assert response.status_code == 200
    assert field_errors(response, "name")
    db.session.expire_all()
    assert db.session.query(Team).count() == before
