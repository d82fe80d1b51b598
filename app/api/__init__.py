"""REST APIs (FAB ModelRestApi), registered in one place. Thin: the rules live in tickets/."""
from __future__ import annotations

from flask_appbuilder import AppBuilder

from .attachments import AttachmentApi
from .admin import FounderApi, MemberApi, NotificationApi, TeamApi
from .audit import AuditApi
from .openapi import OpenApi, SwaggerView
from .reports import ReportApi
from .sla import CalendarApi, SlaPolicyApi
from .tickets import CommentApi, TicketApi


def register_apis(appbuilder: AppBuilder) -> None:
    for api in (TicketApi, CommentApi, TeamApi, FounderApi, MemberApi, NotificationApi, SlaPolicyApi, CalendarApi,
                AttachmentApi, AuditApi, ReportApi, OpenApi):
        appbuilder.add_api(api)
    appbuilder.add_view_no_menu(SwaggerView)
