"""Admin screen of the outbox: what was sent to whom, what failed and why; retry. And the
banner every admin sees on every page while emails have been failing for a while."""
from __future__ import annotations

from typing import Optional
from urllib.parse import urlencode, urlsplit

from flask import current_app, flash, redirect, request, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.actions import action
from flask_appbuilder.security.decorators import has_access, permission_name
from flask_appbuilder.urltools import get_filter_args
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from ..extensions import db
from ..models import FAILED, PENDING, SENDING, SENT, SKIPPED, Notification, utcnow
from ..notifications import health, outbox
from ..reports import export as exports
from ..tickets.visibility import current_person, is_admin
from .base import CappedCountInterface, RowScopedActionsMixin, format_local

STATE_LABELS = {
    PENDING: (_l("Pending"), "label-info"),
    SENDING: (_l("Sending"), "label-primary"),
    SENT: (_l("Sent"), "label-success"),
    FAILED: (_l("Failed"), "label-danger"),
    SKIPPED: (_l("Skipped"), "label-default"),
}
LIST_PATH = "/notifications/list/"
# FAB numbers a text column's filters: 3 is "equal to".
FAILING_HREF = f"{LIST_PATH}?_flt_3_state={FAILED}"


def state_badge(state: Optional[str]) -> Markup:
    """A state as a coloured badge with its word (colour alone says nothing to some)."""
    label, css = STATE_LABELS.get(state or "", (state or "", "label-default"))
    return Markup('<span class="label {} notification-state">{}</span>').format(css, label)


def _addresses(value: Optional[str]) -> Markup:
    """Comma-separated addresses, one per line: a long To list stays readable in a column."""
    parts = [escape(part.strip()) for part in (value or "").split(",") if part.strip()]
    return Markup("<br>").join(parts)


def back_to_list(target: Optional[str]) -> str:
    """`target` when it is this screen's list (with its filters, order and page), else the list."""
    target = (target or "").strip()
    parts = urlsplit(target)
    if target.startswith(LIST_PATH) and not parts.scheme and not parts.netloc and "\\" not in target:
        return target
    return url_for("NotificationModelView.list")


class NotificationModelView(RowScopedActionsMixin, ModelView):
    route_base = "/notifications"
    datamodel = CappedCountInterface(Notification)
    base_permissions = ["can_list", "can_show", "can_export"]
    base_order = ("id", "desc")
    page_size = 50
    list_title = _l("Notifications")
    show_title = _l("Notification")
    list_template = "notifications/list.html"
    label_columns = {
        "id": _l("ID"), "ticket": _l("Ticket"), "event": _l("Event"), "state": _l("State"), "attempts": _l("Attempts"),
        "to_addrs": _l("To"), "cc_addrs": _l("CC"), "subject": _l("Subject"), "last_error": _l("Last error"),
        "created_at": _l("Queued"), "sent_at": _l("Sent"), "next_attempt_at": _l("Next attempt"),
        "message_id": _l("Message-ID"), "body_text": _l("Text"),
    }
    list_columns = ["id", "event", "state", "attempts", "to_addrs", "cc_addrs", "subject", "last_error",
                    "created_at", "sent_at"]
    show_columns = [
        "ticket", "event", "state", "attempts", "next_attempt_at", "last_error", "to_addrs", "cc_addrs",
        "subject", "message_id", "created_at", "sent_at", "body_text",
    ]
    search_columns = ["state", "event", "to_addrs", "subject", "created_at"]
    formatters_columns = {
        "state": state_badge, "to_addrs": _addresses, "cc_addrs": _addresses,
        "created_at": format_local, "sent_at": format_local, "next_attempt_at": format_local,
    }

    # The export's columns: (attribute, header, kind).
    export_fields = (
        ("id", _l("ID"), exports.NUMBER), ("ticket_id", _l("Ticket"), exports.NUMBER), ("event", _l("Event"), None),
        ("state", _l("State"), None), ("attempts", _l("Attempts"), exports.NUMBER), ("to_addrs", _l("To"), None),
        ("cc_addrs", _l("CC"), None), ("subject", _l("Subject"), None), ("last_error", _l("Last error"), None),
        ("message_id", _l("Message-ID"), None), ("created_at", _l("Queued"), exports.TIME),
        ("next_attempt_at", _l("Next attempt"), exports.TIME), ("sent_at", _l("Sent"), exports.TIME),
    )

    def _export_links(self) -> list[tuple[str, str, str]]:
        kept = [(k, v) for k, v in request.args.items(multi=True) if not k.startswith(("page_", "psize_"))]
        return [(fmt, label, f"{url_for('.export')}?{urlencode(kept + [('format', fmt)])}")
                for fmt, label in (("csv", _("CSV")), ("xlsx", _("Excel")))]

    def render_template(self, template, **kwargs):
        if template == self.list_template and self.appbuilder.sm.has_access("can_export", self.class_permission_name):
            kwargs["exports"] = self._export_links()
        return super().render_template(template, **kwargs)

    @expose("/export")
    @has_access
    @permission_name("export")
    def export(self):
        """The outbox as listed (FAB's filters and sort from the query string), every page."""
        fmt = request.args.get("format", "")
        kept = [(k, v) for k, v in request.args.items(multi=True) if k != "format"]
        back = f"{url_for('.list')}?{urlencode(kept)}" if kept else url_for(".list")
        if fmt not in exports.FORMATS:
            flash(_("Export format: choose CSV or Excel (format=csv or format=xlsx)."), "danger")
            return redirect(back)
        view = type(self).__name__
        get_filter_args(self._filters)
        filters = self._filters.get_joined_filters(self._base_filters)
        order_column = request.args.get(f"_oc_{view}") or self.base_order[0]
        direction = request.args.get(f"_od_{view}") or self.base_order[1]
        session = self.datamodel.session
        query = self.datamodel._apply_inner_all(
            session.query(Notification.id), filters, order_column, direction, aliases_mapping={})
        try:
            rows = exports.count_rows(session, query, current_app.config["EXPORT_MAX_ROWS"])
        except exports.TooManyRows as refused:
            flash(_("This list has %(count)s notifications; an export holds at most %(cap)s. Nothing was exported: "
                    "narrow the list with its filters, then export again.",
                    count=f"{refused.count:,}", cap=f"{refused.cap:,}"), "danger")
            return redirect(back)
        exports.record_export(session, "notification", fmt, urlencode(kept), rows)
        columns = [exports.Column(exports.time_header(str(label)) if kind == exports.TIME else str(label),
                                  kind or exports.TEXT) for _name, label, kind in self.export_fields]
        query = query.with_entities(*(
            exports.local_time(session, getattr(Notification, name)) if kind == exports.TIME
            else getattr(Notification, name) for name, _label, kind in self.export_fields))
        rows = exports.localize(session, exports.query_rows(session, query), columns)
        return exports.response(fmt, "notifications", columns, rows,
                                sheet=_("Notifications"))

    @action("retry", _l("Retry"), _l("Send the selected notifications again now?"), "fa-refresh")
    def retry(self, items):
        items = items if isinstance(items, list) else [items]
        session = self.datamodel.session
        queued = sum(outbox.retry(session, row.id) for row in items)
        session.commit()
        health.forget()
        flash(_("%(count)d notification(s) queued again; sent ones are left alone.", count=queued), "success")
        # Back to the list it was asked from (the form's `next`, else the page it came from).
        return redirect(back_to_list(request.form.get("next") or _referrer_path()))


def _referrer_path() -> str:
    """The path and query of a same-site referrer (the show page sends none of its own)."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc and referrer.netloc != request.host:
        return ""
    return referrer.path + (f"?{referrer.query}" if referrer.query else "")


def outbox_banner() -> Optional[dict]:
    """For an admin, while emails have been failing for more than 15 minutes: since when, and
    the link to the failing ones. Nothing (and no query) for anyone else."""
    person = current_person()
    if person is None or not is_admin(person):
        return None
    since = health.cached_failing_since(db.session, utcnow(), key=str(db.engine.url))
    return {"since": since, "href": FAILING_HREF} if since else None
