"""An email for each new comment, end to end on a real SMTP server: each follower and assignee
gets one email per comment (To: them alone), threaded under the ticket's first email, with the
comment's text and a link; the author none; a mention always; comment emails turned off
honoured; nobody who may not see the ticket, whatever they followed; rows written in the
comment's transaction (a refused comment writes none)."""
from __future__ import annotations

import pytest
from sqlalchemy import insert

from app.extensions import db
from app.models import COMMENTED, MENTIONED, STATUS_RESOLVED, Notification, Person, ticket_follower
from app.notifications import messages
from app.notifications.recipients import for_comment
from tests.conftest import DOM, INTL, fresh, team
from tests.test_api import api_for, token_for  # noqa: F401  (fixtures)
from tests.test_notifications import BASE_URL, addresses, flush, parts, subject_of

COMMENT_EVENTS = (COMMENTED, MENTIONED)


def comment_rows() -> list[Notification]:
    db.session.expire_all()
    return (db.session.query(Notification).filter(Notification.event.in_(COMMENT_EVENTS))
            .order_by(Notification.id).all())


def recipients_of(rows) -> list[str]:
    return sorted(row.to_addrs for row in rows)


def follow(ticket, *people: Person) -> None:
    db.session.execute(insert(ticket_follower), [{"ticket_id": ticket.id, "user_id": p.id} for p in people])
    db.session.commit()


def post_comment(client, ticket, body: str):
    response = client.post(f"/tickets/comment/{ticket.id}", data={"body": body})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    return response


@pytest.fixture
def floor(make_person, make_ticket, mail_to_smtp):
    """A ticket of International Operations created by Carl, assigned to Asha and Bina; Lena
    (lead of the team) follows it. Its creation email is sent first (the thread's root)."""
    people = {
        "carl": make_person("Carl Creator", "Agent", (INTL,)),
        "asha": make_person("Asha Assigned", "Agent", (INTL,)),
        "bina": make_person("Bina Assigned", "Agent", (INTL,)),
        "lena": make_person("Lena Lead", "Lead", (INTL,)),
        "otto": make_person("Otto Lead", "Lead", (DOM,)),
        "uma": make_person("Uma Unrelated", "Agent", (INTL,)),
    }
    ticket = make_ticket(people["carl"], INTL, assignees=[people["asha"], people["bina"]],
                         subject="Hotel overbooked in Goa", booking_id="GOA-7781")
    follow(ticket, people["lena"])
    flush()
    mail_to_smtp.clear()
    return people, ticket


# --- the pure rule ------------------------------------------------------------------------------
class R:
    def __init__(self, pk, active=True, comment_emails=True):
        self.id, self.email, self.active, self.comment_emails = pk, f"p{pk}@x.test", active, comment_emails


def test_for_comment_rule():
    a, b, c, off, gone, author = R(1), R(2), R(3), R(4, comment_emails=False), R(5, active=False), R(9)
    chosen = for_comment(9, mentioned=[off, author], assignees=[a, author, gone, off], followers=[b, a, c])
    assert [(p.id, m) for p, m in chosen] == [(4, True), (1, False), (2, False), (3, False)]
    assert for_comment(9, mentioned=[], assignees=[off], followers=[off, author]) == []


# --- end to end ----------------------------------------------------------------------------------
def test_each_follower_and_assignee_gets_one_threaded_email_per_comment(floor, client_for, mail_to_smtp):
    people, ticket = floor
    smtp = mail_to_smtp
    client = client_for(people["carl"])
    post_comment(client, ticket, "Called the hotel: <b>room</b> freed at 9pm.\nGuest informed.")
    rows = comment_rows()
    assert recipients_of(rows) == sorted(people[w].email for w in ("asha", "bina", "lena"))
    assert {row.event for row in rows} == {COMMENTED} and all(row.state == "pending" for row in rows)
    assert smtp.data_commands == 0  # written by the request, sent by the worker
    assert flush() == {"sent": 3}

    root = messages.thread_id(fresh(ticket))
    comment_id = fresh(ticket).comments[0].id
    assert len(smtp.messages) == 3
    for mail in smtp.messages:
        message = mail.message
        assert len(mail.rcpt_tos) == 1 and addresses(message, "To") == mail.rcpt_tos
        assert addresses(message, "Cc") == []
        assert message["In-Reply-To"] == root and message["References"] == root
        assert message["Subject"] == subject_of(fresh(ticket))
        text, html = parts(message)
        text = text.replace("\r\n", "\n")
        assert "Carl Creator commented on escalation ESC-" in text
        assert "Called the hotel: <b>room</b> freed at 9pm.\nGuest informed." in text
        assert "Called the hotel: &lt;b&gt;room&lt;/b&gt; freed at 9pm." in html and "<b>room" not in html
        assert f"{BASE_URL}/tickets/show/{ticket.id}#comment-{comment_id}" in text
        assert f'href="{BASE_URL}/tickets/show/{ticket.id}#comment-{comment_id}"' in html
        assert "turn comment emails off in your profile" in text
    assert people["carl"].email not in [m.rcpt_tos[0] for m in smtp.messages]
    assert len({m.message["Message-ID"] for m in smtp.messages}) == 3

    # a second comment, by an assignee: one more email each, never to its author
    smtp.clear()
    post_comment(client_for(people["asha"]), ticket, "Thanks Carl.")
    assert flush() == {"sent": 2}
    assert sorted(m.rcpt_tos[0] for m in smtp.messages) == sorted([people["bina"].email, people["lena"].email])
    assert len(comment_rows()) == 5


def test_comment_emails_off_is_honoured_but_a_mention_is_always_emailed(floor, client_for, mail_to_smtp):
    people, ticket = floor
    for who in ("bina", "lena"):
        people[who].comment_emails = False
    db.session.commit()
    post_comment(client_for(people["carl"]), ticket, "Status update.")
    assert recipients_of(comment_rows()) == [people["asha"].email]

    post_comment(client_for(people["carl"]), ticket, f"@{people['lena'].email} can you approve?")
    rows = comment_rows()[1:]
    assert [(row.to_addrs, row.event) for row in rows] == [(people["lena"].email, MENTIONED),
                                                          (people["asha"].email, COMMENTED)]
    assert flush() == {"sent": 3}
    mention = next(m for m in mail_to_smtp.messages if m.rcpt_tos == [people["lena"].email])
    text, _ = parts(mention.message)
    assert "Carl Creator mentioned you in a comment on escalation ESC-" in text
    assert "can you approve?" in text and "turn comment emails off" not in text


def test_a_mentioned_follower_gets_one_email_and_a_mentioned_outsider_is_never_emailed(
        floor, client_for, api_for, mail_to_smtp):
    people, ticket = floor
    post_comment(client_for(people["carl"]), ticket, f"@{people['asha'].email} @{people['asha'].email} please")
    assert [(row.to_addrs, row.event) for row in comment_rows()] == [
        (people["asha"].email, MENTIONED), (people["bina"].email, COMMENTED), (people["lena"].email, COMMENTED)]
    # a mention of someone who may not see the ticket is refused, so no row at all
    response = api_for(people["carl"]).post("/api/v1/comment/", {"ticket": ticket.id,
                                                                 "body": f"@{people['uma'].email} hi"})
    assert response.status_code == 422
    assert len(comment_rows()) == 3


def test_a_hidden_ticket_is_never_emailed_to_someone_who_may_not_see_it(floor, client_for, mail_to_smtp):
    """Otto followed while the ticket was his team's; Uma while she was assigned; deactivated
    Bina stays assigned. After the ticket moved back and Uma was unassigned, none of them hears."""
    people, ticket = floor
    follow(ticket, people["otto"], people["uma"])
    people["bina"].active = False
    db.session.commit()
    post_comment(client_for(people["carl"]), ticket, "Only for those who see it.")
    assert recipients_of(comment_rows()) == sorted([people["asha"].email, people["lena"].email])
    assert flush() == {"sent": 2}
    assert not {people["otto"].email, people["uma"].email, people["bina"].email} & {
        m.rcpt_tos[0] for m in mail_to_smtp.messages}

    # the ticket moves to Domestic: Otto (its lead) now sees it and hears; Lena no longer
    moved = fresh(ticket)
    moved.team = team(DOM)
    db.session.commit()
    post_comment(client_for(people["carl"]), ticket, "Moved to Domestic.")
    assert recipients_of(comment_rows()[2:]) == sorted([people["asha"].email, people["otto"].email])


def test_comments_over_the_api_and_reopen_reasons_are_emailed_too(floor, client_for, api_for, mail_to_smtp):
    people, ticket = floor
    response = api_for(people["asha"]).post("/api/v1/comment/", {"ticket": ticket.id, "body": "From the app."})
    assert response.status_code == 201
    assert recipients_of(comment_rows()) == sorted([people["bina"].email, people["lena"].email])

    resolved = fresh(ticket)
    resolved.status, resolved.resolution_notes = STATUS_RESOLVED, "Refunded"
    db.session.commit()
    response = api_for(people["lena"]).put(f"/api/v1/ticket/{ticket.id}",
                                           {"status": "Open", "reopen_reason": "Guest says no refund."})
    assert response.status_code == 200, response.json
    rows = comment_rows()[2:]
    assert recipients_of(rows) == sorted([people["asha"].email, people["bina"].email])
    assert flush()["sent"] >= 4
    reopen = next(m for m in mail_to_smtp.messages if m.message["Message-ID"] == rows[0].message_id)
    assert "Guest says no refund." in parts(reopen.message)[0]


def test_a_refused_comment_writes_no_email(floor, client_for):
    people, ticket = floor
    response = client_for(people["carl"]).post(f"/tickets/comment/{ticket.id}", data={"body": "   "})
    assert response.status_code == 422
    response = client_for(people["carl"]).post(f"/tickets/comment/{ticket.id}",
                                               data={"body": f"@{people['otto'].email} look"})
    assert response.status_code == 422
    assert comment_rows() == []


def test_following_on_the_page_brings_the_emails(floor, client_for, mail_to_smtp):
    people, ticket = floor
    client_for(people["uma"])  # may not see it: cannot follow it
    assert client_for(people["uma"]).post(f"/tickets/follow/{ticket.id}", data={"follow": "1"}).status_code == 404
    carl = client_for(people["carl"])
    carl.post(f"/tickets/follow/{ticket.id}", data={"follow": "1"})
    post_comment(client_for(people["asha"]), ticket, "Carl follows now.")
    assert people["carl"].email in recipients_of(comment_rows())
    client_for(people["lena"]).post(f"/tickets/follow/{ticket.id}", data={"follow": "0"})
    post_comment(client_for(people["asha"]), ticket, "Lena left.")
    assert people["lena"].email not in recipients_of(comment_rows()[3:])
