"""Admin screen of the outbox: what was sent to whom, what failed and why; retry."""
from __future__ import annotations

from flask import flash, redirect
from flask_appbuilder import ModelView
from flask_appbuilder.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..models import Notification
from ..notifications import outbox
from .base import CappedCountInterface, RowScopedActionsMixin, format_local


class NotificationModelView(RowScopedActionsMixin, ModelView):
    route_base = "/notifications"
    datamodel = CappedCountInterface(Notification)
    base_permissions = ["can_list", "can_show"]
    base_order = ("id", "desc")
    page_size = 50
    list_title = _l("Notifications")
    show_title = _l("Notification")
    label_columns = {
        "id": _l("ID"), "ticket": _l("Ticket"), "event": _l("Event"), "state": _l("State"), "attempts": _l("Attempts"),
        "to_addrs": _l("To"), "cc_addrs": _l("CC"), "subject": _l("Subject"), "last_error": _l("Last error"),
        "created_at": _l("Queued"), "sent_at": _l("Sent"), "next_attempt_at": _l("Next attempt"),
        "message_id": _l("Message-ID"), "body_text": _l("Text"),
    }
    list_columns = ["id", "event", "state", "attempts", "to_addrs", "subject", "last_error", "created_at", "sent_at"]
    show_columns = [
        "ticket", "event", "state", "attempts", "next_attempt_at", "last_error", "to_addrs", "cc_addrs",
        "subject", "message_id", "created_at", "sent_at", "body_text",
    ]
    search_columns = ["state", "event", "to_addrs", "subject", "created_at"]
    formatters_columns = {"created_at": format_local, "sent_at": format_local, "next_attempt_at": format_local}

    @action("retry", _l("Retry"), _l("Send the selected notifications again now?"), "fa-refresh")
    def retry(self, items):
        items = items if isinstance(items, list) else [items]
        session = self.datamodel.session
        queued = sum(outbox.retry(session, row.id) for row in items)
        session.commit()
        flash(_("%(count)d notification(s) queued again; sent ones are left alone.", count=queued), "success")
        return redirect(self.get_redirect())
