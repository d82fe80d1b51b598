"""Every view is registered here, in one place."""
from __future__ import annotations

from flask import current_app
from flask_appbuilder import AppBuilder
from flask_babel import lazy_gettext as _l

from ..tickets.queues import QUEUES
from .admin import FounderModelView, TeamModelView
from .attachments import AttachmentView
from .audit import AuditEventView
from .comments import CommentModelView
from .dashboard import DashboardView
from .menu_cache import cached_menu
from .notifications import NotificationModelView, outbox_banner
from .password_reset import ForgotPasswordView
from .quarantine import QuarantineView
from .saved_views import SavedViewView
from .sla import CalendarView, CalendarWindowView, HolidayView, SlaPolicyView
from .tickets import TicketModelView


def register_views(appbuilder: AppBuilder) -> None:
    # Every page's admin banner while emails are failing (templates/appbuilder/flash.html).
    current_app.jinja_env.globals["outbox_banner"] = outbox_banner
    # The menu, rendered once per kind of reader (app/views/menu_cache.py).
    current_app.jinja_env.globals["cached_menu"] = cached_menu
    # The home page after login (HomeView redirects there); the Tickets menu follows it.
    appbuilder.add_view(DashboardView, "Dashboard", label=_l("Dashboard"), icon="fa-tachometer")
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
    appbuilder.add_link("Roles", label=_l("Roles"), href="/roles/list/", icon="fa-id-badge", category="Admin")
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
    appbuilder.add_view(AuditEventView, "Audit log", label=_l("Audit log"), icon="fa-history", category="Admin")
    appbuilder.add_view(
        QuarantineView, "Quarantined emails", label=_l("Quarantined emails"), icon="fa-shield", category="Admin",
    )
    appbuilder.add_view_no_menu(AttachmentView)  # files are reached from their ticket's page
    appbuilder.add_view_no_menu(SavedViewView)  # its links are in the Tickets menu (navbar_menu_items.html)
    forgot = appbuilder.add_view_no_menu(ForgotPasswordView)
    # Asking for reset emails: a budget per client address (in RATELIMIT_STORAGE_URI, shared
    # by every worker and instance when it is Redis), like the login's.
    appbuilder.sm.limiter.limit(current_app.config["PASSWORD_RESET_RATE_LIMIT"], methods=["POST"],
                                scope="password-reset")(forgot.blueprint)
    _advanced_last(appbuilder)


def _advanced_last(appbuilder: AppBuilder) -> None:
    """FAB's security screens (the "Advanced" menu) after the app's own menus."""
    menu = appbuilder.menu.menu
    advanced = [item for item in menu if item.name == appbuilder.sm.ADVANCED_MENU]
    menu[:] = [item for item in menu if item not in advanced] + advanced
