"""Roles in words: what each role may do, grouped by area and read from the permissions it
holds (app/roles.py); FAB's raw permissions stay one click away, behind "Advanced"."""
from __future__ import annotations

from flask import current_app
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.security.views import RoleModelView
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_appbuilder.widgets import ListWidget
from markupsafe import Markup, escape

from .. import roles
from .base import RowScopedActionsMixin

# The roles `flask setup` creates and keeps (app/security.py sync_roles).
MANAGED_ROLES = ("Admin", "Lead", "Agent", "Public")


def pairs_of(role) -> set[tuple[str, str]]:
    return {(pv.permission.name, pv.view_menu.name) for pv in role.permissions}


def is_managed(name: str) -> bool:
    return name in MANAGED_ROLES or name == current_app.config.get("AUTH_ROLE_ADMIN")


def _name_badge(name: str) -> Markup:
    if not is_managed(name):
        return escape(name)
    return Markup('{} <span class="label label-info role-managed">{}</span>').format(name, _("Managed by setup"))


def _areas_summary(permissions) -> Markup:
    """The list's column: the areas a role may act in (its page gives the sentences)."""
    held = {(pv.permission.name, pv.view_menu.name) for pv in permissions}
    areas = [str(area) for area, _sentences in roles.in_words("", held)]
    return escape(", ".join(areas)) if areas else escape(_("Nothing"))


class RoleView(RowScopedActionsMixin, RoleModelView):
    class_permission_name = RoleModelView.__name__  # FAB's permission rows keep their name
    list_title = _l("Roles")
    show_title = _l("Role")
    add_title = _l("Add a role")
    edit_title = _l("Edit role")
    show_template = "security/role_show.html"
    list_widget = ListWidget  # FAB's role list printed raw values; this one uses the formatters
    label_columns = {"name": _l("Name"), "permissions": _l("What it may do")}
    list_columns = ["name", "permissions"]
    formatters_columns = {"name": _name_badge, "permissions": _areas_summary}
    description_columns = {
        "permissions": _l("Advanced: FAB's own permission names. The role's page says what they allow in words."),
    }
    add_row_message = _l("Role added.")
    edit_row_message = _l("Role saved.")
    delete_row_message = _l("Role deleted.")

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        pk = self._deserialize_pk_if_composite(pk)
        widgets = self._show(pk)  # 404 for no such role
        role = self.datamodel.get(pk, self._base_filters)
        held = pairs_of(role)
        return self.render_template(
            self.show_template, pk=pk, title=self.show_title, widgets=widgets, related_views=self._related_views,
            role=role, managed=is_managed(role.name), areas=roles.in_words(role.name, held),
            undescribed=roles.undescribed(held), permissions=sorted(held, key=lambda pair: (pair[1], pair[0])),
        )
