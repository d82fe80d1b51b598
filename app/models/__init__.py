"""SQLAlchemy models. They import nothing from the application above them."""
from .people import Founder, Person, Team, person_team
from .ticket import (
    PRIORITIES,
    STATUS_IN_PROGRESS,
    STATUS_OPEN,
    STATUS_RESOLVED,
    STATUSES,
    Comment,
    Ticket,
    TicketEvent,
    ticket_assignee,
    utcnow,
)

__all__ = [
    "Comment",
    "Founder",
    "PRIORITIES",
    "Person",
    "STATUSES",
    "STATUS_IN_PROGRESS",
    "STATUS_OPEN",
    "STATUS_RESOLVED",
    "Team",
    "Ticket",
    "TicketEvent",
    "person_team",
    "ticket_assignee",
    "utcnow",
]
