"""Saved views at /views/: save the ticket list's filters, search and sort under a name, then
open, rename or delete them. Each person sees and touches only their own (others' are 404)."""
from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import gettext as _

from ..models import SavedView
from ..models.saved_view import MAX_NAME
from ..tickets import saved_views as views
from ..tickets.validation import InvalidValue

PERMISSION = "access"  # one permission, "can_access" on "SavedViews", for every route


def list_url(query: str = "") -> str:
    return url_for("TicketModelView.list") + (f"?{query}" if query else "")


class SavedViewView(BaseView):
    route_base = "/views"
    default_view = "index"
    class_permission_name = "SavedViews"
    method_permission_name = {
        "index": PERMISSION, "save": PERMISSION, "open": PERMISSION, "rename": PERMISSION, "delete": PERMISSION,
    }
    base_permissions = [f"can_{PERMISSION}"]

    def _own(self, view_id: int) -> SavedView:
        view = views.own_view(self.appbuilder.session, g.user.id, view_id)
        if view is None:
            abort(404)
        return view

    @expose("/")
    @has_access
    def index(self):
        return self.render_template(
            "saved_views/list.html",
            saved_views=views.views_of(self.appbuilder.session, g.user.id),
            max_name=MAX_NAME,
            title=_("My views"),
        )

    @expose("/save", methods=["POST"])
    @has_access
    def save(self):
        raw_query = request.form.get("query", "")
        try:
            view = views.save_view(self.appbuilder.session, g.user, request.form.get("name"), raw_query)
        except InvalidValue as exc:
            flash(str(exc), "danger")
            try:  # back to the list as it was, when its query can be kept
                return redirect(list_url(views.clean_query(raw_query)))
            except InvalidValue:
                return redirect(list_url())
        flash(_("View “%(name)s” saved: it is in the Tickets menu.", name=view.name), "success")
        return redirect(list_url(view.query))

    @expose("/<int:view_id>/open")
    @has_access
    def open(self, view_id: int):
        return redirect(list_url(self._own(view_id).query))

    @expose("/<int:view_id>/rename", methods=["POST"])
    @has_access
    def rename(self, view_id: int):
        view = self._own(view_id)
        old_name = view.name
        try:
            views.rename_view(self.appbuilder.session, view, request.form.get("name"))
        except InvalidValue as exc:
            flash(str(exc), "danger")
        else:
            flash(_("View “%(old)s” renamed to “%(new)s”.", old=old_name, new=view.name), "success")
        return redirect(url_for(".index"))

    @expose("/<int:view_id>/delete", methods=["POST"])
    @has_access
    def delete(self, view_id: int):
        view = self._own(view_id)
        name = view.name
        views.delete_view(self.appbuilder.session, view)
        flash(_("View “%(name)s” deleted.", name=name), "success")
        return redirect(url_for(".index"))
