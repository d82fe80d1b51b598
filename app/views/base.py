"""What every ModelView of ours shares."""
from __future__ import annotations

from flask import abort, request
from flask_appbuilder import expose


class RowScopedActionsMixin:
    """FAB's action_post loads rows by primary key without base_filters.

    Here rows go through the view's base filters like show/edit/delete do; an
    unknown action or a row outside the filters answers 404. (FAB itself refuses
    the GET action route while CSRF protection is on.)
    """

    def _scoped_items(self, pks: list[str]):
        items = [
            self.datamodel.get(self._deserialize_pk_if_composite(pk), self._base_filters)
            for pk in pks
        ]
        if not items or any(item is None for item in items):
            abort(404)
        return items

    @expose("/action_post", methods=["POST"])
    def action_post(self):
        name = request.form.get("action", "")
        action = self.actions.get(name)
        if action is None:
            abort(404)
        if not self.appbuilder.sm.has_access(
            self.get_action_permission_name(name), self.class_permission_name
        ):
            abort(403)
        items = self._scoped_items(request.form.getlist("rowid"))
        return action.func(items if action.multiple else items[0])
