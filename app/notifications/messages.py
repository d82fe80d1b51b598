"""What the emails say: subject, plain text and HTML from templates, threading headers."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import current_app, render_template

from ..models import Ticket
from ..tickets.validation import fold_control_chars


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str
    message_id: str
    in_reply_to: str | None


def mail_domain() -> str:
    sender = current_app.config.get("MAIL_DEFAULT_SENDER") or "escalations@localhost"
    return sender.rsplit("@", 1)[-1].strip(" >") or "localhost"


def thread_id(ticket: Ticket) -> str:
    """The creation email's Message-ID; later emails reply to it. The creation time keeps it
    unique when a ticket id comes back (SQLite after a delete) or another instance shares the domain."""
    stamp = ticket.created_at.strftime("%Y%m%d%H%M%S%f")
    return f"<ticket-{ticket.id}.{stamp}@{mail_domain()}>"


def subject_line(ticket: Ticket, flag: str = "") -> str:
    """One header line whatever is stored: a CR/LF would make the message unsendable (and an
    injected header), so control characters are folded to spaces here too. `flag` says what
    happened when the subject alone must tell (the SLA ladder's OVERDUE)."""
    flag = f" {flag}" if flag else ""
    return fold_control_chars(
        f"[ESC-{ticket.id}][{ticket.priority}]{flag} {ticket.subject} · Booking {ticket.booking_id}"
    )


def ticket_link(ticket_id: int) -> str:
    return f"{current_app.config['BASE_URL']}/tickets/show/{ticket_id}"


def bound_gettext() -> dict:
    """The templates' gettext bound to the current translations, to pass as render context.

    Flask-Babel looks its translations up again on every `_()` call, a few dozen per email;
    the scheduler renders thousands of emails in one pass, so it looks them up once. (Jinja's
    own newstyle wrappers keep `%(name)s` formatting and autoescaping as in every template.)"""
    from flask_babel import get_translations
    from jinja2.ext import _make_new_gettext, _make_new_ngettext

    translations = get_translations()
    return {"gettext": _make_new_gettext(translations.ugettext), "ngettext": _make_new_ngettext(translations.ungettext)}


def attachment_link(attachment_id: int) -> str:
    return f"{current_app.config['BASE_URL']}/attachments/{attachment_id}/download"


def new_files(ticket: Ticket) -> list[dict]:
    """The files added to the ticket in the change this email is about: name, size and link
    (never the content; the link asks for a login and the ticket's visibility)."""
    from ..attachments.service import new_attachments
    from ..views.ticket_page import file_size

    return [{"name": fold_control_chars(a.name), "size": file_size(a.size), "link": attachment_link(a.id)}
            for a in new_attachments(ticket) if a.id is not None]


def render(ticket: Ticket, event: str, template: str = "", flag: str = "", **context) -> RenderedMessage:
    """`template` (default: the event's own) names email/ticket_<template>.txt and .html."""
    context.setdefault("new_files", new_files(ticket))
    context = dict(ticket=ticket, event=event, link=ticket_link(ticket.id), **context)
    root = thread_id(ticket)
    first = event == "created"
    template = template or event
    return RenderedMessage(
        subject=subject_line(ticket, flag),
        text=render_template(f"email/ticket_{template}.txt", **context),
        html=render_template(f"email/ticket_{template}.html", **context),
        message_id=root if first else f"<ticket-{ticket.id}.{event}.{uuid.uuid4().hex[:16]}@{mail_domain()}>",
        in_reply_to=None if first else root,
    )
