"""An email for each new comment: to the ticket's assignees and followers, and to the people it
mentions; one outbox row per person (To: that one address), written in the comment's own
transaction and threaded under the ticket's first email.

A session hook (not view code) sees the new comment, as outbox.py does for tickets: a comment
posted on the ticket page, over the API, as a reopen reason or from an emailed reply is
announced the same way, and a rolled-back comment leaves no email behind. Recipients are asked
from the database through the visibility rule read the other way (viewers_clause): an email
goes only to someone who may see the ticket now, whatever they followed or were mentioned.
"""
from __future__ import annotations

import logging

from flask import has_app_context
from sqlalchemy import event, func, or_, select
from sqlalchemy.orm import Session

from ..models import COMMENTED, MENTIONED, PENDING, Comment, Notification, Person, Ticket, utcnow
from ..models import ticket_assignee, ticket_follower
from ..tickets.mentions import mentioned_emails
from ..tickets.visibility import viewers_clause
from . import messages, recipients

log = logging.getLogger(__name__)
_NEW_COMMENTS = "deyor_new_comments"


def _collect(session: Session, flush_context, instances) -> None:
    new = [obj for obj in session.new if isinstance(obj, Comment)]
    if new:
        session.info.setdefault(_NEW_COMMENTS, []).extend(new)


def _enqueue_collected(session: Session, flush_context) -> None:
    comments = session.info.pop(_NEW_COMMENTS, None)
    if not comments or not has_app_context():
        return
    with session.no_autoflush:
        for comment in comments:
            enqueue_for_comment(session, comment)


def _forget(session: Session, *args) -> None:
    session.info.pop(_NEW_COMMENTS, None)


def install() -> None:
    for name, fn in (
        ("before_flush", _collect),
        ("after_flush_postexec", _enqueue_collected),
        ("after_soft_rollback", _forget),
    ):
        if not event.contains(Session, name, fn):
            event.listen(Session, name, fn)


def readers(session: Session, ticket: Ticket, comment: Comment) -> list[tuple[Person, bool]]:
    """(person, mentioned) for each email this comment is due: one statement for the followers,
    assignees and mentioned people who may see the ticket; the choice is recipients.for_comment's."""
    emails = mentioned_emails(comment.body)
    followers = select(ticket_follower.c.user_id).where(ticket_follower.c.ticket_id == ticket.id)
    assignees = select(ticket_assignee.c.user_id).where(ticket_assignee.c.ticket_id == ticket.id)
    mentioned = func.lower(Person.email).in_(emails) if emails else None
    wanted = [Person.id.in_(followers), Person.id.in_(assignees)] + ([mentioned] if emails else [])
    rows = session.execute(
        select(Person, Person.id.in_(followers), Person.id.in_(assignees))
        .where(viewers_clause(ticket), or_(*wanted))
        .order_by(Person.first_name, Person.last_name, Person.id)
    ).all()
    by_email = {person.email.lower(): person for person, _, _ in rows}
    return recipients.for_comment(
        comment.author_id,
        mentioned=[by_email[address] for address in emails if address in by_email],
        assignees=[person for person, _, is_assignee in rows if is_assignee],
        followers=[person for person, is_follower, _ in rows if is_follower],
    )


def enqueue_for_comment(session: Session, comment: Comment) -> list[Notification]:
    ticket = comment.ticket or session.get(Ticket, comment.ticket_id)
    if ticket is None or ticket.id is None:
        return []
    author = comment.author or session.get(Person, comment.author_id)
    rows = []
    for person, is_mention in readers(session, ticket, comment):
        event_name = MENTIONED if is_mention else COMMENTED
        message = messages.render(
            ticket, event_name, template="comment", comment=comment, author=author, mentioned=is_mention,
            comment_link=f"{messages.ticket_link(ticket.id)}#comment-{comment.id}",
        )
        row = Notification(
            ticket_id=ticket.id, event=event_name, to_addrs=person.email, cc_addrs="",
            subject=message.subject[:400], body_text=message.text, body_html=message.html,
            message_id=message.message_id, in_reply_to=message.in_reply_to,
            state=PENDING, attempts=0, next_attempt_at=utcnow(),
        )
        session.add(row)
        rows.append(row)
    if not rows:
        log.info("ESC-%s comment %s: nobody to notify", ticket.id, comment.id)
    return rows
