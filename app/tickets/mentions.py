"""@mentions in comments: `@<email>` (what the comment form's picker inserts, and what API
clients write). Parsing and the decision about who may be mentioned are pure functions; the
people come from the database through the one visibility rule read the other way
(visibility.viewers_clause): a mention emails a person who may see the ticket, and mentioning
anyone else refuses the comment, naming them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Protocol

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ..models import Person, Ticket
from .validation import InvalidValue
from .visibility import viewers_clause

MAX_MENTIONS = 20  # the most people one comment may mention
MAX_SUGGESTIONS = 10

# `@` at the start of a word (not inside an address such as priya@example.com), then an email
# address whose domain has a dot; a full stop or comma after it ends the sentence, not the address.
MENTION_RE = re.compile(
    r"(?<![\w.%+@/-])@([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})(?![A-Za-z0-9_-])"
)

UNKNOWN, INACTIVE, HIDDEN = "unknown", "inactive", "hidden"


def mentioned_emails(text: Optional[str]) -> list[str]:
    """The addresses mentioned in `text`, lower-cased, each once, in order of appearance."""
    seen: dict[str, None] = {}
    for match in MENTION_RE.finditer(text or ""):
        seen.setdefault(match.group(1).lower(), None)
    return list(seen)


class PersonLike(Protocol):
    id: int
    email: str
    active: bool

    @property
    def full_name(self) -> str: ...


@dataclass(frozen=True)
class Refusal:
    """A mention that may not stand: `reason` is UNKNOWN, INACTIVE or HIDDEN."""

    email: str
    name: str
    reason: str


def refusals(emails: Iterable[str], people: Mapping[str, PersonLike], viewer_ids: set[int]) -> list[Refusal]:
    """Which mentioned addresses may not be mentioned on this ticket. `people`: the persons found
    by lower-cased email; `viewer_ids`: those of them who may see the ticket (active ones only,
    as the rule says)."""
    refused = []
    for address in emails:
        person = people.get(address)
        if person is None:
            refused.append(Refusal(address, "", UNKNOWN))
        elif not person.active:
            refused.append(Refusal(address, person.full_name, INACTIVE))
        elif person.id not in viewer_ids:
            refused.append(Refusal(address, person.full_name, HIDDEN))
    return refused


def refusal_message(refused: list[Refusal]) -> str:
    """One sentence naming each refused mention and why, in the reader's language."""
    parts = []
    for item in refused:
        if item.reason == UNKNOWN:
            parts.append(_("nobody here has the address %(email)s", email=item.email))
        elif item.reason == INACTIVE:
            parts.append(_("%(name)s (%(email)s) is no longer active", name=item.name, email=item.email))
        else:
            parts.append(_("%(name)s (%(email)s) may not see this ticket", name=item.name, email=item.email))
    return _("Not posted: %(problems)s. Mention only people who may see this ticket (typing @ offers them).",
             problems="; ".join(parts))


class MentionRefused(InvalidValue):
    """A comment mentions someone who may not be mentioned on its ticket."""


def check_mentions(session: Session, ticket: Ticket, text: Optional[str]) -> list[Person]:
    """The people `text` mentions, all of whom may see `ticket`; raise MentionRefused naming
    every other mention (unknown address, deactivated person, someone who may not see it).
    No statement at all for a text without mentions."""
    emails = mentioned_emails(text)
    if not emails:
        return []
    if len(emails) > MAX_MENTIONS:
        raise MentionRefused(_("Not posted: a comment may mention at most %(count)s people.", count=MAX_MENTIONS))
    people = {person.email.lower(): person for person in session.scalars(
        select(Person).where(func.lower(Person.email).in_(emails)))}
    viewer_ids = set(session.scalars(select(Person.id).where(
        Person.id.in_([person.id for person in people.values()]), viewers_clause(ticket)))) if people else set()
    refused = refusals(emails, people, viewer_ids)
    if refused:
        raise MentionRefused(refusal_message(refused))
    return [people[address] for address in emails]


def mention_candidates(session: Session, ticket: Ticket, term: str, limit: int = MAX_SUGGESTIONS) -> list[Person]:
    """People who may see `ticket` whose name or email contains `term`, for the picker."""
    term = "".join(char for char in term or "" if char.isprintable()).strip()[:100]
    query = select(Person).where(viewers_clause(ticket))
    if term:
        name = Person.first_name + " " + Person.last_name
        query = query.where(or_(name.icontains(term, autoescape=True), Person.email.icontains(term, autoescape=True)))
    return list(session.scalars(query.order_by(Person.first_name, Person.last_name, Person.id).limit(limit)))
