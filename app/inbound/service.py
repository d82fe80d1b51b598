"""Decide what one message becomes (a comment, a quarantined message, or nothing) and record it
in one transaction; read the mailbox; accept or discard what was quarantined.

The order in a pass, per message: decide and commit; only then move it to Processed. A crash in
between leaves it in the inbox; the next pass finds its Message-ID recorded and only moves it.
A database that does not answer ends the pass with the message where it was."""
from __future__ import annotations

import io
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from typing import Optional

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from ..models import (
    ACCEPTED,
    DISCARDED,
    HELD,
    IGNORED,
    POSTED,
    QUARANTINED,
    Comment,
    InboundMessage,
    Person,
    QuarantinedMessage,
    Ticket,
    utcnow,
)
from ..tickets.visibility import visible_tickets_clause
from . import match, parse
from .mailbox import Mailbox

log = logging.getLogger(__name__)

MAX_COMMENT = 5000  # as the comment form (app/views/tickets.py)

# Why a message was not posted: the code stored, the words shown to admins.
REASONS = {
    "automatic": _l("Automatic reply or bounce"),
    "too_large": _l("Larger than the size limit"),
    "malformed": _l("Not a readable email"),
    "empty": _l("No text and no files"),
    "own": _l("Sent by the app itself"),
    "no_ticket": _l("Matches no ticket (no thread of ours, no [ESC-n] in the subject)"),
    "unknown_ticket": _l("No such ticket"),
    "no_sender": _l("The sender's address is missing or not a single address"),
    "unknown_sender": _l("The sender is nobody in the app"),
    "inactive_sender": _l("The sender's account is deactivated"),
    "not_visible": _l("The sender may not see this ticket"),
    "token_mismatch": _l("The reply address carries a token for another ticket or person"),
    "no_proof": _l("No proof it answers our email (no reply token, no reply to an email sent to this person)"),
    "error": _l("Could not be processed"),
}


def reason_label(code: Optional[str]) -> str:
    return str(REASONS.get(code or "", code or ""))


@dataclass(frozen=True)
class Decision:
    outcome: str
    reason: Optional[str] = None
    detail: Optional[str] = None
    ticket: Optional[Ticket] = None
    person: Optional[Person] = None


# --- deciding ---------------------------------------------------------------------------------
def person_by_email(session: Session, address: str) -> Optional[Person]:
    if not address:
        return None
    return session.scalars(select(Person).where(func.lower(Person.email) == address.lower())).first()


def may_see(session: Session, person: Person, ticket_id: int) -> bool:
    """The one visibility rule, for the sender instead of a logged-in person."""
    return session.scalar(select(Ticket.id).where(Ticket.id == ticket_id, visible_tickets_clause(person))) is not None


def _own_addresses() -> set[str]:
    config = current_app.config
    addresses = (config.get("INBOUND_ADDRESS") or "", config.get("MAIL_DEFAULT_SENDER") or "")
    return {parseaddr(a)[1].lower() for a in addresses if a} - {""}


def decide(session: Session, message: parse.ParsedMessage) -> Decision:
    if message.automatic:
        return Decision(IGNORED, "automatic", message.automatic)
    if message.sender and message.sender in _own_addresses():
        return Decision(IGNORED, "own")
    found = match.ticket_for(session, message)
    if found.ticket_id is None:
        return Decision(QUARANTINED, "no_ticket")
    ticket = session.get(Ticket, found.ticket_id)
    if ticket is None:
        return Decision(QUARANTINED, "unknown_ticket", f"ESC-{found.ticket_id}")
    if not message.sender:
        return Decision(QUARANTINED, "no_sender", message.sender_header, ticket)
    person = person_by_email(session, message.sender)
    if person is None:
        return Decision(QUARANTINED, "unknown_sender", message.sender, ticket)
    if not person.active:
        return Decision(QUARANTINED, "inactive_sender", message.sender, ticket, person)
    if not may_see(session, person, ticket.id):
        return Decision(QUARANTINED, "not_visible", message.sender, ticket, person)
    proof = match.proof(session, message, person, ticket.id)
    if proof.kind is None:
        return Decision(QUARANTINED, "token_mismatch" if proof.foreign_token else "no_proof", None, ticket, person)
    if not message.reply and not message.attachments:
        return Decision(IGNORED, "empty", None, ticket, person)
    return Decision(POSTED, None, f"{found.how}, {proof.kind}", ticket, person)


# --- writing ----------------------------------------------------------------------------------
def _comment_text(reply: str, listed: list[str]) -> str:
    text = reply
    if listed:
        text += ("\n\n" if text else "") + _("Attached by email: %(names)s", names=", ".join(listed))
    text = text or _("Files sent by email.")
    if len(text) > MAX_COMMENT:
        text = text[: MAX_COMMENT - 1].rstrip() + "…"
    return text


def _attachment_service():
    """app/attachments' add_attachment(ticket, uploader, filename, stream, comment=None) when
    ticket attachments exist; None before (the files are then listed by name in the comment)."""
    try:
        from ..attachments.service import add_attachment
    except ImportError:
        return None
    return add_attachment


def _attach(add_attachment, ticket: Ticket, person: Person, comment: Comment,
            files: list[parse.Attachment]) -> list[str]:
    """Store each file on the comment; the names of those refused (type, size), with why."""
    refused = []
    for item in files:
        try:
            add_attachment(ticket, person, item.filename, io.BytesIO(item.data), comment=comment)
        except SQLAlchemyError:
            raise
        except Exception as exc:  # a refusal: named in the comment with the reason
            refused.append(f"{item.filename} ({exc})")
    return refused


def post(session: Session, ticket: Ticket, person: Person, reply: str, original: str,
         files: list[parse.Attachment], now: datetime) -> Comment:
    """The reply as `person`'s comment (a reply to a resolved ticket too: reopening stays a
    human decision). Its text is final when first flushed (hooks that email it read it then),
    unless a file is refused, which is then named in it."""
    add_attachment = _attachment_service() if files else None
    listed = [f.filename for f in files] if add_attachment is None else []
    comment = Comment(ticket=ticket, author=person, body=_comment_text(reply, listed),
                      original_text=original or None, created_at=now)
    comment.by_email = True  # the author is the sender, not whoever is logged in (app/tickets/history.py)
    session.add(comment)
    if add_attachment is not None:
        session.flush()
        refused = _attach(add_attachment, ticket, person, comment, files)
        if refused:
            comment.body = _comment_text(reply, refused)
    return comment


def _record(session: Session, message_id: str, sender, subject, decision: Decision, size: int,
            now: datetime) -> InboundMessage:
    record = InboundMessage(
        message_id=message_id, sender=(sender or None) and sender[:320], subject=(subject or None) and subject[:400],
        outcome=decision.outcome, reason=decision.reason, detail=decision.detail, size=size, received_at=now,
        ticket_id=decision.ticket.id if decision.ticket else None,
        person_id=decision.person.id if decision.person else None,
    )
    session.add(record)
    session.flush()
    return record


def _quarantine(session: Session, record: InboundMessage, decision: Decision, message, raw: bytes,
                now: datetime) -> QuarantinedMessage:
    held = QuarantinedMessage(
        inbound_id=record.id, sender=record.sender, subject=record.subject, reason=decision.reason,
        detail=decision.detail, ticket_id=record.ticket_id, person_id=record.person_id,
        body=parse.clean_text(message.reply) if message else None,
        original=parse.clean_text(message.text) if message else None,
        raw=raw, received_at=now, state=HELD,
    )
    session.add(held)
    return held


def already_recorded(session: Session, message_id: str) -> bool:
    return session.scalar(select(InboundMessage.id).where(InboundMessage.message_id == message_id)) is not None


def handle(session: Session, raw: bytes, now: Optional[datetime] = None, size: Optional[int] = None,
           oversized: bool = False) -> Optional[InboundMessage]:
    """Decide and commit one message. None: it was recorded before (read again after a crash, or
    by another worker meanwhile). A database error is raised (the message stays for later)."""
    now = now or utcnow()
    size = len(raw) if size is None else size
    message = None
    try:
        message = parse.parse(raw)
        message_id = message.message_id
    except parse.Malformed as exc:
        message_id, decision = parse.synthetic_message_id(raw), Decision(IGNORED, "malformed", str(exc))
    if already_recorded(session, message_id):
        return None
    if oversized:
        decision = Decision(IGNORED, "too_large", f"{size} bytes")
    elif message is not None:
        try:
            decision = decide(session, message)
        except SQLAlchemyError:
            raise
        except Exception as exc:  # a fault of ours: held for an admin, whole, never lost
            log.exception("Inbound %s could not be decided", message_id)
            session.rollback()
            decision = Decision(QUARANTINED, "error", f"{type(exc).__name__}")
    try:
        record = _record(session, message_id, message and message.sender or None,
                         message and message.subject or None, decision, size, now)
        if decision.outcome == POSTED:
            comment = post(session, decision.ticket, decision.person, parse.clean_text(message.reply),
                           parse.clean_text(message.text), message.attachments, now)
            session.flush()
            record.comment_id = comment.id
        elif decision.outcome == QUARANTINED:
            _quarantine(session, record, decision, message, raw, now)
        session.commit()
    except IntegrityError:
        session.rollback()
        if already_recorded(session, message_id):  # another worker took it first
            return None
        raise
    except Exception:
        session.rollback()
        raise
    log_outcome(record)
    return record


def log_outcome(record: InboundMessage) -> None:
    if record.outcome == POSTED:
        log.info("Inbound %s from %s posted on ESC-%s (%s)", record.message_id, record.sender, record.ticket_id,
                 record.detail)
    else:
        log.info("Inbound %s from %s %s: %s %s", record.message_id, record.sender, record.outcome, record.reason,
                 record.detail or "")


# --- the pass ---------------------------------------------------------------------------------
def run_pass(session: Session, now: Optional[datetime] = None, stop: Optional[threading.Event] = None,
             after_commit=None) -> dict[str, int]:
    """Read the whole folder once. Returns counts per outcome ("seen": already recorded).
    `after_commit(uid)` runs between the commit and the move (tests simulate a crash there)."""
    config = current_app.config
    if not config.get("IMAP_HOST"):
        return {}
    counts: dict[str, int] = {}
    limit = config["INBOUND_MAX_BYTES"]
    with Mailbox(config) as box:
        uids = box.uids()
        sizes = box.sizes(uids)
        for uid in uids:
            if stop is not None and stop.is_set():
                break
            size = sizes.get(uid, 0)
            raw = box.fetch(uid, header_only=size > limit)
            if raw is None:
                continue  # gone meanwhile (another worker moved it)
            record = handle(session, raw, now=now, size=size, oversized=size > limit)
            outcome = record.outcome if record is not None else "seen"
            counts[outcome] = counts.get(outcome, 0) + 1
            if after_commit is not None:
                after_commit(uid)
            box.move(uid)
    return counts


# --- the admin's decisions --------------------------------------------------------------------
class QuarantineRefused(ValueError):
    """An accept that cannot be done now; the message says why."""


def accept(session: Session, held: QuarantinedMessage, admin: Person, now: Optional[datetime] = None) -> Comment:
    """Post the held message as its sender, if the sender may post there now."""
    from ..audit import record as audit

    now = now or utcnow()
    if held.state != HELD:
        raise QuarantineRefused(_("This message was already decided."))
    ticket = session.get(Ticket, held.ticket_id) if held.ticket_id else None
    if ticket is None:
        raise QuarantineRefused(_("The message matches no ticket: it can only be discarded."))
    person = person_by_email(session, held.sender or "")
    if person is None or not person.active:
        raise QuarantineRefused(_("The sender is not an active person in the app: it can only be discarded."))
    if not may_see(session, person, ticket.id):
        raise QuarantineRefused(_("The sender may not see ESC-%(id)s: it can only be discarded.", id=ticket.id))
    files = []
    if held.raw:
        try:
            files = parse.parse(held.raw).attachments
        except parse.Malformed:
            files = []
    comment = post(session, ticket, person, held.body or "", held.original or "", files, now)
    session.flush()
    held.state, held.decided_by, held.decided_at, held.comment_id = ACCEPTED, admin, now, comment.id
    audit("quarantine_accepted", object_type="quarantined_message", object_id=held.id, actor=admin, session=session,
          details={"sender": held.sender, "subject": held.subject, "ticket_id": ticket.id, "reason": held.reason,
                   "comment_id": comment.id})
    return comment


def discard(session: Session, held: QuarantinedMessage, admin: Person, now: Optional[datetime] = None) -> None:
    from ..audit import record as audit

    if held.state != HELD:
        raise QuarantineRefused(_("This message was already decided."))
    held.state, held.decided_by, held.decided_at = DISCARDED, admin, now or utcnow()
    audit("quarantine_discarded", object_type="quarantined_message", object_id=held.id, actor=admin,
          session=session, details={"sender": held.sender, "subject": held.subject, "ticket_id": held.ticket_id,
                                    "reason": held.reason})

