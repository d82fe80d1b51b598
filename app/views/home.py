"""The index: the dashboard for a logged-in person, else the login page."""
from __future__ import annotations

from flask import redirect, url_for
from flask_appbuilder import IndexView, expose

from ..tickets.visibility import current_person


class HomeView(IndexView):
    @expose("/")
    def index(self):
        if current_person() is None:
            return redirect(url_for(self.appbuilder.sm.auth_view.__class__.__name__ + ".login"))
        return redirect(url_for("DashboardView.index"))
