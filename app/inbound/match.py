"""Which ticket a message answers, and whether it proves it answers our email.

A ticket: the Message-IDs in In-Reply-To/References against those the app sent for it (each
outbox row keeps its own and the thread's), else `[ESC-<id>]` in the subject.
Proof (From alone is forgeable): the sender's own token in the address the reply went to, or
an In-Reply-To naming an email we sent to that very person about that ticket."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..models import SENT, Notification, Person
from ..tickets.validation import split_email_list
from . import tokens
from .parse import ParsedMessage

_SUBJECT_TICKET = re.compile(r"\[ESC-(\d{1,9})\]", re.IGNORECASE)


@dataclass(frozen=True)
class Match:
    ticket_id: Optional[int]
    how: str = ""  # "thread" or "subject"


@dataclass(frozen=True)
class Proof:
    kind: Optional[str]  # "token", "in-reply-to" or None
    foreign_token: bool = False  # a token of ours, but not this person's for this ticket


def ticket_for(session: Session, message: ParsedMessage) -> Match:
    ids = list(dict.fromkeys(message.in_reply_to + message.references))[:50]
    if ids:
        ticket_id = session.scalar(
            select(Notification.ticket_id)
            .where(or_(Notification.message_id.in_(ids), Notification.in_reply_to.in_(ids)),
                   Notification.ticket_id.is_not(None))
            .order_by(Notification.id.desc())
            .limit(1)
        )
        if ticket_id is not None:
            return Match(ticket_id, "thread")
    found = _SUBJECT_TICKET.search(message.subject or "")
    if found:
        return Match(int(found.group(1)), "subject")
    return Match(None)


def proof(session: Session, message: ParsedMessage, person: Person, ticket_id: int) -> Proof:
    if tokens.carries_token(message.recipients, person.id, ticket_id):
        return Proof("token")
    if message.in_reply_to:
        rows = session.execute(
            select(Notification.to_addrs, Notification.cc_addrs).where(
                Notification.ticket_id == ticket_id,
                Notification.message_id.in_(message.in_reply_to[:10]),
                Notification.state == SENT,  # an email never sent proves nothing
            )
        )
        email = (person.email or "").lower()
        for to_addrs, cc_addrs in rows:
            if email in {a.lower() for a in split_email_list(to_addrs) + split_email_list(cc_addrs)}:
                return Proof("in-reply-to")
    return Proof(None, foreign_token=bool(tokens.tags_in(message.recipients)))
