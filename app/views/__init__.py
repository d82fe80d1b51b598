"""Every view is registered here, in one place."""
from __future__ import annotations

from flask_appbuilder import AppBuilder
from flask_babel import lazy_gettext as _l

from ..tickets.queues import QUEUES
from .admin import FounderModelView, TeamModelView
from .comments import CommentModelView
from .notifications import NotificationModelView
from .quarantine import QuarantineView
from .saved_views import SavedViewView
from .sla import CalendarView, CalendarWindowView, HolidayView, SlaPolicyView
from .tickets import TicketModelView


def register_views(appbuilder: AppBuilder) -> None:
    appbuilder.add_view(
        TicketModelView, "All tickets", label=_l("All tickets"), icon="fa-ticket",
        category="Tickets", category_label=_l("Tickets"), category_icon="fa-ticket",
    )
    appbuilder.add_link(
        "New ticket", label=_l("New ticket"), href="/tickets/add", icon="fa-plus", category="Tickets",
    )
    # The work queues: the list with its filters (app/tickets/queues.py).
    for queue in QUEUES:
        appbuilder.add_link(queue.name, label=queue.label, href=queue.href, icon=queue.icon, category="Tickets")
    appbuilder.add_view(
        CommentModelView, "Comments", label=_l("Comments"), icon="fa-comments", category="Tickets",
    )
    appbuilder.add_link(
        "Team Members", label=_l("Team Members"), href="/users/list/", icon="fa-users",
        category="Admin", category_label=_l("Admin"), category_icon="fa-wrench",
    )
    appbuilder.add_view(TeamModelView, "Teams", label=_l("Teams"), icon="fa-sitemap", category="Admin")
    appbuilder.add_view(FounderModelView, "Founders", label=_l("Founders"), icon="fa-star", category="Admin")
    appbuilder.add_view(SlaPolicyView, "SLA policies", label=_l("SLA policies"), icon="fa-hourglass-half",
                        category="Admin")
    appbuilder.add_view(CalendarView, "Calendars", label=_l("Calendars"), icon="fa-calendar", category="Admin")
    appbuilder.add_view_no_menu(CalendarWindowView)
    appbuilder.add_view_no_menu(HolidayView)
    appbuilder.add_view(
        NotificationModelView, "Notifications", label=_l("Notifications"), icon="fa-envelope", category="Admin",
    )
    appbuilder.add_view(
        QuarantineView, "Quarantined emails", label=_l("Quarantined emails"), icon="fa-shield", category="Admin",
    )
    appbuilder.add_view_no_menu(SavedViewView)  # its links are in the Tickets menu (navbar_menu.html)
