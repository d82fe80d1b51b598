"""Admin screen of the inbound quarantine: messages not posted (sender, subject, why), each to
accept (posted as its sender, if the sender may post there now) or discard; both audited."""
from __future__ import annotations

from flask import abort, flash, g, redirect, url_for
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError

from ..inbound import service
from ..models import HELD, QuarantinedMessage
from ..tickets.visibility import current_person
from .base import CappedCountInterface, RowScopedActionsMixin, format_local

STATE_LABELS = {"held": _l("Held"), "accepted": _l("Accepted"), "discarded": _l("Discarded")}


class QuarantineView(RowScopedActionsMixin, ModelView):
    route_base = "/quarantine"
    datamodel = CappedCountInterface(QuarantinedMessage)
    base_permissions = ["can_list", "can_show", "can_decide"]
    base_order = ("received_at", "desc")
    page_size = 50
    list_title = _l("Quarantined emails")
    show_title = _l("Quarantined email")
    label_columns = {
        "received_at": _l("Received"), "sender": _l("Sender"), "subject": _l("Subject"), "reason": _l("Why"),
        "detail": _l("Detail"), "ticket": _l("Ticket"), "ticket_id": _l("Ticket"), "state": _l("State"), "decided_by": _l("Decided by"),
        "decided_at": _l("Decided"), "body": _l("Reply"), "original": _l("Original"),
    }
    # The ticket as its number: no ticket row loaded per listed message.
    list_columns = ["received_at", "sender", "subject", "reason", "ticket_id", "state"]
    show_columns = ["received_at", "sender", "subject", "reason", "detail", "ticket", "state", "decided_by",
                    "decided_at", "body", "original"]
    search_columns = ["sender", "subject", "state", "received_at"]
    formatters_columns = {
        "received_at": format_local, "decided_at": format_local,
        "reason": service.reason_label, "ticket_id": lambda pk: f"ESC-{pk}" if pk else "", "state": lambda state: str(STATE_LABELS.get(state, state)),
    }
    show_template = "quarantine/show.html"

    def _item_or_404(self, pk) -> QuarantinedMessage:
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            abort(404)
        return item

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        g.quarantine_held = self._item_or_404(pk).state == HELD  # the decision buttons
        return super().show(pk)

    @expose("/accept/<pk>", methods=["POST"])
    @has_access
    @permission_name("decide")
    def accept(self, pk):
        return self._decide(pk, service.accept, lambda item: _(
            "Posted on ESC-%(id)s as the comment of %(sender)s.", id=item.ticket_id, sender=item.sender))

    @expose("/discard/<pk>", methods=["POST"])
    @has_access
    @permission_name("decide")
    def discard(self, pk):
        return self._decide(pk, service.discard, lambda item: _("Discarded."))

    def _decide(self, pk, decision, done):
        item = self._item_or_404(pk)
        session = self.datamodel.session
        try:
            decision(session, item, current_person())
            session.commit()
        except (service.QuarantineRefused, StaleDataError) as exc:
            session.rollback()
            flash(str(exc) if isinstance(exc, service.QuarantineRefused) else _("The ticket changed meanwhile; try again."),
                  "danger")
            return redirect(url_for(".show", pk=pk))
        flash(done(item), "success")
        return redirect(url_for(".list"))
