"""What the ticket page shows beyond the ticket's own fields: the history in words."""
from __future__ import annotations

from dataclasses import dataclass
from collections import defaultdict
from typing import Iterable

from flask_babel import gettext as _

from ..models import STATUS_RESOLVED, Ticket, TicketEvent
from ..sla.display import display_time
from ..tickets.visibility import current_person, is_admin


@dataclass
class HistoryRow:
    when: str
    who: str
    what: str
    old: str
    new: str
    note: str = ""


def _field_name(field: str) -> str:
    return {
        "created": _("Created"), "status": _("Status"), "assignees": _("Assignees"), "team": _("Team"),
        "resolution_notes": _("Resolution notes"), "sla": _("Escalation"), "attachment": _("File"),
    }.get(field, field)


def _values(event: TicketEvent) -> tuple[str, str]:
    if event.field == "sla":
        return (
            {"first_response": _("First response"), "resolution": _("Resolution")}.get(event.old_value, event.old_value or ""),
            {"due_soon": _("due soon"), "overdue": _("overdue"), "founders": _("founders")}.get(
                event.new_value, event.new_value or ""),
        )
    if event.field in ("status", "created"):
        return (_(event.old_value) if event.old_value else "", _(event.new_value) if event.new_value else "")
    return event.old_value or "", event.new_value or ""


def history_rows(events: Iterable[TicketEvent]) -> list[HistoryRow]:
    """The ticket's events, oldest first, as the page reads them. Notes cleared by a reopen say
    whose resolution they were and when it was made (the status event to Resolved knows), so the
    earlier resolution stays readable in full after the ticket is worked again."""
    rows: list[HistoryRow] = []
    resolved_by = resolved_at = None
    for event in events:
        who = event.actor.full_name if event.actor else _("system")
        old, new = _values(event)
        note = ""
        if event.field == "status" and event.new_value == STATUS_RESOLVED:
            resolved_by, resolved_at = who, event.created_at
        elif event.field == "resolution_notes" and not event.new_value and resolved_at is not None:
            note = _("Resolution by %(name)s, %(when)s; cleared by the reopen.", name=resolved_by,
                     when=display_time(resolved_at))
        rows.append(HistoryRow(display_time(event.created_at), who, _field_name(event.field), old, new, note))
    return rows


def file_size(size: int) -> str:
    """Bytes as people read them: 820 B, 14 KB, 2.4 MB."""
    if size < 1024:
        return _("%(n)s B", n=size)
    if size < 1024 * 1024:
        return _("%(n)s KB", n=round(size / 1024))
    return _("%(n)s MB", n=f"{size / (1024 * 1024):.1f}")


def attachment_context(ticket: Ticket) -> dict:
    """The ticket's files for its page: all of them (one query, uploaders joined), each comment's
    among them, and whether the reader may delete them (admins)."""
    files = list(ticket.attachments)
    by_comment = defaultdict(list)
    for attachment in files:
        if attachment.comment_id is not None:
            by_comment[attachment.comment_id].append(attachment)
    return {"attachments": files, "files_by_comment": by_comment, "can_delete_files": is_admin(current_person()),
            "file_size": file_size}
